"""Metrics, registered by name, and their aggregation by language, resource tier and overall.

Two kinds of metric can be named in a task's ``metric_list``:

- an **item metric** scores one item from its filtered answer and the gold answer
  (``fn(prediction, gold, *, language, **arguments) -> float | None``; None = not applicable). Per language it is
  averaged, with a 95% Wilson interval when it is binary (accuracy); tiers and the overall figure are macro
  averages over languages (every language weighs the same), or pooled over items with ``aggregation:
  micro_mean``.
- a **corpus metric** scores a set of languages at once from their items.jsonl records
  (``fn(records_by_language, **arguments) -> float | dict | None``), e.g. cross-lingual consistency; it is
  computed for every tier and overall. A function with a ``filter`` parameter receives the name of the filter
  pipeline it scores. A dict result ``{suffix: value}`` is a family of values (``consistency`` returns one per
  subset size s), stored as ``<key>_<suffix>``.

An item metric may return ``Scored(value, label)`` (`crosslift.eval.scoring.scored`) to say what it saw (e.g. the detected
language); labels are stored per item and counted per language. Register new metrics with ``@register_metric`` /
``@register_corpus_metric``; `summarize` and the reports iterate over whatever metrics a task lists, so nothing
else changes. Built in: ``accuracy``, ``exact_match``, ``math_equiv`` (here), ``lang_fidelity`` (`crosslift.eval.scoring.fidelity`),
``consistency`` and ``ac3`` (`crosslift.eval.scoring.consistency`); this registry imports those modules and registers
their functions, so imports run one way (they know nothing of the registry).

``any_of`` combines item metrics: an item scores 1 when any of its ``rules`` does, each rule a 0/1 item metric over
its own filter pipeline (default: the entry's)::

    metric_list:
      - metric: any_of
        name: accuracy_either
        rules:
          - {metric: accuracy, filter: strict, tolerance: 0.001}
          - {metric: exact_match, filter: flexible}
"""

from __future__ import annotations

import inspect
import math
import re
import string
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from crosslift.errors import ConfigError
from crosslift.eval.scoring import consistency, equivalence, fidelity
from crosslift.eval.scoring.extract import parse_number
from crosslift.eval.scoring.scored import Scored
from crosslift.languages import REPORT_TIERS

Z95 = 1.959963984540054
AGGREGATIONS = ("macro_mean", "micro_mean")


@dataclass(frozen=True)
class ItemMetric:
    name: str
    fn: Callable[..., float | None]
    binary: bool
    higher_is_better: bool
    description: str


@dataclass(frozen=True)
class CorpusMetric:
    name: str
    fn: Callable[..., float | None]
    higher_is_better: bool
    description: str


ITEM_METRICS: dict[str, ItemMetric] = {}
CORPUS_METRICS: dict[str, CorpusMetric] = {}


def register_metric(name: str, *, binary: bool, higher_is_better: bool = True, description: str = ""):
    """Decorator: register an item metric ``fn(prediction, gold, *, language, **arguments) -> float | None``."""

    def register(fn):
        ITEM_METRICS[name] = ItemMetric(
            name, fn, binary, higher_is_better, description or (fn.__doc__ or "").strip()
        )
        return fn

    return register


def register_corpus_metric(name: str, *, higher_is_better: bool = True, description: str = ""):
    """Decorator: register a corpus metric ``fn(records_by_language, **arguments) -> float | None``."""

    def register(fn):
        CORPUS_METRICS[name] = CorpusMetric(
            name, fn, higher_is_better, description or (fn.__doc__ or "").strip()
        )
        return fn

    return register


def _arguments(entry: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in entry.items() if k not in ("metric", "name", "filter", "aggregation")}


