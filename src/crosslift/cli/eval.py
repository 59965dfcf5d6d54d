"""crosslift eval [CONFIG.yaml] [key.sub=value ...] [--task T --data-dir D --model M --languages L --limit N --out DIR]

    crosslift eval configs/eval/mmwp_tiny.yaml generation.batch_size=8
    crosslift eval --task mmwp --data-dir ../shared/data/mmwp --model MODEL_DIR_OR_URL --languages en,sw,te --limit 20 --out DIR
    crosslift eval --task mmwp --model MODEL --languages en,sw,te     # data from the cache: crosslift data download mmwp
    crosslift eval --list-tasks

The flags are a shorthand for config keys and override the config file when both are given. Rerunning the same
command resumes: finished items are skipped. Without --data-dir a task reads its catalogued dataset from the download
cache (`crosslift data download NAME`; --download fetches it when missing).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

HELP = "Evaluate a model on benchmarks (MMWP, MGSM, any parallel math set); reports by language and resource tier."


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("config", nargs="?", help="an eval config YAML, or the name of a bundled one (e.g. mmwp_tiny)")
    p.add_argument("overrides", nargs="*", metavar="key.sub=value", help="override config values")
    p.add_argument("--task", action="append", help="task or group (repeat, or comma-separate, for several)")
    p.add_argument("--data-dir", help="folder with the task's data files (default: the download cache, see `crosslift data download`)")
    p.add_argument("--download", action="store_true", default=None,
                   help="without --data-dir, download the task's dataset into the cache if it is not there")  # fmt: skip
    p.add_argument("--model", help="model directory, LoRA adapter directory, tiny:llama, vllm:<dir>, or http(s)://host:port/v1")
    p.add_argument("--languages", help="comma-separated language codes (default: all of the task's)")
    p.add_argument("--limit", type=int, help="evaluate the first N items per language")
    p.add_argument("--out", help="output folder (results go to OUT/eval/<task>/)")
    p.add_argument("--backend", choices=["auto", "hf", "endpoint", "vllm"], help="force a generation backend")
    p.add_argument("--batch-size", type=int, help="generation batch size")
    p.add_argument("--max-new-tokens", type=int, help="most new tokens per answer")
    p.add_argument("--shots", type=int, help="few-shot exemplars per prompt")
    p.add_argument("--chat", action="store_true", default=None, help="prompt through the model's chat template / chat API")
    p.add_argument("--tier-rule", help="tier rule name or mapping file for the report (default: the task's)")
    p.add_argument("--include-path", action="append", help="extra folder or file of task YAMLs")
    p.add_argument("--list-tasks", action="store_true", help="list the registered tasks and groups, then exit")


def resolve_config(name_or_path: str) -> Path:
    """A path as given, else a bundled eval config of that name (crosslift/configs/eval/<name>.yaml)."""
    path = Path(name_or_path)
    if path.exists():
        return path
    bundled = Path(__file__).resolve().parent.parent / "configs" / "eval" / f"{name_or_path.removesuffix('.yaml')}.yaml"
    return bundled if bundled.exists() else path


def _slug(text: str) -> str:
    tail = text.rstrip("/").split("/")[-1] or "model"
    return "".join(c if c.isalnum() or c in "-_." else "-" for c in tail)


def _flag_values(args: argparse.Namespace, tree: dict[str, Any]) -> dict[tuple[str, ...], Any]:
    """The shorthand flags as (key path -> value) settings of the config tree."""
    values: dict[tuple[str, ...], Any] = {}
    if args.task:
        names = [n.strip() for flag in args.task for n in flag.split(",") if n.strip()]
        values[("tasks",)] = [{"name": n} for n in names]
    task_count = len(values.get(("tasks",), tree.get("tasks") or []))
    per_task = {"data_dir": args.data_dir, "languages": args.languages, "limit": args.limit}
    for key, value in per_task.items():
        if value is not None:
            for i in range(task_count):
                values[("tasks", str(i), key)] = value
    simple = {
        ("model", "name_or_path"): args.model, ("model", "backend"): args.backend, ("output_dir",): args.out,
        ("generation", "batch_size"): args.batch_size, ("generation", "max_new_tokens"): args.max_new_tokens,
        ("prompt", "shots"): args.shots, ("prompt", "chat"): args.chat, ("tier_rule",): args.tier_rule,
        ("download",): args.download,
    }  # fmt: skip
    values.update({k: v for k, v in simple.items() if v is not None})
    if args.include_path:
        values[("task_paths",)] = list(tree.get("task_paths") or []) + args.include_path
    return values


def build_config(args: argparse.Namespace):
    """The validated EvalConfig from the config file, its overrides and the shorthand flags."""
    from crosslift.config import ConfigSource, validate_config
    from crosslift.eval.config import EvalConfig

    config, overrides = args.config, list(args.overrides)
    if config is not None and "=" in config and not Path(config).exists():
        config, overrides = None, [config, *overrides]  # only overrides were given
    source = ConfigSource(resolve_config(config) if config else None, overrides)
    for keys, value in _flag_values(args, source.tree).items():
        node = source.tree
        for k in keys[:-1]:
            node = node[int(k)] if isinstance(node, list) else node.setdefault(k, {})
        if isinstance(node, list):
            node[int(keys[-1])] = value
        else:
            node[keys[-1]] = value
        source.overridden.add(keys)
    if "output_dir" not in source.tree and source.tree.get("model", {}).get("name_or_path"):
        tasks = "-".join(t.get("name", "") for t in source.tree.get("tasks") or [] if isinstance(t, dict))
        source.tree["output_dir"] = f"runs/eval-{_slug(tasks)}-{_slug(source.tree['model']['name_or_path'])}"
    return validate_config(EvalConfig, source)


def _list_tasks(include_paths: list[str]) -> None:
    from rich.console import Console
    from rich.table import Table

    from crosslift.eval.tasks import TaskRegistry, list_tasks

    table = Table("name", "kind", "languages", "description")
    for row in list_tasks(TaskRegistry(include_paths)):
        langs = " ".join(row.languages)
        table.add_row(row.name, row.kind, langs if len(langs) < 60 else f"{len(row.languages)} languages",
                      row.description or "")  # fmt: skip
    Console().print(table)


def run(args: argparse.Namespace) -> int:
    if args.list_tasks:
        _list_tasks(args.include_path or [])
        return 0
    from crosslift.eval import evaluate
    from crosslift.eval.report import print_summary

    config = build_config(args)
    for summary in evaluate(config).values():
        print_summary(summary, Path(config.output_dir) / "eval")
    return 0
