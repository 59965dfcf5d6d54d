"""The shorthand flags of `crosslift eval`, ours and lm-evaluation-harness's spellings, as config overrides.

Each flag given is a `key.sub=value` setting of the eval config (`--model M` is ``model.name_or_path=M``, `--limit
20` is ``tasks.<i>.limit=20`` for every task entry, `--model_args pretrained=D,dtype=bf16` is
``model.name_or_path=D`` and ``model.dtype=bfloat16``); `crosslift.cli.eval.build_config` applies them after the
config file and its own overrides, through the same mechanism (`crosslift.config.ConfigSource.override`), so they
are validated, and located in errors, like any override.
"""

from __future__ import annotations

import argparse
from typing import Any

from crosslift.errors import ConfigError

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
PER_TASK_FLAGS = ("data_dir", "languages", "limit")  # set on every task entry
FLAG_KEYS = {  # flag (its argparse dest) -> the config key it sets
    "model": "model.name_or_path",
    "backend": "model.backend",
    "out": "output_dir",
    "batch_size": "generation.batch_size",
    "max_new_tokens": "generation.max_new_tokens",
    "shots": "prompt.shots",
    "chat": "prompt.chat",
    "tier_rule": "tier_rule",
    "download": "download",
}


def flag_overrides(args: argparse.Namespace, tree: dict[str, Any]) -> dict[str, Any]:
    """The shorthand flags given, as config key -> value, in the order they apply; `tree` is the config before them
    (it says how many task entries there are, and which task paths to keep)."""
    values: dict[str, Any] = {}
    if args.task:
        names = [n.strip() for flag in args.task for n in flag.split(",") if n.strip()]
        values["tasks"] = [{"name": n} for n in names]
    task_count = len(values.get("tasks", tree.get("tasks") or []))
    for flag in PER_TASK_FLAGS:
        if getattr(args, flag) is not None:
            values |= {f"tasks.{i}.{flag}": getattr(args, flag) for i in range(task_count)}
    values |= {key: getattr(args, flag) for flag, key in FLAG_KEYS.items() if getattr(args, flag) is not None}
    if args.apply_chat_template is not None:
        if args.apply_chat_template is not True and args.apply_chat_template.lower() not in (
            "true",
            "default",
        ):
            raise ConfigError(
                f"--apply_chat_template {args.apply_chat_template}: only the model's own chat template "
                "is supported; give the flag without a value"
            )
        values["prompt.chat"] = True
    if args.model_args is not None:
        values |= _model_args(args.model_args, args.model)
    elif args.model in LM_EVAL_MODEL_TYPES:
        raise ConfigError(
            f"--model {args.model} is lm-eval's model type; name the model with --model_args "
            "pretrained=DIR_OR_ID (or give the model itself to --model)"
        )
    if args.include_path:
        values["task_paths"] = list(tree.get("task_paths") or []) + args.include_path
    return values


def _model_args(text: str, model: str | None) -> dict[str, Any]:
    """lm-eval's ``--model TYPE --model_args pretrained=...,dtype=...`` as config settings."""
    pairs = _model_arg_pairs(text)
    values: dict[str, Any] = {}
    if model is not None and model in LM_EVAL_MODEL_TYPES:  # else --model is the model itself
        backend, api = LM_EVAL_MODEL_TYPES[model]
        values["model.backend"] = backend
        if api:
            values["model.endpoint.api"] = api
    elif model is not None and ("pretrained" in pairs or "base_url" in pairs):
        raise ConfigError(
            f"--model {model} with --model_args naming the model: --model is then lm-eval's model type "
            f"({', '.join(LM_EVAL_MODEL_TYPES)})"
        )
    name = pairs.get("peft") or pairs.get("pretrained") or pairs.get("base_url")
    if name:
        values["model.name_or_path"] = name
    elif model is None or model in LM_EVAL_MODEL_TYPES:
        raise ConfigError(
            "--model_args must name the model: pretrained=DIR_OR_ID (or base_url=URL for an endpoint)"
        )
    if "peft" in pairs and "pretrained" in pairs:
        values["model.base_model"] = pairs["pretrained"]
    if "base_url" in pairs and "model" in pairs:
        values["model.endpoint.served_model"] = pairs["model"]
    if "dtype" in pairs:
        dtype = pairs["dtype"].removeprefix("torch.")
        if dtype not in _DTYPES:
            raise ConfigError(f"--model_args: dtype '{pairs['dtype']}' is not one of {', '.join(_DTYPES)}")
        values["model.dtype"] = _DTYPES[dtype]
    if "trust_remote_code" in pairs:
        flag = pairs["trust_remote_code"].lower()
        if flag not in ("true", "false", "1", "0"):
            raise ConfigError(
                f"--model_args: trust_remote_code '{pairs['trust_remote_code']}' is not True or False"
            )
        values["model.trust_remote_code"] = flag in ("true", "1")
    for key in ("device", "attn_implementation"):
        if key in pairs:
            values[f"model.{key}"] = pairs[key]
    return values


def _model_arg_pairs(text: str) -> dict[str, str]:
    """``key=value,key=value`` as a mapping; every key one of MODEL_ARGS."""
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
    return pairs


def default_output_dir(tree: dict[str, Any]) -> str | None:
    """runs/eval-<tasks>-<model> for a config that names a model but no output folder; else None."""
    model = tree.get("model")
    if "output_dir" in tree or not isinstance(model, dict) or not model.get("name_or_path"):
        return None
    tasks = "-".join(t.get("name", "") for t in tree.get("tasks") or [] if isinstance(t, dict))
    return f"runs/eval-{_slug(tasks)}-{_slug(model['name_or_path'])}"


def _slug(text: str) -> str:
    tail = text.rstrip("/").split("/")[-1] or "model"
    return "".join(c if c.isalnum() or c in "-_." else "-" for c in tail)