def check_entry(entry: dict[str, Any], pipelines: list[str]) -> None:
    """Raise ConfigError for an unknown metric, filter pipeline, aggregation or argument of a metric_list entry
    (and of each rule of an ``any_of``)."""
    metric = entry["metric"]
    if metric == ANY_OF:
        _check_rules(entry.get("rules"), pipelines)
    if metric in ITEM_METRICS:
        fn, probe = ITEM_METRICS[metric].fn, ("", "")
    elif metric in CORPUS_METRICS:
        fn, probe = CORPUS_METRICS[metric].fn, ({},)
    else:
        known = sorted([*ITEM_METRICS, *CORPUS_METRICS])
        raise ConfigError(f"unknown metric '{metric}'; registered: {', '.join(known)}")
    if entry.get("filter") is not None and entry["filter"] not in pipelines:
        raise ConfigError(
            f"metric '{metric}' scores filter '{entry['filter']}', which is not in filter_list "
            f"({', '.join(pipelines)})"
        )
    if entry.get("aggregation", "macro_mean") not in AGGREGATIONS:
        raise ConfigError(f"metric '{metric}': aggregation must be one of {', '.join(AGGREGATIONS)}")
    keywords = {"language": "en"} if metric in ITEM_METRICS else {}
    try:
        inspect.signature(fn).bind(*probe, **keywords, **_arguments(entry))
    except TypeError as e:
        raise ConfigError(f"metric '{metric}': {e}") from None


# ---------------------------------------------------------------------------------------------------- metrics


@register_metric("accuracy", binary=True)
def accuracy(prediction: str | None, gold: str, *, language: str, tolerance: float = 1e-3) -> float:
    """1 when the extracted number equals the gold number (|prediction - gold| < tolerance), else 0."""
    if prediction is None:
        return 0.0
    predicted, expected = parse_number(prediction), parse_number(gold)
    if predicted is None or expected is None:
        return 0.0
    return float(abs(float(predicted) - float(expected)) < tolerance)


@register_metric("exact_match", binary=True)
def exact_match(
    prediction: str | None,
    gold: str,
    *,
    language: str,
    ignore_case: bool = False,
    ignore_punctuation: bool = False,
    regexes_to_ignore: list[str] = (),
) -> float:
    """1 when the answer equals the gold string (lm-evaluation-harness's exact_match options), else 0."""
    if prediction is None:
        return 0.0
    texts = [prediction, gold.strip()]
    for pattern in regexes_to_ignore:
        texts = [re.sub(pattern, "", t) for t in texts]
    if ignore_case:
        texts = [t.lower() for t in texts]
    if ignore_punctuation:
        texts = [t.translate(str.maketrans("", "", string.punctuation)) for t in texts]
    return float(texts[0] == texts[1])


ANY_OF = "any_of"


@register_metric(ANY_OF, binary=True)
def any_of(
    answers: dict[str, str | None],
    gold: str,
    *,
    language: str,
    rules: list[dict[str, Any]],
    filter: str | None = None,
) -> float:
    """1 when any of its rules scores 1, else 0: each rule an item metric ({metric, filter, ...arguments}) over its
    filter pipeline's answer (default: this entry's), e.g. "the last number within 1e-3, or the extracted answer
    equals the gold"."""
    for rule in rules:
        value = ITEM_METRICS[rule["metric"]].fn(
            answers[rule.get("filter") or filter], gold, language=language, **_arguments(rule)
        )
        if (value.value if isinstance(value, Scored) else value) == 1:
            return 1.0
    return 0.0


def _check_rules(rules: Any, pipelines: list[str]) -> None:
    if (
        not isinstance(rules, list)
        or len(rules) < 2
        or not all(isinstance(r, dict) and "metric" in r for r in rules)
    ):
        raise ConfigError(
            "metric 'any_of': rules must list at least two {metric, filter, ...arguments} entries that it combines"
        )
    for rule in rules:
        meta = ITEM_METRICS.get(rule["metric"])
        if meta is None or not meta.binary or rule["metric"] == ANY_OF or {"name", "aggregation"} & set(rule):
            raise ConfigError(
                f"metric 'any_of': a rule is a 0/1 item metric with its filter and arguments (no name or "
                f"aggregation), not {rule}"
            )
        check_entry(rule, pipelines)


