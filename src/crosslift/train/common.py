"""Pieces every training recipe shares: Trainer arguments from our config, progress lines, resume, final save.

Recipes keep HF Trainer underneath (it already does gradient accumulation, mixed precision, DeepSpeed/FSDP
through accelerate, and checkpoints with optimizer, scheduler and RNG state); what we add is a run directory,
resume that survives kill -9, honest progress, and weights saved as safetensors.
"""

from __future__ import annotations

import math
import shutil
import time
from pathlib import Path
from typing import Any

import torch
from rich.console import Console
from transformers import PreTrainedModel, Trainer, TrainerCallback, TrainingArguments
from transformers.trainer_callback import PrinterCallback

from crosslift.config import TrainingConfig
from crosslift.runs import RunDir

console = Console(stderr=True, highlight=False, soft_wrap=True)


def training_arguments(cfg: TrainingConfig, run: RunDir, seed: int, **overrides: Any) -> TrainingArguments:
    """TrainingArguments for a run: checkpoints under run/checkpoints, our progress lines instead of tqdm."""
    kwargs: dict[str, Any] = dict(
        output_dir=str(run.checkpoints),
        num_train_epochs=cfg.epochs,
        max_steps=cfg.max_steps,
        per_device_train_batch_size=cfg.batch_size,
        gradient_accumulation_steps=cfg.grad_accum,
        learning_rate=cfg.learning_rate,
        weight_decay=cfg.weight_decay,
        warmup_steps=cfg.warmup_ratio,  # v5: a float in [0, 1) is a ratio of the total steps
        lr_scheduler_type=cfg.lr_scheduler,
        max_grad_norm=cfg.max_grad_norm,
        save_strategy="steps",
        save_steps=cfg.save_steps,
        save_total_limit=cfg.save_total_limit,
        logging_steps=cfg.logging_steps,
        bf16=cfg.precision == "bf16",
        fp16=cfg.precision == "fp16",
        activation_checkpointing=cfg.gradient_checkpointing,
        train_sampling_strategy="group_by_length" if cfg.group_by_length else "random",
        deepspeed=cfg.deepspeed,
        fsdp=cfg.fsdp or "",
        dataloader_num_workers=cfg.dataloader_num_workers,
        seed=seed,
        data_seed=seed,
        use_cpu=not torch.cuda.is_available(),
        report_to="none",
        disable_tqdm=True,
        include_num_input_tokens_seen="non_padding",
        remove_unused_columns=False,
        ddp_find_unused_parameters=False,  # every trainable parameter is used; True costs a graph traversal per step
    )
    kwargs.update(overrides)
    return TrainingArguments(**kwargs)


def _duration(seconds: float) -> str:
    seconds = int(seconds)
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


class ProgressCallback(TrainerCallback):
    """One line per logging step: step/total, loss, learning rate, tokens/s, elapsed and ETA."""

    def __init__(self, label: str) -> None:
        self.label = label
        self.start = 0.0
        self.first_step = 0
        self.first_tokens = 0
        self.tokens_per_second: float | None = None  # non-padding input tokens/s of this session

    def on_train_begin(self, args, state, control, **kwargs):
        self.start = time.monotonic()
        self.first_step = state.global_step
        self.first_tokens = state.num_input_tokens_seen  # a resumed run counts only its own tokens
        if not state.is_world_process_zero:
            return
        resumed = f" (resuming at step {state.global_step})" if state.global_step else ""
        console.print(f"[bold]{self.label}[/bold]: {state.max_steps} optimizer steps{resumed}")

    def on_train_end(self, args, state, control, **kwargs):
        elapsed = time.monotonic() - self.start
        if elapsed > 0:
            self.tokens_per_second = (state.num_input_tokens_seen - self.first_tokens) / elapsed

    def on_log(self, args, state, control, logs=None, **kwargs):
        logs = logs or {}
        if "loss" not in logs or not state.is_world_process_zero:
            return
        done = state.global_step - self.first_step
        elapsed = time.monotonic() - self.start
        eta = elapsed / done * (state.max_steps - state.global_step) if done else math.nan
        parts = [
            f"step {state.global_step}/{state.max_steps} ({100 * state.global_step / max(state.max_steps, 1):.0f}%)",
            f"loss {logs['loss']:.4f}",
            f"lr {logs.get('learning_rate', math.nan):.2e}",
        ]
        if elapsed > 0:
            self.tokens_per_second = (state.num_input_tokens_seen - self.first_tokens) / elapsed
            parts.append(f"{self.tokens_per_second:,.0f} tok/s")
        parts.append(f"elapsed {_duration(elapsed)}")
        if not math.isnan(eta):
            parts.append(f"ETA {_duration(eta)}")
        console.print("  " + " | ".join(parts))


