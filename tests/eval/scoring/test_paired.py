"""Paired statistics against brute force: every bootstrap resample of a small input enumerated exactly."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from crosslift.eval.scoring.paired import (
    UnpairedError,
    bootstrap_interval,
    holm,
    line_up,
    mcnemar_exact,
    paired_bootstrap,
    verdict,
)


def _exact_bootstrap(diffs_by_language: list[list[float]]) -> list[float]:
    """Every equally likely resample of the shared item indices, and the mean difference of each."""
    n = len(diffs_by_language[0])
    return [
        float(np.mean([np.mean([d[i] for i in draw]) for d in diffs_by_language]))
        for draw in itertools.product(range(n), repeat=n)
    ]


@pytest.mark.parametrize(
    "a, b",
    [
        ({"en": [1, 0, 1, 1, 0]}, {"en": [1, 1, 1, 1, 1]}),
        ({"en": [1, 0, 0, 1, 0], "sw": [0, 0, 1, 1, 0]}, {"en": [0, 1, 1, 1, 0], "sw": [1, 1, 1, 0, 0]}),
    ],
)
def test_the_bootstrap_distribution_matches_the_exact_enumeration(a, b):
    langs = sorted(a)
    exact = np.array(_exact_bootstrap([np.subtract(b[k], a[k]).tolist() for k in langs]))
    result = paired_bootstrap(a, b, resamples=40_000, seed=3)
    assert result.delta == pytest.approx(np.mean([np.mean(np.subtract(b[k], a[k])) for k in langs]))
    # the interval's ends are quantiles of the exact distribution, within the atoms next to them
    for q, got in ((0.025, result.ci_low), (0.975, result.ci_high)):
        below = np.mean(exact < got - 1e-12)
        at_or_below = np.mean(exact <= got + 1e-12)
        assert below - 0.01 <= q <= at_or_below + 0.01
    exact_p = min(1.0, 2 * min(np.mean(exact <= 0), np.mean(exact >= 0)))
    assert result.p_value == pytest.approx(exact_p, abs=0.01)


def test_seeds_are_resampled_with_the_items():
    a = {"en": [[1, 0, 1], [0, 0, 1]]}  # two seeds, three items
    b = {"en": [[1, 1, 1], [1, 0, 1]]}
    diffs = np.subtract(b["en"], a["en"])
    exact = [
        np.mean([np.mean([diffs[s][i] for i in items]) for s in seeds])
        for seeds in itertools.product(range(2), repeat=2)
        for items in itertools.product(range(3), repeat=3)
    ]
    exact = np.array(exact)
    result = paired_bootstrap(a, b, resamples=40_000, seed=1)
    assert (result.seeds, result.items, result.languages) == (2, 3, 1)
    exact_p = min(1.0, 2 * min(np.mean(exact <= 0), np.mean(exact >= 0)))
    assert result.p_value == pytest.approx(exact_p, abs=0.01)
    assert result.ci_low == pytest.approx(np.quantile(exact, 0.025), abs=1 / 6)


def test_identical_systems_differ_by_nothing_and_are_not_news():
    same = {"en": [1, 0, 1, 0, 1, 1]}
    result = paired_bootstrap(same, same)
    assert (result.delta, result.ci_low, result.ci_high, result.p_value) == (0.0, 0.0, 0.0, 1.0)
    assert verdict(result) == "no detectable difference"


def test_the_verdict_needs_an_interval_that_excludes_zero():
    always = {"en": [1] * 40}
    never = {"en": [0] * 40}
    assert verdict(paired_bootstrap(never, always)) == "beats"
    assert verdict(paired_bootstrap(always, never)) == "loses to"
    # one item of 40 better: the interval touches 0 (a resample without that item gives exactly 0)
    one_better = {"en": [1] + [0] * 39}
    result = paired_bootstrap(never, one_better)
    assert result.delta > 0 and result.ci_low == 0.0 and not result.excludes_zero()
    assert verdict(result) == "no detectable difference"
    # a significant result that a multiple-comparison correction does not keep
    assert verdict(paired_bootstrap(never, always), significant=False) == "no detectable difference"


def test_unpaired_inputs_are_refused():
    with pytest.raises(ValueError, match="same languages"):
        paired_bootstrap({"en": [1, 0]}, {"sw": [1, 0]})
    with pytest.raises(ValueError, match="not paired"):
        paired_bootstrap({"en": [1, 0]}, {"en": [1, 0, 1]})


def test_mcnemar_matches_the_binomial_by_hand():
    a = [1, 1, 1, 0, 0, 1, 0, 1]
    b = [0, 0, 0, 0, 1, 1, 0, 1]  # A only: 3, B only: 1
    expected = 2 * sum(math.comb(4, i) for i in range(2)) / 2**4
    assert mcnemar_exact(a, b) == pytest.approx(expected)
    assert mcnemar_exact([1, 0], [1, 0]) == 1.0
    assert mcnemar_exact([1] * 10, [0] * 10) == pytest.approx(2 / 2**10)


def test_holm_against_its_definition():
    p = [0.01, 0.04, 0.03, 0.005]
    # sorted: 0.005 (x4) 0.02, 0.01 (x3) 0.03, 0.03 (x2) 0.06, 0.04 (x1) 0.04 -> running max 0.06
    assert holm(p) == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert holm([0.5, 0.9]) == pytest.approx([1.0, 1.0])


def test_line_up_orders_the_shared_items_and_refuses_unpaired_runs():
    a = {("t_sw", "sw", "10"): 1.0, ("t_sw", "sw", "2"): 0.0, ("t_en", "en", "2"): 1.0}
    b = {key: 1.0 for key in a}
    assert line_up(a, b) == [("t_en", "en", "2"), ("t_sw", "sw", "2"), ("t_sw", "sw", "10")]  # 2 before 10
    b.pop(("t_sw", "sw", "10"))
    b[("t_sw", "sw", "3")] = 1.0
    with pytest.raises(UnpairedError) as error:
        line_up(a, b)
    message = str(error.value)
    assert "1 only in run A (t_sw sw: 1; e.g. t_sw sw 10)" in message
    assert "1 only in run B (t_sw sw: 1; e.g. t_sw sw 3)" in message


def test_nested_seeds_draw_groups_then_seeds_within_them():
    # four runs: two pretraining seeds (groups 0, 1) x two fine-tuning seeds, two items
    a = {"en": np.zeros((4, 2))}
    b = {"en": [[1, 0], [1, 1], [0, 0], [0, 1]]}
    diffs = np.array(b["en"], dtype=float)
    groups = [0, 0, 1, 1]
    exact = []
    for picked in itertools.product(range(2), repeat=2):  # groups drawn
        for within in itertools.product(range(2), repeat=4):  # two seeds drawn in each picked group
            seeds = [2 * picked[0] + within[0], 2 * picked[0] + within[1]]
            seeds += [2 * picked[1] + within[2], 2 * picked[1] + within[3]]
            for items in itertools.product(range(2), repeat=2):
                exact.append(np.mean([np.mean([diffs[s][i] for i in items]) for s in seeds]))
    exact = np.array(exact)
    result = paired_bootstrap(a, b, groups=groups, resamples=60_000, seed=2)
    assert result.ci_low == pytest.approx(np.quantile(exact, 0.025), abs=0.13)
    assert result.ci_high == pytest.approx(np.quantile(exact, 0.975), abs=0.13)
    exact_p = min(1.0, 2 * min(np.mean(exact <= 0), np.mean(exact >= 0)))
    assert result.p_value == pytest.approx(exact_p, abs=0.01)
    # drawing the four runs as if independent gives another distribution: the nesting is what is tested
    flat = paired_bootstrap(a, b, resamples=60_000, seed=2)
    assert abs(flat.p_value - exact_p) > 0.01
    with pytest.raises(ValueError, match="as many seeds"):
        paired_bootstrap(a, b, groups=[0, 0, 0, 1])


def test_the_interval_of_one_system_is_its_mean_with_the_same_resampling():
    scores = {"en": [1, 1, 0, 1], "sw": [0, 1, 0, 0]}
    result = bootstrap_interval(scores)
    assert result.delta == pytest.approx((0.75 + 0.25) / 2)
    assert 0 <= result.ci_low <= result.delta <= result.ci_high <= 1
