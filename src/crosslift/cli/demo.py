"""crosslift demo [--quick | --full] [--seeds 0,1,2] [--split dev|test] [--methods NAME[,NAME...]]
[--out DIR] [key.sub=value ...]"""

from __future__ import annotations

import argparse

HELP = (
    "The tier gap and what LinguaLIFT, CrossIn and PLUG do to it, as a controlled experiment: a built-in synthetic "
    "multilingual world, every method and its matched controls trained and compared offline on a CPU "
    "(~15 min; --quick ~3 min; --full: 5 x 2 seeds, hours)."
)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("overrides", nargs="*", metavar="key.sub=value", help="override values of the demo config")
    p.add_argument("--config", default=None, help="a demo config YAML, or a bundled one: default, quick")
    size = p.add_mutually_exclusive_group()
    size.add_argument(
        "--quick", action="store_true", help="a small world through the same code (a pipeline check)"
    )
    size.add_argument(
        "--full",
        action="store_true",
        help="the whole experiment: fine-tuning seeds 0-4 x pretraining seeds 0-1 (pretraining seed 1 is "
        "pretrained here first)",
    )
    p.add_argument("--seeds", default=None, help="comma-separated fine-tuning seeds, e.g. 0,1,2")
    p.add_argument(
        "--split",
        choices=("test", "dev"),
        default=None,
        help="evaluate on the test split (default) or the dev split (where every setting is chosen)",
    )
    p.add_argument(
        "--methods",
        default=None,
        metavar="NAME[,NAME...]",
        help="add methods to the comparison: LinguaLIFT's peers langbridge, mindmerger, qalign, layalign "
        "(docs/bridges.md), or any of the config's methods it leaves out",
    )
    p.add_argument("--out", default="runs/demo", help="output folder (rerunning resumes; default runs/demo)")


def run(args: argparse.Namespace) -> int:
    from crosslift.api import demo
    from crosslift.synth.config import FULL

    overrides = [f"{key}={value}" for key, value in FULL.items()] if args.full else []
    if args.seeds:
        overrides.append(f"seeds=[{args.seeds}]")
    if args.split:
        overrides.append(f"split={args.split}")
    config = args.config or ("quick" if args.quick else "default")
    overrides += args.overrides
    if args.methods:
        overrides.append(f"methods=[{', '.join(added_methods(config, overrides, args.methods))}]")
    report = demo(config, args.out, overrides).report
    # the headline: the primary comparison and the accuracy table
    print("\n" + report.read_text(encoding="utf-8").split("## Paired differences")[0].strip())
    print(
        f"\nreport: {report}  (also comparison.json, details.json, accuracy_by_tier.png in {report.parent})"
    )
    return 0


def added_methods(config: str, overrides: list[str], names: str) -> list[str]:
    """The config's methods and then `names` (comma-separated) that it lacks.

    Raises:
        ConfigError: a name that is no method of the demo (the known ones listed).
    """
    from crosslift.errors import ConfigError
    from crosslift.synth.config import LABELS, load_demo_config

    added = [name.strip() for name in names.split(",") if name.strip()]
    if unknown := [name for name in added if name not in LABELS]:
        raise ConfigError(f"--methods: unknown method(s) {', '.join(unknown)}; known: {', '.join(LABELS)}")
    return list(dict.fromkeys(load_demo_config(config, overrides).methods + added))
