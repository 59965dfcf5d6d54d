"""A task's summary (summary.json), computed from its results folder (`crosslift.eval.results.folder`).

The summary is always recomputed from the raw outputs in items.jsonl with the filters and metrics of run.json,
so `crosslift report` gives the same numbers as the run, and improved extraction applies to old runs. A summary
says whether it covers every selected item (``complete``; ``n_items`` of ``n_items_expected``): the figures of an
interrupted run are partial, and every report marks them so.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from crosslift.errors import DataError
from crosslift.eval.results.folder import RUN, SUMMARY
from crosslift.eval.scoring.metrics import MetricSpec, summarize
from crosslift.eval.scoring.record import rescore, specs_of
from crosslift.io import atomic_write_json
from crosslift.languages import TierRule, UnknownLanguageError, get_language


def language_name(code: str) -> str:
    try:
        return get_language(code).name
    except UnknownLanguageError:
        return code


def tier_of(rule: TierRule, code: str) -> str | None:
    try:
        return rule.tier_of(code)
    except UnknownLanguageError:
        return None


def build_summary(
    run: dict[str, Any],
    records: dict[tuple[str, int], dict[str, Any]],
    tier_rule: TierRule,
    selected: dict[str, list[int]] | None = None,
    **meta: Any,
) -> dict[str, Any]:
    """Score the records and aggregate them.

    Args:
        run: the run.json contents.
        records: finished items by (task, index).
        tier_rule: the rule that groups languages into tiers.
        selected: language -> the item indices this summary covers (default: every record of run.json's languages);
            a selected item without a record makes the summary incomplete.
        **meta: extra top-level fields (provenance, timing, warnings).

    Raises:
        DataError: the languages of one summary have different metric lists.
    """
    entries = run["languages"]
    languages = list(selected) if selected is not None else list(entries)
    specs = specs_of(entries[languages[0]])
    by_language: dict[str, list[dict[str, Any]]] = {}
    for lang in languages:
        entry = entries[lang]
        if [s.key for s in specs_of(entry)] != [s.key for s in specs]:
            raise DataError(
                f"languages {languages[0]} and {lang} are scored with different metrics; summarize "
                "them as separate tasks",
                path=RUN,
            )
        task = entry["task"]
        if selected is not None:
            chosen = [records[(task, i)] for i in selected[lang] if (task, i) in records]
        else:
            chosen = sorted((r for (t, _), r in records.items() if t == task), key=lambda r: r["index"])
        by_language[lang] = [rescore(r, entry["task_spec"]) for r in chosen]
    tiers = {lang: tier_of(tier_rule, lang) for lang in languages}
    body = summarize(by_language, specs, tiers)
    if (levels := level_summary(by_language, specs, tiers, entries[languages[0]]["task_spec"])) is not None:
        body["levels"] = levels
    long_prompts: dict[str, int] = {}
    for lang in languages:
        entry = entries[lang]
        n_selected = len(selected[lang]) if selected is not None else None
        body["languages"][lang] |= {
            "name": language_name(lang),
            "task": entry["task"],
            "words": entry["words"],
            "stop": entry["generation"]["stop"],
            "n_items_expected": n_selected,
        }
        actions = [r["long_prompt"]["action"] for r in by_language[lang] if r.get("long_prompt")]
        if actions:
            body["languages"][lang]["long_prompts"] = {a: actions.count(a) for a in sorted(set(actions))}
            for a in actions:
                long_prompts[a] = long_prompts.get(a, 0) + 1
    if body["english"]:
        body["english"] = body["languages"][body["english"]["language"]] | {
            "language": body["english"]["language"]
        }
    first = entries[languages[0]]
    n_items = sum(len(v) for v in by_language.values())
    expected = sum(len(v) for v in selected.values()) if selected is not None else n_items
    return {
        "task": run["task"],
        "description": run.get("description"),
        "model": run["model"],
        "tier_rule": {
            "name": tier_rule.name,
            "description": tier_rule.description,
            "source": tier_rule.source,
        },
        "answer_type": first["task_spec"]["dataset"].get("answer_type", "number"),
        "primary_metric": specs[0].key,
        "metrics": metric_infos(specs, body.pop("expanded_metrics")),
        "generation": {k: v for k, v in first["generation"].items() if k != "stop"},
        "prompt": first["prompt"],
        "n_items": n_items,
        "n_items_expected": expected,
        "complete": n_items == expected,
        "long_prompts": {"policy": first.get("long_prompts"), **long_prompts},
        **body,
        **meta,
    }


def metric_infos(specs: list[MetricSpec], expanded: dict[str, dict[str, str]]) -> dict[str, dict[str, Any]]:
    """The summary's metric descriptions, a corpus metric that returned a family listed member by member
    (``consistency_2``, ``consistency_3``, ... with ``family`` and ``s``)."""
    out = {}
    for s in specs:
        if s.key in expanded:
            for key, suffix in expanded[s.key].items():
                out[key] = s.info() | {"family": s.key, "s": int(suffix) if suffix.isdigit() else suffix}
        else:
            out[s.key] = s.info()
    return out


def write_summary(task_dir: Path, summary: dict[str, Any]) -> Path:
    return atomic_write_json(task_dir / SUMMARY, summary)


def level_summary(
    by_language: dict[str, list[dict[str, Any]]],
    specs: list[MetricSpec],
    tiers: dict[str, str | None],
    task_spec: dict[str, Any],
) -> dict[str, Any] | None:
    """The item metrics per difficulty level, and their weighted mean over levels; None without levels.

    Every level is summarized as a task is (per language, per tier, overall: macro means over languages). The
    weighted mean of a language is sum(w_l * value_l) / sum(w_l) over the levels it has, with the task's
    ``level_weights`` (default: equal weights); of a tier and overall, the mean of its languages' weighted means.

    Returns:
        ``{"order", "weights", "by_level": {level: {"languages", "tiers", "overall"}}, "weighted": {"languages",
        "tiers", "overall"}}``, each holding ``{metric key: {"value", ...}}`` (weighted: ``{metric key: value}``).
    """
    seen = [r["level"] for records in by_language.values() for r in records if r.get("level") is not None]
    if not seen:
        return None
    order = task_spec["dataset"].get("levels") or list(dict.fromkeys(seen))
    given = task_spec.get("level_weights")  # a level it does not name weighs 0; without it, all weigh 1
    weights = {level: float(given.get(level, 0.0)) if given else 1.0 for level in order}
    item_specs = [s for s in specs if not s.corpus]
    by_level: dict[str, Any] = {}
    for level in order:
        subset = {
            lang: kept
            for lang, records in by_language.items()
            if (kept := [r for r in records if r.get("level") == level])
        }
        if not subset:
            continue
        body = summarize(subset, item_specs, {lang: tiers[lang] for lang in subset})
        by_level[level] = {
            "languages": {lang: entry["metrics"] for lang, entry in body["languages"].items()},
            "tiers": {tier: entry["metrics"] for tier, entry in body["tiers"].items()},
            "overall": body["overall"]["metrics"],
        }
    weighted_languages: dict[str, dict[str, float]] = {}
    for lang in by_language:
        for s in item_specs:
            parts = [
                (weights[level], cell["languages"][lang][s.key]["value"])
                for level, cell in by_level.items()
                if lang in cell["languages"] and cell["languages"][lang][s.key]["value"] is not None
            ]
            total = sum(w for w, _ in parts)
            if total > 0:
                weighted_languages.setdefault(lang, {})[s.key] = sum(w * v for w, v in parts) / total

    def mean_of(langs: list[str]) -> dict[str, float]:
        out = {}
        for s in item_specs:
            values = [
                weighted_languages[lang][s.key] for lang in langs if s.key in weighted_languages.get(lang, {})
            ]
            if values:
                out[s.key] = sum(values) / len(values)
        return out

    members: dict[str, list[str]] = {}
    for lang, tier in tiers.items():
        if tier is not None:
            members.setdefault(tier, []).append(lang)
    return {
        "order": [level for level in order if level in by_level],
        "weights": weights,
        "by_level": by_level,
        "weighted": {
            "languages": weighted_languages,
            "tiers": {tier: mean_of(langs) for tier, langs in members.items()},
            "overall": mean_of(list(by_language)),
        },
    }
