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
    from crosslift.eval.results.folder import task_dirs
    from crosslift.eval.results.report import compare, print_summary, recompute

    if args.paired:
        return _paired(args)
    if args.task or args.metric:
        from crosslift.errors import ConfigError

        raise ConfigError("--task and --metric choose what --paired compares; add --paired")
    lm_eval = args.format == "lm-eval"
    if len(args.runs) == 1 or lm_eval:
        for run in args.runs:
            for task_dir in task_dirs(run):
                if lm_eval and (task_dir / "judge.json").is_file():
                    print(f"{task_dir}: a pairwise judgement has no lm-eval form; left as it is")
                    continue
                print_summary(recompute(task_dir, args.tier_rule, lm_eval=lm_eval), task_dir)
        if len(args.runs) == 1:
            return 0
    path = compare(args.runs, args.out or "comparison", args.tier_rule)
    print(f"comparison: {path}")
    return 0


def _paired(args: argparse.Namespace) -> int:
    from crosslift.errors import ConfigError
    from crosslift.eval.results.paired_report import write_paired

    if len(args.runs) != 2:
        raise ConfigError(f"--paired compares two runs, A and B (got {len(args.runs)})")
    out = args.out or "comparison"
    _, text = write_paired(
        args.runs[0], args.runs[1], out, task=args.task, metric=args.metric, tier_rule=args.tier_rule
    )
    print(text)
    print(f"paired comparison: {out}/paired.md, {out}/paired.json")
    return 0
