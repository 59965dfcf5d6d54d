"""Reports a person reads first: report.md with tables, and PNG plots, for one run or several side by side.

    crosslift report runs/eval_tiny                       # recompute summary.json, report.md, plots from items.jsonl
    crosslift report runs/base runs/lingualift --out cmp  # ... and compare: cmp/comparison.md + cmp/<task>.png

Tables iterate over the metrics a summary holds (``summary["metrics"]``), so a newly registered metric appears in
every report with no change here. Plots show the primary metric: per-language bars coloured by resource tier
(``accuracy_by_language.png``), and each tier's macro average next to English (``tier_gap.png``).

What a reader must know before trusting a figure comes first, in every form (report.md, the console table,
comparison.md): an interrupted run's figures are marked partial ("9 of 18 items"), and the summary's warnings and
its prompts longer than the model's context (cut or refused, per language) are listed.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from crosslift.console import stdout_console
from crosslift.errors import CrossliftError
from crosslift.eval.judging import pairwise
from crosslift.eval.results.folder import JUDGE, SUMMARY, load_records, load_run, selected_items, task_dirs
from crosslift.eval.results.formatting import display_scale, fmt, levels, markdown_table, pyplot, run_labels
from crosslift.eval.results.lm_eval_format import write_lm_eval
from crosslift.eval.results.summary import build_summary, write_summary
from crosslift.io import atomic_output, atomic_write_text
from crosslift.languages import DEFAULT_TIER_RULE, REPORT_TIERS, load_tier_rule

TIER_ORDER = REPORT_TIERS  # low, medium, high, unlisted (languages outside the registry)
TIER_COLOURS = {
    "low": "#d95f02",
    "medium": "#e6ab02",
    "high": "#1b9e77",
    "unlisted": "#7570b3",
    None: "#999999",
    "English": "#4c4c4c",
}

# ---------------------------------------------------------------------------------------------------- formatting


def _model_name(summary: dict[str, Any]) -> str:
    return summary.get("provenance", {}).get("models", {}).get("model") or summary["model"]["name_or_path"]


_ZERO_SHOT = ("mcq", "instruction", "tulu")  # templates without "Question:" words or chain of thought
_NO_ANSWER = {"choice": "unmappable", "none": "empty answer"}  # by answer type; numbers: "no answer found"


def _settings_line(summary: dict[str, Any]) -> str:
    g, p = summary["generation"], summary["prompt"]
    decoding = (
        "greedy" if not g["do_sample"] else f"sampling (temperature {g['temperature']}, top_p {g['top_p']})"
    )
    if p["template"] in _ZERO_SHOT:
        prompt = f"Prompt: {p['template']}{' (chat)' if p['chat'] else ''}, zero-shot"
        prompt += f', system prompt "{p["system"]}". ' if p.get("system") else ". "
    else:
        prompt = (
            f"Prompt: {'chat' if p['chat'] else p['template']}, {'chain of thought' if p['cot'] else 'direct'}, "
            f"{p['shots']}-shot, {p['instruction_language']} instruction words ({p['words']} table). "
        )
    return f"{prompt}Decoding: {decoding}, at most {g['max_new_tokens']} new tokens, seed {g['seed']}."


def _families(summary: dict[str, Any]) -> dict[str, list[str]]:
    """Metric families a corpus metric returned (consistency -> [consistency_2, consistency_3, ...])."""
    out: dict[str, list[str]] = {}
    for key, info in summary["metrics"].items():
        if info.get("family"):
            out.setdefault(info["family"], []).append(key)
    return out


def incomplete_text(summary: dict[str, Any]) -> str | None:
    """'9 of 18 items' for a summary of an interrupted run, None for a complete one."""
    if summary.get("complete", True):
        return None
    return f"{summary['n_items']} of {summary['n_items_expected']} items"


def _items_text(entry: dict[str, Any]) -> str:
    """A language's item count, '3 of 6' when some of its items are missing."""
    expected = entry.get("n_items_expected")
    return (
        f"{entry['n_items']} of {expected}"
        if expected not in (None, entry["n_items"])
        else str(entry["n_items"])
    )


_LONG_PROMPT_ACTIONS = {
    "cut": "were cut from the left to fit",
    "refused": "were refused (not generated, scored as unanswered)",
}


