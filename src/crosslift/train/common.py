"""Pieces every training recipe shares: the recipe skeleton (`RecipeRun`: rank, run directory, console lines,
the manifest's start and finish, the final save), Trainer arguments from our config, progress lines, loggers,
resume.

Recipes keep HF Trainer underneath (it already does gradient accumulation, mixed precision, DeepSpeed/FSDP
through accelerate, and checkpoints with optimizer, scheduler and RNG state); what we add is a run directory,
resume that survives kill -9, honest progress, padding-free packing and reproducible length grouping
(`RecipeTrainer`), TensorBoard / W&B logs in the run directory, a record of how the run was launched
(world size, accelerate config), and weights saved as safetensors.

Scale-out is accelerate's: the same recipe runs under `accelerate launch --config_file configs/accelerate/X.yaml
-m crosslift train CONFIG` (DDP, DeepSpeed ZeRO-2/3, FSDP2) or torchrun; every process runs the recipe, and
only rank 0 writes the run directory and prints.
"""

from __future__ import annotations

import contextlib
import importlib.util
import math
import os
import time
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch
import yaml
from rich.text import Text
from transformers import PreTrainedModel, Trainer, TrainerCallback, TrainingArguments
from transformers.integrations import TensorBoardCallback
from transformers.trainer_callback import PrinterCallback
from transformers.trainer_pt_utils import LengthGroupedSampler, get_length_grouped_indices

from crosslift.config import RunConfig, TrainingConfig
from crosslift.console import stderr_console
from crosslift.errors import ConfigError
from crosslift.io import DiskError, atomic_folder, disk_error, disk_errors
from crosslift.models.packing import PACKED_TOKENS
from crosslift.runs import RunDir, is_main_process, provenance
from crosslift.train.hf_compat import AdaptedTrainer, set_last_lr


def print_main(*objects: Any, **kwargs: Any) -> None:
    """Print to stderr (`crosslift.console.stderr_console.print`) on the main process only: every process runs
    the recipe, and one copy of a line is enough."""
    if is_main_process():
        stderr_console.print(*objects, **kwargs)


LAUNCH_PRECISION = {"no": "fp32", "bf16": "bf16", "fp16": "fp16"}


def resolve_precision(precision: str) -> str:
    """training.precision as TrainingArguments needs it: `auto` follows the accelerate launch config.

    Under `accelerate launch` the config's mixed_precision reaches the process as ACCELERATE_MIXED_PRECISION.
    DeepSpeed refuses a run whose TrainingArguments disagree with it, and FSDP would silently take the launch
    config's; so `auto` takes it, and an explicit value that disagrees is a configuration error here, not a
    traceback from inside Trainer.
    """
    launched = LAUNCH_PRECISION.get(os.environ.get("ACCELERATE_MIXED_PRECISION", ""))
    if precision == "auto":
        return launched or "fp32"
    if launched and launched != precision:
        raise ConfigError(
            f"training.precision: {precision}, but the accelerate launch config says mixed_precision: "
            f"{os.environ['ACCELERATE_MIXED_PRECISION']}; set training.precision: auto (or {launched}), or launch "
            "with a config whose mixed_precision matches"
        )
    return precision


