"""Difficulty levels in a summary: each level summarized as a task is, and the weighted mean over levels."""

from __future__ import annotations

import pytest

from crosslift.eval.results.summary import level_summary
from crosslift.eval.scoring.metrics import metric_specs

SPECS = metric_specs([{"metric": "accuracy", "name": "acc"}], [{"name": "f", "filter": []}])


def _records(levels_and_scores: list[tuple[str, float]]) -> list[dict]:
    return [
        {"level": level, "metrics": {"acc": score}, "extracted": "1"} for level, score in levels_and_scores
    ]


def test_per_level_and_weighted_aggregates_by_hand():
    by_language = {
        "en": _records([("easy", 1), ("easy", 1), ("hard", 1), ("hard", 0)]),  # easy 1.0, hard 0.5
        "sw": _records([("easy", 1), ("easy", 0), ("hard", 0), ("hard", 0)]),  # easy 0.5, hard 0.0
        "te": _records([("easy", 0), ("hard", 1)]),  # easy 0.0, hard 1.0
    }
    tiers = {"en": "high", "sw": "low", "te": "low"}
    spec = {"dataset": {"levels": ["easy", "hard"]}, "level_weights": {"easy": 1, "hard": 3}}
    out = level_summary(by_language, SPECS, tiers, spec)
    assert out["order"] == ["easy", "hard"] and out["weights"] == {"easy": 1.0, "hard": 3.0}
    easy = out["by_level"]["easy"]
    assert easy["languages"]["sw"]["acc"]["value"] == 0.5 and easy["languages"]["sw"]["acc"]["n"] == 2
    assert easy["overall"]["acc"]["value"] == pytest.approx((1.0 + 0.5 + 0.0) / 3)  # macro over languages
    assert easy["tiers"]["low"]["acc"]["value"] == pytest.approx(0.25)
    weighted = out["weighted"]
    assert weighted["languages"]["en"]["acc"] == pytest.approx((1 * 1.0 + 3 * 0.5) / 4)
    assert weighted["languages"]["sw"]["acc"] == pytest.approx((1 * 0.5 + 3 * 0.0) / 4)
    assert weighted["languages"]["te"]["acc"] == pytest.approx((1 * 0.0 + 3 * 1.0) / 4)
    assert weighted["tiers"]["low"]["acc"] == pytest.approx((0.125 + 0.75) / 2)
    assert weighted["overall"]["acc"] == pytest.approx((0.625 + 0.125 + 0.75) / 3)


def test_equal_weights_by_default_and_levels_in_first_seen_order():
    by_language = {"en": _records([("hard", 0), ("easy", 1)])}
    out = level_summary(by_language, SPECS, {"en": "high"}, {"dataset": {"levels": None}})
    assert out["order"] == ["hard", "easy"] and out["weighted"]["overall"]["acc"] == 0.5
    # a language without one level is weighted over the levels it has
    by_language["sw"] = _records([("easy", 1)])
    out = level_summary(
        by_language, SPECS, {"en": "high", "sw": "low"}, {"dataset": {"levels": ["easy", "hard"]}}
    )
    assert out["weighted"]["languages"]["sw"]["acc"] == 1.0


def test_no_levels_no_section():
    assert level_summary({"en": [{"metrics": {"acc": 1}}]}, SPECS, {"en": "high"}, {"dataset": {}}) is None