def notices(summary: dict[str, Any]) -> list[str]:
    """What a reader must know before the figures: an interrupted run, warnings, prompts longer than the context."""
    out = []
    if incomplete := incomplete_text(summary):
        out.append(
            f"INCOMPLETE: {incomplete}. The evaluation was interrupted: every figure is partial, not a "
            "result. Rerun the same crosslift eval command to finish it."
        )
    out += [f"Warning: {w}." for w in summary.get("warnings", [])]
    for action, what in _LONG_PROMPT_ACTIONS.items():
        counts = {
            code: e["long_prompts"][action]
            for code, e in summary["languages"].items()
            if (e.get("long_prompts") or {}).get(action)
        }
        if counts:
            out.append(
                f"{sum(counts.values())} prompt(s) longer than the model's context (less max_new_tokens for "
                f"the answer) {what}: {_counts_text(counts, limit=len(counts))}."
            )
    return out


def _counts_text(counts: dict[str, int] | None, limit: int = 4) -> str:
    """'sw 46, en 3, no_text 1' (most frequent first)."""
    if not counts:
        return ""
    items = list(counts.items())
    text = ", ".join(f"{k} {v}" for k, v in items[:limit])
    return text + (f", +{sum(v for _, v in items[limit:])} other" if len(items) > limit else "")


# ---------------------------------------------------------------------------------------------------- one run


def render_markdown(summary: dict[str, Any]) -> str:
    """report.md for one task's summary: what was evaluated and how, the figures by tier, cross-lingual consistency
    (when measured), the figures by language, the plots."""
    families = _families(summary)
    in_family = {k for keys in families.values() for k in keys}
    keys = [k for k in summary["metrics"] if k not in in_family]
    out = [*_introduction(summary), *_summary_section(summary, keys)]
    if families:
        out += ["", *_cross_lingual_section(summary, families)]
    if summary.get("levels"):
        out += ["", *_level_section(summary)]
    out += ["", *_language_section(summary, keys)]
    out += ["", "![by language](accuracy_by_language.png)", "", "![tier gap](tier_gap.png)", ""]
    return "\n".join(out)


def _introduction(summary: dict[str, Any]) -> list[str]:
    """The title, what a reader must know first, and the settings and tier rule behind the figures."""
    rule = summary["tier_rule"]
    out = [f"# {summary['task']}: {_model_name(summary)}", ""]
    out += [line for notice in notices(summary) for line in (f"**{notice}**", "")]
    if summary.get("description"):
        out += [summary["description"], ""]
    return out + [
        f"{incomplete_text(summary) or str(summary['n_items']) + ' items'} in {len(summary['languages'])} languages. "
        f"{_settings_line(summary)}",
        "",
        f"Tiers follow the rule **{rule['name']}**: {rule['description']} (source: {rule['source']}).",
        "Tier and overall figures average over languages (each weighs the same); brackets hold 95% intervals "
        "(Wilson per language).",
        "",
    ]


def _summary_section(summary: dict[str, Any], keys: list[str]) -> list[str]:
    """Every metric by tier, for English and overall, with each tier's gap to English in the primary metric."""
    primary = summary["primary_metric"]
    english = (summary.get("english") or {}).get("metrics", {}).get(primary, {}).get("value")
    rows = []
    for label, kind, entry in levels(summary):
        if kind == "language":
            continue
        gap = ""
        value = entry["metrics"].get(primary, {}).get("value")
        if kind == "tier" and english is not None and value is not None:
            gap = f"{(value - english) * display_scale(summary, primary):+.1f}"
        who = entry["languages"] if kind != "english" else [entry["language"]]
        rows.append([label, ", ".join(who), *[fmt(summary, k, entry["metrics"].get(k)) for k in keys], gap])
    out = [
        "## Summary" + (" (partial: the run is incomplete)" if incomplete_text(summary) else ""),
        "",
        markdown_table(["", "languages", *keys, f"{primary}: gap to English"], rows),
    ]
    if summary.get("untiered"):
        out += ["", f"Not covered by the tier rule (in overall only): {', '.join(summary['untiered'])}."]
    return out


