"""Metrics: Wilson intervals, item metrics, macro/micro aggregation by tier, registered corpus metrics."""

import pytest

from crosslift.errors import ConfigError
from crosslift.eval.scoring import metrics
from crosslift.eval.scoring.metrics import (
    CORPUS_METRICS,
    accuracy,
    check_entry,
    exact_match,
    metric_specs,
    register_corpus_metric,
    summarize,
    wilson_interval,
)
from crosslift.eval.scoring.record import rescore

FILTERS = [{"name": "math-answer", "filter": [{"function": "math_answer"}]}]


@pytest.mark.parametrize(
    ("successes", "n", "low", "high"),
    [(0, 5, 0.0, 0.4345), (5, 5, 0.5655, 1.0), (8, 10, 0.4902, 0.9433), (45, 100, 0.3561, 0.5476)],
)  # reference values: Wilson score interval, z = 1.96
def test_wilson_interval(successes, n, low, high):
    got = wilson_interval(successes, n)
    assert got == pytest.approx((low, high), abs=1e-4)


@pytest.mark.parametrize(
    ("prediction", "gold", "score"),
    [
        ("5", "5 ", 1.0),
        ("0.9", "0.9", 1.0),
        ("2125", "2,125", 1.0),
        ("18.0004", "18", 1.0),
        ("18.01", "18", 0.0),
        (None, "5", 0.0),
        ("-5", "5", 0.0),
    ],
)
def test_accuracy_is_numeric(prediction, gold, score):
    assert accuracy(prediction, gold, language="en") == score


def test_exact_match_options_follow_lm_eval():
    assert exact_match("1,000.", "1000", language="en", ignore_punctuation=True) == 1.0
    assert exact_match("1,000.", "1000", language="en") == 0.0
    assert exact_match("ABC", "abc", language="en", ignore_case=True) == 1.0
    assert exact_match("$18", "18", language="en", regexes_to_ignore=[r"\$"]) == 1.0


def _records(correct: list[int], failures: int = 0) -> list[dict]:
    return [
        {"metrics": {"accuracy": float(c)}, "extracted": None if i < failures else "1"}
        for i, c in enumerate(correct)
    ]


def test_summarize_by_language_tier_english_and_overall():
    by_lang = {
        "en": _records([1, 1, 1, 0]),
        "sw": _records([1, 0, 0, 0], failures=2),
        "te": _records([0, 0]),
        "xx": _records([1]),
    }
    tiers = {"en": "high", "sw": "low", "te": "low", "xx": None}
    summary = summarize(by_lang, metric_specs([{"metric": "accuracy"}], FILTERS), tiers)
    sw = summary["languages"]["sw"]
    assert (sw["n_items"], sw["extraction_failures"], sw["metrics"]["accuracy"]["value"]) == (4, 2, 0.25)
    assert sw["metrics"]["accuracy"]["ci_low"] == pytest.approx(wilson_interval(1, 4)[0])
    low = summary["tiers"]["low"]
    assert low["languages"] == ["sw", "te"] and low["metrics"]["accuracy"]["value"] == pytest.approx(
        0.125
    )  # macro
    assert 0 <= low["metrics"]["accuracy"]["ci_low"] < 0.125 < low["metrics"]["accuracy"]["ci_high"] <= 1
    assert (
        summary["english"]["language"] == "en" and summary["english"]["metrics"]["accuracy"]["value"] == 0.75
    )
    assert summary["untiered"] == ["xx"] and "medium" not in summary["tiers"]
    assert summary["overall"]["metrics"]["accuracy"]["value"] == pytest.approx((0.75 + 0.25 + 0 + 1) / 4)


def test_micro_aggregation_pools_items():
    specs = metric_specs([{"metric": "accuracy", "aggregation": "micro_mean"}], FILTERS)
    summary = summarize(
        {"sw": _records([1, 0, 0, 0]), "te": _records([0, 0])}, specs, {"sw": "low", "te": "low"}
    )
    assert summary["tiers"]["low"]["metrics"]["accuracy"]["value"] == pytest.approx(1 / 6)


