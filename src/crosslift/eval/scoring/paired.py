"""Paired comparison of two systems on the same items: the difference, its interval, and whether it is news.

Two models asked the same questions differ item by item; comparing their two accuracies as if they came from
independent samples wastes that pairing and gives intervals several times too wide (or verdicts from point
estimates). Here the statistic is always B - A on the *same* items:

- **paired bootstrap**: resample items with replacement (the same draw for A and B) and, with several seeds,
  resample seeds too (the same seeds for A and B); the 2.5th and 97.5th percentiles of the resampled
  differences are the 95% interval. Languages of a parallel benchmark share their items (item i is the same
  question in every language), so one draw of item indices serves every language: an easy question is easy in
  all of them, and resampling languages independently would understate the spread of a tier's mean. A group
  (a tier, or all languages) is the unweighted mean over its languages, as the reports define tiers.
- **nested seeds**: where seeds come in groups (fine-tuning seeds under pretraining seeds), a draw picks groups
  with replacement and then seeds within each picked group, so runs that share a pretrained model are not
  counted as independent.
- **two-sided bootstrap p-value**: twice the smaller share of resampled differences on either side of zero;
  p < 0.05 exactly when the 95% percentile interval excludes zero, so verdicts and p-values never disagree.
- **McNemar's exact test** on the discordant items (A right and B wrong, or the reverse) of 0/1 scores.
- **Holm's step-down adjustment** for a family of comparisons.
- **lining up two runs** (`line_up`): the items both scored, by (task, language, item id); runs that did not see
  the same items are refused, naming what only one of them has, never silently intersected.

Only numpy; deterministic for a given `seed`.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import asdict, dataclass

import numpy as np

RESAMPLES = 10_000


@dataclass(frozen=True)
class PairedDifference:
    """B - A: its value on the data, a percentile interval, the bootstrap p-value, and what it rests on."""

    delta: float
    ci_low: float
    ci_high: float
    p_value: float
    items: int  # items per language
    seeds: int
    languages: int

    def excludes_zero(self) -> bool:
        return self.ci_low > 0 or self.ci_high < 0

    def as_dict(self) -> dict[str, float | int]:
        return asdict(self)


def _as_matrix(scores: Sequence[float] | np.ndarray) -> np.ndarray:
    """Scores as (seeds, items): a 1-D sequence is one seed."""
    array = np.asarray(scores, dtype=float)
    if array.ndim == 1:
        array = array[None, :]
    if array.ndim != 2 or array.shape[1] == 0:
        raise ValueError(
            f"scores must be (items,) or (seeds, items) with at least one item, got {array.shape}"
        )
    return array


def paired_bootstrap(
    a: Mapping[str, Sequence[float] | np.ndarray],
    b: Mapping[str, Sequence[float] | np.ndarray],
    *,
    parallel: bool = True,
    groups: Sequence[int] | None = None,
    resamples: int = RESAMPLES,
    confidence: float = 0.95,
    seed: int = 0,
) -> PairedDifference:
    """The difference of B and A over one or more languages, with a paired bootstrap interval.

    Args:
        a, b: language -> per-item scores of system A and B, as (items,) or (seeds, items); position i is the
            same item in A and B (and seed s the same seed). Both must name the same languages.
        parallel: the languages share their items (position i is the same question in every language; all
            must have as many items): one draw of item indices for all of them. False: each language's items
            are drawn on their own.
        groups: the group of each seed (e.g. its pretraining seed), every group with as many seeds: groups are
            drawn, then seeds within them. None: seeds are drawn on their own.
        resamples: bootstrap draws.
        confidence: the interval's coverage (0.95: the 2.5th and 97.5th percentiles).
        seed: of the resampling generator.

    Returns:
        delta = mean over languages of (mean over seeds and items of B - A), its interval and p-value.
    """
    if set(a) != set(b) or not a:
        raise ValueError(f"A and B must score the same languages, got {sorted(a)} and {sorted(b)}")
    languages = sorted(a)
    diffs = []
    for lang in languages:
        left, right = _as_matrix(a[lang]), _as_matrix(b[lang])
        if left.shape != right.shape:
            raise ValueError(f"{lang}: A has {left.shape} (seeds, items), B {right.shape}: not paired")
        diffs.append(right - left)
    seeds = {d.shape[0] for d in diffs}
    if len(seeds) != 1:
        raise ValueError("every language must have the same number of seeds")
    n_seeds = seeds.pop()
    items = {d.shape[1] for d in diffs}
    if parallel and len(items) != 1:
        raise ValueError("parallel languages must have the same number of items")

    rng = np.random.default_rng(seed)
    seed_draws = _seed_draws(rng, n_seeds, groups, resamples)
    shared = rng.integers(0, diffs[0].shape[1], size=(resamples, diffs[0].shape[1])) if parallel else None
    resampled = np.zeros(resamples)
    for d in diffs:
        # (resamples, seeds, items) is too large for big sets: average over items per seed first
        draws = shared if parallel else rng.integers(0, d.shape[1], size=(resamples, d.shape[1]))
        per_seed = np.stack([d[s][draws].mean(axis=1) for s in range(n_seeds)], axis=1)  # (resamples, seeds)
        if seed_draws is not None:
            per_seed = np.take_along_axis(per_seed, seed_draws, axis=1)
        resampled += per_seed.mean(axis=1)
    resampled /= len(diffs)

    tail = (1 - confidence) / 2
    low, high = np.quantile(resampled, [tail, 1 - tail])
    p_value = min(1.0, 2 * min(np.mean(resampled <= 0), np.mean(resampled >= 0)))
    if np.all(resampled == 0):
        p_value = 1.0
    return PairedDifference(
        delta=float(np.mean([d.mean() for d in diffs])),
        ci_low=float(low),
        ci_high=float(high),
        p_value=float(p_value),
        items=int(max(items)),
        seeds=int(n_seeds),
        languages=len(diffs),
    )


def _seed_draws(
    rng: np.random.Generator, n_seeds: int, groups: Sequence[int] | None, resamples: int
) -> np.ndarray | None:
    """(resamples, seeds) column indices of each draw's seeds, or None with one seed (nothing to draw)."""
    if groups is None:
        return rng.integers(0, n_seeds, size=(resamples, n_seeds)) if n_seeds > 1 else None
    if len(groups) != n_seeds:
        raise ValueError(f"groups names {len(groups)} seeds, the scores have {n_seeds}")
    members = [[i for i, g in enumerate(groups) if g == name] for name in dict.fromkeys(groups)]
    size = len(members[0])
    if any(len(m) != size for m in members):
        raise ValueError("every group must have as many seeds")
    table = np.array(members)  # (groups, seeds per group)
    picked = rng.integers(0, len(members), size=(resamples, len(members)))
    within = rng.integers(0, size, size=(resamples, len(members), size))
    return table[picked[:, :, None], within].reshape(resamples, -1)


