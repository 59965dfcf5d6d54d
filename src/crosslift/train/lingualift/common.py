"""What every bridge recipe shares (LinguaLIFT's two stages, and `crosslift.train.bridge` for LangBridge,
MindMerger and LayAlign): config sections, prompt rendering, per-part optimiser groups, and a Trainer that
checkpoints only what trains.

A bridge that a recipe builds is described by `BridgeBuildConfig`: the two models and how to load them, the
bridge's own options (`crosslift.models.bridge.BridgeOptions`, the same section a saved bridge's config carries),
how the new parameters start, and optionally a method's `preset` (the released architecture of LinguaLIFT,
LangBridge, MindMerger or LayAlign) that fills every option the config does not set.

Parameter groups (methods.md §1.4): one AdamW group per part with its own learning rate and weight decay, from
the `optim:` section of a stage's YAML. Defaults are LinguaLIFT's released recipe's: alignment 6e-4 (wd 0), LM
2e-5 (wd 0.01), encoder input embeddings 2e-5 (wd 0.1); a fusion (LayAlign) 4e-5 (wd 0). Biases and norm
weights do not decay (as in HF Trainer) unless `optim.decay_norms_and_biases` (the released fork's groups decay
every parameter of a part). `optim.betas` are AdamW's (MindMerger and LayAlign use 0.8, 0.999).

Checkpoints hold the *trainable* parameters only (plus optimizer, scheduler, RNG, data position, as always):
a stage-1 checkpoint of mT5-XL + Llama-2-7B is the 25 M-parameter alignment layer, not 8 B parameters. On
resume the bridge is rebuilt exactly as at the start (same config), and the checkpoint restores what trained.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any, Literal

import torch
from pydantic import Field, field_validator, model_validator
from safetensors.torch import load_file, save_file

from crosslift.config import Section, TrainingConfig
from crosslift.data.examples import Example
from crosslift.data.sources import DataSourceConfig
from crosslift.data.templates import TEMPLATES, get_template, user_text
from crosslift.errors import ConfigError, CrossliftError, DataError
from crosslift.models.bridge import BridgeModel, BridgeOptions, BridgeProcessor
from crosslift.models.build import build_bridge
from crosslift.models.labels import IGNORE_INDEX
from crosslift.models.packing import check_packing_support, row_tokens_for
from crosslift.train.common import RecipeRun, RecipeTrainer
from crosslift.train.hf_compat import attn_implementation

CHECK_FILE = "alignment_check.json"
TRAINABLE_WEIGHTS = "model.safetensors"  # the name HF Trainer looks for in a checkpoint folder


# ---------------------------------------------------------------------------------------------------- config

# The released architecture of each method, as bridge options (methods.md §1.2 and §4; docs/bridges.md). A
# preset fills the options a config leaves unset; what a config sets wins.
PRESETS: dict[str, dict[str, Any]] = {
    # AzureStarz/LinguaLIFT model/: FFNWithAddedBosEos (GELU), enc_bos/enc_eos = torch.randn, add_new_lines_to_enc
    "lingualift": {
        "family": "replace",
        "alignment": "ffn",
        "activation": "gelu",
        "begin_boundary": True,
        "end_boundary": True,
        "boundary_init": "normal",
        "boundary_init_std": 1.0,
        "encoder_new_line_tokens": True,
    },
    # kaistAI/LangBridge: LinearWithAddedEos (enc_eos = torch.randn), add_new_lines_to_enc True
    "langbridge": {
        "family": "replace",
        "alignment": "linear",
        "begin_boundary": False,
        "end_boundary": True,
        "boundary_init": "normal",
        "boundary_init_std": 1.0,
        "encoder_new_line_tokens": True,
    },
    # CONE-MT/MindMerger modeling_mindmerger.py: MLP d -> 2d -> d_lm (ReLU), end_boundary zeros, plain mT5 tokenizer
    "mindmerger": {
        "family": "augment",
        "alignment": "ffn",
        "activation": "relu",
        "begin_boundary": False,
        "end_boundary": True,
        "boundary_init": "zeros",
        "encoder_new_line_tokens": False,
    },
    # LayAlign (SUSTech-NLP; davidguzmanr/LayAlign) LayAlign.py, layer_wise_aligner.py: MindMerger's mapping, and
    # encoder layers 0..E-1 mixed into every LM layer through gated adaption-prompt attention (structure Linear)
    "layalign": {
        "family": "fusion",
        "alignment": "ffn",
        "activation": "relu",
        "begin_boundary": False,
        "end_boundary": True,
        "boundary_init": "zeros",
        "encoder_new_line_tokens": False,
        "fusion_structure": "linear",
    },
}


class BridgeBuildConfig(BridgeOptions):
    """Which encoder and LM to join, how to load them, how the new parameters start, and the bridge's options
    (`crosslift.models.bridge.BridgeOptions`: family, alignment, boundaries, encoder layer, fusion, ...)."""

    preset: Literal[tuple(PRESETS)] | None = Field(
        None,
        description="a method's released architecture, filling the options this section leaves unset: "
        + ", ".join(PRESETS),
    )
    encoder: str = Field(
        description="encoder directory, hub id or tiny:<kind> (encoder-only, or a T5-family encoder half)"
    )
    lm: str = Field(description="causal LM directory, hub id or tiny:<kind>")
    dtype: Literal["auto", "float32", "bfloat16", "float16"] = "auto"
    trust_remote_code: bool = False
    attn_implementation: str | None = None
    boundary_init: Literal["normal", "zeros"] = Field(
        "normal",
        description="boundary vectors start ~N(0, std^2) (LinguaLIFT, LangBridge: randn) or at zero (LinguaLIFT's "
        "dev repo, MindMerger, LayAlign)",
    )
    boundary_init_std: float | None = Field(
        None,
        gt=0,
        description="normal init: the std (default: the LM's embedding std; released code: 1.0)",
    )

    @model_validator(mode="before")
    @classmethod
    def _preset(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("preset") in PRESETS:
            return PRESETS[data["preset"]] | data
        return data

    @model_validator(mode="after")
    def _init(self) -> BridgeBuildConfig:
        if self.boundary_init == "zeros" and self.boundary_init_std is not None:
            raise ValueError("boundary_init_std applies to boundary_init: normal (zeros start at zero)")
        return self

    def bridge_options(self) -> dict[str, Any]:
        """The `BridgeOptions` part of this section, for `build_bridge`."""
        return self.model_dump(include=set(BridgeOptions.model_fields))

    def boundary_std(self, bridge: BridgeModel) -> float:
        """The boundary vectors' init std: 0 for zeros, else the configured one or the LM's embedding std."""
        if self.boundary_init == "zeros":
            return 0.0
        return self.boundary_init_std or float(bridge.lm.get_input_embeddings().weight.detach().float().std())

    def build(self) -> tuple[BridgeModel, BridgeProcessor, float]:
        """The bridge this section describes, its new parameters initialised, the boundary vectors at
        `boundary_std`. Returns the bridge, its processor and that std (for the run's manifest)."""
        bridge, processor = build_bridge(
            self.encoder,
            self.lm,
            dtype=self.dtype,
            trust_remote_code=self.trust_remote_code,
            attn_implementation=self.attn_implementation,
            **self.bridge_options(),
        )
        std = self.boundary_std(bridge)
        bridge.alignment.reset_parameters(boundary_std=std)
        return bridge, processor, std


class GroupConfig(Section):
    """Learning rate and weight decay of one part of the bridge."""

    lr: float = Field(gt=0)
    weight_decay: float = Field(0.0, ge=0)


class OptimConfig(Section):
    """One AdamW parameter group per part; a part that does not train in a stage ignores its group."""

    alignment: GroupConfig = GroupConfig(lr=6e-4, weight_decay=0.0)
    lm: GroupConfig = GroupConfig(lr=2e-5, weight_decay=0.01)
    encoder_embeddings: GroupConfig = GroupConfig(lr=2e-5, weight_decay=0.1)
    decay_norms_and_biases: bool = Field(
        False,
        description="decay every parameter of a part, norm weights and biases included (the released "
        "LLaMA-Factory fork's groups); default: they do not decay, as in HF Trainer",
    )
    fusion: GroupConfig = GroupConfig(lr=4e-5, weight_decay=0.0)
    betas: tuple[float, float] = Field(
        (0.9, 0.999), description="AdamW's betas (MindMerger, LayAlign: 0.8, 0.999)"
    )

    @field_validator("betas")
    @classmethod
    def _betas(cls, value: tuple[float, float]) -> tuple[float, float]:
        if not all(0 <= b < 1 for b in value):
            raise ValueError("each beta must be in [0, 1)")
        return value


class TrainableConfig(Section):
    """What trains besides the stage's own part (stage 1: the alignment layer; stage 2: the LM)."""

    encoder_embeddings: bool = Field(
        False, description="also train the encoder's input embeddings (released recipe: yes)"
    )


class BridgeDataConfig(Section):
    """Instruction data; the encoder reads the rendered prompt (see the variant), the LM learns the target."""

    train: list[DataSourceConfig] = Field(min_length=1)
    validation: list[DataSourceConfig] | None = Field(
        None, description="held-out data (same form as train) whose loss is logged every training.eval_steps"
    )
    template: str | None = Field(
        None,
        description="a crosslift template (alpaca, metamath, tulu, chat), or null: the example's text as is",
    )
    lm_max_length: int = Field(
        1280, gt=8, description="LM sequence cap: prefix + soft tokens + suffix + target"
    )
    skip_invalid: bool = Field(False, description="skip (and count) invalid records instead of failing")

    @field_validator("template")
    @classmethod
    def _known_template(cls, name: str | None) -> str | None:
        if name is not None and name not in TEMPLATES:
            raise ValueError(f"one of {', '.join(sorted(TEMPLATES))}, or null")
        return name


class BridgeTrainingConfig(TrainingConfig):
    """The optimisation loop; learning rates and weight decay come from `optim:` per part instead."""

    @field_validator("learning_rate", "weight_decay")
    @classmethod
    def _per_part(cls, v: float, info: Any) -> float:
        # Runs only when the key is given: it would be silently ignored, so it is an error.
        raise ValueError(
            f"the LinguaLIFT recipes take {info.field_name} per part: set optim.alignment, optim.lm and "
            "optim.encoder_embeddings (lr, weight_decay) instead"
        )


# ---------------------------------------------------------------------------------------------------- data


def render_prompt(example: Example, template: str | None, tokenizer: Any = None) -> str:
    """The prompt text of an example: a crosslift template's, or (None) the example's own text."""
    if template is None:
        return user_text(example)
    return get_template(template, tokenizer=tokenizer).render(example).prompt


def encode_pairs(
    processor: BridgeProcessor,
    pairs: Iterable[tuple[str, str, str]],
    lm_max_length: int,
    *,
    lm_reads_prompt: bool = True,
) -> tuple[list[dict], dict[str, Any]]:
    """Tokenize (id, prompt, target) triples; rows with no room for a target token are left out and counted.

    `lm_reads_prompt=False`: the LM of an augment or fusion bridge does not read the prompt (`BridgeProcessor`).
    """
    features, left_out = [], []
    encoder_truncated = target_truncated = 0
    for ex_id, prompt, target in pairs:
        feature = processor.encode(
            prompt, target, lm_max_length=lm_max_length, lm_reads_prompt=lm_reads_prompt
        )
        if feature is None:
            left_out.append(ex_id)
            continue
        encoder_truncated += feature["encoder_truncated"]
        target_truncated += feature["target_truncated"]
        features.append(feature)
    if not features:
        raise DataError(f"no example keeps any target token within lm_max_length={lm_max_length}")
    stats = {
        "examples": len(features) + len(left_out),
        "used": len(features),
        "encoder_truncated": encoder_truncated,
        "target_truncated": target_truncated,
        "left_out_no_target_within_lm_max_length": len(left_out),
        "left_out_ids_sample": left_out[:20],
        "encoder_tokens": sum(len(f["encoder_input_ids"]) for f in features),
        "lm_positions": sum(len(f["input_ids"]) + processor.soft_length(f) for f in features),
        "target_tokens": sum(sum(t != IGNORE_INDEX for t in f["labels"]) for f in features),
    }
    return features, stats


def data_line(stats: dict[str, Any]) -> str:
    return (
        f"data: {stats['used']} examples, {stats['encoder_tokens']:,} encoder tokens, {stats['lm_positions']:,} LM "
        f"positions ({stats['encoder_truncated']} encoder inputs and {stats['target_truncated']} targets truncated, "
        f"{stats['left_out_no_target_within_lm_max_length']} left out: no target token within lm_max_length)"
    )


# ---------------------------------------------------------------------------------------------------- training


def parameter_groups(model: BridgeModel, optim: OptimConfig, decay: Iterable[str]) -> list[dict[str, Any]]:
    """AdamW groups per trainable part (and decay / no decay), the first trained part first.

    Each group carries a "part" key ("alignment", "lm", "encoder_embeddings", "fusion") for logs and tests.
    """
    decay = set(decay)
    embeddings = model.encoder_input_embeddings().weight
    parts: dict[str, list[tuple[str, torch.nn.Parameter]]] = {
        "alignment": [],
        "lm": [],
        "encoder_embeddings": [],
        "fusion": [],
    }
    for name, param in model.named_parameters():
        if not param.requires_grad:
            continue
        if param is embeddings:
            parts["encoder_embeddings"].append((name, param))
        elif name.startswith(("alignment.", "lm.", "fusion.")):
            parts[name.split(".", 1)[0]].append((name, param))
        else:
            raise CrossliftError(
                f"trainable parameter {name} belongs to no optimizer group (the encoder body is frozen)"
            )
    groups = []
    for part, named in parts.items():
        setting = getattr(optim, part)
        for decays in (True, False):
            params = [p for n, p in named if (n in decay or optim.decay_norms_and_biases) == decays]
            if params:
                wd = setting.weight_decay if decays else 0.0
                groups.append({"params": params, "lr": setting.lr, "weight_decay": wd, "part": part})
    if not groups:
        raise CrossliftError("nothing to train: every parameter of the bridge is frozen")
    return groups


class BridgeTrainer(RecipeTrainer):
    """HF Trainer with per-part parameter groups, trainable-only checkpoints and honest token counts.

    The groups are built from the unwrapped bridge before DeepSpeed or FSDP2 wrap it (accelerate then maps them
    onto the sharded parameters); checkpoints under DeepSpeed / FSDP are theirs, resumed by Trainer.

    Args:
        optim: the learning rate and weight decay of each part.
        packing: lay the assembled LM inputs out padding-free (`BridgeModel.forward(packed=...)`), in rows of at
            most `row_tokens` positions (None: one row).
    """

    def __init__(
        self,
        *args: Any,
        optim: OptimConfig,
        packing: bool = False,
        row_tokens: int | None = None,
        **kwargs: Any,
    ) -> None:
        self.optim_config = optim
        self.packing, self.row_tokens = packing, row_tokens
        if packing:
            lm = (kwargs["model"] if "model" in kwargs else args[0]).lm
            check_packing_support(lm, attn_implementation(lm))
        # group_by_length sorts by the assembled LM length: text + soft tokens (+ boundaries, equal for all)
        kwargs.setdefault("lengths", lambda f: len(f["input_ids"]) + len(f["encoder_input_ids"]))
        super().__init__(*args, **kwargs)

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        if self.packing:
            inputs = {**inputs, "packed": True, "row_tokens": self.row_tokens}
        return super().compute_loss(
            model, inputs, return_outputs=return_outputs, num_items_in_batch=num_items_in_batch
        )

    def create_optimizer(self, model: Any = None) -> torch.optim.Optimizer:
        if self.optimizer is None:
            opt_model = self.model if model is None else model
            groups = parameter_groups(opt_model, self.optim_config, self.get_decay_parameter_names(opt_model))
            optimizer_cls, kwargs = self.get_optimizer_cls_and_kwargs(self.args, opt_model)
            kwargs.pop("lr", None)  # every group has its own
            kwargs["betas"] = self.optim_config.betas
            self.optimizer = optimizer_cls(groups, **kwargs)
        return self.optimizer

    def track_input_tokens(self, inputs: dict[str, Any]) -> None:
        # Count every LM position the step computed: text tokens, soft tokens and boundary vectors.
        if self.args.include_num_input_tokens_seen == "no":
            return
        options = self.model.config.options
        boundaries = int(options.begin_boundary) + int(options.end_boundary)
        self.add_input_tokens(
            inputs["attention_mask"].sum()
            + inputs["encoder_attention_mask"].sum()
            + boundaries * len(inputs["input_ids"])
        )

    def save_weights(self, output_dir: str, state_dict: dict[str, Any] | None) -> None:
        """Checkpoints: only the parameters that train (the frozen ones are rebuilt from the config on resume)."""
        if not self.args.should_save:
            return
        output = Path(output_dir)
        output.mkdir(parents=True, exist_ok=True)
        trainable = trainable_names(self.model)
        if state_dict is None:
            state_dict = {n: p for n, p in self.model.named_parameters() if n in trainable}
        weights = {n: t.detach().cpu().contiguous() for n, t in state_dict.items() if n in trainable}
        save_file(
            weights, output / TRAINABLE_WEIGHTS, metadata={"format": "pt", "contents": "trainable parameters"}
        )

    def load_checkpoint_weights(self, checkpoint: str, model: torch.nn.Module) -> None:
        path = Path(checkpoint) / TRAINABLE_WEIGHTS
        if not path.is_file():
            raise CrossliftError(f"checkpoint {checkpoint} has no {TRAINABLE_WEIGHTS}")
        weights = load_file(path)
        trainable = trainable_names(model)
        if set(weights) != trainable:
            raise CrossliftError(
                f"checkpoint {checkpoint} holds other trainable parameters than this run trains "
                f"(missing: {sorted(trainable - set(weights))[:5]}, unexpected: {sorted(set(weights) - trainable)[:5]})"
            )
        model.load_state_dict(weights, strict=False)


def trainable_names(model: torch.nn.Module) -> set[str]:
    return {n for n, p in model.named_parameters() if p.requires_grad}


def bridge_trainer(
    run: RecipeRun,
    bridge: BridgeModel,
    processor: BridgeProcessor,
    features: list[dict[str, Any]],
    validation: list[dict[str, Any]] | None,
    label: str,
) -> BridgeTrainer:
    """A stage's trainer: the run's `optim:` groups, `training:` settings and `data.lm_max_length` rows."""
    cfg = run.cfg
    return BridgeTrainer(
        model=bridge,
        args=run.training_arguments(validation=validation is not None),
        train_dataset=features,
        eval_dataset=validation,
        data_collator=processor.collate,
        callbacks=run.callbacks(label),
        optim=cfg.optim,
        packing=cfg.training.packing,
        row_tokens=row_tokens_for(attn_implementation(bridge.lm), cfg.data.lm_max_length),
        **run.trainer_options(),
    )


def group_summary(optimizer: torch.optim.Optimizer) -> list[dict[str, Any]]:
    """Per part: parameter count, learning rate and weight decay, for the manifest."""
    return [
        {
            "part": g["part"],
            "parameters": sum(p.numel() for p in g["params"]),
            "lr": g["initial_lr"] if "initial_lr" in g else g["lr"],
            "weight_decay": g["weight_decay"],
        }
        for g in optimizer.param_groups
    ]


def parameter_counts(model: BridgeModel) -> dict[str, int]:
    def count(module: torch.nn.Module, trainable: bool = False) -> int:
        return sum(p.numel() for p in module.parameters() if p.requires_grad or not trainable)

    return {
        "total": count(model),
        "trainable": count(model, True),
        "encoder": count(model.encoder),
        "alignment": count(model.alignment),
        "lm": count(model.lm),
        "trainable_alignment": count(model.alignment, True),
        "trainable_lm": count(model.lm, True),
        "trainable_encoder_embeddings": count(model.encoder_input_embeddings(), True),
    } | (
        {"fusion": count(model.fusion), "trainable_fusion": count(model.fusion, True)}
        if model.fusion is not None
        else {}
    )


# ---------------------------------------------------------------------------------------------------- stage-1 dirs


def with_options(
    bridge: BridgeModel, processor: BridgeProcessor, model_dir: Path, **changes: Any
) -> BridgeProcessor:
    """Change options of a loaded bridge that touch no parameter (a later stage's prompts differ: another
    encoder_pattern, encoder_max_length); returns its new processor.

    Raises:
        ConfigError: the bridge cannot take them (e.g. an encoder_pattern for the replace family).
    """
    try:
        bridge.config.update_options(**changes)
    except ConfigError as e:
        raise ConfigError(f"the bridge {model_dir} ({bridge.config.options.family} family): {e}") from None
    return BridgeProcessor(processor.lm_tokenizer, processor.encoder_tokenizer, bridge.config)


def resolve_bridge_dir(path: str | Path) -> tuple[Path, Path | None]:
    """(model directory, run directory or None) of a stage-1 run directory or of a bridge model directory."""
    path = Path(path).expanduser()
    if (path / "model" / "config.json").is_file():
        return path / "model", path
    if (path / "config.json").is_file():
        run = path.parent if (path.parent / "manifest.json").is_file() and path.name == "model" else None
        return path, run
    if (path / "manifest.json").is_file():
        raise ConfigError(
            f"{path} is a run directory without a finished model (model/ is missing): did stage 1 complete?"
        )
    raise ConfigError(f"{path} is neither a stage-1 run directory nor a bridge model directory")