def training_arguments(
    cfg: TrainingConfig, run: RunDir, seed: int, *, validation: bool = False, **overrides: Any
) -> TrainingArguments:
    """TrainingArguments for a run: checkpoints under run/checkpoints, our progress lines instead of tqdm.

    Args:
        validation: the recipe passes an eval_dataset; its loss is computed every `eval_steps` (default
            `save_steps`) and at the last step (`report_callbacks`).
    """
    if cfg.deepspeed and os.environ.get("ACCELERATE_CONFIG_DS_FIELDS"):
        raise ConfigError(
            f"training.deepspeed names a DeepSpeed config ({cfg.deepspeed}), but the accelerate launch config already "
            "configures DeepSpeed (its deepspeed_config section): set training.deepspeed=null to use the launch "
            "config, or launch with a config without DeepSpeed (e.g. configs/accelerate/ddp.yaml, or torchrun)"
        )
    if cfg.use_liger_kernel and cfg.torch_compile:
        raise ConfigError(
            "training.use_liger_kernel and training.torch_compile cannot be combined: torch.compile cannot trace "
            "Liger's fused cross-entropy (measured with torch 2.11 and Liger 0.8.5); use one of them (Liger alone "
            "was the faster on an H100, BENCHMARKS.md)"
        )
    if cfg.use_liger_kernel and importlib.util.find_spec("liger_kernel") is None:
        raise ConfigError(
            "training.use_liger_kernel is true but Liger is not installed: pip install 'crosslift[liger]' "
            "(GPU machines: its kernels are written in Triton), or set training.use_liger_kernel=false"
        )
    precision = resolve_precision(cfg.precision)
    kwargs: dict[str, Any] = dict(
        output_dir=str(run.checkpoints),
        num_train_epochs=cfg.epochs,
        max_steps=-1 if cfg.max_steps is None else cfg.max_steps,  # -1: Trainer's "train num_train_epochs"
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
        bf16=precision == "bf16",
        fp16=precision == "fp16",
        torch_compile=cfg.torch_compile,
        use_liger_kernel=cfg.use_liger_kernel,
        activation_checkpointing=cfg.gradient_checkpointing,
        train_sampling_strategy="group_by_length" if cfg.group_by_length else "random",
        deepspeed=cfg.deepspeed,
        fsdp=cfg.fsdp or "",
        dataloader_num_workers=cfg.dataloader_num_workers,
        seed=seed,
        data_seed=seed,
        use_cpu=not torch.cuda.is_available(),
        # TensorBoard goes through our own callback (report_callbacks: event files in the run directory)
        report_to=["wandb"] if "wandb" in cfg.report_to else "none",
        run_name=run.path.name,
        eval_strategy="steps" if validation else "no",
        eval_steps=cfg.eval_steps or cfg.save_steps,
        per_device_eval_batch_size=cfg.batch_size,
        prediction_loss_only=True,
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
        header = Text.assemble((self.label, "bold"), f": {state.max_steps} optimizer steps{resumed}")
        stderr_console.print(header)

    def on_train_end(self, args, state, control, **kwargs):
        elapsed = time.monotonic() - self.start
        if elapsed > 0:
            self.tokens_per_second = (state.num_input_tokens_seen - self.first_tokens) / elapsed

    def on_log(self, args, state, control, logs=None, **kwargs):
        logs = logs or {}
        if "eval_loss" in logs and state.is_world_process_zero:
            step = f"step {state.global_step}/{state.max_steps}"
            stderr_console.print(f"  {step}: validation loss {logs['eval_loss']:.4f}")
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
        stderr_console.print("  " + " | ".join(parts))


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
        rates = [
            base * fn(step) for base, fn in zip(lr_scheduler.base_lrs, lr_scheduler.lr_lambdas, strict=True)
        ]
        for group, rate in zip(optimizer.param_groups, rates, strict=True):
            group["lr"] = rate
        set_last_lr(lr_scheduler, rates)


# ---------------------------------------------------------------------------------------------------- loggers


class _RunTensorBoard(TensorBoardCallback):
    """TensorBoard event files in the run directory (transformers v5 dropped TrainingArguments.logging_dir)."""

    def __init__(self, log_dir: Path) -> None:
        super().__init__()
        self.logging_dir = str(log_dir)


class _FinalEvaluation(TrainerCallback):
    """Evaluate the validation split at the last step as well (eval_steps need not divide max_steps), and close
    the W&B run this process opened."""

    def __init__(self, wandb_run: Any = None) -> None:
        self.wandb_run = wandb_run

    def on_step_end(self, args, state, control, **kwargs):
        if args.eval_strategy != "no" and state.global_step >= state.max_steps:
            control.should_evaluate = True

    def on_train_end(self, args, state, control, **kwargs):
        if self.wandb_run is not None:
            self.wandb_run.finish()
            self.wandb_run = None


def report_callbacks(
    cfg: TrainingConfig, run: RunDir, config: dict[str, Any] | None = None
) -> list[TrainerCallback]:
    """The callbacks for `training.report_to`, logging under run/logs (on the main process only).

    TensorBoard: run/logs/tensorboard. W&B: run/logs/wandb, offline unless `wandb_mode: online` (an offline run
    is uploaded later with `wandb sync`); a resumed run continues the same W&B run (its id is in the manifest).
    Also makes the Trainer evaluate the validation split at the last step.

    Args:
        config: the resolved run config, stored with the W&B run.
    """
    wandb_run = None
    callbacks: list[TrainerCallback] = []
    if is_main_process() and "tensorboard" in cfg.report_to:
        callbacks.append(_RunTensorBoard(run.path / "logs" / "tensorboard"))
    if is_main_process() and "wandb" in cfg.report_to:
        import wandb

        run_id = run.manifest().get("wandb_run_id") or uuid.uuid4().hex[:12]
        run.update_manifest(wandb_run_id=run_id)
        (run.path / "logs").mkdir(parents=True, exist_ok=True)
        # Opened here, so that Trainer's WandbCallback logs into this run instead of opening its own.
        wandb_run = wandb.init(
            project=cfg.wandb_project,
            mode=cfg.wandb_mode,
            dir=str(run.path / "logs"),
            name=run.path.name,
            id=run_id,
            resume="allow",
            config=config,
        )
    return [*callbacks, _FinalEvaluation(wandb_run)]


# ---------------------------------------------------------------------------------------------------- trainer


LOSS_AVERAGES = ("token", "micro_batch")  # training.loss_average (RecipeTrainer)


class SeededLengthGroupedSampler(LengthGroupedSampler):
    """Batches of similar lengths (transformers' grouping) in an order fixed by (seed, epoch).

    transformers' own sampler draws from the global RNG when an epoch starts, so a run resumed mid-epoch would see
    other batches than an uninterrupted one; here the order of an epoch depends only on the seed and its number.
    """

    def __init__(self, batch_size: int, lengths: Sequence[int], seed: int) -> None:
        super().__init__(batch_size, lengths=list(lengths))
        self.seed, self.epoch = seed, 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __iter__(self):
        generator = torch.Generator().manual_seed(self.seed + self.epoch)
        return iter(get_length_grouped_indices(self.lengths, self.batch_size, generator=generator))


class RecipeTrainer(AdaptedTrainer):
    """HF Trainer with reproducible length grouping, padding-free packing (`crosslift.models.packing`) and a choice
    of loss averaging (`training.loss_average`).

    With none of them, it is Trainer unchanged.

    Args:
        lengths: fn(feature) -> the length `group_by_length` sorts by (default: its input_ids).
        eval_collator: packed training batches are evaluated padded, with this collator, so that the validation
            loss is computed exactly as without packing.
        loss_average: "token" (transformers' own: the loss of a step is the mean over every target token of the
            accumulated batch, summed over devices, so a long example weighs more than a short one) or
            "micro_batch" (each micro-batch's mean over its own tokens, averaged over the accumulation steps and
            devices: every micro-batch weighs the same, as in the released code of LinguaLIFT, CrossIn and PLUG,
            trained before transformers 4.46). The two agree when every micro-batch has as many target tokens.
    """

    def __init__(
        self,
        *args: Any,
        lengths: Callable[[dict[str, Any]], int] | None = None,
        eval_collator: Callable | None = None,
        loss_average: str = "token",
        **kwargs: Any,
    ) -> None:
        if loss_average not in LOSS_AVERAGES:
            raise ConfigError(
                f"training.loss_average must be one of {', '.join(LOSS_AVERAGES)}, not {loss_average!r}"
            )
        self.feature_length = lengths or (lambda f: len(f["input_ids"]))
        self.eval_collator = eval_collator
        super().__init__(*args, **kwargs)
        if loss_average == "micro_batch":
            # Trainer counts the target tokens of the accumulated batch (num_items_in_batch) and has the model
            # divide its summed loss by them only for a model that accepts loss kwargs; without, the model returns
            # its micro-batch mean and training_step divides it by the accumulation steps.
            self.model_accepts_loss_kwargs = False

    def train_sampler(self, dataset: Any) -> torch.utils.data.Sampler | None:
        if self.args.train_sampling_strategy != "group_by_length" or dataset is None:
            return super().train_sampler(dataset)
        seed = self.args.data_seed if self.args.data_seed is not None else self.args.seed
        return SeededLengthGroupedSampler(
            self.args.train_batch_size * self.args.gradient_accumulation_steps,
            [self.feature_length(f) for f in dataset],
            seed,
        )

    def get_eval_dataloader(self, eval_dataset: Any = None) -> Any:
        if self.eval_collator is None:
            return super().get_eval_dataloader(eval_dataset)
        packing, self.data_collator = self.data_collator, self.eval_collator
        try:
            return super().get_eval_dataloader(eval_dataset)
        finally:
            self.data_collator = packing

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        if PACKED_TOKENS in inputs:
            inputs = {k: v for k, v in inputs.items() if k != PACKED_TOKENS}
            inputs["use_cache"] = False  # with a cache, transformers would not find the example boundaries
        return super().compute_loss(
            model, inputs, return_outputs=return_outputs, num_items_in_batch=num_items_in_batch
        )

    def track_input_tokens(self, inputs: dict[str, Any]) -> None:
        # A packed batch has no attention mask; it says how many of its positions are real tokens.
        if PACKED_TOKENS not in inputs or self.args.include_num_input_tokens_seen == "no":
            return super().track_input_tokens(inputs)
        self.add_input_tokens(inputs[PACKED_TOKENS])

    def add_input_tokens(self, seen: int | torch.Tensor) -> None:
        """Add `seen` tokens of this process's micro-batch, summed over all processes, to the state's count."""
        seen = torch.as_tensor(seen, device=self.args.device, dtype=torch.int64)
        self.state.num_input_tokens_seen += self.accelerator.gather(seen).sum().item()


# ---------------------------------------------------------------------------------------------------- launch


def _launcher_config_file() -> Path | None:
    """The --config_file of the `accelerate launch` that started this process (Linux: the parent's command line)."""
    try:
        parent = Path("/proc") / str(os.getppid())
        argv = (parent / "cmdline").read_bytes().decode(errors="replace").split("\0")
        cwd = (parent / "cwd").resolve()
    except OSError:
        return None
    for i, arg in enumerate(argv):
        for flag in ("--config_file", "--config-file"):
            if arg == flag and i + 1 < len(argv):
                return (cwd / argv[i + 1]).resolve()
            if arg.startswith(flag + "="):
                return (cwd / arg.split("=", 1)[1]).resolve()
    return None


def launch_record(trainer: Trainer) -> dict[str, Any]:
    """How this run is spread over processes, for manifest.json: launcher, distributed type, accelerate config."""
    env = {k: v for k, v in sorted(os.environ.items()) if k.startswith(("ACCELERATE_", "FSDP_"))}
    if "ACCELERATE_DYNAMO_BACKEND" in env:  # set by every `accelerate launch`
        launcher = "accelerate"
    elif "TORCHELASTIC_RUN_ID" in os.environ:
        launcher = "torchrun"
    else:
        launcher = "none"
    record: dict[str, Any] = {
        "launcher": launcher,
        "distributed_type": str(trainer.accelerator.distributed_type.value),
        "backend": trainer.accelerator.state.backend,
        "mixed_precision": trainer.accelerator.mixed_precision,
        "deepspeed": trainer.is_deepspeed_enabled,
        "fsdp": trainer.is_fsdp_enabled,
    }
    config_file = _launcher_config_file() if launcher == "accelerate" else None
    if config_file is not None and config_file.is_file():
        record["config_file"] = str(config_file)
        record["config"] = yaml.safe_load(config_file.read_text(encoding="utf-8"))
    if env:
        record["env"] = env
    return record


def train_with_resume(trainer: Trainer, run: RunDir) -> Any:
    """Train, continuing from the run's last complete checkpoint when there is one.

    Checkpoint folders a kill left half-written are removed first; the Trainer restores model, optimizer,
    scheduler, RNG states and the data position from the checkpoint, so the result matches an uninterrupted run.
    A run extended to more steps continues with the schedule of its new length (`ScheduleAtResumedStep`).

    Raises:
        DiskError: a checkpoint (or a log) the disk refused to hold, read-only or full
            (`crosslift.io.disk_error`: torch.save's own message never says so); the cut checkpoint is
            removed, and the message says which complete one a rerun resumes from.
    """
    trainer.remove_callback(PrinterCallback)  # its raw log dicts duplicate our progress lines
    last = run.last_checkpoint()
    if last is not None:
        trainer.add_callback(ScheduleAtResumedStep())
    if trainer.is_world_process_zero():
        run.update_manifest(world_size=trainer.args.world_size, launch=launch_record(trainer))
        for d in run.remove_incomplete_checkpoints():
            stderr_console.print(
                f"removed incomplete checkpoint {d.name} (the previous run was killed while saving it)"
            )
        if last is not None:
            stderr_console.print(f"resuming from {last}")
            run.update_manifest(resumed_from=[*run.manifest().get("resumed_from", []), last.name])
    try:
        return trainer.train(resume_from_checkpoint=str(last) if last else None)
    except Exception as e:
        saving = run.checkpoints / f"checkpoint-{trainer.state.global_step}"
        error = disk_error(e, getattr(e, "filename", None) or saving)
        if error is None:
            raise
        if trainer.is_world_process_zero():
            with contextlib.suppress(OSError):  # the cut save would only hold on to space the user must free
                run.remove_incomplete_checkpoints()
        complete = run.last_checkpoint()
        resume = (
            f"{complete.name} is complete: a rerun resumes from it"
            if complete
            else "no checkpoint is complete: a rerun starts over"
        )
        raise DiskError(f"{error} ({resume})", path=error.path, errno=error.errno) from e


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
    model: PreTrainedModel,
    tokenizers: dict[str, Any],
    target: Path,
    *,
    state_dict: dict[str, Any] | None = None,
) -> Path:
    """Write final weights (safetensors) and tokenizer(s) to `target`, atomically (temp dir, then rename).

    Args:
        tokenizers: {"": tok} saves in `target` itself; other keys save in a subfolder of that name
            (the bridge model keeps its encoder tokenizer in `encoder_tokenizer/`).
        state_dict: the gathered weights when they are sharded (`gathered_state_dict`); None saves the model's own.
    """
    with atomic_folder(target) as tmp:
        # safetensors: the only format transformers v5 and peft write here
        model.save_pretrained(tmp, **({"state_dict": state_dict} if state_dict is not None else {}))
        for sub, tok in tokenizers.items():
            tok.save_pretrained(tmp / sub if sub else tmp)
    return target


