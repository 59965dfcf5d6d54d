"""The demo's report: every method x tier and x language, with 95% intervals, over one or more seeds.

Three figures per item, all recomputed from the stored raw outputs (items.jsonl):

    accuracy    the extracted final number equals the gold answer (the evaluation harness's `correct`)
    structure   the chain of thought's equations have the gold's operands and operators, in order, whatever
                their results: whether the model understood the question, apart from a 1M-parameter model's
                arithmetic slips. A step that carries on from the previous result must carry the model's own
                result ("16 * 6 = 78. 78 + 3 = 81" has the structure of "16 * 6 = 96. 96 + 3 = 99"): a slip is
                an arithmetic error once, not a structure error in every later step
    fidelity    the answer is written in the question's language (by script for the synthetic languages)

A PLUG model answers twice (English, then the target language); its target-language part is what is scored.
Per tier, a figure is the unweighted mean over the tier's languages; English is a tier of its own. Over
several seeds the report gives each seed's figure, their mean and their spread (min-max).
"""

from __future__ import annotations

import json
import re
import statistics
import unicodedata
from pathlib import Path
from typing import Any

from crosslift.errors import DataError
from crosslift.eval.scoring.fidelity import lang_fidelity
from crosslift.eval.scoring.metrics import item_stats, macro_mean
from crosslift.io import atomic_output, atomic_write_json, atomic_write_text
from crosslift.runs import provenance

TIERS = ("english", "high", "medium", "low")
METHODS = ("baseline", "lingualift", "crossin", "plug", "control")
METHOD_LABELS = {
    "baseline": "baseline (English SFT)",
    "lingualift": "LinguaLIFT",
    "crossin": "CrossIn",
    "plug": "PLUG",
    "control": "control (no encoder)",
}
_EQUATION = re.compile(r"(\d+)\s*([-+*×x/])\s*(\d+)\s*=\s*(\d*)")


def equations(text: str) -> list[list[str]]:
    """The `a op b = c` equations of a text as [a, op, b, c], digits of any script read as ASCII ("" where no
    result is written)."""
    ascii_digits = "".join(str(unicodedata.digit(c)) if c.isdigit() else c for c in text)
    return [[_number(a), op, _number(b), _number(c)] for a, op, b, c in _EQUATION.findall(ascii_digits)]


def _number(digits: str) -> str:
    return digits.lstrip("0") or ("0" if digits else "")


def same_structure(answer: list[list[str]], gold: list[list[str]]) -> bool:
    """Whether `answer`'s equations have `gold`'s operators and operands, in order, whatever their results.

    Where the gold carries the previous step's result into a step, the answer must carry its own previous result.
    """
    if len(answer) != len(gold):
        return False
    for i, ((a, op, b, _), (gold_a, gold_op, gold_b, _)) in enumerate(zip(answer, gold, strict=True)):
        carried = i > 0 and gold_a == gold[i - 1][3]
        if op != gold_op or b != gold_b or a != (answer[i - 1][3] if carried else gold_a):
            return False
    return True


def _answer_part(record: dict[str, Any], method: str) -> str:
    if method == "plug" and record["language"] != "en":
        from crosslift.data.plug import extract_target

        return extract_target(record["output"], record["language"], pivot="en").text
    return record["output"]


def score_items(task_dir: Path, method: str, gold: dict[tuple[str, str], list[list[str]]]) -> dict[str, dict]:
    """language -> {"accuracy": [...], "structure": [...], "fidelity": [...]} of one evaluation's items."""
    by_language: dict[str, dict[str, list[float]]] = {}
    for line in (task_dir / "items.jsonl").read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        record = json.loads(line)
        lang, text = record["language"], _answer_part(record, method)
        scores = by_language.setdefault(lang, {"accuracy": [], "structure": [], "fidelity": []})
        scores["accuracy"].append(float(bool(record.get("correct"))))
        scores["structure"].append(float(same_structure(equations(text), gold[(lang, str(record["id"]))])))
        fidelity = lang_fidelity(text, None, language=lang).value
        if fidelity is not None:
            scores["fidelity"].append(fidelity)
    return by_language


def _stats(values_by_language: dict[str, list[float]], tiers: dict[str, str]) -> dict[str, Any]:
    languages = {lang: item_stats(values, binary=True) for lang, values in values_by_language.items()}
    per_tier = {
        tier: macro_mean([s for lang, s in languages.items() if tiers[lang] == tier], binary=True)
        for tier in TIERS
    }
    for stats in languages.values():
        stats.pop("_var")
    return {"per_language": languages, "per_tier": per_tier}


