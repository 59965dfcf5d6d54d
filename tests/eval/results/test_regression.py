"""The regression guard: a run's per-language figures against a recorded run's, within a tolerance in points."""

from __future__ import annotations

import json

import pytest

from crosslift.errors import CrossliftError
from crosslift.eval.results.regression import expected_summaries, find_drift


def _summary(task: str, values: dict[str, float], complete: bool = True) -> dict:
    return {
        "task": task,
        "complete": complete,
        "metrics": {"accuracy": {"kind": "item", "interval": "wilson"}, "consistency_2": {"kind": "corpus"}},
        "languages": {code: {"metrics": {"accuracy": {"value": v}}} for code, v in values.items()},
    }


def test_within_and_beyond_the_tolerance():
    before = {"mgsm": _summary("mgsm", {"en": 0.50, "sw": 0.30, "te": 0.20})}
    drifts, notes = find_drift({"mgsm": _summary("mgsm", {"en": 0.505, "sw": 0.30})}, before, tolerance=1.0)
    assert drifts == [] and notes == ["mgsm: not evaluated now: te"]
    drifts, _ = find_drift({"mgsm": _summary("mgsm", {"en": 0.52, "sw": 0.25})}, before, tolerance=1.0)
    assert [(d.language, round(d.points, 1)) for d in drifts] == [("en", 2.0), ("sw", -5.0)]
    assert drifts[1].line() == "mgsm sw accuracy: 30.0 -> 25.0 (-5.0 points)"
    drifts, _ = find_drift({"mgsm": _summary("mgsm", {"en": 0.52})}, before, tolerance=2.0)  # exactly 2: kept
    assert drifts == []


def test_nothing_in_common_is_an_error_and_other_notes():
    before = {"mgsm": _summary("mgsm", {"en": 0.5})}
    with pytest.raises(CrossliftError, match="share no task and language"):
        find_drift({"mmwp": _summary("mmwp", {"en": 0.5})}, before, tolerance=1)
    drifts, notes = find_drift(
        {"mgsm": _summary("mgsm", {"en": 0.5, "xx": 0.1}, complete=False)}, before, tolerance=1
    )
    assert notes == [
        "mgsm: this run is incomplete; its figures are partial",
        "mgsm xx: not in the expected results",
    ]


def test_expected_results_from_a_file_or_folder(tmp_path):
    task = tmp_path / "run" / "eval" / "mgsm"
    task.mkdir(parents=True)
    (task / "run.json").write_text("{}")
    (task / "summary.json").write_text(json.dumps(_summary("mgsm", {"en": 0.5})))
    assert set(expected_summaries(tmp_path / "run")) == {"mgsm"}
    assert set(expected_summaries(task / "summary.json")) == {"mgsm"}
    (tmp_path / "bad.json").write_text("[]")
    with pytest.raises(CrossliftError, match="not an evaluation summary"):
        expected_summaries(tmp_path / "bad.json")