class ScheduleAtResumedStep(TrainerCallback):
    """On resume, set the learning rate from this run's schedule at the resumed step.

    Trainer rebuilds the schedule for the configured length and restores only its step count, but the optimizer
    keeps the rate it last had: the first step of an extended run (`RunDir.prepare`) would use the old schedule's
    final value. Recomputing it is a no-op for a plain resume (same schedule, same step).
    """

    def on_train_begin(self, args, state, control, optimizer=None, lr_scheduler=None, **kwargs):
        if optimizer is None or not isinstance(lr_scheduler, torch.optim.lr_scheduler.LambdaLR):
            return  # DeepSpeed's own schedulers restore themselves
        step = lr_scheduler.last_epoch
        rates = [base * fn(step) for base, fn in zip(lr_scheduler.base_lrs, lr_scheduler.lr_lambdas, strict=True)]
        for group, rate in zip(optimizer.param_groups, rates, strict=True):
            group["lr"] = rate
        lr_scheduler._last_lr = rates


def train_with_resume(trainer: Trainer, run: RunDir) -> Any:
    """Train, continuing from the run's last complete checkpoint when there is one.

    Checkpoint folders a kill left half-written are removed first; the Trainer restores model, optimizer,
    scheduler, RNG states and the data position from the checkpoint, so the result matches an uninterrupted run.
    A run extended to more steps continues with the schedule of its new length (`ScheduleAtResumedStep`).
    """
    trainer.remove_callback(PrinterCallback)  # its raw log dicts duplicate our progress lines
    last = run.last_checkpoint()
    if last is not None:
        trainer.add_callback(ScheduleAtResumedStep())
    if trainer.is_world_process_zero():
        for d in run.remove_incomplete_checkpoints():
            console.print(f"removed incomplete checkpoint {d.name} (the previous run was killed while saving it)")
        if last is not None:
            console.print(f"resuming from {last}")
            run.update_manifest(resumed_from=[*run.manifest().get("resumed_from", []), last.name])
    return trainer.train(resume_from_checkpoint=str(last) if last else None)


def gathered_state_dict(trainer: Trainer) -> dict[str, torch.Tensor] | None:
    """The full state dict when DeepSpeed ZeRO-3 or FSDP shards the weights over processes, else None.

    Call it on every process: gathering the shards is collective. `save_final` then writes it on the main one.
    """
    if trainer.is_deepspeed_enabled:
        return trainer.accelerator.get_state_dict(trainer.deepspeed)
    if trainer.is_fsdp_enabled:
        return trainer.accelerator.get_state_dict(trainer.model_wrapped)
    return None


def save_final(
    model: PreTrainedModel, tokenizers: dict[str, Any], target: Path, *, state_dict: dict[str, Any] | None = None
) -> Path:
    """Write final weights (safetensors) and tokenizer(s) to `target`, atomically (temp dir, then rename).

    Args:
        tokenizers: {"": tok} saves in `target` itself; other keys save in a subfolder of that name
            (the bridge model keeps its encoder tokenizer in `encoder_tokenizer/`).
        state_dict: the gathered weights when they are sharded (`gathered_state_dict`); None saves the model's own.
    """
    tmp = target.with_name(f".{target.name}.tmp")
    if tmp.exists():
        shutil.rmtree(tmp)
    # safetensors: the only format transformers v5 and peft write here
    model.save_pretrained(tmp, **({"state_dict": state_dict} if state_dict is not None else {}))
    for sub, tok in tokenizers.items():
        tok.save_pretrained(tmp / sub if sub else tmp)
    if target.exists():
        shutil.rmtree(target)
    tmp.rename(target)
    return target


def train_summary(trainer: Trainer, result: Any) -> dict[str, Any]:
    """Figures for the manifest: steps, losses, runtime and throughput of this (possibly resumed) session."""
    losses = [(h["step"], h["loss"]) for h in trainer.state.log_history if "loss" in h]
    metrics = dict(result.metrics) if result is not None else {}
    progress = next((c for c in trainer.callback_handler.callbacks if isinstance(c, ProgressCallback)), None)
    return {
        "global_step": trainer.state.global_step,
        "epochs": trainer.state.epoch,
        "first_logged_loss": losses[0][1] if losses else None,
        "last_logged_loss": losses[-1][1] if losses else None,
        "loss_history": losses,
        "train_runtime_s": metrics.get("train_runtime"),
        "train_tokens_per_second": progress.tokens_per_second if progress else None,
        "input_tokens_seen": trainer.state.num_input_tokens_seen,
    }
