"""Scoring one stored item: its filters, item metrics and response-language fidelity, recomputed from its raw output
with the task definition that run.json keeps (`task_spec`). The runner scores a new item so; reports re-score old
ones so (improved extraction applies to old runs)."""

from __future__ import annotations

from typing import Any

from crosslift.eval.scoring.extract import without_last_number
from crosslift.eval.scoring.fidelity import lang_fidelity
from crosslift.eval.scoring.filters import apply_filters
from crosslift.eval.scoring.metrics import FIDELITY_KEY, MetricSpec, metric_specs, score_item


def specs_of(language_entry: dict[str, Any]) -> list[MetricSpec]:
    spec = language_entry["task_spec"]
    return metric_specs(spec["metric_list"], spec["filter_list"], spec.get("fidelity"))


def rescore(record: dict[str, Any], task_spec: dict[str, Any]) -> dict[str, Any]:
    """The record with filters and item metrics recomputed from its raw output."""
    filter_list = task_spec["filter_list"]
    fidelity = task_spec.get("fidelity")
    specs = metric_specs(task_spec["metric_list"], filter_list, fidelity)
    language = record["language"]
    filtered, statuses = apply_filters(filter_list, record["output"], language, record)
    scores, labels = score_item(specs, filtered, record.get("gold"), language)
    if fidelity is not None and any(s.implicit for s in specs):
        text = record["output"] if fidelity.get("filter") is None else filtered[fidelity["filter"]]
        if text is not None and fidelity.get("drop_final_number"):
            text = without_last_number(text, language)
        scored = lang_fidelity(text, None, language=language, candidates=fidelity.get("candidates") or [])
        scores[FIDELITY_KEY] = scored.value
        labels[FIDELITY_KEY] = scored.label
    primary = next((s.key for s in specs if not s.corpus), None)
    return record | {
        "extracted": filtered[filter_list[0]["name"]],
        "correct": bool(scores[primary]) if primary is not None and scores[primary] is not None else None,
        "filtered": filtered,
        "filter_status": statuses,
        "metrics": scores,
        "labels": labels,
    }
