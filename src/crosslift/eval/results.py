"""A task's results folder, and the summary computed from it.

    <output_dir>/eval/<task>/
      run.json        what produced the items: model, and per language the task definition, prompt and
                      decoding settings (a rerun with different ones is refused, so one folder = one setting);
                      the selection (items per language) of the latest run, which tells a finished run from an
                      interrupted one
      items.jsonl     one line per finished item, appended as it finishes: task, language, index, prompt, raw
                      output, extracted answer, gold, correct, every filter's answer and every item metric
      summary.json    metrics per language, per tier, for English and overall, with intervals and provenance
      report.md, accuracy_by_language.png, tier_gap.png   (crosslift.eval.report)

A `crosslift judge` folder (judge.json, verdicts.jsonl, summary.json; `crosslift.eval.pairwise`) is a results
folder too: reports recompute and compare it like a task's.

The summary is always recomputed from the raw outputs in items.jsonl with the filters and metrics of run.json,
so `crosslift report` gives the same numbers as the run, and improved extraction applies to old runs. A summary
says whether it covers every selected item (``complete``; ``n_items`` of ``n_items_expected``): the figures of an
interrupted run are partial, and every report marks them so.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from crosslift.errors import CrossliftError, DataError
from crosslift.eval.extract import without_last_number
from crosslift.eval.fidelity import lang_fidelity
from crosslift.eval.filters import apply_filters
from crosslift.eval.metrics import FIDELITY_KEY, MetricSpec, metric_specs, score_item, summarize
from crosslift.io import atomic_write_json, read_jsonl_tolerant
from crosslift.languages import TierRule, UnknownLanguageError, get_language

ITEMS, RUN, SUMMARY = "items.jsonl", "run.json", "summary.json"
JUDGE = "judge.json"  # what marks a pairwise judging folder


def task_dirs(path: str | Path) -> list[Path]:
    """The task results folders in a run folder, its eval/ folder, or a task folder itself; also the folders of a
    `crosslift judge` output (judge.json)."""
    path = Path(path)
    if (path / RUN).is_file() or (path / JUDGE).is_file():
        return [path]
    for root in (path / "eval", path):
        found = sorted({p.parent for marker in (RUN, JUDGE) for p in root.glob(f"*/{marker}")})
        if found:
            return found
    raise CrossliftError(f"{path}: no evaluation results here (expected eval/<task>/{RUN})")


def item_key(record: dict[str, Any]) -> tuple[str, int]:
    return (record["task"], int(record["index"]))


def load_records(task_dir: Path) -> dict[tuple[str, int], dict[str, Any]]:
    """Finished items by (task, index); a torn last line is ignored, a duplicate keeps the first record."""
    records: dict[tuple[str, int], dict[str, Any]] = {}
    for number, record in enumerate(read_jsonl_tolerant(task_dir / ITEMS), start=1):
        try:
            records.setdefault(item_key(record), record)
        except (KeyError, TypeError, ValueError):
            raise DataError(
                "not an items.jsonl record (needs task and index)", path=task_dir / ITEMS, line=number
            ) from None
    return records


def load_run(task_dir: Path) -> dict[str, Any]:
    path = task_dir / RUN
    if not path.is_file():
        raise DataError(f"no {RUN} here: not a crosslift evaluation folder", path=task_dir)
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise DataError(f"not valid JSON ({e.msg})", path=path, line=e.lineno) from None


def specs_of(language_entry: dict[str, Any]) -> list[MetricSpec]:
    spec = language_entry["task_spec"]
    return metric_specs(spec["metric_list"], spec["filter_list"], spec.get("fidelity"))


def rescore(record: dict[str, Any], task_spec: dict[str, Any]) -> dict[str, Any]:
    """The record with filters and item metrics recomputed from its raw output."""
    filter_list = task_spec["filter_list"]
    fidelity = task_spec.get("fidelity")
    specs = metric_specs(task_spec["metric_list"], filter_list, fidelity)
    language = record["language"]
    filtered, statuses = apply_filters(filter_list, record["output"], language, record)
    scores, labels = score_item(specs, filtered, record.get("gold"), language)
    if fidelity is not None and any(s.implicit for s in specs):
        text = record["output"] if fidelity.get("filter") is None else filtered[fidelity["filter"]]
        if text is not None and fidelity.get("drop_final_number"):
            text = without_last_number(text, language)
        scored = lang_fidelity(text, None, language=language, candidates=fidelity.get("candidates") or [])
        scores[FIDELITY_KEY] = scored.value
        labels[FIDELITY_KEY] = scored.label
    primary = next((s.key for s in specs if not s.corpus), None)
    return record | {
        "extracted": filtered[filter_list[0]["name"]],
        "correct": bool(scores[primary]) if primary is not None and scores[primary] is not None else None,
        "filtered": filtered,
        "filter_status": statuses,
        "metrics": scores,
        "labels": labels,
    }


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
