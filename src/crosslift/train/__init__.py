"""Training recipes, one module per method stage. A config's `recipe:` key picks the module; each module
exposes `Config` (its pydantic model) and `run(config)`, built on the skeleton of `common.RecipeRun`.

CrossIn, PLUG and QAlign train through `sft` over their own data; LinguaLIFT has its own two stages
(`lingualift/`); LangBridge, MindMerger and LayAlign train through `bridge`.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from pathlib import Path

from crosslift.config import ConfigLike, config_source, validate_config
from crosslift.errors import ConfigError
from crosslift.runs import RunDir, run_folder_lock

RECIPES: dict[str, str] = {
    "pretrain": "crosslift.train.pretrain",
    "sft": "crosslift.train.sft",
    "lingualift_stage1": "crosslift.train.lingualift.stage1",
    "lingualift_stage2": "crosslift.train.lingualift.stage2",
    "bridge": "crosslift.train.bridge",
}


def recipe_module(name: str):
    """The module of recipe `name` (imported lazily: recipes pull in torch and transformers)."""
    if name not in RECIPES:
        raise ConfigError(f"unknown recipe '{name}'; available: {', '.join(sorted(RECIPES))}")
    return importlib.import_module(RECIPES[name])


def load_run_config(config: ConfigLike, overrides: Sequence[str] = ()):
    """Read a run config (a YAML path, a bundled name, a mapping or a config object:
    `crosslift.config.config_source`), pick its recipe from the `recipe:` key and validate it against that
    recipe's Config. Returns the recipe's module and the validated config."""
    source = config_source(config, "train", overrides)
    name = source.tree.get("recipe")
    if not isinstance(name, str):
        raise ConfigError(
            f"{source.where(('recipe',))}: missing key 'recipe' (one of: {', '.join(sorted(RECIPES))})"
        )
    return recipe_module(name), validate_config(recipe_module(name).Config, source)


def check(path: str | Path, overrides: list[str] = ()) -> str:
    """`crosslift train CONFIG --check`: validate the config and all it names that can be checked without loading
    weights or downloading (`crosslift.train.preflight`); returns the plan.

    Raises:
        ConfigError: the config is invalid, or the check found problems (all of them listed).
    """
    from crosslift.train.preflight import preflight

    module, cfg = load_run_config(path, overrides)
    found = preflight(module, cfg, path)
    if found.problems:
        raise ConfigError(f"{path}: the check found problems:\n" + found.report())
    return found.report()


def train(config: ConfigLike, overrides: Sequence[str] = ()) -> RunDir:
    """`crosslift train CONFIG [overrides]`: validate everything first (`load_run_config`), then run the recipe,
    holding the run folder's lock (`crosslift.runs.run_folder_lock`: one writer per run folder). Returns the run
    directory."""
    module, cfg = load_run_config(config, overrides)
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # per-shard load/save bars; recipes print their own progress lines
    with run_folder_lock(cfg.output_dir):
        return module.run(cfg)
