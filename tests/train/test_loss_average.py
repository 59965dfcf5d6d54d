"""training.loss_average: transformers' per-token mean over the accumulated batch ("token") and the per-micro-batch
mean of the papers' released code ("micro_batch"), checked against gradients computed by hand: they differ when the
micro-batches hold different numbers of target tokens and agree when they hold the same."""

from __future__ import annotations

import pytest
import torch
from transformers import LlamaConfig, LlamaForCausalLM, TrainingArguments

from crosslift.errors import ConfigError
from crosslift.models.labels import IGNORE_INDEX
from crosslift.train.common import RecipeTrainer

LENGTH = 10


def tiny_llama() -> LlamaForCausalLM:
    torch.manual_seed(0)
    config = LlamaConfig(
        vocab_size=32,
        hidden_size=16,
        intermediate_size=32,
        num_hidden_layers=1,
        num_attention_heads=2,
        num_key_value_heads=2,
        max_position_embeddings=32,
    )
    return LlamaForCausalLM(config)


def rows(targets: list[int]) -> list[dict[str, list[int]]]:
    """One row per micro-batch, its last `n` positions the targets (position 0 is never a prediction target)."""
    g = torch.Generator().manual_seed(1)
    out = []
    for n in targets:
        ids = torch.randint(1, 32, (LENGTH,), generator=g).tolist()
        out.append({"input_ids": ids, "labels": [IGNORE_INDEX] * (LENGTH - n) + ids[LENGTH - n :]})
    return out


def step_by_trainer(tmp_path, data, loss_average: str) -> dict[str, torch.Tensor]:
    """The parameter change of one SGD step (lr 1) over `data`, one row per micro-batch, accumulated."""
    model = tiny_llama()
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    args = TrainingArguments(
        output_dir=str(tmp_path / loss_average),
        per_device_train_batch_size=1,
        gradient_accumulation_steps=len(data),
        max_steps=1,
        learning_rate=1.0,
        optim="sgd",
        lr_scheduler_type="constant",
        weight_decay=0.0,
        max_grad_norm=0.0,  # no clipping: the step is the gradient itself
        save_strategy="no",
        logging_strategy="no",
        report_to="none",
        use_cpu=True,
        disable_tqdm=True,
    )
    collate = lambda batch: {k: torch.tensor([row[k] for row in batch]) for k in batch[0]}  # noqa: E731
    trainer = RecipeTrainer(
        model=model, args=args, train_dataset=data, data_collator=collate, loss_average=loss_average
    )
    trainer.train()
    return {n: before[n] - p.detach() for n, p in model.named_parameters()}


def gradient_by_hand(data, loss_average: str) -> dict[str, torch.Tensor]:
    model = tiny_llama()
    losses, tokens = [], []
    for row in data:
        out = model(input_ids=torch.tensor([row["input_ids"]]), labels=torch.tensor([row["labels"]]))
        n = sum(label != IGNORE_INDEX for label in row["labels"][1:])
        losses.append(out.loss * n if loss_average == "token" else out.loss)  # token: the row's summed loss
        tokens.append(n)
    total = sum(losses) / (sum(tokens) if loss_average == "token" else len(data))
    total.backward()
    return {n: p.grad.detach().clone() for n, p in model.named_parameters()}


def close(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> bool:
    return all(torch.allclose(a[n], b[n], atol=1e-6, rtol=1e-4) for n in a)


def test_token_and_micro_batch_averaging_differ_on_uneven_micro_batches(tmp_path):
    uneven = rows([2, 8])  # 2 and 8 target tokens
    token, micro = (step_by_trainer(tmp_path, uneven, mode) for mode in ("token", "micro_batch"))
    assert close(token, gradient_by_hand(uneven, "token"))  # every token of the step weighs the same
    assert close(micro, gradient_by_hand(uneven, "micro_batch"))  # every micro-batch weighs the same
    assert not close(token, micro)


def test_they_agree_when_every_micro_batch_has_as_many_target_tokens(tmp_path):
    even = rows([5, 5])
    token, micro = (step_by_trainer(tmp_path, even, mode) for mode in ("token", "micro_batch"))
    assert close(token, micro) and close(micro, gradient_by_hand(even, "micro_batch"))


def test_an_unknown_averaging_is_refused():
    with pytest.raises(ConfigError, match="loss_average must be one of token, micro_batch"):
        RecipeTrainer(model=tiny_llama(), loss_average="sequence")