def test_a_registered_corpus_metric_is_computed_per_tier_and_overall():
    @register_corpus_metric("all_correct_test", description="share of items correct in every language")
    def all_correct(records_by_language, threshold: float = 1.0):
        columns = list(zip(*records_by_language.values(), strict=False))
        return sum(all(r["metrics"]["acc"] >= threshold for r in col) for col in columns) / len(columns)

    try:
        entries = [{"metric": "accuracy", "name": "acc"}, {"metric": "all_correct_test", "threshold": 1.0}]
        check_entry(entries[1], ["math-answer"])
        specs = metric_specs(entries, FILTERS)
        by_lang = {
            "en": [{"metrics": {"acc": 1.0}}, {"metrics": {"acc": 1.0}}],
            "sw": [{"metrics": {"acc": 1.0}}, {"metrics": {"acc": 0.0}}],
        }
        summary = summarize(by_lang, specs, {"en": "high", "sw": "low"})
        assert summary["overall"]["metrics"]["all_correct_test"]["value"] == 0.5
        assert summary["tiers"]["high"]["metrics"]["all_correct_test"]["value"] == 1.0
        assert "all_correct_test" not in summary["languages"]["en"]["metrics"]
    finally:
        del CORPUS_METRICS["all_correct_test"]


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({"metric": "bleu"}, "unknown metric 'bleu'"),
        ({"metric": "accuracy", "filter": "nope"}, "not in filter_list"),
        ({"metric": "accuracy", "tolerence": 1}, "unexpected keyword"),
        ({"metric": "accuracy", "aggregation": "median"}, "aggregation"),
    ],
)
def test_check_entry_rejects_bad_metric_entries(entry, message):
    with pytest.raises(ConfigError, match=message):
        check_entry(entry, ["math-answer"])


ANSWER_FILTERS = [
    {"name": "strict", "filter": [{"function": "math_answer", "rule": "strict"}]},
    {"name": "flexible", "filter": [{"function": "math_answer", "rule": "flexible"}]},
]
EITHER = {
    "metric": "any_of",
    "name": "accuracy_either",
    "rules": [
        {"metric": "accuracy", "filter": "strict", "tolerance": 0.001},
        {"metric": "exact_match", "filter": "flexible"},
    ],
}


@pytest.mark.parametrize(
    ("output", "strict", "flexible", "either"),
    [
        ("3 + 5 = 8. The answer is 8.", 1.0, 1.0, 1.0),  # both rules
        ("The answer is 8, which is 2 more than 6.", 0.0, 1.0, 1.0),  # the answer phrase only
        ("\\boxed{7}, or 8", 1.0, 0.0, 1.0),  # the last number only
        ("The answer is 7, not 6.", 0.0, 0.0, 0.0),  # neither
        ("no number at all", 0.0, 0.0, 0.0),
    ],
)
def test_any_of_scores_an_item_that_any_of_its_rules_scores(output, strict, flexible, either):
    check_entry(EITHER, ["strict", "flexible"])
    specs = metric_specs([EITHER, {"metric": "accuracy", "name": "accuracy_strict"}], ANSWER_FILTERS)
    record = rescore(
        {"language": "en", "output": output, "gold": "8"},
        {
            "filter_list": ANSWER_FILTERS,
            "metric_list": [EITHER, {"metric": "accuracy", "name": "accuracy_strict", "filter": "strict"}],
            "fidelity": None,
        },
    )
    assert record["metrics"]["accuracy_strict"] == strict
    assert exact_match(record["filtered"]["flexible"], "8", language="en") == flexible
    assert record["metrics"]["accuracy_either"] == either and record["correct"] == bool(either)
    assert specs[0].info()["arguments"]["rules"] == EITHER["rules"]  # recorded with the summary


@pytest.mark.parametrize(
    ("rules", "message"),
    [
        (None, "at least two"),
        ([{"metric": "accuracy"}], "at least two"),
        ([{"metric": "accuracy"}, {"metric": "lang_fidelity_typo"}], "0/1 item metric"),
        ([{"metric": "accuracy"}, {"metric": "consistency"}], "0/1 item metric"),
        ([{"metric": "accuracy"}, {"metric": "accuracy", "name": "x"}], "no name"),
        ([{"metric": "accuracy"}, {"metric": "accuracy", "filter": "nope"}], "not in filter_list"),
        ([{"metric": "accuracy"}, {"metric": "accuracy", "tolerence": 1}], "unexpected keyword"),
    ],
)
def test_any_of_rules_are_checked_when_the_task_loads(rules, message):
    with pytest.raises(ConfigError, match=message):
        check_entry({"metric": "any_of", "rules": rules}, ["strict", "flexible"])


def test_registries_hold_the_builtin_metrics():
    assert {"accuracy", "exact_match"} <= set(metrics.ITEM_METRICS)
