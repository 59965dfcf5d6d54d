"""`crosslift train CONFIG --check`: everything about a run that can be checked without loading weights or
downloading, and the plan of what it would do — so that a paper config can be checked on a laptop.

Checked: the recipe, every key and value (the recipe's schema, as `crosslift train` validates it); the template;
each data source that exists (its first `SAMPLE` records read as examples: format, fields, languages) and the
inputs of a source that would be built first; every model named by path (a model directory with a config.json and
safetensors weights; a bridge directory with its encoder tokenizer; the bridge options against the layers the
encoder's and LM's config.json declare) or by tiny-model name; a DeepSpeed config file. What is not there yet —
an earlier stage's output, data that a source builds on first use, a hub id — is listed as such, not refused:
it is what a fresh machine has before the run. A problem (a file that exists but cannot serve, an option the
models cannot take) is an error; every problem is listed at once.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel

from crosslift.config import ModelConfig, TrainingConfig, config_to_dict
from crosslift.data.hub import is_hub_id
from crosslift.data.sources import DataSourceConfig
from crosslift.errors import ConfigError, CrossliftError
from crosslift.models.tiny import TINY_KINDS, TINY_PREFIX
from crosslift.runs import config_differences

SAMPLE = 1000  # records read from each data source that exists


@dataclass
class Preflight:
    """What a check found: plan lines (what the run would do), notes (what is not there yet), problems."""

    plan: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def report(self) -> str:
        lines = [*self.plan]
        lines += [f"not there yet: {note}" for note in self.notes]
        lines += [f"problem: {problem}" for problem in self.problems]
        verdict = "fails" if self.problems else "passes"
        lines.append(
            f"check {verdict}: {len(self.problems)} problem(s), {len(self.notes)} thing(s) not there yet "
            "(nothing was loaded or downloaded)"
        )
        return "\n".join(lines)


# ---------------------------------------------------------------------------------------------------- models


def _model(name: str, what: str, found: Preflight) -> dict[str, Any] | None:
    """Check a model reference; returns its config.json when it is a local directory that has one."""
    if name.startswith(TINY_PREFIX):
        kind = name[len(TINY_PREFIX) :]
        if kind not in TINY_KINDS:
            found.problems.append(f"{what} {name}: unknown tiny-model kind (one of {', '.join(TINY_KINDS)})")
        else:
            found.plan.append(f"{what}: {name} (tiny model, built locally on first use)")
        return None
    path = Path(name).expanduser()
    if not path.exists():
        if name.startswith(("/", ".", "~")) or name.count("/") > 1:
            found.notes.append(f"{what} {name} (an earlier stage's output, or a directory to fetch)")
        else:
            found.plan.append(
                f"{what}: {name} (hub id: not checked, it would be downloaded or read from the cache)"
            )
        return None
    config = path / "config.json"
    if not config.is_file():
        found.problems.append(f"{what} {name}: a directory without config.json, not a model")
        return None
    if not any(path.glob("*.safetensors")):
        found.problems.append(f"{what} {name}: no safetensors weights (pickled weights are never loaded)")
    try:
        settings = json.loads(config.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as e:
        found.problems.append(f"{config}: not valid JSON ({e})")
        return None
    found.plan.append(f"{what}: {name} ({settings.get('model_type', 'unknown type')})")
    return settings


def _layers(settings: dict[str, Any] | None) -> int | None:
    if settings is None:
        return None
    settings = settings.get("text_config", settings)
    return settings.get("num_hidden_layers", settings.get("num_layers"))


def _bridge_dir(path: str, found: Preflight) -> None:
    """A bridge saved by an earlier stage: its run directory or model/ directory."""
    from crosslift.models.bridge import ENCODER_TOKENIZER_DIR
    from crosslift.models.model_types import BRIDGE_MODEL_TYPE

    folder = Path(path).expanduser()
    model = folder / "model" if (folder / "model" / "config.json").is_file() else folder
    if not (model / "config.json").is_file():
        found.notes.append(f"bridge {path} (the earlier stage's run directory: run that stage first)")
        return
    settings = _model(str(model), "bridge", found)
    if settings is not None and settings.get("model_type") != BRIDGE_MODEL_TYPE:
        found.problems.append(f"{model}: a {settings.get('model_type')!r} model, not a bridge")
    elif settings is not None and not (model / ENCODER_TOKENIZER_DIR).is_dir():
        found.problems.append(f"{model}: no {ENCODER_TOKENIZER_DIR}/, not a saved bridge")


def _bridge_build(model: Any, found: Preflight) -> None:
    from crosslift.models.bridge import check_bridge_options

    encoder = _model(model.encoder, "encoder", found)
    lm = _model(model.lm, "LM", found)
    options = model.bridge_options()
    found.plan.append(
        f"bridge: {options['family']} family, {options['alignment']} alignment"
        + (f" (preset {model.preset})" if model.preset else "")
    )
    try:
        check_bridge_options(options, encoder_layers=_layers(encoder), lm_layers=_layers(lm))
    except ConfigError as e:
        found.problems.append(str(e))


# ---------------------------------------------------------------------------------------------------- data


def _spec_inputs(spec: BaseModel) -> list[Path]:
    """The files a build spec reads (its path-valued options)."""
    paths: list[Path] = []
    for name in type(spec).model_fields:
        value = getattr(spec, name)
        values = value.values() if isinstance(value, dict) else value if isinstance(value, list) else [value]
        paths += [v for v in values if isinstance(v, Path)]
    return paths


def _source(source: DataSourceConfig, role: str, found: Preflight) -> None:
    from crosslift.data.examples import read_examples

    path = source.path
    if is_hub_id(path):
        found.plan.append(f"{role} data: {path} (hub dataset: not checked, read from the hub or its cache)")
        return
    if not Path(path).exists():
        if source.build is None:
            found.notes.append(
                f"{role} data {path} (the source has no `build:`; make the file before training)"
            )
            return
        missing = [str(p) for p in _spec_inputs(source.build) if not p.exists()]
        found.plan.append(f"{role} data: {path}, built first by `crosslift data {source.build.verb}`")
        if missing:
            found.notes.append(f"inputs of {path}: {', '.join(missing)}")
        return
    sample = source.model_copy(update={"limit": min(source.limit or SAMPLE, SAMPLE)})
    try:
        examples, report = read_examples(path, sample)
    except CrossliftError as e:
        found.problems.append(f"{role} data: {e}")
        return
    languages = sorted({ex.instruction_lang for ex in examples if ex.instruction_lang})
    found.plan.append(
        f"{role} data: {path} (first {report.read} records read as examples"
        + (f"; languages {', '.join(languages)}" if languages else "")
        + ")"
    )


# ---------------------------------------------------------------------------------------------------- the walk


def _walk(node: Any, found: Preflight) -> None:
    """Every section of the config, by what it is."""
    from crosslift.train.bridge import StartFromConfig
    from crosslift.train.lingualift.common import BridgeBuildConfig

    if isinstance(node, DataSourceConfig):
        return
    if isinstance(node, ModelConfig):
        _model(node.name_or_path, "model", found)
    elif isinstance(node, BridgeBuildConfig):
        _bridge_build(node, found)
    elif isinstance(node, StartFromConfig):
        _bridge_dir(node.path, found)
    elif isinstance(node, TrainingConfig):
        steps = f"{node.max_steps} steps" if node.max_steps else f"{node.epochs:g} epochs"
        found.plan.append(
            f"training: {steps}, batch {node.batch_size} x grad_accum {node.grad_accum} per device, "
            f"{node.lr_scheduler} schedule, precision {node.precision}"
        )
        if node.deepspeed:
            _deepspeed(node.deepspeed, found)
    if isinstance(node, BaseModel):
        for name in type(node).model_fields:
            _walk(getattr(node, name), found)
    elif isinstance(node, list):
        for item in node:
            _walk(item, found)


def _deepspeed(path: str, found: Preflight) -> None:
    file = Path(path)
    if not file.is_file():
        found.notes.append(f"DeepSpeed config {path} (relative to where you run: the repository root)")
        return
    try:
        json.loads(file.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as e:
        found.problems.append(f"DeepSpeed config {path}: not valid JSON ({e})")


def _run_dir(cfg: Any, found: Preflight) -> None:
    run = Path(cfg.output_dir)
    saved = run / "config.yaml"
    if not saved.is_file():
        found.plan.append(f"run directory: {run} (new)")
        return
    previous = yaml.safe_load(saved.read_text(encoding="utf-8"))
    changes = config_differences(previous, config_to_dict(cfg))
    if not changes:
        state = (
            "finished: rerunning changes nothing"
            if (run / "model").is_dir()
            else "resumes from its last checkpoint"
        )
        found.plan.append(f"run directory: {run} (holds this run; {state})")
    else:
        found.plan.append(
            f"run directory: {run} holds a run with another config ({len(changes)} difference(s); training "
            "refuses it unless only training.max_steps / epochs grew, or the run wrote nothing yet)"
        )


def _trained_parts(cfg: Any) -> list[str]:
    """What the run trains: the recipe's own part and the parts its `trainable:` switches on."""
    lora = getattr(cfg, "lora", None)
    own = {
        "lingualift_stage1": ["alignment"],
        "lingualift_stage2": ["LoRA adapters on the LM" if lora else "lm"],
        "sft": ["LoRA adapters" if lora else "the whole LM"],
        "pretrain": ["the whole LM"],
    }.get(cfg.recipe, [])
    trainable = getattr(cfg, "trainable", None)
    return own + [name for name, on in (trainable.model_dump().items() if trainable else []) if on]


def preflight(module: Any, cfg: Any, path: str | Path) -> Preflight:
    """Check a validated run config (`crosslift.train.load_run_config`) without loading weights or downloading.

    Returns:
        The plan, the notes and the problems (the caller decides what a problem means; `check` raises).
    """
    found = Preflight(
        plan=[f"config: {path} (recipe {cfg.recipe}: {module.__name__}; keys and values valid)"]
    )
    _run_dir(cfg, found)
    stage1 = getattr(cfg, "stage1", None)
    if isinstance(stage1, str):  # LinguaLIFT stage 2 starts from stage 1's run
        _bridge_dir(stage1, found)
    _walk(cfg, found)
    data = getattr(cfg, "data", None)
    for role in ("train", "validation"):
        for source in getattr(data, role, None) or []:
            _source(source, role, found)
    found.plan.append(f"trains: {', '.join(_trained_parts(cfg))}")
    found.plan.append(f"writes: {Path(cfg.output_dir) / 'model'} (and checkpoints, manifest.json)")
    return found
