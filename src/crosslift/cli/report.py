"""crosslift report RUN [RUN ...] [--out DIR] [--tier-rule RULE]

    crosslift report runs/eval_tiny                         # recompute summary.json, report.md and plots
    crosslift report runs/base runs/lingualift --out cmp    # ... and put the runs side by side in cmp/

Metrics are recomputed from the raw outputs in items.jsonl; nothing is generated.
"""

from __future__ import annotations

import argparse

HELP = "Recompute evaluation reports from items.jsonl (no generation), and compare runs side by side."


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("runs", nargs="+", metavar="RUN", help="a run folder, its eval/ folder, or one task's results folder")
    p.add_argument("--out", help="where several runs' comparison goes (default: ./comparison)")
    p.add_argument("--tier-rule", help="regroup languages with this tier rule (name or mapping file)")


def run(args: argparse.Namespace) -> int:
    from crosslift.eval.report import compare, print_summary, recompute, task_dirs

    if len(args.runs) == 1:
        for task_dir in task_dirs(args.runs[0]):
            print_summary(recompute(task_dir, args.tier_rule), task_dir)
        return 0
    path = compare(args.runs, args.out or "comparison", args.tier_rule)
    print(f"comparison: {path}")
    return 0
