"""crosslift eval [CONFIG.yaml] [key.sub=value ...] [--task T --data-dir D --model M --languages L --limit N --out DIR]

    crosslift eval configs/eval/mmwp_tiny.yaml generation.batch_size=8
    crosslift eval --task mmwp --data-dir ../shared/data/mmwp --model MODEL_DIR_OR_URL --languages en,sw,te --limit 20 --out DIR
    crosslift eval --task mmwp --model MODEL --languages en,sw,te     # data from the cache: crosslift data download mmwp
    crosslift eval --list-tasks

The flags are a shorthand for config keys (`crosslift.cli.eval_flags`) and override the config file when both are
given. Rerunning the same command resumes: finished items are skipped. Without --data-dir a task reads its
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
    from crosslift.eval import evaluate
    from crosslift.eval.results.report import print_summary

    config = build_config(args)
    if (args.num_processes or 1) > 1 and "WORLD_SIZE" not in os.environ:
        return _launch(config, args.num_processes)
    for summary in evaluate(config).values():
        if int(os.environ.get("RANK", "0")) == 0:  # every process of a sharded run returns the same summaries
            print_summary(summary, Path(config.output_dir) / "eval")
    return 0


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
