"""Two runs of one task compared item by item: ``crosslift report RUN_A RUN_B --paired --out DIR``.

The same questions were asked of both models, so the difference B - A is measured on the same items
(`crosslift.eval.scoring.paired`, the one implementation the demo's verdicts use too):

- per language: the difference in the metric (default: the task's primary one, which must score each item 0 or
  1), a 95% paired-bootstrap interval (items resampled, the same draw for A and B), McNemar's exact p on the
  discordant items (right in one run, wrong in the other);
- per tier and overall: the unweighted mean over the languages (as every report defines a tier), its interval from
  one draw of items shared by the tier's languages when they hold the same items (a parallel set: an easy question
  is easy in every language), McNemar's p on the pooled discordant (item, language) pairs;
- per difficulty level, when the items have levels: the same over all languages;
- Holm's adjustment at 5% within each family (the languages; the tiers; the levels): ``holm_significant``.

The runs must have scored the same (task, language, item id) set; otherwise it is an error naming what only one
run has (`crosslift.eval.scoring.paired.line_up`): a silent intersection would compare a model on fewer or other
questions than its report says. Both runs must be complete.

Writes ``DIR/paired.json`` ``{"metric", "task", "runs", "languages": {code: {"delta", "ci_low", "ci_high",
"p_mcnemar", "holm_significant", "n", ...}}, "tiers": {tier: {...}}, "overall": {...}, "levels": {...}}``
(fractions, not percent) and ``DIR/paired.md``, which is also printed.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from crosslift.errors import CrossliftError
from crosslift.eval.items import question_key
from crosslift.eval.results.folder import SUMMARY, load_records, load_run, selected_items, task_dirs
from crosslift.eval.results.formatting import markdown_table, run_labels
from crosslift.eval.results.summary import tier_of
from crosslift.eval.scoring.paired import (
    UnpairedError,
    holm,
    line_up,
    mcnemar_exact,
    paired_bootstrap,
    verdict,
)
from crosslift.eval.scoring.record import rescore, specs_of
from crosslift.io import atomic_write_json, atomic_write_text
from crosslift.languages import DEFAULT_TIER_RULE, REPORT_TIERS, load_tier_rule

ALPHA = 0.05
Key = tuple[str, str, str]  # (language task, language, item id)


def _task_dir(run: str | Path, task: str | None, other: str | Path) -> Path:
    dirs = {d.name: d for d in task_dirs(run)}
    if task is not None:
        if task not in dirs:
            raise CrossliftError(f"{run}: no results of task '{task}' (it has: {', '.join(dirs)})")
        return dirs[task]
    theirs = {d.name for d in task_dirs(other)}
    if set(dirs) != theirs or len(dirs) != 1:
        raise CrossliftError(
            f"{run} holds {', '.join(sorted(dirs))} and {other} holds {', '.join(sorted(theirs))}: name the task "
            "to compare with --task"
        )
    return next(iter(dirs.values()))


def run_scores(
    task_dir: Path, metric: str | None
) -> tuple[str, dict[Key, float], dict[Key, str | None], dict]:
    """One run's item scores of a metric (default: its primary one), keyed by (task, language, item id); each
    item's level; and the run's previous summary (for its tier rule).

    Raises:
        CrossliftError: an incomplete run, an unknown metric, or one that is not 0/1 on every item.
    """
    run = load_run(task_dir)
    previous = (
        json.loads((task_dir / SUMMARY).read_text(encoding="utf-8")) if (task_dir / SUMMARY).is_file() else {}
    )
    records = load_records(task_dir)
    selected = selected_items(run, previous, records)
    scores: dict[Key, float] = {}
    levels: dict[Key, str | None] = {}
    for lang, indices in selected.items():
        entry = run["languages"][lang]
        keys = [s.key for s in specs_of(entry) if not s.corpus]
        metric = metric or keys[0]
        if metric not in keys:
            raise CrossliftError(f"{task_dir}: no item metric '{metric}' (it has: {', '.join(keys)})")
        missing = [i for i in indices if (entry["task"], i) not in records]
        if missing:
            raise CrossliftError(
                f"{task_dir} is incomplete ({len(missing)} of {len(indices)} {lang} items have no output): "
                "rerun its crosslift eval command to finish it before comparing"
            )
        for i in indices:
            record = rescore(records[(entry["task"], i)], entry["task_spec"])
            value = record["metrics"].get(metric)
            if value not in (0, 1):
                raise CrossliftError(
                    f"{task_dir}: metric '{metric}' is {value!r} on {entry['task']} item {i}; a paired "
                    "comparison needs a 0/1 score on every item (an accuracy)"
                )
            key = (entry["task"], lang, question_key(record))
            scores[key] = float(value)
            levels[key] = record.get("level")
    assert metric is not None
    return metric, scores, levels, previous


def _compare(
    a: dict[str, list[float]], b: dict[str, list[float]], *, parallel: bool, seed: int
) -> dict[str, Any]:
    """B - A over languages (each language's item scores, in the same item order in A and B); `parallel`: the
    languages hold the same items in the same order."""
    difference = paired_bootstrap(a, b, parallel=parallel, seed=seed)
    pooled_a = [x for lang in a for x in a[lang]]
    pooled_b = [x for lang in a for x in b[lang]]
    return {
        "delta": difference.delta,
        "ci_low": difference.ci_low,
        "ci_high": difference.ci_high,
        "p_mcnemar": mcnemar_exact(pooled_a, pooled_b),
        "p_bootstrap": difference.p_value,
        "n": len(pooled_a),
        "a": sum(pooled_a) / len(pooled_a),
        "b": sum(pooled_b) / len(pooled_b),
        "a_only": sum(1 for x, y in zip(pooled_a, pooled_b, strict=True) if x and not y),
        "b_only": sum(1 for x, y in zip(pooled_a, pooled_b, strict=True) if y and not x),
        "languages": sorted(a),
        "_difference": difference,
    }


def _holm(family: dict[str, dict[str, Any]]) -> None:
    adjusted = holm([cell["p_mcnemar"] for cell in family.values()])
    for cell, p in zip(family.values(), adjusted, strict=True):
        cell["p_holm"] = p
        cell["holm_significant"] = p < ALPHA
        cell["verdict"] = verdict(cell.pop("_difference"), significant=cell["holm_significant"])


def paired_comparison(
    run_a: str | Path,
    run_b: str | Path,
    *,
    task: str | None = None,
    metric: str | None = None,
    tier_rule: str | None = None,
    seed: int = 0,
) -> dict[str, Any]:
    """B - A per language, tier, level and overall, for one task the two runs share (see the module's text).

    Raises:
        CrossliftError: runs of different items (what only one has), an incomplete run, no shared task, or a
            metric that is not 0/1.
    """
    dir_a, dir_b = _task_dir(run_a, task, run_b), _task_dir(run_b, task, run_a)
    metric, scores_a, levels_a, summary_a = run_scores(dir_a, metric)
    _, scores_b, _, _ = run_scores(dir_b, metric)
    try:
        keys = line_up(scores_a, scores_b)
    except UnpairedError as e:
        raise CrossliftError(f"{dir_a} (A) and {dir_b} (B): {e}") from None
    by_language: dict[str, list[Key]] = {}
    for key in keys:
        by_language.setdefault(key[1], []).append(key)
    rule = load_tier_rule(tier_rule or summary_a.get("tier_rule", {}).get("name") or DEFAULT_TIER_RULE)

    def compare(groups: dict[str, list[Key]]) -> dict[str, Any]:
        return _compare(
            {lang: [scores_a[k] for k in ks] for lang, ks in groups.items()},
            {lang: [scores_b[k] for k in ks] for lang, ks in groups.items()},
            parallel=len({tuple(k[2] for k in ks) for ks in groups.values()}) == 1,
            seed=seed,
        )

    languages = {lang: compare({lang: ks}) for lang, ks in by_language.items()}
    for lang, cell in languages.items():
        cell["tier"] = tier_of(rule, lang)
        del cell["languages"]
    tiers = {}
    for tier in REPORT_TIERS:
        members = {lang: ks for lang, ks in by_language.items() if languages[lang]["tier"] == tier}
        if members:
            tiers[tier] = compare(members)
    overall = compare(by_language)
    level_names = list(dict.fromkeys(level for k in keys if (level := levels_a[k]) is not None))
    by_level = {
        level: compare(
            {
                lang: kept
                for lang, ks in by_language.items()
                if (kept := [k for k in ks if levels_a[k] == level])
            }
        )
        for level in level_names
    }
    for family in (languages, tiers, by_level, {"overall": overall}):
        _holm(family)
    return {
        "metric": metric,
        "task": dir_a.name,
        "runs": {"a": str(run_a), "b": str(run_b)},
        "tier_rule": rule.name,
        "alpha": ALPHA,
        "languages": languages,
        "tiers": tiers,
        "overall": overall,
        **({"levels": by_level} if by_level else {}),
    }


def render_paired(result: dict[str, Any], labels: tuple[str, str]) -> str:
    """paired.md: what was compared and how, then one table per family (levels only when the items have them)."""
    a, b = labels
    metric = result["metric"]

    def pct(x: float) -> str:
        return f"{x * 100:+.1f}" if x else "0.0"

    def rows(family: dict[str, dict[str, Any]], with_tier: bool) -> list[list[str]]:
        out = []
        for name, c in family.items():
            row = [name] + ([c.get("tier") or "–"] if with_tier else [])
            row += [
                str(c["n"]),
                f"{c['a'] * 100:.1f}",
                f"{c['b'] * 100:.1f}",
                pct(c["delta"]),
                f"{pct(c['ci_low'])} to {pct(c['ci_high'])}",
                f"{c['a_only']} / {c['b_only']}",
                f"{c['p_mcnemar']:.3g}",
                "yes" if c["holm_significant"] else "no",
                f"{b} {c['verdict']} {a}"
                if c["delta"] and c["holm_significant"]
                else "no detectable difference",
            ]
            out.append(row)
        return out

    header = ["n", f"A: {a}", f"B: {b}", "B − A", "95% CI", "A only / B only right", "p (McNemar)", "Holm 5%"]
    out = [
        f"# Paired comparison on {result['task']}: {metric}, B − A",
        "",
        f"A = {result['runs']['a']}, B = {result['runs']['b']}: the same items in both runs (task, language, item "
        "id). Figures in percent and percentage points. The interval is a 95% paired bootstrap (10,000 "
        "resamples of the items, the same draw for A and B; a tier's languages share one draw when they hold the "
        "same items); McNemar's exact test counts the items right in one run only (pooled over a tier's "
        "languages); Holm's adjustment at 5% runs within each table. Tiers follow "
        f"{result['tier_rule']}; a tier or overall is the mean over its languages.",
        "",
        "## By language",
        "",
        markdown_table(["language", "tier", *header, "verdict"], rows(result["languages"], True)),
        "",
        "## By tier and overall",
        "",
        markdown_table(
            ["", *header, "verdict"],
            rows(
                {f"tier: {t}": c for t, c in result["tiers"].items()} | {"overall": result["overall"]}, False
            ),
        ),
    ]
    if result.get("levels"):
        out += [
            "",
            "## By difficulty level",
            "",
            markdown_table(["level", *header, "verdict"], rows(result["levels"], False)),
        ]
    return "\n".join(out) + "\n"


def write_paired(
    run_a: str | Path, run_b: str | Path, out: str | Path, **options: Any
) -> tuple[dict[str, Any], str]:
    """Compare two runs (`paired_comparison`) and write ``out/paired.json`` and ``out/paired.md``; returns both."""
    result = paired_comparison(run_a, run_b, **options)
    labels = run_labels([Path(run_a), Path(run_b)])
    text = render_paired(result, (labels[0], labels[1]))
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_json(out / "paired.json", result)
    atomic_write_text(out / "paired.md", text)
    return result, text
