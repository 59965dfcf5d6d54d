"""crosslift.train.hf_compat against the installed transformers and torch: every private name it reaches still
exists and takes the arguments it passes, Trainer still calls each hook where the recipes need it, and the two
accessors read and set what they should. A failure names the private attribute and the version: adapt
hf_compat to that release (and pyproject.toml's transformers range), never the recipes.
"""

from __future__ import annotations

import inspect
from pathlib import Path

import pytest
import torch
import transformers
from safetensors.torch import load_file
from transformers import LlamaConfig, LlamaForCausalLM, Trainer, TrainingArguments

from crosslift.train.hf_compat import AdaptedTrainer, attn_implementation, set_last_lr

# The private Trainer methods AdaptedTrainer overrides: the arguments Trainer calls them with, in order.
TRAINER_HOOKS = {
    "_get_train_sampler": ["train_dataset"],
    "_track_num_input_tokens": ["inputs"],
    "_save": ["output_dir", "state_dict"],
    "_load_from_checkpoint": ["resume_from_checkpoint", "model"],
}
ROWS, LENGTH, BATCH = 8, 6, 4


def trainer_hook(name: str) -> str:
    return f"transformers {transformers.__version__}: Trainer.{name}"


def tiny_config(**kwargs) -> LlamaConfig:
    return LlamaConfig(
        vocab_size=32,
        hidden_size=16,
        intermediate_size=32,
        num_hidden_layers=1,
        num_attention_heads=2,
        num_key_value_heads=2,
        max_position_embeddings=32,
        **kwargs,
    )


class RecordingTrainer(AdaptedTrainer):
    """AdaptedTrainer that records each call of a public hook and keeps transformers' behaviour."""

    def __init__(self, *args, **kwargs) -> None:
        self.calls: list[tuple[str, tuple]] = []
        super().__init__(*args, **kwargs)

    def train_sampler(self, dataset):
        self.calls.append(("train_sampler", (dataset,)))
        return super().train_sampler(dataset)

    def track_input_tokens(self, inputs):
        self.calls.append(("track_input_tokens", (inputs,)))
        super().track_input_tokens(inputs)

    def save_weights(self, output_dir, state_dict):
        self.calls.append(("save_weights", (output_dir, state_dict)))
        super().save_weights(output_dir, state_dict)

    def load_checkpoint_weights(self, checkpoint, model):
        self.calls.append(("load_checkpoint_weights", (checkpoint, model)))
        super().load_checkpoint_weights(checkpoint, model)

    def called(self, hook: str) -> list[tuple]:
        return [args for name, args in self.calls if name == hook]


def recording_trainer(output_dir: Path, max_steps: int) -> RecordingTrainer:
    torch.manual_seed(0)
    g = torch.Generator().manual_seed(0)
    rows = []
    for _ in range(ROWS):
        ids = torch.randint(1, 32, (LENGTH,), generator=g).tolist()
        rows.append({"input_ids": ids, "labels": ids, "attention_mask": [1] * (LENGTH - 1) + [0]})
    args = TrainingArguments(
        output_dir=str(output_dir),
        max_steps=max_steps,
        per_device_train_batch_size=BATCH,
        learning_rate=1e-2,
        save_strategy="steps",
        save_steps=1,
        logging_steps=1,
        report_to="none",
        disable_tqdm=True,
        use_cpu=True,
        include_num_input_tokens_seen="non_padding",
        remove_unused_columns=False,
    )
    return RecordingTrainer(model=LlamaForCausalLM(tiny_config()), args=args, train_dataset=rows)


@pytest.mark.parametrize("name, params", TRAINER_HOOKS.items())
def test_each_private_trainer_hook_keeps_its_arguments(name, params):
    method = getattr(Trainer, name, None)
    assert callable(method), (
        f"{trainer_hook(name)} is gone: crosslift.train.hf_compat.AdaptedTrainer overrides it"
    )
    found = list(inspect.signature(method).parameters)[1:]  # after self
    assert found == params, (
        f"{trainer_hook(name)} now takes {found}; hf_compat overrides it as taking {params}"
    )


def test_trainer_reaches_every_hook_when_it_trains_saves_and_resumes(tmp_path):
    first = recording_trainer(tmp_path, max_steps=2)
    first.train()

    assert [args[0] for args in first.called("train_sampler")] == [first.train_dataset], (
        f"{trainer_hook('_get_train_sampler')} no longer builds the training sampler"
    )
    counted = first.called("track_input_tokens")
    assert len(counted) == 2 and all("input_ids" in inputs for (inputs,) in counted), (
        f"{trainer_hook('_track_num_input_tokens')} is no longer called once per micro-batch with its inputs"
    )
    assert first.state.num_input_tokens_seen == 2 * BATCH * (LENGTH - 1), (
        f"{trainer_hook('_track_num_input_tokens')}: the default no longer counts the non-padding tokens"
    )
    saved = [Path(output_dir).name for output_dir, _ in first.called("save_weights")]
    assert saved == ["checkpoint-1", "checkpoint-2"], (
        f"{trainer_hook('_save')} no longer writes each checkpoint's model (saved: {saved})"
    )
    checkpoint = tmp_path / "checkpoint-1"
    assert (checkpoint / "model.safetensors").is_file(), (
        f"{trainer_hook('_save')}: the default wrote no weights"
    )

    straight = load_file(tmp_path / "checkpoint-2" / "model.safetensors")
    resumed = recording_trainer(tmp_path / "resumed", max_steps=2)
    resumed.train(resume_from_checkpoint=str(checkpoint))
    loaded = resumed.called("load_checkpoint_weights")
    assert [(Path(c), m) for c, m in loaded] == [(checkpoint, resumed.model)], (
        f"{trainer_hook('_load_from_checkpoint')} no longer restores the model weights on resume"
    )
    assert resumed.state.global_step == 2 and len(resumed.called("track_input_tokens")) == 1
    weights = resumed.model.state_dict()
    assert all(torch.equal(straight[n], weights[n]) for n in straight), (
        f"{trainer_hook('_load_from_checkpoint')}: the resumed run did not continue from checkpoint-1's weights"
    )


@pytest.mark.parametrize("attention", ["eager", "sdpa"])
def test_attn_implementation_is_the_attention_a_loaded_model_runs(tmp_path, attention):
    LlamaForCausalLM(tiny_config()).save_pretrained(tmp_path)
    model = LlamaForCausalLM.from_pretrained(tmp_path, attn_implementation=attention)
    assert attn_implementation(model) == attention, (
        f"transformers {transformers.__version__}: PreTrainedConfig._attn_implementation no longer holds the "
        f"attention of a model loaded with attn_implementation={attention!r}"
    )


def test_set_last_lr_is_the_rate_the_scheduler_reports_until_its_next_step():
    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1.0)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: 0.5)
    assert "_last_lr" in vars(scheduler), f"torch {torch.__version__}: LRScheduler._last_lr is gone"
    set_last_lr(scheduler, [0.25])
    assert scheduler.get_last_lr() == [0.25], (
        f"torch {torch.__version__}: LRScheduler.get_last_lr() no longer reports _last_lr"
    )
    optimizer.step()
    scheduler.step()
    assert scheduler.get_last_lr() == [0.5]