def _gold(world, split: str) -> dict[tuple[str, str], list[list[str]]]:
    gold = {}
    for lang in world.languages:
        path = world.math(split, lang)
        for index, item in enumerate(json.loads(path.read_text(encoding="utf-8"))):
            steps = equations(item["cot"])
            if [step[:3] for step in steps] != [[str(x) for x in eq] for eq in item["equations"]]:
                raise DataError(
                    "the chain of thought's equations are not the item's",
                    path=path,
                    record=index,
                    field="cot",
                )
            gold[(lang, str(item["id"]))] = steps
    return gold


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:.1f}"


def _cell(stats: dict[str, Any]) -> str:
    if stats.get("value") is None:
        return "–"
    return f"{_pct(stats['value'])} [{_pct(stats['ci_low'])}, {_pct(stats['ci_high'])}]"


def _seed_cell(values: list[float | None]) -> str:
    values = [v for v in values if v is not None]
    if not values:
        return "–"
    if len(values) == 1:
        return _pct(values[0])
    return f"{_pct(statistics.mean(values))} ({_pct(min(values))}–{_pct(max(values))})"


def _plot(comparison: dict[str, Any], path: Path, comparison_split: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 4), sharey=True)
    width = 0.8 / len(comparison["methods"])
    for ax, key, title in ((axes[0], "per_tier", "accuracy"), (axes[1], "structure_per_tier", "structure")):
        for i, (method, figures) in enumerate(comparison["methods"].items()):
            values = [100 * (figures[key][t] or 0) for t in TIERS]
            ax.bar([x + i * width for x in range(len(TIERS))], values, width, label=METHOD_LABELS[method])
        ax.set_xticks([x + 0.4 - width / 2 for x in range(len(TIERS))], TIERS)
        ax.set_title(f"{title} by tier ({comparison_split}, mean over seeds)")
        ax.set_ylim(0, 100)
    axes[0].set_ylabel("% of items")
    axes[1].legend(fontsize=8)
    fig.tight_layout()
    with atomic_output(path) as tmp:
        fig.savefig(tmp, dpi=100)
    plt.close(fig)


