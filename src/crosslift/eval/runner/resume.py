"""Reopening a task's results folder (<output_dir>/eval/<task>/): one folder holds one evaluation, and a rerun
continues it.

Once the folder holds a result, a different model, prompt or decoding setting there is an error (a start that failed
before its first item claims nothing); finished items are kept, and each must have been generated from the prompt
built now and scored against the same gold.
"""

from __future__ import annotations

import json
from typing import Any

from crosslift.errors import ConfigError
from crosslift.eval.config import EvalModelConfig
from crosslift.eval.results.folder import ITEMS, RUN
from crosslift.eval.runner.plan import TaskPlan, prompt_text
from crosslift.eval.runner.shards import Shards
from crosslift.io import atomic_write_json
from crosslift.models.generate import choose_backend
from crosslift.runs import config_differences


def _model_record(model: EvalModelConfig) -> dict[str, Any]:
    """The model settings that change outputs (device and attention kernel do not, up to float noise)."""
    record = model.model_dump(exclude={"device", "attn_implementation", "endpoint", "vllm"})
    if choose_backend(model.name_or_path, model.backend) == "endpoint":
        record["endpoint"] = {"served_model": model.endpoint.served_model, "api": model.endpoint.api}
    return record


def open_task_dir(plan: TaskPlan, model: EvalModelConfig, claimed: bool) -> dict[str, Any]:
    """The run.json of this evaluation. A folder `claimed` by a result must hold this same evaluation: its run.json
    is merged with ours and written. Another folder's run.json is a start that failed before its first item (a wrong
    model path, a server that was down): it is ignored, and ours is written once the model is loaded."""
    path = plan.directory / RUN
    run = {
        "task": plan.name,
        "description": plan.description,
        "model": _model_record(model),
        "languages": {},
        "selection": {lp.language: len(lp.items) for lp in plan.languages},
    }
    if claimed and path.is_file():
        old = json.loads(path.read_text(encoding="utf-8"))
        changes = config_differences(old.get("model"), run["model"], "model")
        for lp in plan.languages:
            if lp.language in old.get("languages", {}):
                before, now = old["languages"][lp.language], lp.run_entry()
                for key in ("prompt", "words", "generation", "long_prompts"):
                    if key not in before:  # a run.json written before the setting existed
                        continue
                    a, b = before[key], now[key]
                    if key == "generation":  # the batch size does not change what is generated
                        a, b = ({k: v for k, v in d.items() if k != "batch_size"} for d in (a, b))
                    changes += config_differences(a, b, f"{lp.language}.{key}")
        if changes:
            raise ConfigError(
                f"{plan.directory} holds results of a different evaluation:\n  "
                + "\n  ".join(changes)
                + "\nUse another output folder, or delete that one to start over."
            )
        run["languages"] = old.get("languages", {})
        run["model_id"] = old.get("model_id")
    for lp in plan.languages:
        run["languages"][lp.language] = lp.run_entry()
    if claimed and Shards().is_main:  # the processes of a sharded run share it; one writes it
        atomic_write_json(path, run)
    return run


def check_stored(plan: TaskPlan, records: dict[tuple[str, int], dict[str, Any]]) -> None:
    """A stored item must have been generated from the same prompt (a multiple_choice item: with the same options
    scored) and scored against the same gold."""
    for lp in plan.languages:
        for position, (item, prompt) in enumerate(zip(lp.items, lp.prompts, strict=True)):
            old = records.get((lp.task.name, item.index))
            options = lp.continuations[position] if lp.continuations is not None else None
            if old is not None and (
                old.get("prompt") != prompt_text(prompt)
                or old.get("gold") != item.answer
                or (options is not None and (old.get("loglikelihood") or {}).get("continuations") != options)
            ):
                raise ConfigError(
                    f"{plan.directory / ITEMS} holds {lp.task.name} item {item.index} with a different prompt, options "
                    "or gold answer (the data file or the prompt settings changed); use another output folder"
                )
