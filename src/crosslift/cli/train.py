"""crosslift train CONFIG.yaml [key.sub=value ...]"""

from __future__ import annotations

import argparse

HELP = "Train with a recipe config (sft, lingualift_stage1, ...); rerunning the same command resumes."


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("config", help="a YAML run config, or the name of a bundled one (e.g. sft_tiny)")
    p.add_argument("overrides", nargs="*", metavar="key.sub=value", help="override config values")
    p.add_argument(
        "--check",
        action="store_true",
        help="only validate the config and what it names (no weights loaded, nothing downloaded) and print the "
        "plan; exit status 0 when it would run, 2 when not",
    )


def run(args: argparse.Namespace) -> int:
    from crosslift.api import fit
    from crosslift.config import resolve_config
    from crosslift.runs import close_process_group
    from crosslift.train import check

    config = resolve_config(args.config, "train")
    if args.check:
        print(check(config, args.overrides))
        return 0
    fit(config, args.overrides)
    close_process_group()
    return 0