def write_report(
    world, cfg, out: Path, results: dict[int, dict[str, Any]], timings: dict[str, float]
) -> Path:
    """Score every seed's evaluations and write comparison.json, report.md and accuracy_by_tier.png."""
    gold = _gold(world, cfg.split)
    tiers = dict(world.tiers)
    seeds = sorted(results)
    figures: dict[str, dict[int, dict[str, Any]]] = {}
    for seed in seeds:
        for method, task_dirs in results[seed]["task_dirs"].items():
            merged: dict[str, dict[str, list[float]]] = {}
            for task_dir in task_dirs:
                merged |= score_items(task_dir, method, gold)
            figures.setdefault(method, {})[seed] = {
                metric: _stats({lang: s[metric] for lang, s in merged.items()}, tiers)
                for metric in ("accuracy", "structure", "fidelity")
            }

    def mean_over_seeds(method: str, metric: str, level: str, key: str) -> float | None:
        values = [figures[method][s][metric][level][key]["value"] for s in seeds]
        values = [v for v in values if v is not None]
        return statistics.mean(values) if values else None

    comparison = {
        "tier_rule": str(world.tier_rule),
        "seeds": seeds,
        "methods": {
            method: {
                "per_language": {
                    lang: mean_over_seeds(method, "accuracy", "per_language", lang)
                    for lang in world.languages
                },
                "per_tier": {t: mean_over_seeds(method, "accuracy", "per_tier", t) for t in TIERS},
                "structure_per_tier": {t: mean_over_seeds(method, "structure", "per_tier", t) for t in TIERS},
            }
            for method in METHODS
            if method in figures
        },
    }
    atomic_write_json(out / "comparison.json", comparison)
    details = {
        "seeds": {str(s): {m: figures[m][s] for m in figures} for s in seeds},
        "stage1": {
            str(s): {k: results[s][k] for k in ("stage1", "stage1_restarts", "stage1_passed")} for s in seeds
        },
        "timings_s": timings,
        "split": cfg.split,
        "config": cfg.model_dump(mode="json"),
        "world": {"root": str(world.root), "hash": world.hash},
        **provenance(seed=seeds[0], data_files=[world.root / "world.json"]),
    }
    atomic_write_json(out / "details.json", details)
    _plot(comparison, out / "accuracy_by_tier.png", cfg.split)

    lines = [
        "# crosslift demo: the tier gap in a synthetic world, and what each method does to it",
        "",
        f"World `{cfg.world}` (hash {world.hash[:12]}), {cfg.split} split, seeds {', '.join(map(str, seeds))}. "
        "Figures are % of items. Tiers: English alone, then the unweighted mean over each tier's languages. "
        "With one seed each cell shows the figure and its 95% interval; with several, the mean over seeds and "
        "the range (min–max) of the seeds' figures.",
        "",
    ]
    for metric, title in (
        ("accuracy", "Accuracy (final answer)"),
        ("structure", "Structure (equations right)"),
        ("fidelity", "Response-language fidelity"),
    ):
        lines += [
            f"## {title} by tier",
            "",
            "| method | " + " | ".join(TIERS) + " |",
            "|---|" + "---|" * len(TIERS),
        ]
        for method in comparison["methods"]:
            if len(seeds) == 1:
                cells = [_cell(figures[method][seeds[0]][metric]["per_tier"][t]) for t in TIERS]
            else:
                cells = [
                    _seed_cell([figures[method][s][metric]["per_tier"][t]["value"] for s in seeds])
                    for t in TIERS
                ]
            lines.append(f"| {METHOD_LABELS[method]} | " + " | ".join(cells) + " |")
        lines.append("")
    lines += [
        "## Accuracy and structure per language",
        "",
        "| method | " + " | ".join(f"{lang} ({tiers[lang]})" for lang in world.languages) + " |",
        "|---|" + "---|" * len(world.languages),
    ]
    for method in comparison["methods"]:
        cells = []
        for lang in world.languages:
            acc = _seed_cell(
                [figures[method][s]["accuracy"]["per_language"].get(lang, {}).get("value") for s in seeds]
            )
            struct = _seed_cell(
                [figures[method][s]["structure"]["per_language"].get(lang, {}).get("value") for s in seeds]
            )
            cells.append(f"{acc} / {struct}")
        lines.append(f"| {METHOD_LABELS[method]} | " + " | ".join(cells) + " |")
    lines += [
        "",
        "Cells: accuracy / structure.",
        "",
        "## Verdicts (structure, low tier, mean over seeds)",
        "",
    ]
    lines += verdicts(comparison)
    lines += ["", "## LinguaLIFT stage 1", ""]
    for s in seeds:
        r = results[s]
        lines.append(
            f"- seed {s}: alignment check {'passed' if r['stage1_passed'] else 'FAILED'} after "
            f"{r['stage1_restarts']} restart(s) ({r['stage1']}/alignment_check.json)"
        )
    lines += ["", "## Time", ""] + [f"- {k}: {v:.0f} s" for k, v in timings.items() if v]
    lines += [
        "",
        "Files: comparison.json (the figures above), details.json (per seed, per language, with "
        "intervals and provenance), accuracy_by_tier.png; every step's config under configs/ and its run "
        "folder under seed*/.",
    ]
    report = out / "report.md"
    atomic_write_text(report, "\n".join(lines) + "\n")
    return report


def verdicts(comparison: dict[str, Any]) -> list[str]:
    """One line per method: does it lift the low tier above the baseline (and LinguaLIFT above the control)?"""
    methods = comparison["methods"]
    base = methods["baseline"]["structure_per_tier"]["low"]
    lines = []
    for method in ("lingualift", "crossin", "plug"):
        if method not in methods or base is None:
            continue
        value = methods[method]["structure_per_tier"]["low"]
        if value is None:
            continue
        word = "lifts" if value > base else "does not lift"
        lines.append(
            f"- {METHOD_LABELS[method]} {word} the low tier over the baseline: {_pct(value)} vs {_pct(base)}"
        )
    if "lingualift" in methods and "control" in methods:
        ours, control = (methods[m]["structure_per_tier"]["low"] for m in ("lingualift", "control"))
        if ours is not None and control is not None:
            word = "beats" if ours > control else "does not beat"
            lines.append(
                f"- the encoder: LinguaLIFT {word} the no-encoder control on the low tier: "
                f"{_pct(ours)} vs {_pct(control)}"
            )
    lines.append("- compare the intervals above before reading a difference as real.")
    return lines
