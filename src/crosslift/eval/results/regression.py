"""A regression guard for results: ``crosslift eval ... --expect PREVIOUS --tolerance POINTS``.

"My MGSM numbers changed after a transformers upgrade" is the commonest complaint in the bridge papers' issue
trackers. Rerunning an evaluation with ``--expect`` compares its per-language figures with a recorded run's and
says which languages moved by more than the tolerance, so such a change is caught the day it happens:

- PREVIOUS is a run folder (its ``eval/<task>/summary.json`` files), one task's results folder, or a
  ``summary.json`` itself; tasks are matched by name;
- every item metric both summaries hold is compared, language by language; proportions (accuracies,
  fidelity) in percentage points, other metrics in their own units;
- languages or tasks only one side has are listed, not failed (an evaluation of fewer languages is not a drift);
  a comparison with nothing in common is an error (the wrong folder).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from crosslift.errors import CrossliftError
from crosslift.eval.results.folder import SUMMARY, task_dirs
from crosslift.eval.results.formatting import display_scale


@dataclass(frozen=True)
class Drift:
    """One figure that moved: a metric of a language of a task, before and now (as stored: fractions)."""

    task: str
    language: str
    metric: str
    expected: float
    got: float
    scale: float  # 100 for proportions (the difference is in percentage points)

    @property
    def points(self) -> float:
        return (self.got - self.expected) * self.scale

    def line(self) -> str:
        unit = " points" if self.scale == 100 else ""
        return (
            f"{self.task} {self.language} {self.metric}: {self.expected * self.scale:.1f} -> "
            f"{self.got * self.scale:.1f} ({self.points:+.1f}{unit})"
        )


def expected_summaries(path: str | Path) -> dict[str, dict[str, Any]]:
    """Task name -> the recorded summary, from a summary.json, a task's results folder or a run folder."""
    path = Path(path)
    files = [path] if path.is_file() else [d / SUMMARY for d in task_dirs(path) if (d / SUMMARY).is_file()]
    if not files:
        raise CrossliftError(
            f"{path}: no summary.json to compare with (a run folder, a task folder or a summary)"
        )
    out = {}
    for file in files:
        try:
            summary = json.loads(file.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as e:
            raise CrossliftError(f"{file}: not a readable summary.json ({e})") from None
        if not isinstance(summary, dict) or "languages" not in summary or "task" not in summary:
            raise CrossliftError(f"{file}: not an evaluation summary (no task and languages)")
        out[str(summary["task"])] = summary
    return out


def find_drift(
    summaries: dict[str, dict[str, Any]], expected: dict[str, dict[str, Any]], tolerance: float
) -> tuple[list[Drift], list[str]]:
    """The figures of `summaries` (task -> summary) that differ from `expected`'s by more than `tolerance`, and
    notes on what could not be compared.

    Raises:
        CrossliftError: no task and language in common (nothing was compared).
    """
    drifts: list[Drift] = []
    notes: list[str] = []
    compared = 0
    for task, summary in summaries.items():
        before = expected.get(task)
        if before is None:
            notes.append(f"{task}: not in the expected results ({', '.join(expected)})")
            continue
        if not summary.get("complete", True):
            notes.append(f"{task}: this run is incomplete; its figures are partial")
        only = sorted(set(before["languages"]) - set(summary["languages"]))
        if only:
            notes.append(f"{task}: not evaluated now: {', '.join(only)}")
        metrics = [
            k
            for k, info in summary["metrics"].items()
            if info.get("kind") == "item" and k in before.get("metrics", {})
        ]
        for lang, entry in summary["languages"].items():
            if lang not in before["languages"]:
                notes.append(f"{task} {lang}: not in the expected results")
                continue
            for key in metrics:
                got = (entry["metrics"].get(key) or {}).get("value")
                old = (before["languages"][lang]["metrics"].get(key) or {}).get("value")
                if got is None or old is None:
                    continue
                compared += 1
                drift = Drift(task, lang, key, old, got, display_scale(summary, key))
                if abs(drift.points) > tolerance + 1e-9:
                    drifts.append(drift)
    if not compared:
        raise CrossliftError(
            "the expected results share no task and language with this run: nothing was compared "
            f"(expected tasks: {', '.join(expected)}; evaluated: {', '.join(summaries)})"
        )
    return drifts, notes
