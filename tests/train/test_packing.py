"""Padding-free packing (crosslift.models.packing): row planning, the layout transformers expects, loss equal to the
padded computation, no attention across examples (plain LM and LinguaLIFT bridge), and the SFT recipe with
packing, length grouping and a validation split against the same run without them.

Tolerances: float32 on CPU; a packed row runs attention under a block mask where the padded batch uses a causal
one, so sums happen in another order — losses agree to 1e-5 (absolute, on losses ~8), gradients to 1e-4 of
their largest entry, logits of untouched examples are unchanged to 1e-5.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
import yaml
from safetensors.torch import load_file
from transformers import DataCollatorForSeq2Seq, DataCollatorWithFlattening

from crosslift.errors import ConfigError
from crosslift.models.build import build_bridge, load_causal_lm, load_tokenizer
from crosslift.models.packing import (
    PACKED_TOKENS,
    PackingCollator,
    check_packing_support,
    pack_batch,
    plan_rows,
    row_tokens_for,
)
from crosslift.train import train
from crosslift.train.common import SeededLengthGroupedSampler
from crosslift.train.hf_compat import attn_implementation

LENGTHS = [9, 3, 14, 5, 7, 2, 11]


def features(seed: int = 0) -> list[dict]:
    g = torch.Generator().manual_seed(seed)
    out = []
    for n in LENGTHS:
        ids = torch.randint(10, 3000, (n,), generator=g).tolist()
        cut = n // 3  # a prompt part without loss, as SFT data has
        out.append({"input_ids": ids, "labels": [-100] * cut + ids[cut:]})
    return out


@pytest.fixture(scope="module")
def lm():
    torch.manual_seed(0)
    return load_causal_lm("tiny:llama", dtype="float32").train()


@pytest.fixture(scope="module")
def tokenizer():
    tok = load_tokenizer("tiny:llama")
    tok.padding_side = "right"
    return tok


def loss_and_grads(model, batch: dict, num_items: int) -> tuple[float, dict[str, torch.Tensor]]:
    model.zero_grad()
    inputs = {k: v for k, v in batch.items() if k != PACKED_TOKENS}
    out = model(**inputs, use_cache=False, num_items_in_batch=torch.tensor(num_items))
    out.loss.backward()
    return out.loss.item(), {n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None}


def target_count(feats: list[dict]) -> int:
    return sum(sum(t != -100 for t in f["labels"][1:]) for f in feats)  # the first token is never predicted


# ---------------------------------------------------------------------------------------------------- layout


def test_rows_are_first_fit_decreasing_within_the_cap():
    rows = plan_rows(LENGTHS, 16)
    assert sorted(i for row in rows for i in row) == list(range(len(LENGTHS)))
    assert all(sum(LENGTHS[i] for i in row) <= 16 for row in rows)
    assert rows[0][0] == 2  # the longest example opens the first row
    assert len(rows) == 4  # 51 tokens in rows of 16: the fewest possible
    assert plan_rows(LENGTHS, None) == [sorted(range(len(LENGTHS)), key=lambda i: -LENGTHS[i])]
    assert plan_rows([20, 3], 16) == [[0], [1]]  # too long for a row: a row of its own, never cut


def test_one_row_is_the_layout_of_transformers_flattening_collator(tokenizer):
    feats = features()
    packed = PackingCollator(tokenizer.pad_token_id, row_tokens=None)(feats)
    order = plan_rows(LENGTHS, None)[0]
    reference = DataCollatorWithFlattening()([feats[i] for i in order])
    for key in ("input_ids", "labels", "position_ids"):
        assert torch.equal(packed[key], reference[key]), key
    assert packed[PACKED_TOKENS].item() == sum(LENGTHS)


def test_rows_restart_positions_and_mask_each_first_label(tokenizer):
    batch = PackingCollator(tokenizer.pad_token_id, row_tokens=16)(features())
    assert batch["input_ids"].shape == (4, 16)  # rows 14+2, 11+5, 9+7, 3 (+ a padding tail)
    for row_pos, row_labels in zip(batch["position_ids"], batch["labels"], strict=True):
        starts = [j for j, p in enumerate(row_pos.tolist()) if p == 0]
        assert starts[0] == 0
        assert all(row_labels[j] == -100 for j in starts)  # no example learns to predict the next one's start
    real = sum(LENGTHS)
    assert (batch["input_ids"] != tokenizer.pad_token_id).sum() == real  # the rest is padding tail
    assert row_tokens_for("flash_attention_2", 512) is None and row_tokens_for("sdpa", 512) == 512


# ---------------------------------------------------------------------------------------------------- equivalence


@pytest.mark.parametrize("row_tokens", [16, None], ids=["rows", "one-row"])
def test_packed_loss_and_gradients_equal_padded(lm, tokenizer, row_tokens):
    feats = features()
    n = target_count(feats)
    padded = DataCollatorForSeq2Seq(tokenizer, label_pad_token_id=-100, padding=True)(feats)
    packed = PackingCollator(tokenizer.pad_token_id, row_tokens)(feats)
    loss_a, grads_a = loss_and_grads(lm, padded, n)
    loss_b, grads_b = loss_and_grads(lm, packed, n)
    assert abs(loss_a - loss_b) < 1e-5
    assert grads_a.keys() == grads_b.keys()
    for name in grads_a:
        scale = grads_a[name].abs().max().item()
        assert (grads_a[name] - grads_b[name]).abs().max().item() <= 1e-4 * max(scale, 1e-8), name


def test_no_attention_across_examples(lm, tokenizer):
    feats = features()
    collate = PackingCollator(tokenizer.pad_token_id, row_tokens=None)  # one row: every example shares it
    batch = collate(feats)
    changed = [dict(f) for f in feats]
    changed[2] = {"input_ids": [t + 1 for t in feats[2]["input_ids"]], "labels": feats[2]["labels"]}
    other = collate(changed)
    with torch.no_grad():
        a = lm(input_ids=batch["input_ids"], position_ids=batch["position_ids"], use_cache=False).logits[0]
        b = lm(input_ids=other["input_ids"], position_ids=other["position_ids"], use_cache=False).logits[0]
    first = LENGTHS[2]  # example 2, the longest, comes first in the row
    assert (a[:first] - b[:first]).abs().max() > 1e-3  # its own logits changed ...
    assert (a[first:] - b[first:]).abs().max() < 1e-5  # ... no other example's did

    # and gradients: the loss of the other examples does not reach example 2's input embeddings
    embeds = lm.get_input_embeddings()(batch["input_ids"]).detach().requires_grad_(True)
    logits = lm(inputs_embeds=embeds, position_ids=batch["position_ids"], use_cache=False).logits
    logits[0, first:].sum().backward()
    assert embeds.grad[0, :first].abs().max() == 0
    assert embeds.grad[0, first:].abs().max() > 0


def test_a_model_that_mixes_packed_examples_is_refused(lm):
    check_packing_support(lm, attn_implementation(lm))  # transformers' Llama masks by position ids: accepted

    class IgnoresPositions(torch.nn.Module):  # an attention that sees one long sequence
        def __init__(self, inner):
            super().__init__()
            self.inner, self.config = inner, inner.config

        def get_input_embeddings(self):
            return self.inner.get_input_embeddings()

        def forward(self, input_ids, position_ids=None, use_cache=False):
            return self.inner(input_ids=input_ids, use_cache=use_cache)

    with pytest.raises(ConfigError, match="training.packing"):
        check_packing_support(IgnoresPositions(lm), attn_implementation(lm))
    assert lm.training  # the check put the model back in training mode


# ---------------------------------------------------------------------------------------------------- bridge


@pytest.fixture(scope="module")
def bridge():
    torch.manual_seed(0)
    model, processor = build_bridge("tiny:mt5-encoder", "tiny:llama", dtype="float32")
    model.set_trainable(alignment=True, lm=True, encoder_embeddings=False)
    return model, processor


def bridge_batch(processor, shift: int = 0) -> dict:
    prompts = [f"Tom has {i + 2} apples{' and more' * i}. How many?" for i in range(5)]
    feats = [
        processor.encode(p, f"He has {i + shift} apples.", lm_max_length=128) for i, p in enumerate(prompts)
    ]
    return processor.collate(feats)


@pytest.mark.parametrize("row_tokens", [40, None], ids=["rows", "one-row"])
def test_bridge_packed_loss_equals_padded(bridge, row_tokens):
    model, processor = bridge
    batch = bridge_batch(processor)
    n = int((batch["labels"] != -100).sum())
    losses = []
    for packed in (False, True):
        model.zero_grad()
        out = model(**batch, packed=packed, row_tokens=row_tokens, num_items_in_batch=torch.tensor(n))
        out.loss.backward()
        losses.append((out.loss.item(), model.alignment.output_layer.weight.grad.clone()))
    (loss_a, grad_a), (loss_b, grad_b) = losses
    assert abs(loss_a - loss_b) < 1e-5
    assert (grad_a - grad_b).abs().max() <= 1e-4 * grad_a.abs().max()


def test_bridge_packing_keeps_examples_apart(bridge):
    model, processor = bridge
    batch = bridge_batch(processor)
    other = {k: v.clone() for k, v in batch.items()}
    other["encoder_input_ids"][0, 1:3] += 1  # a different prompt for example 0 only
    with torch.no_grad():
        a = model.embed(**{k: v for k, v in batch.items() if k != "labels"})
        b = model.embed(**{k: v for k, v in other.items() if k != "labels"})
        lengths = a["attention_mask"].sum(-1)
        pa = pack_batch(
            {"inputs_embeds": a["inputs_embeds"]}, lengths, row_tokens=None, pad_values={"inputs_embeds": 0.0}
        )
        pb = pack_batch(
            {"inputs_embeds": b["inputs_embeds"]}, lengths, row_tokens=None, pad_values={"inputs_embeds": 0.0}
        )
        la = model.lm(**pa, use_cache=False).logits[0]
        lb = model.lm(**pb, use_cache=False).logits[0]
    order = plan_rows(lengths.tolist(), None)[0]
    start = sum(int(lengths[i]) for i in order[: order.index(0)])
    end = start + int(lengths[0])
    assert (la[start:end] - lb[start:end]).abs().max() > 1e-4
    keep = torch.ones(len(la), dtype=torch.bool)
    keep[start:end] = False
    assert (la[keep] - lb[keep]).abs().max() < 1e-5


# ---------------------------------------------------------------------------------------------------- recipe


def test_length_grouped_order_depends_only_on_seed_and_epoch():
    lengths = [((i * 37) % 101) + 1 for i in range(200)]
    a = SeededLengthGroupedSampler(8, lengths, seed=3)
    b = SeededLengthGroupedSampler(8, lengths, seed=3)
    torch.manual_seed(123)  # the global RNG plays no part
    first = list(a)
    torch.manual_seed(456)
    assert list(b) == first and sorted(first) == list(range(200))
    b.set_epoch(1)
    assert list(b) != first
    spread = [
        max(lengths[i] for i in first[k : k + 8]) - min(lengths[i] for i in first[k : k + 8])
        for k in range(0, 200, 8)
    ]
    assert sum(spread) / len(spread) < 20  # batches of similar lengths (random batches spread ~75)


@pytest.fixture
def sft_data(tmp_path: Path) -> Path:
    path = tmp_path / "skewed.jsonl"
    with open(path, "w") as f:
        for i in range(48):
            detail = " Explain every step." * ((i % 9) * (i % 9) // 4)  # from short to a long tail
            f.write(
                json.dumps({"instruction": f"What is {i} plus {i % 7}?{detail}", "output": f"{i + i % 7}."})
                + "\n"
            )
    return path


def sft_config(tmp_path: Path, data: Path, name: str, **training) -> Path:
    cfg = {
        "recipe": "sft",
        "name": name,
        "output_dir": str(tmp_path / name),
        "seed": 5,
        "model": {"name_or_path": "tiny:llama", "dtype": "float32"},
        "data": {
            "train": [{"path": str(data)}],
            "validation": [{"path": str(data), "limit": 12}],
            "max_length": 256,
        },
        "training": {
            "max_steps": 3,
            "batch_size": 8,
            "learning_rate": 2e-3,
            "save_steps": 3,
            "logging_steps": 1,
            "eval_steps": 2,
            "lr_scheduler": "constant",
        }
        | training,
    }
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


def test_sft_with_packing_trains_as_without(tmp_path, sft_data):
    plain = train(sft_config(tmp_path, sft_data, "plain")).manifest()["training"]
    packed_run = train(sft_config(tmp_path, sft_data, "packed", packing=True))
    packed = packed_run.manifest()["training"]
    assert packed["input_tokens_seen"] == plain["input_tokens_seen"]  # same batches, real tokens only
    for (step_a, a), (step_b, b) in zip(plain["loss_history"], packed["loss_history"], strict=True):
        assert step_a == step_b and abs(a - b) < 1e-4 * abs(a)
    # the validation loss (at step 2 and at the last step) is computed padded in both runs
    assert [s for s, _ in packed["validation_loss_history"]] == [2, 3]
    for (_, a), (_, b) in zip(
        plain["validation_loss_history"], packed["validation_loss_history"], strict=True
    ):
        assert abs(a - b) < 1e-4 * abs(a)
    wa = load_file(tmp_path / "plain" / "model" / "model.safetensors")
    wb = load_file(packed_run.model / "model.safetensors")
    assert max((wa[k] - wb[k]).abs().max().item() for k in wa) < 1e-4


def test_sft_group_by_length_runs_and_records_validation(tmp_path, sft_data):
    run = train(sft_config(tmp_path, sft_data, "grouped", group_by_length=True, packing=True))
    m = run.manifest()
    assert m["training"]["global_step"] == 3 and m["training"]["last_validation_loss"] > 0
    assert m["validation_stats"]["used"] == 12
    assert m["world_size"] == 1 and m["launch"]["launcher"] == "none"
