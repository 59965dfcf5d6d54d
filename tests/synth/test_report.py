"""The demo report's statistics on made-up scores: paired deltas per tier, the primary comparison, Holm over the
rest, and verdicts that need an interval clear of 0."""

from __future__ import annotations

import numpy as np
import pytest

from crosslift.errors import DataError
from crosslift.synth.report import (
    MASTERY_BAR,
    PRIMARY,
    Scores,
    comparisons,
    deltas,
    method_figures,
    per_pretrained_pair,
)

LANGS = ["en", "qha", "qla", "qlb"]
TIERS = {"en": "english", "qha": "high", "qla": "low", "qlb": "low"}
METHODS = ["baseline", "lingualift", "self_encoder", "codeswitch_sft"]


def _scores(values: dict[str, dict[str, list[float]]], runs: int = 1) -> Scores:
    """method -> language -> per-item accuracy (the same in every run)."""
    per_run = {}
    for r in range(runs):
        per_run[(r // 2, r)] = {
            method: {
                metric: {
                    lang: {f"i{k:03d}": v for k, v in enumerate(items)} for lang, items in by_lang.items()
                }
                for metric in ("accuracy", "structure", "fidelity", "pivot")
            }
            for method, by_lang in values.items()
        }
    return Scores(LANGS, per_run, TIERS)


def _values(rng: np.random.Generator, p: dict[str, float], n: int = 200) -> dict[str, list[float]]:
    return {lang: list((rng.random(n) < p.get(lang, 0.5)).astype(float)) for lang in LANGS}


def test_the_primary_comparison_and_holm_over_the_rest():
    rng = np.random.default_rng(0)
    base = _values(rng, {"en": 0.9, "qha": 0.3, "qla": 0.1, "qlb": 0.1})
    better_low = {
        lang: list(np.maximum(v, rng.random(200) < (0.5 if lang in ("qla", "qlb") else 0)))
        for lang, v in base.items()
    }
    scores = _scores(
        {"baseline": base, "lingualift": better_low, "self_encoder": base, "codeswitch_sft": base}
    )
    by_tier, by_language = deltas(scores)
    primary = by_tier[PRIMARY[0]][PRIMARY[1]][PRIMARY[2]]
    assert primary["primary"] and "p_holm" not in primary
    assert primary["delta"] > 0.3 and primary["ci_low"] > 0 and primary["verdict"] == "beats"
    # identical systems: no difference, whatever the correction
    same = by_tier["self_encoder"]["vs_baseline"]["low"]
    assert same["delta"] == 0 and same["verdict"] == "no detectable difference" and same["p_holm"] == 1.0
    # every other comparison carries Holm's p, never smaller than its own
    family = [d for m in by_tier.values() for c in m.values() for d in c.values() if not d["primary"]]
    assert all(d["p_holm"] >= d["p_value"] for d in family)
    assert set(by_language["lingualift"]["vs_self_encoder"]) == set(LANGS)
    assert [c[:2] for c in comparisons(METHODS)] == [
        ("lingualift", "vs_baseline"),
        ("self_encoder", "vs_baseline"),
        ("codeswitch_sft", "vs_baseline"),
        ("lingualift", "vs_self_encoder"),
        ("lingualift", "vs_codeswitch_sft"),
    ]


def test_a_difference_whose_interval_touches_zero_is_no_detectable_difference():
    base = {lang: [0.0] * 40 for lang in LANGS}
    one = {lang: [1.0] + [0.0] * 39 for lang in LANGS}  # one item better in every language: the same item
    scores = _scores({"baseline": base, "lingualift": one, "self_encoder": base})
    primary = deltas(scores)[0]["lingualift"]["vs_self_encoder"]["low"]
    assert primary["delta"] == pytest.approx(1 / 40) and primary["ci_low"] == 0.0
    assert primary["verdict"] == "no detectable difference"


def test_several_runs_give_means_and_intervals_over_runs_and_items():
    rng = np.random.default_rng(1)
    scores = _scores({"baseline": _values(rng, {}), "lingualift": _values(rng, {})}, runs=4)
    assert scores.groups() == [0, 0, 1, 1]
    figures = method_figures(scores, "baseline", "accuracy")
    low, high = figures["tier_intervals"]["low"]
    assert low < figures["per_tier"]["low"] < high and len(figures["runs"]) == 4
    d = deltas(scores)[0]["lingualift"]["vs_baseline"]["low"]
    assert d["seeds"] == 4 and d["languages"] == 2 and d["items"] == 200


def test_fidelity_over_runs_uses_the_items_every_run_and_language_has_one_for():
    rng = np.random.default_rng(2)
    scores = _scores({"baseline": _values(rng, {}), "plug": _values(rng, {})}, runs=2)
    # an answer of digits only has no language: run 0 lacks item 0's fidelity, run 1 item 1's
    for run, item in zip(scores.runs, ("i000", "i001"), strict=True):
        del scores.per_run[run]["plug"]["fidelity"]["qla"][item]
    assert scores.common_items("plug", "fidelity", ["qla", "qlb"]) == [f"i{k:03d}" for k in range(2, 200)]
    low, high = method_figures(scores, "plug", "fidelity")["tier_intervals"]["low"]
    assert 0 <= low < high <= 1
    del scores.per_run[scores.runs[1]]["plug"]["accuracy"]["qla"][
        "i002"
    ]  # an unfinished evaluation still fails
    with pytest.raises(DataError, match="has no accuracy for 1 item"):
        method_figures(scores, "plug", "accuracy")


def test_each_pretrained_pair_reports_its_mastery_and_its_own_primary_difference():
    rng = np.random.default_rng(3)
    base = _values(rng, {"en": 1.0})
    lifted = {lang: [1.0] * 200 if lang in ("qla", "qlb") else v for lang, v in base.items()}
    scores = _scores({"baseline": base, "lingualift": lifted, "self_encoder": base}, runs=4)
    # pair 1's baseline misses a quarter of English in its second run, and its LinguaLIFT gains nothing
    pair1 = [run for run in scores.runs if run[0] == 1]
    scores.per_run[pair1[1]]["baseline"]["accuracy"]["en"] = {
        f"i{k:03d}": float(k % 4 != 0) for k in range(200)
    }
    for run in pair1:
        scores.per_run[run]["lingualift"] = scores.per_run[run]["self_encoder"]
    mastery = per_pretrained_pair(scores, method_figures(scores, "baseline", "accuracy"))
    assert mastery["bar"] == MASTERY_BAR
    pair0, pair1 = mastery["pretraining_seeds"]["0"], mastery["pretraining_seeds"]["1"]
    assert pair0["baseline_english"] == {"0": 1.0, "1": 1.0} and pair0["mastered"] == 2 == pair0["runs"]
    assert pair1["baseline_english"] == {"2": 1.0, "3": 0.75} and pair1["mastered"] == 1
    low = base["qla"] + base["qlb"]
    assert pair0["primary"]["delta"] == pytest.approx(1 - sum(low) / len(low))
    assert pair0["primary"]["ci_low"] > 0
    assert pair1["primary"] == {"delta": 0.0, "ci_low": 0.0, "ci_high": 0.0}
