"""Cross-lingual consistency and AC3 (CrossIn / SeaEval; methods.md §2.4).

The same multiple-choice question is asked in every language of a set L. With a_i^l the option the model chose
for question i in language l, N questions, and s from 2 to |L|:

    Consistency_s = 1/C(|L|, s) * sum over subsets S of L with |S| = s of  1/N * sum_i 1[a_i^l identical for all l in S]
    AC3_s         = 2 * Accuracy * Consistency_s / (Accuracy + Consistency_s)       (harmonic mean; 0 when both are 0)

Accuracy is the mean of 1[a_i^l = gold_i] over every (question, language) pair of L.

Counting instead of enumerating. Averaging over all C(|L|, s) subsets is the same as asking, per question, how
many s-subsets of languages agree: if c_{i,o} languages chose option o for question i, exactly sum_o C(c_{i,o}, s)
subsets agree. So

    Consistency_s = sum_i sum_o C(c_{i,o}, s) / (N * C(|L|, s))

which is exact (integer counts, one division), and takes O(N |L|) time instead of O(N C(|L|, s)) — the difference
between instant and never for MMWP's 48 languages (C(48, 24) ~ 3e13 subsets).

Missing answers. An unmappable output (no option could be read; `crosslift.eval.scoring.choices`) or a language with no
record for the question is *not* an answer: it agrees with nothing, not even another missing answer. Two
languages in which the model produced nothing usable show no shared knowledge, and counting them as agreeing
would reward a model for failing the same way everywhere. SeaEval never meets the case (it picks a random option
for unmappable outputs), so on outputs that all map to an option our numbers equal SeaEval's (tested); where some
do not, ours are lower than a random guess would make them, never higher. N counts every question that any
language of the subset has, so a question missing in one language lowers consistency rather than vanishing.

`consistency` and `ac3` are registered as corpus metrics by `crosslift.eval.scoring.metrics`.
"""

from __future__ import annotations

from collections import Counter
from math import comb
from typing import Any

from crosslift.errors import ConfigError
from crosslift.eval.items import question_key


def answers_by_item(
    records_by_language: dict[str, list[dict[str, Any]]], filter: str
) -> dict[str, list[str | None]]:
    """Question -> the answer in each language (None: unmappable or absent), from items.jsonl records."""
    languages = list(records_by_language)
    table: dict[str, list[str | None]] = {}
    for column, lang in enumerate(languages):
        for record in records_by_language[lang]:
            row = table.setdefault(question_key(record), [None] * len(languages))
            row[column] = (record.get("filtered") or {}).get(filter, record.get("extracted"))
    return table


def consistency_scores(answers: dict[str, list[str | None]], n_languages: int) -> dict[int, float]:
    """Consistency_s for s = 2 .. n_languages from each question's answers per language (None never agrees)."""
    if n_languages < 2 or not answers:
        return {}
    out = {}
    for s in range(2, n_languages + 1):
        agreeing = 0
        for row in answers.values():
            counts = Counter(a for a in row if a is not None)
            agreeing += sum(comb(c, s) for c in counts.values())
        out[s] = agreeing / (len(answers) * comb(n_languages, s))
    return out


def harmonic_mean(accuracy: float, consistency: float) -> float:
    """AC3: the harmonic mean of accuracy and consistency (0 when both are 0)."""
    total = accuracy + consistency
    return 2 * accuracy * consistency / total if total else 0.0


def pooled_accuracy(records_by_language: dict[str, list[dict[str, Any]]], key: str) -> float | None:
    """Mean of the item metric `key` over every record of every language (None when no record has it)."""
    values = [
        r["metrics"][key]
        for records in records_by_language.values()
        for r in records
        if (r.get("metrics") or {}).get(key) is not None
    ]
    if not values and any(records_by_language.values()):
        raise ConfigError(
            f"ac3 needs the item metric '{key}' (name its key with `accuracy:` in the metric entry)"
        )
    return sum(values) / len(values) if values else None


def consistency(
    records_by_language: dict[str, list[dict[str, Any]]], filter: str = "choice"
) -> dict[str, float] | None:
    """Consistency_s for every s from 2 to the number of languages, as ``{"2": ..., "3": ...}``."""
    scores = consistency_scores(answers_by_item(records_by_language, filter), len(records_by_language))
    return {str(s): v for s, v in scores.items()} or None


def ac3(
    records_by_language: dict[str, list[dict[str, Any]]], filter: str = "choice", accuracy: str = "accuracy"
) -> dict[str, float] | None:
    """AC3_s for every s from 2 to the number of languages; `accuracy` names the item metric holding correctness."""
    acc = pooled_accuracy(records_by_language, accuracy)
    scores = consistency_scores(answers_by_item(records_by_language, filter), len(records_by_language))
    if acc is None or not scores:
        return None
    return {str(s): harmonic_mean(acc, c) for s, c in scores.items()}