def _language_section(summary: dict[str, Any], keys: list[str]) -> list[str]:
    """One row per language: its item metrics, answers not found, how each filter found them, what the implicit
    metrics detected, and the question word of its prompt."""
    implicit = [k for k in keys if summary["metrics"][k].get("implicit")]
    item_keys = [k for k in keys if summary["metrics"][k]["kind"] == "item" and k not in implicit]
    no_answer = _NO_ANSWER.get(summary.get("answer_type"), "no answer found")
    statuses = sorted({p for e in summary["languages"].values() for p in (e.get("filter_status") or {})})
    with_words = summary["prompt"].get("template") not in _ZERO_SHOT
    rows = []
    for code, entry in summary["languages"].items():
        words = entry.get("words") or {}
        note = words.get("question", "") + ("" if words.get("localized", True) else " (English fallback)")
        extra = [_counts_text((entry.get("filter_status") or {}).get(p)) for p in statuses]
        extra += [_with_labels(summary, k, entry) for k in implicit]
        rows.append(
            [
                code,
                entry.get("name", code),
                entry["tier"] or "–",
                _items_text(entry),
                *[_with_labels(summary, k, entry) for k in item_keys],
                str(entry["extraction_failures"]),
                *extra,
            ]
            + ([note] if with_words else [])
        )
    header = [
        "code",
        "language",
        "tier",
        "items",
        *item_keys,
        no_answer,
        *[f"{p}: how found" for p in statuses],
        *[f"{k} (detected)" for k in implicit],
    ]
    out = ["## By language", "", markdown_table(header + (["question word"] if with_words else []), rows)]
    if "lang_fidelity" in summary["metrics"]:
        out += [
            "",
            "Response-language fidelity: the share of answers in the language asked (py3langid restricted to "
            "that language, English and the task's candidates); answers without letters do not count.",
        ]
    return out


def _level_section(summary: dict[str, Any]) -> list[str]:
    """The primary metric per difficulty level, and the weighted mean over levels: overall, per tier, per
    language."""
    primary, info = summary["primary_metric"], summary["levels"]
    order, by_level, weighted = info["order"], info["by_level"], info["weighted"]
    scale = display_scale(summary, primary)

    def cell(value: float | None) -> str:
        return "–" if value is None else (f"{value * 100:.1f}" if scale == 100 else f"{value:.3f}")

    rows = [["overall", *[fmt(summary, primary, by_level[lv]["overall"].get(primary)) for lv in order]]]
    rows[0].append(cell(weighted["overall"].get(primary)))
    for tier in TIER_ORDER:
        if tier in weighted["tiers"]:
            values = [fmt(summary, primary, by_level[lv]["tiers"].get(tier, {}).get(primary)) for lv in order]
            rows.append([f"tier: {tier}", *values, cell(weighted["tiers"][tier].get(primary))])
    for code in summary["languages"]:
        values = [fmt(summary, primary, by_level[lv]["languages"].get(code, {}).get(primary)) for lv in order]
        rows.append([code, *values, cell(weighted["languages"].get(code, {}).get(primary))])
    weights = ", ".join(f"{lv} {info['weights'][lv]:g}" for lv in order)
    return [
        f"## By difficulty level ({primary})",
        "",
        markdown_table(["", *order, "weighted mean"], rows),
        "",
        f"Weighted mean over levels with weights {weights} (per language; tiers and overall average the "
        "languages' weighted means).",
    ]


def _with_labels(summary: dict[str, Any], key: str, entry: dict[str, Any]) -> str:
    """A metric cell, followed by what its labels counted (e.g. the languages answers were detected in)."""
    labels = _counts_text((entry.get("labels") or {}).get(key))
    return fmt(summary, key, entry["metrics"].get(key)) + (f" ({labels})" if labels else "")


def _cross_lingual_section(summary: dict[str, Any], families: dict[str, list[str]]) -> list[str]:
    """Consistency_s and AC3_s (and any other metric family) per tier and overall, one column per s."""
    out = [
        "## Cross-lingual consistency",
        "",
        "Consistency_s: the share of questions answered with the same option in every language of a subset of "
        "s languages, averaged over all such subsets; an unmappable answer agrees with nothing. AC3_s: the "
        "harmonic mean of accuracy (pooled over the languages) and Consistency_s. Tiers are computed within "
        "their own languages.",
        "",
    ]
    for family, keys in families.items():
        sizes = [summary["metrics"][k]["s"] for k in keys]
        rows = []
        for label, kind, entry in levels(summary):
            if kind in ("language", "english"):
                continue
            rows.append(
                [
                    label,
                    str(len(entry["languages"])),
                    *[fmt(summary, k, entry["metrics"].get(k)) for k in keys],
                ]
            )
        out += [f"### {family}", "", markdown_table(["", "languages", *[f"s={s}" for s in sizes]], rows), ""]
    return out


