"""The one module that touches private names of transformers (and of torch's LR scheduler).

The recipes use transformers' public training API: TrainingArguments, TrainerCallback hooks, `create_optimizer`,
`compute_loss`, `get_eval_dataloader`, `state.num_input_tokens_seen`. What they need that has no public form
is reached here, each under a public name:

    AdaptedTrainer.train_sampler            Trainer._get_train_sampler        the training sampler
    AdaptedTrainer.track_input_tokens       Trainer._track_num_input_tokens   the tokens a step counts
    AdaptedTrainer.save_weights             Trainer._save                     a checkpoint's model weights
    AdaptedTrainer.load_checkpoint_weights  Trainer._load_from_checkpoint     their restore on resume
    attn_implementation(model)              PreTrainedConfig._attn_implementation
    set_last_lr(scheduler, rates)           LRScheduler._last_lr (torch)

A transformers release that renames one of them, changes its arguments or stops calling it would otherwise
break a run silently (a checkpoint written whole, a sampler or token count ignored); tests/train/test_hf_compat.py
fails instead, naming the attribute and the transformers version. Checked with transformers 5.23.0, 5.24.0 and
5.25.0 (pyproject.toml: transformers>=5.23,<6; 5.22 lacks TrainingArguments.activation_checkpointing) and
torch 2.13.0.
"""

from __future__ import annotations

from typing import Any

import torch
from transformers import Trainer


class AdaptedTrainer(Trainer):
    """HF Trainer whose private hooks a subclass overrides through public names.

    Each default is transformers' own behaviour; crosslift's trainers (`crosslift.train.common.RecipeTrainer`,
    `crosslift.train.lingualift.common.BridgeTrainer`) override the public names only.
    """

    def train_sampler(self, dataset: Any) -> torch.utils.data.Sampler | None:
        """The sampler of the training DataLoader (default: transformers' for `train_sampling_strategy`)."""
        return super()._get_train_sampler(dataset)

    def track_input_tokens(self, inputs: dict[str, Any]) -> None:
        """Add the input tokens of one micro-batch to `state.num_input_tokens_seen` (default: transformers'
        count for `include_num_input_tokens_seen`)."""
        super()._track_num_input_tokens(inputs)

    def save_weights(self, output_dir: str, state_dict: dict[str, Any] | None) -> None:
        """Write the model into a checkpoint folder (default: transformers' `save_pretrained`, tokenizer and
        training arguments). Under DeepSpeed or FSDP `state_dict` holds the gathered weights."""
        super()._save(output_dir, state_dict=state_dict)

    def load_checkpoint_weights(self, checkpoint: str, model: torch.nn.Module) -> None:
        """Restore the model weights of `checkpoint` on resume (default: transformers' loading)."""
        super()._load_from_checkpoint(checkpoint, model)

    # Trainer builds its training DataLoader through this method; no public hook takes a sampler
    # (get_train_dataloader would have to rebuild the DataLoader through the private _get_dataloader).
    def _get_train_sampler(self, train_dataset: Any = None) -> torch.utils.data.Sampler | None:
        return self.train_sampler(train_dataset if train_dataset is not None else self.train_dataset)

    # include_num_input_tokens_seen offers "all" or "non_padding" of the main input only; what a packed batch or
    # the bridge's soft tokens count is ours to say, and the training loop counts through this method alone.
    def _track_num_input_tokens(self, inputs: dict[str, Any]) -> None:
        self.track_input_tokens(inputs)

    # save_model gathers DeepSpeed / FSDP weights and then writes through this method; overriding save_model
    # instead would repeat that gathering (through DeepSpeed's own private calls).
    def _save(self, output_dir: str | None = None, state_dict: dict[str, Any] | None = None) -> None:
        self.save_weights(output_dir if output_dir is not None else self.args.output_dir, state_dict)

    # train() restores a checkpoint's weights through this method before the optimizer's state; no public
    # argument or callback loads them at that point.
    def _load_from_checkpoint(
        self, resume_from_checkpoint: str, model: torch.nn.Module | None = None
    ) -> None:
        self.load_checkpoint_weights(resume_from_checkpoint, model if model is not None else self.model)


def attn_implementation(model: Any) -> str | None:
    """The attention implementation a loaded model runs ("sdpa", "eager", "flash_attention_2", ...).

    transformers resolves `attn_implementation=` at load time and keeps the result only in this private config
    property (no public getter; `set_attn_implementation` is the setter).
    """
    return model.config._attn_implementation


def set_last_lr(scheduler: torch.optim.lr_scheduler.LRScheduler, rates: list[float]) -> None:
    """Make `scheduler.get_last_lr()` (the rate Trainer logs) report `rates`, until its next step.

    torch sets it only inside `step()`, which would also advance the schedule; there is no public setter.
    """
    scheduler._last_lr = rates