def mcnemar_exact(a: Sequence[float], b: Sequence[float]) -> float:
    """Two-sided exact McNemar p-value of paired 0/1 scores: a binomial test on the discordant items."""
    if len(a) != len(b):
        raise ValueError(f"not paired: {len(a)} and {len(b)} items")
    a_only = sum(1 for x, y in zip(a, b, strict=True) if x and not y)
    b_only = sum(1 for x, y in zip(a, b, strict=True) if y and not x)
    n = a_only + b_only
    if n == 0:
        return 1.0
    k = min(a_only, b_only)
    return min(1.0, 2 * sum(math.comb(n, i) for i in range(k + 1)) / 2**n)


def bootstrap_interval(scores: Mapping[str, Sequence[float] | np.ndarray], **options) -> PairedDifference:
    """The mean of one system's scores over languages, with the same resampling (its interval and, trivially,
    its difference from a system that scores 0 everywhere)."""
    zeros = {lang: np.zeros_like(_as_matrix(values)) for lang, values in scores.items()}
    return paired_bootstrap(zeros, scores, **options)


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm-adjusted p-values, in the input's order: reject where adjusted p < alpha keeps the family-wise
    error at alpha."""
    order = sorted(range(len(p_values)), key=lambda i: p_values[i])
    adjusted = [0.0] * len(p_values)
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (len(p_values) - rank) * p_values[i]))
        adjusted[i] = running
    return adjusted


def verdict(difference: PairedDifference, *, significant: bool | None = None) -> str:
    """'beats', 'loses to' or 'no detectable difference' (B compared with A).

    Args:
        significant: a multiple-comparison decision (e.g. Holm); by default, whether the interval excludes 0.
    """
    if significant is None:
        significant = difference.excludes_zero()
    if not significant or difference.delta == 0:
        return "no detectable difference"
    return "beats" if difference.delta > 0 else "loses to"


class UnpairedError(ValueError):
    """Two runs did not score the same items: a paired comparison of them would compare different questions."""


def line_up(
    a: Mapping[tuple[Hashable, ...], float], b: Mapping[tuple[Hashable, ...], float], *, shown: int = 3
) -> list[tuple[Hashable, ...]]:
    """The keys of two runs' item scores, in one order, when both runs scored exactly the same items.

    Args:
        a, b: (task, language, item id) -> score of run A and run B.
        shown: examples of keys named per side in the error.

    Returns:
        The shared keys, sorted (item ids that are numbers in numeric order).

    Raises:
        UnpairedError: a key only one run has: how many on each side, by (task, language), with examples.
    """
    only_a, only_b = sorted(set(a) - set(b), key=_natural), sorted(set(b) - set(a), key=_natural)
    if only_a or only_b:
        parts = [_describe(name, keys, shown) for name, keys in (("A", only_a), ("B", only_b)) if keys]
        raise UnpairedError(
            "the two runs did not score the same items, so a paired comparison would compare different "
            f"questions: {'; '.join(parts)}. Evaluate both on the same selection (languages, --limit) and "
            "finish both"
        )
    return sorted(a, key=_natural)


def _natural(key: tuple[Hashable, ...]) -> tuple[tuple[int, float, str], ...]:
    """Sort order of keys: numbers (item positions) numerically, anything else as text."""
    out = []
    for part in key:
        text = str(part)
        try:
            out.append((0, float(text), ""))
        except ValueError:
            out.append((1, 0.0, text))
    return tuple(out)


def _describe(side: str, keys: list[tuple[Hashable, ...]], shown: int) -> str:
    groups: dict[tuple[Hashable, ...], int] = {}
    for key in keys:
        groups[key[:-1]] = groups.get(key[:-1], 0) + 1
    counts = ", ".join(f"{' '.join(map(str, group))}: {n}" for group, n in groups.items())
    examples = ", ".join(" ".join(map(str, key)) for key in keys[:shown])
    return f"{len(keys)} only in run {side} ({counts}; e.g. {examples})"