def _bars(
    ax, labels: list[str], cells: list[dict[str, Any]], colours: list[str], scale: float
) -> list[float]:
    """Bars with asymmetric 95% error bars; returns the bar heights."""
    values = [scale * c["value"] for c in cells]
    # max(0, ...): a Wilson bound at 0% or 100% can sit a rounding error beyond the value itself
    low = [
        max(0.0, v - scale * c["ci_low"]) if c.get("ci_low") is not None else 0.0
        for v, c in zip(values, cells, strict=True)
    ]
    high = [
        max(0.0, scale * c["ci_high"] - v) if c.get("ci_high") is not None else 0.0
        for v, c in zip(values, cells, strict=True)
    ]
    ax.bar(range(len(values)), values, yerr=[low, high], capsize=2, color=colours)
    ax.set_xticks(range(len(values)), labels, rotation=90 if len(values) > 12 else 0)
    return values


def plot_languages(summary: dict[str, Any], path: Path) -> None:
    """Per-language bars of the primary metric coloured by tier (low to high), English as a dashed line."""
    plt = pyplot()
    key = summary["primary_metric"]
    scale = display_scale(summary, key)
    rank = {t: i for i, t in enumerate(TIER_ORDER)}
    rows = [
        (code, e)
        for code, e in summary["languages"].items()
        if e["metrics"].get(key, {}).get("value") is not None
    ]
    rows.sort(key=lambda r: (rank.get(r[1]["tier"], len(rank)), -r[1]["metrics"][key]["value"]))
    fig, ax = plt.subplots(figsize=(max(6.0, 0.32 * len(rows) + 2), 4.2))
    _bars(
        ax,
        [c for c, _ in rows],
        [e["metrics"][key] for _, e in rows],
        [TIER_COLOURS[e["tier"]] for _, e in rows],
        scale,
    )
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    handles = [
        Patch(color=TIER_COLOURS[t], label=t or "no tier")
        for t in (*TIER_ORDER, None)
        if any(e["tier"] == t for _, e in rows)
    ]
    english = (summary.get("english") or {}).get("metrics", {}).get(key, {}).get("value")
    if english is not None:
        ax.axhline(scale * english, color="black", linestyle="--", linewidth=1)
        handles.append(Line2D([], [], color="black", linestyle="--", linewidth=1, label="English"))
    ax.margins(y=0.15)  # room for the legend above the bars
    ax.legend(handles=handles, fontsize=8, ncols=len(handles), loc="upper right")
    ax.set_ylabel(f"{key}{' (%)' if scale == 100 else ''}")
    ax.set_title(f"{summary['task']}: {key} by language (tiers: {summary['tier_rule']['name']})", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110, format="png")
    plt.close(fig)


def plot_tier_gap(summary: dict[str, Any], path: Path) -> None:
    """Each tier's macro average of the primary metric next to English, the gap written above each tier."""
    plt = pyplot()
    key = summary["primary_metric"]
    scale = display_scale(summary, key)
    bars = [
        (t, summary["tiers"][t]["metrics"][key])
        for t in TIER_ORDER
        if summary["tiers"].get(t, {}).get("metrics", {}).get(key, {}).get("value") is not None
    ]
    english = (summary.get("english") or {}).get("metrics", {}).get(key)
    if english and english.get("value") is not None:
        bars.append(("English", english))
    fig, ax = plt.subplots(figsize=(5.5, 4.0))
    values = _bars(ax, [b for b, _ in bars], [c for _, c in bars], [TIER_COLOURS[b] for b, _ in bars], scale)
    if english and english.get("value") is not None:
        for i, (_, cell) in enumerate(bars[:-1]):
            top = scale * (cell["ci_high"] if cell.get("ci_high") is not None else cell["value"])
            ax.annotate(
                f"{values[i] - scale * english['value']:+.1f}",
                (i, top),
                ha="center",
                va="bottom",
                xytext=(0, 3),
                textcoords="offset points",
                fontsize=9,
            )
    ax.margins(y=0.12)
    ax.set_ylabel(f"{key}{' (%)' if scale == 100 else ''}, mean over languages")
    ax.set_title(f"{summary['task']}: gap to English by tier ({summary['tier_rule']['name']})", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110, format="png")
    plt.close(fig)


def _save_atomically(plot, summary: dict[str, Any], path: Path) -> Path:
    with atomic_output(path) as tmp:
        plot(summary, tmp)
    return path


