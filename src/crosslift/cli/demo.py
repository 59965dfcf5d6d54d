"""crosslift demo [--quick] [--seeds 0,1,2] [--split dev|test] [--out DIR] [key.sub=value ...]"""

from __future__ import annotations

import argparse

HELP = (
    "Show the tier gap and what LinguaLIFT, CrossIn and PLUG do to it: a built-in synthetic multilingual world, "
    "every method trained and compared offline on a CPU (~15 min; --quick ~3 min)."
)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("overrides", nargs="*", metavar="key.sub=value", help="override values of the demo config")
    p.add_argument("--config", default=None, help="a demo config YAML, or a bundled one: default, quick")
    p.add_argument(
        "--quick", action="store_true", help="a small world through the same code (the 'quick' config)"
    )
    p.add_argument(
        "--seeds", default=None, help="comma-separated seeds, e.g. 0,1,2 (mean and spread reported)"
    )
    p.add_argument(
        "--split",
        choices=("test", "dev"),
        default=None,
        help="evaluate on the test split (default) or the dev split (for calibration)",
    )
    p.add_argument("--out", default="runs/demo", help="output folder (rerunning resumes; default runs/demo)")


def run(args: argparse.Namespace) -> int:
    from crosslift.api import demo

    overrides = list(args.overrides)
    if args.seeds:
        overrides.append(f"seeds=[{args.seeds}]")
    if args.split:
        overrides.append(f"split={args.split}")
    report = demo(args.config or ("quick" if args.quick else "default"), args.out, overrides).report
    # the method x tier tables of accuracy and structure (the calibration bars are on structure)
    print("\n" + report.read_text(encoding="utf-8").split("## Response-language fidelity")[0].strip())
    print(
        f"\nreport: {report}  (also comparison.json, details.json, accuracy_by_tier.png in {report.parent})"
    )
    return 0
