"""crosslift judge --a RUN_A --b RUN_B --judge URL --out DIR [--task T] [--languages L] [--limit N] ...

    crosslift eval --task xalpacaeval --data-dir ../shared/data/alpaca_eval_en --languages en --model M1 --out runs/a
    crosslift eval --task xalpacaeval --data-dir ../shared/data/alpaca_eval_en --languages en --model M2 --out runs/b
    OPENAI_API_KEY=... crosslift judge --a runs/a --b runs/b --judge https://api.openai.com/v1 \\
        --judge-model gpt-4-0613 --out runs/a_vs_b

Every pair of answers is judged twice (A/B swapped) with MT-bench's pair-v2 prompt plus PLUG's fluency sentence;
PLUG's aggregation gives win / tie / loss per language and tier. Rerunning the same command resumes. The API key
is read only from the environment variable named by --api-key-env and is never logged or written.
"""

from __future__ import annotations

import argparse

HELP = "Judge two evaluation runs' answers pairwise with an LLM (PLUG's X-AlpacaEval protocol): win/tie/loss by language."


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--a", required=True, metavar="RUN_A", help="run folder of `crosslift eval` (the system under test)"
    )
    p.add_argument(
        "--b", required=True, metavar="RUN_B", help="run folder to compare with (e.g. the baseline)"
    )
    p.add_argument(
        "--judge",
        required=True,
        metavar="URL",
        help="OpenAI-compatible API root, e.g. http://localhost:8000/v1",
    )
    p.add_argument(
        "--out", required=True, help="judging folder (verdicts.jsonl, summary.json, report.md); reruns resume"
    )
    p.add_argument(
        "--judge-model", help="the judge model's name on the server (default: the only one it lists)"
    )
    p.add_argument("--api-key-env", default="OPENAI_API_KEY", help="environment variable holding the API key")
    p.add_argument("--task", help="the task to judge in both runs (when a run holds several)")
    p.add_argument("--task-a", help="the task of run A, when it differs from run B's (e.g. xalpacaeval_plug)")
    p.add_argument("--task-b", help="the task of run B")
    p.add_argument("--languages", help="comma-separated language codes (default: all both runs answered)")
    p.add_argument("--limit", type=int, help="judge the first N shared items per language")
    p.add_argument(
        "--extract-a",
        choices=["auto", "plug", "raw"],
        default="auto",
        help="run A's answer: auto (the task's filter, e.g. PLUG extraction), plug, or raw output",
    )
    p.add_argument(
        "--extract-b", choices=["auto", "plug", "raw"], default="auto", help="run B's answer, likewise"
    )
    p.add_argument(
        "--no-fluency", action="store_true", help="plain MT-bench pair-v2, without PLUG's fluency sentence"
    )
    p.add_argument("--max-tokens", type=int, default=2048, help="most tokens per judgment")
    p.add_argument("--concurrency", type=int, default=8, help="judge requests in flight")
    p.add_argument("--timeout", type=float, default=120.0, help="seconds per request before it is retried")
    p.add_argument("--max-retries", type=int, default=4, help="retries of a request (timeouts, 429, 5xx)")
    p.add_argument("--tier-rule", help="tier rule name or mapping file (default: run A's task's)")


def run(args: argparse.Namespace) -> int:
    from crosslift.console import stdout_console
    from crosslift.errors import ConfigError
    from crosslift.eval.judging.pairwise import JudgeSettings, run_judge
    from crosslift.runs import run_folder_lock

    if args.limit is not None and args.limit < 1:
        raise ConfigError("--limit must be at least 1")
    settings = JudgeSettings(
        url=args.judge,
        model=args.judge_model,
        api_key_env=args.api_key_env,
        fluency=not args.no_fluency,
        max_tokens=args.max_tokens,
        timeout_s=args.timeout,
        max_retries=args.max_retries,
        concurrency=args.concurrency,
    )
    languages = [c.strip() for c in args.languages.split(",") if c.strip()] if args.languages else None
    with run_folder_lock(args.out):  # one writer per judging folder
        summary = run_judge(
            args.a,
            args.b,
            args.out,
            settings,
            task=args.task,
            task_a=args.task_a,
            task_b=args.task_b,
            languages=languages,
            limit=args.limit,
            extract_a=args.extract_a,
            extract_b=args.extract_b,
            tier_rule=args.tier_rule,
        )
    print_judge_summary(summary, stdout_console)
    return 0


def print_judge_summary(summary: dict, console) -> None:
    from rich.table import Table

    from crosslift.eval.results.formatting import fmt, levels

    table = Table(
        title=f"{summary['model']['name_or_path']}: pairwise judge (A's view, tiers: "
        f"{summary['tier_rule']['name']})",
        title_justify="left",
    )
    for column in ("", "pairs", "win", "tie", "loss", "error"):
        table.add_column(column, justify="left" if not column else "right")
    for label, kind, entry in levels(summary):
        n = entry["n_items"] if kind in ("language", "english") else entry["metrics"]["win"].get("n", "")
        table.add_row(
            label,
            str(n),
            *[
                fmt(summary, k, entry["metrics"].get(k), interval=False)
                for k in ("win", "tie", "loss", "error")
            ],
        )
    console.print(table)