def write_report(task_dir: Path, summary: dict[str, Any]) -> list[Path]:
    """Write report.md and the two plots into a task's results folder (each file atomically)."""
    return [
        atomic_write_text(task_dir / "report.md", render_markdown(summary)),
        _save_atomically(plot_languages, summary, task_dir / "accuracy_by_language.png"),
        _save_atomically(plot_tier_gap, summary, task_dir / "tier_gap.png"),
    ]


# ---------------------------------------------------------------------------------------------------- recompute


def recompute(task_dir: Path, tier_rule: str | None = None, *, lm_eval: bool = False) -> dict[str, Any]:
    """Re-score a task's items.jsonl (no generation); rewrite its summary.json, report.md and plots.

    The summary covers the latest run's selection (its languages and ``--limit``, kept in run.json): a selected item
    without an output makes it incomplete, and it says so. Provenance and warnings are kept.

    Args:
        task_dir: ``<run>/eval/<task>``.
        tier_rule: regroup languages with this rule (default: the one the summary used).
        lm_eval: also (re)write lm-evaluation-harness's results_*.json and samples_*.jsonl
            (`crosslift.eval.results.lm_eval_format`), e.g. for a run made before crosslift wrote them.
    """
    if (task_dir / JUDGE).is_file():
        return pairwise.recompute(task_dir, tier_rule)
    run = load_run(task_dir)
    previous = {}
    if (task_dir / SUMMARY).is_file():
        previous = json.loads((task_dir / SUMMARY).read_text(encoding="utf-8"))
    rule = load_tier_rule(tier_rule or previous.get("tier_rule", {}).get("name") or DEFAULT_TIER_RULE)
    records = load_records(task_dir)
    kept = {k: previous[k] for k in ("provenance", "timing", "warnings") if k in previous}
    selected = selected_items(run, previous, records)
    summary = build_summary(run, records, rule, selected, **kept)
    write_summary(task_dir, summary)
    write_report(task_dir, summary)
    # lm-eval's files have no way to say "partial": an incomplete run gets none
    if summary["complete"] and (lm_eval or any(task_dir.glob("results_*.json"))):  # in step with the summary
        write_lm_eval(task_dir, run, records, summary, selected)
    return summary


# ---------------------------------------------------------------------------------------------------- compare


def compare(runs: list[str | Path], out: str | Path, tier_rule: str | None = None) -> Path:
    """Recompute every run's summaries, then write ``comparison.md`` and one PNG per task the runs share.

    All runs are grouped with one tier rule (``tier_rule``, else the first run's), so their tiers line up.

    Returns:
        The path of comparison.md.
    """
    runs, out = [Path(r) for r in runs], Path(out)
    labels = run_labels(runs)
    per_run: list[dict[str, dict[str, Any]]] = []
    for run in runs:
        summaries = {}
        for task_dir in task_dirs(run):
            summary = recompute(task_dir, tier_rule)
            tier_rule = tier_rule or summary["tier_rule"]["name"]
            summaries[summary["task"]] = summary
        per_run.append(summaries)
    shared = [t for t in per_run[0] if all(t in s for s in per_run[1:])]
    if not shared:
        raise CrossliftError("these runs share no evaluated task; nothing to compare")
    lines = [f"# Comparison: {', '.join(labels)}", ""]
    for label, run, summaries in zip(labels, runs, per_run, strict=True):
        partial = "; ".join(f"{task} {text}" for task, s in summaries.items() if (text := incomplete_text(s)))
        lines.append(
            f"- **{label}** ({run}): {_model_name(next(iter(summaries.values())))}"
            + (f" — **INCOMPLETE** ({partial}): its figures are partial" if partial else "")
        )
    out.mkdir(parents=True, exist_ok=True)
    for task in shared:
        summaries = [s[task] for s in per_run]
        png = out / f"{''.join(c if c.isalnum() or c in '-_.' else '_' for c in task)}.png"
        _plot_runs(summaries, labels, png)
        lines += _task_comparison(task, summaries, labels, png.name)
    return atomic_write_text(out / "comparison.md", "\n".join(lines))


