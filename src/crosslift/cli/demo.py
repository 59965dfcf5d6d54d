"""crosslift demo"""

from __future__ import annotations

import argparse

HELP = "Run the main job on its built-in default: tiny-model SFT on GSM8K questions (configs/sft_tiny.yaml)."


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("overrides", nargs="*", metavar="key.sub=value", help="override values of the demo config")


def run(args: argparse.Namespace) -> int:
    from crosslift.cli.train import resolve_config
    from crosslift.train import train

    run_dir = train(resolve_config("sft_tiny"), ["output_dir=runs/demo", "name=demo", *args.overrides])
    print(f"\ndemo finished. Results: {run_dir.path}/ (config.yaml, manifest.json, model/, checkpoints/)")
    return 0
