"""The demo's steps as ordinary configs: each is built as the object `crosslift train` / `crosslift eval` loads,
validated, and written as YAML a user can rerun by hand. An invalid one fails in the demo's own process, with the
usual located error, before any child process starts."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import Field

from crosslift.config import ConfigSource, Section, validate_config
from crosslift.io import atomic_write_text


class Steps(Section):
    """A training schedule."""

    max_steps: int | None = Field(None, gt=0, description="optimizer steps; unset: `epochs` over the data")
    epochs: float = Field(1.0, gt=0)
    batch_size: int = Field(gt=0)
    learning_rate: float = Field(gt=0)
    warmup_ratio: float = Field(0.0, ge=0, lt=1)
    lr_scheduler: Literal["linear", "cosine", "constant", "constant_with_warmup"] = "cosine"


def write_step_config(
    verb: Literal["train", "eval"],
    path: Path,
    tree: dict[str, Any],
    header: str,
    languages: Path | None = None,
) -> Path:
    """A step's config, built as the object `crosslift <verb>` loads (the recipe's `Config`, or `EvalConfig`) and
    written to `path` as YAML a user can rerun with that command (`languages`: the world's language table, which
    a rerun needs registered).

    Raises:
        ConfigError: the config is invalid (naming `path` and the key): the demo stops before any step runs.
    """
    from crosslift.eval.config import EvalConfig
    from crosslift.train import recipe_module

    schema = recipe_module(tree["recipe"]).Config if verb == "train" else EvalConfig
    source = ConfigSource(None)
    source.path, source.tree = path, tree  # validated as if read from the file it becomes
    config = validate_config(schema, source)
    rerun = f"crosslift {verb} {path}"
    if languages is not None:
        rerun = f"CROSSLIFT_LANGUAGES={languages} {rerun}"
    text = f"# {header}\n# Written by `crosslift demo`; rerun this step alone with: {rerun}\n"
    dumped = config.model_dump(mode="json", exclude_unset=True)
    atomic_write_text(path, text + yaml.safe_dump(dumped, sort_keys=False, allow_unicode=True))
    return path


def training_section(steps: Steps, packing: bool = False, learning_rate: bool = True) -> dict[str, Any]:
    """A recipe's `training:` section for a schedule; `learning_rate=False` for the LinguaLIFT recipes, which take
    the learning rate per part (`optim`)."""
    every = max((steps.max_steps or 500) // 10, 1)
    section = {
        "packing": packing,
        "max_steps": steps.max_steps,
        "epochs": steps.epochs,
        "batch_size": steps.batch_size,
        "learning_rate": steps.learning_rate,
        "lr_scheduler": steps.lr_scheduler,
        "warmup_ratio": steps.warmup_ratio,
        "save_steps": 5 * every,
        "save_total_limit": 1,
        "logging_steps": every,
    }
    if not learning_rate:
        del section["learning_rate"]
    return section