def _task_comparison(task: str, summaries: list[dict[str, Any]], labels: list[str], png: str) -> list[str]:
    """comparison.md's section of one task: the runs' notices, one table per metric they share, their plot."""
    first = summaries[0]
    lines = [
        "",
        f"## {task}",
        "",
        f"Tier rule {first['tier_rule']['name']}; means over languages, 95% intervals in brackets.",
        "",
    ]
    said = [
        f"**{label}: {notice}**" for label, s in zip(labels, summaries, strict=True) for notice in notices(s)
    ]
    lines += [*said, ""] if said else []
    for key in [k for k in first["metrics"] if all(k in s["metrics"] for s in summaries)]:
        rows = []
        for label, kind, entry in levels(first):
            cells = [_find(s, kind, label, entry) for s in summaries]
            name = f"{label} ({entry['tier'] or '–'})" if kind == "language" else label
            rows.append(
                [
                    name,
                    *[
                        fmt(s, key, c.get("metrics", {}).get(key) if c else None, interval=kind != "language")
                        for s, c in zip(summaries, cells, strict=True)
                    ],
                ]
            )
        lines += [f"### {key}", "", markdown_table(["", *labels], rows), ""]
    return lines + [f"![{task}]({png})", ""]


def _find(summary: dict[str, Any], kind: str, label: str, entry: dict[str, Any]) -> dict[str, Any] | None:
    """The row of `summary` that matches a row of the first run's summary."""
    if kind == "tier":
        return summary["tiers"].get(label.removeprefix("tier: "))
    if kind == "english":
        return summary.get("english")
    if kind == "overall":
        return summary["overall"]
    return summary["languages"].get(label)


def _plot_runs(summaries: list[dict[str, Any]], labels: list[str], path: Path) -> None:
    """Grouped bars: the primary metric of each run per tier, for English and overall."""
    plt = pyplot()
    first = summaries[0]
    key = first["primary_metric"]
    scale = display_scale(first, key)
    groups = [(label, kind) for label, kind, _ in levels(first) if kind != "language"]
    width = 0.8 / len(summaries)
    fig, ax = plt.subplots(figsize=(max(5.5, 0.6 * len(groups) * len(summaries) + 2), 4.0))
    for i, (summary, label) in enumerate(zip(summaries, labels, strict=True)):
        heights = []
        for group, kind in groups:
            cell = (_find(summary, kind, group, {}) or {}).get("metrics", {}).get(key) or {}
            heights.append(scale * cell["value"] if cell.get("value") is not None else 0.0)
        ax.bar([g - 0.4 + (i + 0.5) * width for g in range(len(groups))], heights, width=width, label=label)
    ax.set_xticks(range(len(groups)), [g for g, _ in groups])
    ax.set_ylabel(f"{key}{' (%)' if scale == 100 else ''}")
    ax.set_title(f"{first['task']}: runs side by side ({first['tier_rule']['name']})", fontsize=10)
    ax.legend(fontsize=8)
    fig.tight_layout()
    with atomic_output(path) as tmp:
        fig.savefig(tmp, dpi=110, format="png")
    plt.close(fig)


# ---------------------------------------------------------------------------------------------------- console


def print_summary(summary: dict[str, Any], results_dir: Path | None = None) -> None:
    """A compact table of the primary metric by tier, English, overall and language (to stdout)."""
    from rich.table import Table

    key = summary["primary_metric"]
    incomplete = incomplete_text(summary)
    title = f"{summary['task']}: {key} (tiers: {summary['tier_rule']['name']})"
    table = Table(
        title=title + (f" INCOMPLETE, {incomplete}: partial figures" if incomplete else ""),
        title_justify="left",
    )
    for column in ("", "tier", "items", key, "no answer"):
        table.add_column(column, justify="left" if column in ("", "tier") else "right")
    previous_kind = None
    for label, kind, entry in levels(summary):
        if previous_kind is not None and (kind == "language") != (previous_kind == "language"):
            table.add_section()
        previous_kind = kind
        if kind == "language":
            table.add_row(
                label,
                entry["tier"] or "–",
                _items_text(entry),
                fmt(summary, key, entry["metrics"].get(key)),
                str(entry["extraction_failures"]),
            )
        else:
            cell = entry["metrics"].get(key) or {}
            tier = label.removeprefix("tier: ") if kind == "tier" else entry.get("tier") or ""
            table.add_row(label, tier, str(cell.get("n", "")), fmt(summary, key, cell), "")
    stdout_console.print(table)
    for family, keys in _families(summary).items():
        cells = [
            f"s={summary['metrics'][k]['s']} {fmt(summary, k, summary['overall']['metrics'].get(k))}"
            for k in keys
        ]
        stdout_console.print(f"{family} (overall): {', '.join(cells)}")
    for notice in notices(summary):
        stdout_console.print(notice, style="bold yellow")
    if results_dir is not None:
        stdout_console.print(f"results: {results_dir}")
