"""crosslift report RUN [RUN ...] [--out DIR] [--tier-rule RULE]

    crosslift report runs/eval_tiny                         # recompute summary.json, report.md and plots
    crosslift report runs/base runs/lingualift --out cmp    # ... and put the runs side by side in cmp/
    crosslift report --format lm-eval runs/eval_tiny        # ... and write lm-evaluation-harness's results_*.json
                                                            #     and samples_*.jsonl (for runs made before they were)
    crosslift report runs/a runs/b --paired --out cmp       # B - A item by item: paired bootstrap, McNemar, Holm
                                                            #     (cmp/paired.md, cmp/paired.json)

Metrics are recomputed from the raw outputs in items.jsonl; nothing is generated.
"""

from __future__ import annotations

import argparse

HELP = "Recompute evaluation reports from items.jsonl (no generation), and compare runs side by side."


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "runs", nargs="+", metavar="RUN", help="a run folder, its eval/ folder, or one task's results folder"
    )
    p.add_argument("--out", help="where several runs' comparison goes (default: ./comparison)")
    p.add_argument("--tier-rule", help="regroup languages with this tier rule (name or mapping file)")
    p.add_argument(
        "--paired",
        action="store_true",
        help="two runs of one task: B - A per language, tier and level on the same items (paired bootstrap "
        "interval, McNemar's exact test, Holm); writes OUT/paired.md and OUT/paired.json",
    )
    p.add_argument("--task", help="with --paired: the task to compare, when the runs hold several")
    p.add_argument(
        "--metric", help="with --paired: the 0/1 item metric compared (default: the task's primary metric)"
    )
    p.add_argument(
        "--format",
        choices=["crosslift", "lm-eval"],
        default="crosslift",
        help="lm-eval: also write lm-evaluation-harness's results_<time>.json and samples_<task>_<time>.jsonl "
        "into each task folder (new runs always have them)",
    )


def run(args: argparse.Namespace) -> int:
    from crosslift.api import report
    from crosslift.eval.results.report import print_summary

    done = report(
        args.runs,
        args.out or "comparison",
        tier_rule=args.tier_rule,
        lm_eval=args.format == "lm-eval",
        paired=args.paired,
        task=args.task,
        metric=args.metric,
    )
    for note in done.notes:
        print(note)
    for task_dir, summary in done.summaries.items():
        print_summary(summary, task_dir)
    if done.paired is not None:
        print(done.comparison.read_text(encoding="utf-8"))
        print(f"paired comparison: {done.comparison}, {done.comparison.with_suffix('.json')}")
    elif done.comparison is not None:
        print(f"comparison: {done.comparison}")
    return 0
