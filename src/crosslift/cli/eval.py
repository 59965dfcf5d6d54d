"""crosslift eval [CONFIG.yaml] [key.sub=value ...] [--task T --data-dir D --model M --languages L --limit N --out DIR]

    crosslift eval configs/eval/mmwp_tiny.yaml generation.batch_size=8
    crosslift eval --task mmwp --data-dir ../shared/data/mmwp --model MODEL_DIR_OR_URL --languages en,sw,te --limit 20 --out DIR
    crosslift eval --task mmwp --model MODEL --languages en,sw,te     # data from the cache: crosslift data download mmwp
    crosslift eval --list-tasks

The flags are a shorthand for config keys and override the config file when both are given. Rerunning the same
command resumes: finished items are skipped. Without --data-dir a task reads its catalogued dataset from the download
cache (`crosslift data download NAME`; --download fetches it when missing).

lm-evaluation-harness's spellings work too:

    crosslift eval --model hf --model_args pretrained=MODEL_DIR,dtype=bfloat16 --tasks mmwp --num_fewshot 0 \
        --apply_chat_template --limit 20 --output_path runs/ev --log_samples
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

from crosslift.errors import ConfigError

HELP = "Evaluate a model on benchmarks (MMWP, MGSM, any parallel math set); reports by language and resource tier."

# lm-eval's --model names a model type; with --model_args the model itself is in pretrained=... (or base_url=...)
LM_EVAL_MODEL_TYPES = {
    "hf": ("hf", None),
    "hf-auto": ("hf", None),
    "huggingface": ("hf", None),
    "vllm": ("vllm", None),
    "local-completions": ("endpoint", "completions"),
    "openai-completions": ("endpoint", "completions"),
    "local-chat-completions": ("endpoint", "chat"),
    "openai-chat-completions": ("endpoint", "chat"),
}
MODEL_ARGS = (
    "pretrained",
    "peft",
    "dtype",
    "trust_remote_code",
    "device",
    "attn_implementation",
    "base_url",
    "model",
)
_DTYPES = {
    "auto": "auto",
    "float32": "float32",
    "fp32": "float32",
    "float": "float32",
    "float16": "float16",
    "fp16": "float16",
    "half": "float16",
    "bfloat16": "bfloat16",
    "bf16": "bfloat16",
}


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


def resolve_config(name_or_path: str) -> Path:
    """A path as given, else a bundled eval config of that name (crosslift/configs/eval/<name>.yaml)."""
    path = Path(name_or_path)
    if path.exists():
        return path
    bundled = (
        Path(__file__).resolve().parent.parent
        / "configs"
        / "eval"
        / f"{name_or_path.removesuffix('.yaml')}.yaml"
    )
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
        ("model", "name_or_path"): args.model,
        ("model", "backend"): args.backend,
        ("output_dir",): args.out,
        ("generation", "batch_size"): args.batch_size,
        ("generation", "max_new_tokens"): args.max_new_tokens,
        ("prompt", "shots"): args.shots,
        ("prompt", "chat"): args.chat,
        ("tier_rule",): args.tier_rule,
        ("download",): args.download,
    }
    values.update({k: v for k, v in simple.items() if v is not None})
    if args.apply_chat_template is not None:
        if args.apply_chat_template is not True and args.apply_chat_template.lower() not in (
            "true",
            "default",
        ):
            raise ConfigError(
                f"--apply_chat_template {args.apply_chat_template}: only the model's own chat template "
                "is supported; give the flag without a value"
            )
        values[("prompt", "chat")] = True
    if args.model_args is not None:
        values.update(_model_args(args.model_args, args.model))
    elif args.model in LM_EVAL_MODEL_TYPES:
        raise ConfigError(
            f"--model {args.model} is lm-eval's model type; name the model with --model_args "
            "pretrained=DIR_OR_ID (or give the model itself to --model)"
        )
    if args.include_path:
        values[("task_paths",)] = list(tree.get("task_paths") or []) + args.include_path
    return values


def _model_args(text: str, model: str | None) -> dict[tuple[str, ...], Any]:
    """lm-eval's ``--model TYPE --model_args pretrained=...,dtype=...`` as config settings."""
    pairs: dict[str, str] = {}
    for part in (p.strip() for p in text.split(",")):
        key, sep, value = part.partition("=")
        if not part:
            continue
        if not sep or not key.strip():
            raise ConfigError(f"--model_args: '{part}' is not key=value")
        if key.strip() not in MODEL_ARGS:
            raise ConfigError(f"--model_args: '{key.strip()}' is not supported; use {', '.join(MODEL_ARGS)}")
        pairs[key.strip()] = value.strip()
    values: dict[tuple[str, ...], Any] = {}
    if model is not None and model in LM_EVAL_MODEL_TYPES:  # else --model is the model itself
        backend, api = LM_EVAL_MODEL_TYPES[model]
        values[("model", "backend")] = backend
        if api:
            values[("model", "endpoint", "api")] = api
    elif model is not None and ("pretrained" in pairs or "base_url" in pairs):
        raise ConfigError(
            f"--model {model} with --model_args naming the model: --model is then lm-eval's model type "
            f"({', '.join(LM_EVAL_MODEL_TYPES)})"
        )
    name = pairs.get("peft") or pairs.get("pretrained") or pairs.get("base_url")
    if name:
        values[("model", "name_or_path")] = name
    elif model is None or model in LM_EVAL_MODEL_TYPES:
        raise ConfigError(
            "--model_args must name the model: pretrained=DIR_OR_ID (or base_url=URL for an endpoint)"
        )
    if "peft" in pairs and "pretrained" in pairs:
        values[("model", "base_model")] = pairs["pretrained"]
    if "base_url" in pairs and "model" in pairs:
        values[("model", "endpoint", "served_model")] = pairs["model"]
    if "dtype" in pairs:
        dtype = pairs["dtype"].removeprefix("torch.")
        if dtype not in _DTYPES:
            raise ConfigError(f"--model_args: dtype '{pairs['dtype']}' is not one of {', '.join(_DTYPES)}")
        values[("model", "dtype")] = _DTYPES[dtype]
    if "trust_remote_code" in pairs:
        flag = pairs["trust_remote_code"].lower()
        if flag not in ("true", "false", "1", "0"):
            raise ConfigError(
                f"--model_args: trust_remote_code '{pairs['trust_remote_code']}' is not True or False"
            )
        values[("model", "trust_remote_code")] = flag in ("true", "1")
    for key in ("device", "attn_implementation"):
        if key in pairs:
            values[("model", key)] = pairs[key]
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