def train_summary(trainer: Trainer, result: Any) -> dict[str, Any]:
    """Figures for the manifest: steps, losses, runtime and throughput of this (possibly resumed) session."""
    losses = [(h["step"], h["loss"]) for h in trainer.state.log_history if "loss" in h]
    validation = [(h["step"], h["eval_loss"]) for h in trainer.state.log_history if "eval_loss" in h]
    metrics = dict(result.metrics) if result is not None else {}
    progress = next((c for c in trainer.callback_handler.callbacks if isinstance(c, ProgressCallback)), None)
    summary = {
        "global_step": trainer.state.global_step,
        "epochs": trainer.state.epoch,
        "first_logged_loss": losses[0][1] if losses else None,
        "last_logged_loss": losses[-1][1] if losses else None,
        "loss_history": losses,
        "train_runtime_s": metrics.get("train_runtime"),
        "train_tokens_per_second": progress.tokens_per_second if progress else None,
        "input_tokens_seen": trainer.state.num_input_tokens_seen,
    }
    if validation:
        summary["validation_loss_history"] = validation
        summary["last_validation_loss"] = validation[-1][1]
    return summary


# ---------------------------------------------------------------------------------------------------- recipe


class RecipeRun:
    """The skeleton every recipe shares around its own set-up and training.

    Every process runs the recipe; the main one (rank 0) alone prepares the run directory (the others
    open it), records the manifest's start and finish, writes the final model and prints. A recipe validates
    its inputs first, then creates its `RecipeRun` (nothing is written before), and reads top to bottom:

        run = RecipeRun(cfg)
        ... set up data and model, print_main(...) progress lines ...
        run.start(models={...}, data_stats=...)                   # manifest: provenance, status "running"
        trainer = RecipeTrainer(args=run.training_arguments(...), callbacks=run.callbacks("sft"),
                                **run.trainer_options(), ...)
        result = train_with_resume(trainer, run.dir)
        run.save(trainer, model, {"": tokenizer})                 # run/model, gathered from every process
        run.finish(trainer, result, "model")                      # manifest: figures, status "completed"

    Args:
        cfg: the validated run config; its `recipe` and `seed` go into the manifest, and its `data.train` and
            `data.validation` sources are the manifest's data files.
    """

    def __init__(self, cfg: RunConfig) -> None:
        self.cfg = cfg
        self.config = cfg.model_dump(mode="json")
        self.is_main = is_main_process()
        self.dir = RunDir.prepare(cfg.output_dir, self.config) if self.is_main else RunDir(cfg.output_dir)

    def training_arguments(self, *, validation: bool) -> TrainingArguments:
        """`training_arguments` for this run's `training:` section, seed and run directory."""
        return training_arguments(self.cfg.training, self.dir, self.cfg.seed, validation=validation)

    def trainer_options(self) -> dict[str, Any]:
        """The `RecipeTrainer` keyword arguments this run's `training:` section sets (its loss averaging)."""
        return {"loss_average": self.cfg.training.loss_average}

    def callbacks(self, label: str) -> list[TrainerCallback]:
        """Progress lines headed "<label> <run name>", and the loggers of `training.report_to`."""
        progress = ProgressCallback(f"{label} {self.cfg.name}")
        return [progress, *report_callbacks(self.cfg.training, self.dir, self.config)]

    def start(self, *, models: dict[str, str], **fields: Any) -> None:
        """Record the start in manifest.json: provenance (seed, data files, models), recipe, status "running",
        and the recipe's own `fields` (data statistics, parameter counts, ...)."""
        if not self.is_main:
            return
        data = self.cfg.data
        data_files = [source.path for source in data.train + (data.validation or [])]
        self.dir.update_manifest(
            **provenance(seed=self.cfg.seed, data_files=data_files, models=models),
            recipe=self.cfg.recipe,
            status="running",
            **fields,
        )

    def save(self, trainer: Trainer, model: PreTrainedModel, tokenizers: dict[str, Any]) -> None:
        """Write the final model and its tokenizers to run/model (`save_final`).

        Call it on every process: weights sharded by FSDP or DeepSpeed ZeRO-3 are gathered from all of them
        first (ZeRO-3 needs stage3_gather_16bit_weights_on_model_save: true). A disk that refuses them raises
        `DiskError`; the last checkpoint stays, so a rerun only saves again.
        """
        state_dict = gathered_state_dict(trainer)
        if self.is_main:
            with disk_errors(self.dir.model):
                save_final(model, tokenizers, self.dir.model, state_dict=state_dict)

    def finish(self, trainer: Trainer, result: Any, what: str, **fields: Any) -> None:
        """Record the training figures (`train_summary`) and `fields` in manifest.json with status
        "completed", and say where `what` (the saved model) and the run record are."""
        if not self.is_main:
            return
        self.dir.update_manifest(status="completed", training=train_summary(trainer, result), **fields)
        where = f": {what} in {self.dir.model}, run record in {self.dir.manifest_path}"
        print_main(Text.assemble(("done", "green"), where))