register_corpus_metric(
    "consistency",
    description="Consistency_s: share of language subsets of size s that chose "
    "the same option, averaged over subsets and questions (CrossIn/SeaEval); missing answers "
    "agree with nothing",
)(consistency.consistency)
register_corpus_metric(
    "ac3",
    description="AC3_s: harmonic mean of accuracy (pooled over the languages) and Consistency_s (CrossIn)",
)(consistency.ac3)


@register_metric("math_equiv", binary=True)
def math_equiv(prediction: str | None, gold: str, *, language: str) -> float:
    """1 when the answer equals the gold answer mathematically (math-verify: fractions, roots, intervals, sets,
    LaTeX or plain; crosslift.eval.scoring.equivalence), else 0."""
    return float(equivalence.equivalent(prediction, gold))


register_metric(
    "lang_fidelity",
    binary=True,
    description="share of answers written in the expected "
    "language (py3langid restricted to the expected language, English and the task's "
    "candidates)",
)(fidelity.lang_fidelity)


# ---------------------------------------------------------------------------------------------------- scoring


@dataclass(frozen=True)
class MetricSpec:
    """One resolved metric_list entry: results key, registered metric, scored pipeline, arguments."""

    key: str
    metric: str
    filter: str | None
    aggregation: str
    arguments: dict[str, Any]
    implicit: bool = False  # added by the task's `fidelity:` setting, not listed in its metric_list

    @property
    def corpus(self) -> bool:
        return self.metric in CORPUS_METRICS

    def info(self) -> dict[str, Any]:
        meta = CORPUS_METRICS[self.metric] if self.corpus else ITEM_METRICS[self.metric]
        return {
            "metric": self.metric,
            "filter": self.filter,
            "aggregation": self.aggregation,
            "arguments": self.arguments,
            "higher_is_better": meta.higher_is_better,
            "description": meta.description,
            "kind": "corpus" if self.corpus else "item",
            "interval": None if self.corpus else ("wilson" if meta.binary else "normal"),
        } | ({"implicit": True} if self.implicit else {})


FIDELITY_KEY = "lang_fidelity"


def metric_specs(
    metric_list: list[dict[str, Any]],
    filter_list: list[dict[str, Any]],
    fidelity: dict[str, Any] | None = None,
) -> list[MetricSpec]:
    """Resolve a task's metric_list (default filter: the first pipeline), plus response-language fidelity when the
    task's resolved `fidelity` settings turn it on (scored in `crosslift.eval.scoring.record.rescore`)."""
    primary = filter_list[0]["name"]
    specs = [
        MetricSpec(
            e.get("name") or e["metric"],
            e["metric"],
            e.get("filter") or primary,
            e.get("aggregation", "macro_mean"),
            _arguments(e),
        )
        for e in metric_list
    ]
    if fidelity is not None and FIDELITY_KEY not in {s.key for s in specs}:
        specs.append(
            MetricSpec(
                FIDELITY_KEY,
                "lang_fidelity",
                fidelity.get("filter"),
                "macro_mean",
                {"candidates": list(fidelity.get("candidates") or [])},
                implicit=True,
            )
        )
    return specs


def score_item(
    specs: list[MetricSpec], filtered: dict[str, str | None], gold: str | None, language: str
) -> tuple[dict[str, float | None], dict[str, str]]:
    """Item metric values for one item, and the labels of metrics that return `Scored` (corpus metrics are
    computed in `summarize`)."""
    values: dict[str, float | None] = {}
    labels: dict[str, str] = {}
    for s in specs:
        if s.corpus or s.implicit:
            continue
        if s.metric == ANY_OF:  # its rules read their own pipelines' answers
            result = any_of(filtered, gold, language=language, filter=s.filter, **s.arguments)
        else:
            result = ITEM_METRICS[s.metric].fn(filtered[s.filter], gold, language=language, **s.arguments)
        if isinstance(result, Scored):
            if result.label is not None:
                labels[s.key] = result.label
            result = result.value
        values[s.key] = result
    return values, labels


