"""Prompt variants: one task evaluated under several prompts, and the median of every figure over them.

SeaEval (and so CrossIn's Cross-MMLU / Cross-LogiQA / Cross-XQuAD numbers) reports the median over five prompt
wordings. An eval config asks for that with a task entry's ``prompt_variants``::

    tasks:
      - name: cross_mmlu
        prompt_variants: [{mcq_prompt: 1}, {mcq_prompt: 2}, {mcq_prompt: 3}, {mcq_prompt: 4}, {mcq_prompt: 5}]

Each variant is an ordinary evaluation with its own results folder (``<out>/eval/cross_mmlu_p1`` ...), resumable
and re-scorable like any other; ``<out>/eval/cross_mmlu_median/`` holds ``summary.json`` and ``report.md`` with,
for every metric at every level (language, tier, English, overall), the median over the variants and the
variants' own values. Intervals are not carried over (a median of intervals is not an interval); the variants'
folders have them. Rerunning ``crosslift eval`` (nothing left to generate) recomputes the median.
"""

from __future__ import annotations

import copy
import statistics
from pathlib import Path
from typing import Any

from crosslift.eval.config import EvalConfig, EvalTaskConfig
from crosslift.eval.results.report import write_report
from crosslift.eval.results.summary import write_summary
from crosslift.eval.runner.shards import Shards

MEDIAN_SUFFIX = "_median"


def _base_name(task_cfg: EvalTaskConfig) -> str:
    if task_cfg.label:
        return task_cfg.label
    name = task_cfg.name
    return Path(name).stem if name.endswith((".yaml", ".yml")) else name.replace("/", "_")


def variant_labels(task_cfg: EvalTaskConfig) -> list[str]:
    """The results names of an entry's prompt variants: <name>_p1, <name>_p2, ..."""
    base = _base_name(task_cfg)
    return [f"{base}_p{k}" for k in range(1, len(task_cfg.prompt_variants or []) + 1)]


def expand_variants(task_cfg: EvalTaskConfig) -> list[EvalTaskConfig]:
    """The entry itself, or one entry per prompt variant (the variant's prompt options over the entry's own)."""
    if not task_cfg.prompt_variants:
        return [task_cfg]
    own = task_cfg.prompt.model_dump(exclude_none=True)
    return [
        task_cfg.model_copy(
            update={
                "label": label,
                "prompt_variants": None,
                "prompt": type(task_cfg.prompt)(**(own | variant.model_dump(exclude_none=True))),
            }
        )
        for label, variant in zip(variant_labels(task_cfg), task_cfg.prompt_variants, strict=True)
    ]


def _median_cell(cells: list[dict[str, Any] | None], first: dict[str, Any]) -> dict[str, Any]:
    values = [c.get("value") if c else None for c in cells]
    present = [v for v in values if v is not None]
    cell = {k: v for k, v in first.items() if k not in ("value", "ci_low", "ci_high")}
    return cell | {"value": statistics.median(present) if present else None, "values": values}


def _median_entry(entries: list[dict[str, Any]]) -> dict[str, Any]:
    """One level's entry (a language, tier or overall) with each metric the median over the variants."""
    first = entries[0]
    out = {k: v for k, v in first.items() if k not in ("metrics", "filter_status", "labels")}
    out["metrics"] = {
        key: _median_cell([e.get("metrics", {}).get(key) for e in entries], cell)
        for key, cell in first.get("metrics", {}).items()
    }
    if "extraction_failures" in first:
        out["extraction_failures"] = statistics.median(e.get("extraction_failures", 0) for e in entries)
    return out


def median_summary(name: str, summaries: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """A summary whose every figure is the median over `summaries` (label -> summary of one prompt variant)."""
    variants = list(summaries.values())
    first = copy.deepcopy(variants[0])
    out = {k: v for k, v in first.items() if k not in ("timing",)}
    out["task"] = name
    out["languages"] = {
        lang: _median_entry([s["languages"].get(lang, {}) for s in variants]) for lang in first["languages"]
    }
    out["tiers"] = {
        tier: _median_entry([s["tiers"].get(tier, {}) for s in variants]) for tier in first["tiers"]
    }
    out["overall"] = _median_entry([s["overall"] for s in variants])
    if first.get("english"):
        code = first["english"]["language"]
        out["english"] = out["languages"][code] | {"language": code}
    out["aggregate"] = {
        "statistic": "median",
        "over": "prompt variants",
        "variants": {label: s["prompt"] for label, s in summaries.items()},
    }
    return out


def write_medians(config: EvalConfig, summaries: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """For every entry with prompt variants: write <name>_median/{summary.json, report.md}; returns them by name."""
    out = {}
    for task_cfg in config.tasks:
        if not task_cfg.prompt_variants:
            continue
        labels = variant_labels(task_cfg)
        name = _base_name(task_cfg) + MEDIAN_SUFFIX
        summary = median_summary(name, {label: summaries[label] for label in labels})
        if Shards().is_main:  # every process of a sharded run has the summaries; one writes them
            directory = Path(config.output_dir).expanduser() / "eval" / name
            directory.mkdir(parents=True, exist_ok=True)
            write_summary(directory, summary)
            write_report(directory, summary)
        out[name] = summary
    return out
