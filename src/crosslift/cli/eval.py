"""crosslift eval [CONFIG.yaml] [key.sub=value ...] [--task T --data-dir D --model M --languages L --limit N --out DIR]

    crosslift eval configs/eval/mmwp_tiny.yaml generation.batch_size=8
    crosslift eval --task mmwp --data-dir ../shared/data/mmwp --model MODEL_DIR_OR_URL --languages en,sw,te --limit 20 --out DIR
    crosslift eval --task mmwp --model MODEL --languages en,sw,te     # data from the cache: crosslift data download mmwp
    crosslift eval --list-tasks
    crosslift eval --task mgsm --model M --out runs/new --expect runs/old --tolerance 1   # a regression guard

The flags are a shorthand for config keys (`crosslift.cli.eval_flags`) and override the config file when both are
given. Rerunning the same command resumes: finished items are skipped. With --expect, the per-language figures are
compared with a recorded run's (`crosslift.eval.results.regression`): the command exits with status 1, naming the
languages, when any moved by more than --tolerance points. Without --data-dir a task reads its
catalogued dataset from the download cache (`crosslift data download NAME`; --download fetches it when missing).

lm-evaluation-harness's spellings work too:

    crosslift eval --model hf --model_args pretrained=MODEL_DIR,dtype=bfloat16 --tasks mmwp --num_fewshot 0 \
        --apply_chat_template --limit 20 --output_path runs/ev --log_samples
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

from crosslift.cli.eval_flags import MODEL_ARGS, default_output_dir, flag_overrides

HELP = "Evaluate a model on benchmarks (MMWP, MGSM, any parallel math set); reports by language and resource tier."


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "config", nargs="?", help="an eval config YAML, or the name of a bundled one (e.g. mmwp_tiny)"
    )
    p.add_argument("overrides", nargs="*", metavar="key.sub=value", help="override config values")
    p.add_argument(
        "--task",
        "--tasks",
        dest="task",
        action="append",
        help="task or group (repeat, or comma-separate, for several)",
    )
    p.add_argument(
        "--data-dir",
        help="folder with the task's data files (default: the download cache, see `crosslift data download`)",
    )
    p.add_argument(
        "--download",
        action="store_true",
        default=None,
        help="without --data-dir, download the task's dataset into the cache if it is not there",
    )
    p.add_argument(
        "--model",
        help="model directory, LoRA adapter directory, tiny:llama, vllm:<dir>, or http(s)://host:port/v1 "
        "(with --model_args: lm-eval's model type, hf | vllm | local-completions | local-chat-completions)",
    )
    p.add_argument("--languages", help="comma-separated language codes (default: all of the task's)")
    p.add_argument("--limit", type=int, help="evaluate the first N items per language")
    p.add_argument(
        "--out", "--output_path", dest="out", help="output folder (results go to OUT/eval/<task>/)"
    )
    p.add_argument("--backend", choices=["auto", "hf", "endpoint", "vllm"], help="force a generation backend")
    p.add_argument("--batch-size", "--batch_size", dest="batch_size", type=int, help="generation batch size")
    p.add_argument("--max-new-tokens", type=int, help="most new tokens per answer")
    p.add_argument("--shots", "--num_fewshot", dest="shots", type=int, help="few-shot exemplars per prompt")
    p.add_argument(
        "--chat",
        action="store_true",
        default=None,
        help="prompt through the model's chat template / chat API",
    )
    p.add_argument("--tier-rule", help="tier rule name or mapping file for the report (default: the task's)")
    p.add_argument(
        "--include-path",
        "--include_path",
        dest="include_path",
        action="append",
        help="extra folder or file of task YAMLs",
    )
    p.add_argument(
        "--list-tasks", action="store_true", help="list the registered tasks and groups, then exit"
    )
    p.add_argument(
        "--expect",
        metavar="PREVIOUS",
        help="a recorded run folder, task folder or summary.json: exit 1 when a language's figures moved by "
        "more than --tolerance points",
    )
    p.add_argument(
        "--tolerance",
        type=float,
        default=1.0,
        metavar="POINTS",
        help="with --expect: the largest change allowed, in percentage points for accuracies (default 1.0)",
    )
    p.add_argument(
        "--num-processes",
        type=int,
        metavar="N",
        help="evaluate in N processes (one per GPU), each generating a share of the items; the results equal "
        "a one-process run's (same as: accelerate launch --num_processes N -m crosslift eval ...)",
    )
    lm_eval = p.add_argument_group(
        "lm-evaluation-harness spellings",
        "--tasks = --task, --output_path = --out, --num_fewshot = --shots, --batch_size = --batch-size, "
        "--include_path = --include-path, --limit as above (a count of items per language), and:",
    )
    lm_eval.add_argument(
        "--model_args",
        metavar="KEY=VALUE,...",
        help=f"the model as lm-eval takes it: {', '.join(MODEL_ARGS)} (e.g. "
        "pretrained=DIR,dtype=bfloat16; peft=ADAPTER with pretrained=BASE; base_url=URL for an endpoint)",
    )
    lm_eval.add_argument(
        "--apply_chat_template",
        nargs="?",
        const=True,
        default=None,
        metavar="TEMPLATE",
        help="= --chat: prompt through the model's own chat template (a named template is not supported)",
    )
    lm_eval.add_argument(
        "--log_samples",
        "-s",
        action="store_true",
        help="accepted and ignored: every item is always kept (items.jsonl, samples_<task>_<time>.jsonl)",
    )


def build_config(args: argparse.Namespace):
    """The validated EvalConfig from the config file, its overrides and the shorthand flags (overrides too, applied
    last: `crosslift.cli.eval_flags`)."""
    from crosslift.config import ConfigSource, resolve_config, validate_config
    from crosslift.eval.config import EvalConfig

    config, overrides = args.config, list(args.overrides)
    if config is not None and "=" in config and not Path(config).exists():
        config, overrides = None, [config, *overrides]  # only overrides were given
    source = ConfigSource(resolve_config(config, "eval") if config else None, overrides)
    for key, value in flag_overrides(args, source.tree).items():
        source.override(key, value)
    if (output_dir := default_output_dir(source.tree)) is not None:
        source.override("output_dir", output_dir)
    return validate_config(EvalConfig, source)


def _list_tasks(include_paths: list[str]) -> None:
    from rich.table import Table

    from crosslift.console import stdout_console
    from crosslift.eval.tasks.registry import TaskRegistry, list_tasks

    table = Table("name", "kind", "languages", "description")
    for row in list_tasks(TaskRegistry(include_paths)):
        langs = " ".join(row.languages)
        table.add_row(
            row.name,
            row.kind,
            langs if len(langs) < 60 else f"{len(row.languages)} languages",
            row.description or "",
        )
    stdout_console.print(table)


def run(args: argparse.Namespace) -> int:
    if args.list_tasks:
        _list_tasks(args.include_path or [])
        return 0
    from crosslift.api import evaluate
    from crosslift.errors import ConfigError
    from crosslift.eval.results.folder import task_dirs
    from crosslift.eval.results.regression import expected_summaries
    from crosslift.eval.results.report import print_summary

    config = build_config(args)
    if args.tolerance < 0:
        raise ConfigError(f"--tolerance is a number of points >= 0, got {args.tolerance}")
    expected = expected_summaries(args.expect) if args.expect else None  # a wrong path fails before the model
    if (args.num_processes or 1) > 1 and "WORLD_SIZE" not in os.environ:
        status = _launch(config, args.num_processes)
        if status or expected is None:
            return status
        summaries = {s["task"]: s for s in map(_summary_of, task_dirs(Path(config.output_dir) / "eval"))}
        return _check_expected(summaries, expected, args.tolerance)
    summaries = evaluate(config)
    if int(os.environ.get("RANK", "0")) != 0:  # every process of a sharded run returns the same summaries
        return 0
    for summary in summaries.values():
        print_summary(summary, Path(config.output_dir) / "eval")
    return 0 if expected is None else _check_expected(summaries, expected, args.tolerance)


def _summary_of(task_dir: Path) -> dict[str, Any]:
    import json

    return json.loads((task_dir / "summary.json").read_text(encoding="utf-8"))


def _check_expected(summaries: dict[str, Any], expected: dict[str, Any], tolerance: float) -> int:
    """Print how the figures compare with the recorded ones; 1 when any language drifted."""
    from crosslift.eval.results.regression import find_drift

    drifts, notes = find_drift(summaries, expected, tolerance)
    for note in notes:
        print(f"note: {note}")
    if not drifts:
        print(f"as expected: every compared figure within {tolerance:g} points of the recorded run")
        return 0
    languages = sorted({d.language for d in drifts})
    print(f"DRIFT beyond {tolerance:g} points in {len(languages)} language(s): {', '.join(languages)}")
    for drift in drifts:
        print(f"  {drift.line()}")
    return 1


def _launch(config: Any, processes: int) -> int:
    """Run the validated `config` in `processes` processes (torchrun; see crosslift.eval.runner.shards)."""
    import subprocess
    import sys
    import tempfile

    from crosslift.io import atomic_write_yaml

    with tempfile.TemporaryDirectory(prefix="crosslift-eval-") as tmp:
        path = atomic_write_yaml(Path(tmp) / "eval.yaml", config.model_dump(mode="json", exclude_unset=True))
        command = [
            sys.executable,
            "-m",
            "torch.distributed.run",
            "--standalone",
            f"--nproc_per_node={processes}",
            "-m",
            "crosslift",
            "eval",
            str(path),
        ]
        return subprocess.run(command).returncode