def wilson_interval(successes: float, n: int, z: float = Z95) -> tuple[float, float]:
    """The Wilson score interval of a binomial proportion (well-behaved at 0, 1 and small n)."""
    if n == 0:
        return (0.0, 1.0)
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return (max(0.0, min(p, centre - half)), min(1.0, max(p, centre + half)))


def item_stats(values: list[float], binary: bool) -> dict[str, Any]:
    """Mean, 95% interval and the variance of the mean (for macro intervals) of one language's values."""
    n = len(values)
    if n == 0:
        return {"value": None, "ci_low": None, "ci_high": None, "n": 0, "_var": None}
    mean = sum(values) / n
    if binary:
        low, high = wilson_interval(sum(values), n)
        # Agresti-Coull's adjusted proportion keeps the variance positive at 0% and 100% (a language that scored
        # 0/5 is not known exactly), so macro intervals never collapse to a point.
        adjusted = (sum(values) + 2) / (n + 4)
        var = adjusted * (1 - adjusted) / (n + 4)
    else:
        var = (sum((v - mean) ** 2 for v in values) / (n - 1) / n) if n > 1 else 0.0
        low, high = mean - Z95 * math.sqrt(var), mean + Z95 * math.sqrt(var)
    return {"value": mean, "ci_low": low, "ci_high": high, "n": n, "_var": var}


def macro_mean(stats: list[dict[str, Any]], binary: bool) -> dict[str, Any]:
    """Unweighted mean over languages; its 95% interval from the languages' variances (normal approximation,
    clipped to the metric's range for proportions)."""
    stats = [s for s in stats if s["value"] is not None]
    if not stats:
        return {"value": None, "ci_low": None, "ci_high": None, "n_languages": 0}
    k = len(stats)
    mean = sum(s["value"] for s in stats) / k
    half = Z95 * math.sqrt(sum(s["_var"] for s in stats)) / k
    low, high = (max(0.0, mean - half), min(1.0, mean + half)) if binary else (mean - half, mean + half)
    return {"value": mean, "ci_low": low, "ci_high": high, "n_languages": k, "n": sum(s["n"] for s in stats)}


def _micro(values: list[float], binary: bool) -> dict[str, Any]:
    stats = item_stats(values, binary)
    stats.pop("_var")
    return stats


