"""crosslift train CONFIG.yaml [key.sub=value ...]"""

from __future__ import annotations

import argparse
from pathlib import Path

HELP = "Train with a recipe config (sft, lingualift_stage1, ...); rerunning the same command resumes."


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("config", help="a YAML run config, or the name of a bundled one (e.g. sft_tiny)")
    p.add_argument("overrides", nargs="*", metavar="key.sub=value", help="override config values")


def resolve_config(name_or_path: str) -> Path:
    """A path as given, else a bundled config of that name (crosslift/configs/<name>.yaml)."""
    path = Path(name_or_path)
    if path.exists():
        return path
    bundled = (
        Path(__file__).resolve().parent.parent / "configs" / f"{name_or_path.removesuffix('.yaml')}.yaml"
    )
    return bundled if bundled.exists() else path  # a missing path fails in the loader with its name


def run(args: argparse.Namespace) -> int:
    from crosslift.train import train

    train(resolve_config(args.config), args.overrides)
    return 0