def summarize(
    records_by_language: dict[str, list[dict[str, Any]]],
    specs: list[MetricSpec],
    tiers: dict[str, str | None],
) -> dict[str, Any]:
    """Metrics per language, per tier, for English and overall.

    Args:
        records_by_language: items.jsonl records (with ``metrics``, ``extracted``), in language order.
        specs: the task's metrics.
        tiers: language -> tier ("low"/"medium"/"high", "unlisted" for a language outside the registry) or None
            when the tier rule does not cover it.

    Returns:
        ``{"languages": {code: {...}}, "tiers": {tier: {...}}, "english": {...} | None, "overall": {...}}``;
        every entry has ``metrics: {key: {"value", "ci_low", "ci_high", "n"/"n_languages"}}``.
    """
    languages: dict[str, Any] = {}
    stats: dict[str, dict[str, dict[str, Any]]] = {}
    for lang, records in records_by_language.items():
        stats[lang] = {}
        for s in specs:
            if s.corpus:
                continue
            values = [r["metrics"][s.key] for r in records if r["metrics"].get(s.key) is not None]
            stats[lang][s.key] = item_stats(values, ITEM_METRICS[s.metric].binary)
        languages[lang] = {
            "tier": tiers.get(lang),
            "n_items": len(records),
            # no answer: nothing extracted, or an empty answer (an instruction left unanswered)
            "extraction_failures": sum(r.get("extracted") in (None, "") for r in records),
            "metrics": {k: {x: y for x, y in v.items() if x != "_var"} for k, v in stats[lang].items()},
        }
        counts = {"filter_status": _counts(records, "filter_status"), "labels": _counts(records, "labels")}
        languages[lang] |= {k: v for k, v in counts.items() if v}

    family: dict[str, dict[str, str]] = {}  # corpus metric key -> {expanded key: suffix}

    def aggregate(langs: list[str]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for s in specs:
            if s.corpus:
                subset = {lang: records_by_language[lang] for lang in langs}
                value = _corpus_value(s, subset) if subset else None
                if isinstance(value, dict):
                    for suffix, v in value.items():
                        out[f"{s.key}_{suffix}"] = {"value": v, "n_languages": len(langs)}
                        family.setdefault(s.key, {}).setdefault(f"{s.key}_{suffix}", suffix)
                else:
                    out[s.key] = {"value": value, "n_languages": len(langs)}
            elif s.aggregation == "micro_mean":
                values = [
                    r["metrics"][s.key]
                    for lang in langs
                    for r in records_by_language[lang]
                    if r["metrics"].get(s.key) is not None
                ]
                out[s.key] = _micro(values, ITEM_METRICS[s.metric].binary) | {"n_languages": len(langs)}
            else:
                out[s.key] = macro_mean([stats[lang][s.key] for lang in langs], ITEM_METRICS[s.metric].binary)
        return out

    return {
        **roll_up(languages, aggregate),
        "expanded_metrics": {
            k: dict(sorted(v.items(), key=lambda kv: _suffix_order(kv[1]))) for k, v in family.items()
        },
    }


def roll_up(
    languages: dict[str, dict[str, Any]], aggregate: Callable[[list[str]], dict[str, Any]]
) -> dict[str, Any]:
    """The levels of a summary above its languages: every tier, English on its own, and overall.

    Args:
        languages: code -> the language's entry (with its ``tier``, None when the tier rule does not cover it), in
            language order.
        aggregate: the metrics of a set of languages (``{key: cell}``).

    Returns:
        ``{"languages", "tiers": {tier: {"languages", "metrics"}}, "untiered", "english", "overall"}``.
    """
    codes = list(languages)
    tiers = {}
    for tier in REPORT_TIERS:  # low, medium, high, and "unlisted" (languages outside the registry)
        members = [code for code in codes if languages[code]["tier"] == tier]
        if members:
            tiers[tier] = {"languages": members, "metrics": aggregate(members)}
    english = next((code for code in codes if code.split("-")[0] == "en"), None)
    return {
        "languages": languages,
        "tiers": tiers,
        "untiered": [code for code in codes if languages[code]["tier"] is None],
        "english": ({"language": english} | languages[english]) if english else None,
        "overall": {"languages": codes, "metrics": aggregate(codes)},
    }


def _suffix_order(suffix: str) -> tuple[int, Any]:
    return (0, int(suffix)) if suffix.isdigit() else (1, suffix)


def _corpus_value(spec: MetricSpec, subset: dict[str, list[dict[str, Any]]]) -> Any:
    fn = CORPUS_METRICS[spec.metric].fn
    extra = {"filter": spec.filter} if "filter" in inspect.signature(fn).parameters else {}
    return fn(subset, **extra, **spec.arguments)


def _counts(records: list[dict[str, Any]], field: str) -> dict[str, dict[str, int]]:
    """{name: {label: count}} over the records' `field` mappings (filter statuses, metric labels)."""
    out: dict[str, dict[str, int]] = {}
    for r in records:
        for name, label in (r.get(field) or {}).items():
            out.setdefault(name, {})
            out[name][label] = out[name].get(label, 0) + 1
    return {name: dict(sorted(c.items(), key=lambda kv: (-kv[1], kv[0]))) for name, c in out.items()}
