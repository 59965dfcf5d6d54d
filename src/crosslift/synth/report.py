"""The demo's report: every method x tier and x language, paired differences with intervals, and verdicts only
where an interval says so.

Figures per item, all recomputed from the stored raw outputs (items.jsonl):

    accuracy    the final answer equals the gold (the evaluation harness's `correct`): the headline
    structure   the chain of thought's equations have the gold's operands and operators, in order, whatever their
                results (a step that carries on from the previous result must carry the model's own result): a
                secondary column, apart from arithmetic slips
    fidelity    the answer is written in the question's language (by script for the synthetic languages)
    pivot       PLUG only: the accuracy of the English (pivot) part of its bilingual answer, so understanding and
                generation are told apart; its target-language part is what `accuracy` scores

A tier is the unweighted mean over its languages; English is a tier of its own. With several runs (pretraining
seeds x fine-tuning seeds) a figure is the mean over runs.

Comparisons are paired: the same items were asked of every method in every run, so each difference is taken item
by item, with a 95% interval from the paired bootstrap of `crosslift.eval.scoring.paired` (items drawn jointly
across languages, runs drawn by pretraining seed and then fine-tuning seed). The primary comparison is named
before any figure exists: LinguaLIFT against the self-encoder control on the low tier (what the encoder gives).
Its verdict needs its interval to exclude 0; every other comparison of the family (each method against the
baseline, LinguaLIFT against each control, per tier) is Holm-corrected, and its verdict needs the corrected p below
0.05. Otherwise the verdict is "no detectable difference".
"""

from __future__ import annotations

import json
import re
import statistics
import unicodedata
from pathlib import Path
from typing import Any

import numpy as np

from crosslift.errors import DataError
from crosslift.eval.scoring.fidelity import lang_fidelity
from crosslift.eval.scoring.metrics import item_stats, macro_mean
from crosslift.eval.scoring.paired import (
    PairedDifference,
    bootstrap_interval,
    holm,
    paired_bootstrap,
    verdict,
)
from crosslift.io import atomic_output, atomic_write_json, atomic_write_text
from crosslift.runs import provenance
from crosslift.synth.config import BRIDGES, CONTROLS, LABELS
from crosslift.synth.floor import no_reading_floor
from crosslift.synth.methods import PEER_STAGES, run_name, translated_languages

TIERS = ("english", "high", "medium", "low")
METRICS = ("accuracy", "structure", "fidelity", "pivot")
# An answer with no letters (only digits) is in no language: its fidelity is undefined, and which items have one
# differs between runs and languages. A tier's interval over several runs uses the items that have one in all.
PARTIAL_METRICS = frozenset({"fidelity"})
PRIMARY = ("lingualift", "vs_self_encoder", "low")
ALPHA = 0.05
# The baseline must reach this English accuracy for a run to show what the methods are for: a skill the LLM has in
# English and lacks elsewhere. A run below it is reported, never dropped: leaving it out would select on outcome.
MASTERY_BAR = 0.85
_EQUATION = re.compile(r"(\d+)\s*([-+*×x/])\s*(\d+)\s*=\s*(\d*)")

# ---------------------------------------------------------------------------------------------------- items


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


def _parts(record: dict[str, Any], method: str) -> tuple[str, str | None]:
    """(the answer that is scored, PLUG's English part or None)."""
    if method == "plug" and record["language"] != "en":
        from crosslift.data.plug import extract_pivot, extract_target

        output, lang = record["output"], record["language"]
        return extract_target(output, lang, pivot="en").text, extract_pivot(output, lang, pivot="en").text
    return record["output"], None


def score_items(task_dir: Path, method: str, gold: dict[tuple[str, str], dict[str, Any]]) -> dict[str, dict]:
    """metric -> language -> {item id: score} of one evaluation's stored items."""
    from crosslift.eval.scoring.extract import extract_answer

    scores: dict[str, dict[str, dict[str, float]]] = {metric: {} for metric in METRICS}
    for line in (task_dir / "items.jsonl").read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        record = json.loads(line)
        lang, item = record["language"], str(record["id"])
        text, pivot = _parts(record, method)
        expected = gold[(lang, item)]
        correct = float(bool(record.get("correct")))
        scores["accuracy"].setdefault(lang, {})[item] = correct
        structure = float(same_structure(equations(text), expected["equations"]))
        scores["structure"].setdefault(lang, {})[item] = structure
        fidelity = lang_fidelity(text, None, language=lang).value
        if fidelity is not None:
            scores["fidelity"].setdefault(lang, {})[item] = fidelity
        if method == "plug":
            value = correct
            if pivot is not None:
                found = extract_answer(pivot, "en", rule="strict").value
                value = float(found is not None and found == expected["answer"])
            scores["pivot"].setdefault(lang, {})[item] = value
    return scores


def gold_items(world, split: str) -> dict[tuple[str, str], dict[str, Any]]:
    """(language, item id) -> {"answer", "equations"} of the world's split, checked against its chain of thought."""
    from decimal import Decimal

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
            gold[(lang, str(item["id"]))] = {"answer": Decimal(item["answer"]), "equations": steps}
    return gold


# ---------------------------------------------------------------------------------------------------- figures


class Scores:
    """Every method's per-item scores over the runs: `matrix(method, metric, lang)` is (runs, items) in a fixed
    item order, the same for every method, so two methods' matrices are paired."""

    def __init__(
        self, languages: list[str], per_run: dict[tuple[int, int], dict[str, dict]], tiers: dict[str, str]
    ) -> None:
        self.runs = sorted(per_run)
        self.per_run = per_run
        self.tiers = tiers
        self.languages = list(languages)
        self.methods = [m for m in LABELS if all(m in per_run[r] for r in self.runs)]

    def pretrained_pair(self, pretraining_seed: int) -> Scores:
        """The runs on one pretrained LLM and encoder only."""
        runs = {run: scores for run, scores in self.per_run.items() if run[0] == pretraining_seed}
        return Scores(self.languages, runs, self.tiers)

    def items(self, method: str, metric: str, lang: str) -> list[str]:
        return sorted(self.per_run[self.runs[0]][method][metric].get(lang, {}))

    def matrix(
        self, method: str, metric: str, lang: str, items: list[str] | None = None
    ) -> np.ndarray | None:
        items = items if items is not None else self.items("baseline", "accuracy", lang)
        rows = []
        for run in self.runs:
            values = self.per_run[run][method][metric].get(lang, {})
            if not values:
                return None
            missing = [i for i in items if i not in values]
            if missing:
                raise DataError(
                    f"{LABELS[method]} ({run_name(*run)}) has no {metric} for {len(missing)} item(s) of {lang}, "
                    f"e.g. {missing[0]}: its evaluation did not finish; rerun the demo to resume it"
                )
            rows.append([values[i] for i in items])
        return np.array(rows, dtype=float)

    def common_items(self, method: str, metric: str, languages: list[str]) -> list[str]:
        """The items that have a `metric` in every run and every one of `languages` (the bootstrap draws an item
        for all languages of a tier at once)."""
        defined = [
            set(self.per_run[r][method][metric].get(lang, {})) for r in self.runs for lang in languages
        ]
        return sorted(set.intersection(*defined)) if defined else []

    def languages_of(self, tier: str) -> list[str]:
        return [lang for lang in self.languages if self.tiers[lang] == tier]

    def groups(self) -> list[int]:
        return [pretraining_seed for pretraining_seed, _ in self.runs]


def _per_run_stats(scores: Scores, method: str, metric: str, run_index: int) -> dict[str, Any]:
    """One run's per-language and per-tier figures with Wilson/macro intervals (the one-run report)."""
    languages = {}
    for lang in scores.languages:
        values = scores.per_run[scores.runs[run_index]][method][metric].get(lang)
        if values:
            languages[lang] = item_stats(list(values.values()), binary=True)
    tiers = {
        tier: macro_mean([s for lang, s in languages.items() if scores.tiers[lang] == tier], binary=True)
        for tier in TIERS
    }
    for stats in languages.values():
        stats.pop("_var")
    return {"per_language": languages, "per_tier": tiers}


def _mean(values: list[float | None]) -> float | None:
    values = [v for v in values if v is not None]
    return statistics.mean(values) if values else None


def method_figures(scores: Scores, method: str, metric: str) -> dict[str, Any]:
    """Mean over runs per language and tier, each run's figures, and a bootstrap interval over runs and items."""
    per_run = [_per_run_stats(scores, method, metric, i) for i in range(len(scores.runs))]
    figures: dict[str, Any] = {"per_language": {}, "per_tier": {}, "runs": per_run}
    for lang in scores.languages:
        figures["per_language"][lang] = _mean([r["per_language"].get(lang, {}).get("value") for r in per_run])
    for tier in TIERS:
        figures["per_tier"][tier] = _mean([r["per_tier"][tier]["value"] for r in per_run])
    if len(scores.runs) > 1:
        intervals = {}
        for tier in TIERS:
            languages = scores.languages_of(tier)
            items = scores.common_items(method, metric, languages) if metric in PARTIAL_METRICS else None
            matrices = {lang: scores.matrix(method, metric, lang, items) for lang in languages}
            matrices = {k: v for k, v in matrices.items() if v is not None}
            if matrices:
                interval = bootstrap_interval(matrices, groups=scores.groups())
                intervals[tier] = [interval.ci_low, interval.ci_high]
        figures["tier_intervals"] = intervals
    return figures


def difference(scores: Scores, a: str, b: str, languages: list[str]) -> PairedDifference | None:
    """B - A in accuracy over `languages` (a tier, or one language), paired by item and run."""
    left, right = {}, {}
    for lang in languages:
        items = scores.items("baseline", "accuracy", lang)
        x, y = scores.matrix(a, "accuracy", lang, items), scores.matrix(b, "accuracy", lang, items)
        if x is not None and y is not None:
            left[lang], right[lang] = x, y
    if not left:
        return None
    groups = scores.groups() if len(scores.runs) > 1 else None
    return paired_bootstrap(left, right, groups=groups)


def comparisons(methods: list[str]) -> list[tuple[str, str, str]]:
    """(method, name, the method it is compared with): every method against the baseline, LinguaLIFT against each
    control."""
    pairs = [(m, "vs_baseline", "baseline") for m in methods if m != "baseline"]
    if "lingualift" in methods:
        pairs += [("lingualift", f"vs_{c}", c) for c in CONTROLS if c in methods]
    return pairs


def deltas(scores: Scores) -> tuple[dict[str, Any], dict[str, Any]]:
    """(per method and comparison, per tier: the paired difference, its interval, p, Holm's p and the verdict;
    the same per language, with intervals only)."""
    by_tier: dict[str, Any] = {}
    family = []
    for method, name, other in comparisons(scores.methods):
        for tier in TIERS:
            d = difference(scores, other, method, scores.languages_of(tier))
            if d is not None:
                by_tier.setdefault(method, {}).setdefault(name, {})[tier] = d.as_dict()
                if (method, name, tier) != PRIMARY:
                    family.append((method, name, tier))
    adjusted = holm([by_tier[m][n][t]["p_value"] for m, n, t in family])
    for (method, name, tier), p in zip(family, adjusted, strict=True):
        by_tier[method][name][tier]["p_holm"] = p
    for method, named in by_tier.items():
        for name, tiers in named.items():
            for tier, d in tiers.items():
                primary = (method, name, tier) == PRIMARY
                significant = None if primary else d["p_holm"] < ALPHA
                d["verdict"] = verdict(PairedDifference(**_fields(d)), significant=significant)
                d["primary"] = primary
    by_language: dict[str, Any] = {}
    for method, name, other in comparisons(scores.methods):
        for lang in scores.languages:
            d = difference(scores, other, method, [lang])
            if d is not None:
                by_language.setdefault(method, {}).setdefault(name, {})[lang] = d.as_dict()
    return by_tier, by_language


def per_pretrained_pair(scores: Scores, baseline_figures: dict[str, Any]) -> dict[str, Any]:
    """Per pretraining seed: each run's baseline English accuracy against MASTERY_BAR, and the primary comparison
    over that pair's runs alone. Descriptive, outside the tested family: the verdict is the pooled one."""
    english = {
        run: r["per_tier"]["english"]["value"]
        for run, r in zip(scores.runs, baseline_figures["runs"], strict=True)
    }
    pairs = {}
    for pretraining_seed in sorted(set(scores.groups())):
        pair = scores.pretrained_pair(pretraining_seed)
        primary = None
        if {PRIMARY[0], "self_encoder"} <= set(pair.methods):
            d = difference(pair, "self_encoder", PRIMARY[0], pair.languages_of(PRIMARY[2]))
            primary = {k: getattr(d, k) for k in ("delta", "ci_low", "ci_high")} if d else None
        pairs[str(pretraining_seed)] = {
            "baseline_english": {str(seed): english[(p, seed)] for p, seed in pair.runs},
            "mastered": sum(english[run] >= MASTERY_BAR for run in pair.runs),
            "runs": len(pair.runs),
            "primary": primary,
        }
    return {"bar": MASTERY_BAR, "pretraining_seeds": pairs}


def _fields(d: dict[str, Any]) -> dict[str, Any]:
    return {k: d[k] for k in ("delta", "ci_low", "ci_high", "p_value", "items", "seeds", "languages")}


# ---------------------------------------------------------------------------------------------------- budgets


def _manifest(run_dir: Path) -> dict[str, Any]:
    path = run_dir / "manifest.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}


def _stage(run_dir: Path, updates: str) -> dict[str, Any]:
    """One training run's budget, from its manifest and resolved config."""
    import yaml

    manifest = _manifest(run_dir)
    training = manifest.get("training", {})
    config = run_dir / "config.yaml"
    batch = (
        yaml.safe_load(config.read_text(encoding="utf-8"))["training"]["batch_size"]
        if config.is_file()
        else 0
    )
    steps = training.get("global_step") or 0
    return {
        "run": run_dir.name,
        "updates": updates,
        "trainable_parameters": manifest.get("parameters", {}).get("trainable"),
        "optimizer_steps": steps,
        "examples": steps * batch * manifest.get("world_size", 1),
        "epochs": training.get("epochs"),
        "tokens": training.get("input_tokens_seen") or 0,
    }


def budgets(world, cfg, run_dir: Path, bridges: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Per method: what it trained (per stage: the part updated, trainable parameters, optimizer steps, examples
    and tokens), what reached the LLM as updates, and the resources it used."""
    translated = translated_languages(world)
    specs = {s.code: s for s in world.config.languages}
    dictionaries = {lang: f"{round(100 * s.dictionary_coverage)}% of the words" for lang, s in specs.items()}
    parallel = world.config.sizes.parallel if cfg.stage1.sentence_ratio else 0
    english = {"english_instructions": world.config.sizes.instructions}
    translations = {
        lang: {
            "items": specs[lang].translated_items or world.config.machine_translation.items,
            "translation": kind,
            "tier": specs[lang].tier,
        }
        for lang, kind in translated.items()
    }
    stage1_resources = english | {
        "dictionaries": dictionaries,
        "parallel_sentences_per_language": parallel,
        "stage1_examples": cfg.stage1.examples,
    }
    resources = {
        "baseline": english,
        "crossin": english | {"translated_instructions": translations},
        "plug": english | {"translated_instructions": translations},
        "codeswitch_sft": stage1_resources,
        "lingualift": stage1_resources
        | {"encoder": "the multilingual encoder (pretrained on balanced text)"},
        "self_encoder": stage1_resources | {"encoder": "the LLM itself"},
        # the peers: English instructions; the parallel set (as many sentences in every tier); translated
        # questions (QAlign: with their English questions; MindMerger, LayAlign: with the English chain of thought).
        # The bridges' frozen LLM is the baseline's model, whose SFT is their first stage.
        "langbridge": english
        | {
            "encoder": "the multilingual encoder (pretrained on balanced text)",
            "llm": "the baseline's model",
        },
        "qalign": english | {"translated_questions": translations},
        "mindmerger": english
        | {
            "parallel_sentences_per_language": world.config.sizes.parallel,
            "translated_questions_with_english_answers": translations,
            "encoder": "the multilingual encoder (pretrained on balanced text)",
            "llm": "the baseline's model",
        },
    }
    resources["layalign"] = resources["mindmerger"]
    out = {}
    for method in resources:
        if method in BRIDGES and method in bridges:
            stages = [
                _stage(Path(bridges[method]["stage1"]), "alignment layer (LLM frozen)"),
                _stage(run_dir / f"{method}_stage2", "LLM"),
            ]
        elif method in PEER_STAGES:
            if not (run_dir / PEER_STAGES[method][-1][0]).is_dir():
                continue
            stages = [_stage(run_dir / name, updates) for name, updates in PEER_STAGES[method]]
        elif (run_dir / method).is_dir():
            stages = [_stage(run_dir / method, "LLM")]
        else:
            continue
        llm = [s for s in stages if s["updates"] == "LLM"]
        out[method] = {
            "stages": stages,
            "llm_updates": {
                key: sum(s[key] for s in llm) for key in ("optimizer_steps", "examples", "tokens")
            },
            "resources": resources[method],
        }
    return out


# ---------------------------------------------------------------------------------------------------- writing


def _pct(value: float | None, signed: bool = False) -> str:
    if value is None:
        return "–"
    return f"{100 * value:+.1f}" if signed else f"{100 * value:.1f}"


def _cell(figures: dict[str, Any], tier: str, single: bool) -> str:
    if single:
        stats = figures["runs"][0]["per_tier"][tier]
        if stats.get("value") is None:
            return "–"
        return f"{_pct(stats['value'])} [{_pct(stats['ci_low'])}, {_pct(stats['ci_high'])}]"
    value, interval = figures["per_tier"][tier], figures.get("tier_intervals", {}).get(tier)
    if value is None:
        return "–"
    return f"{_pct(value)} [{_pct(interval[0])}, {_pct(interval[1])}]" if interval else _pct(value)


def _plot(comparison: dict[str, Any], path: Path, split: str) -> None:
    from crosslift.eval.results.formatting import pyplot

    plt = pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(12, 4), sharey=True)
    methods = comparison["methods"]
    width = 0.8 / len(methods)
    for ax, key, title in ((axes[0], "per_tier", "accuracy"), (axes[1], "structure_per_tier", "structure")):
        for i, (method, figures) in enumerate(methods.items()):
            values = [100 * (figures[key][t] or 0) for t in TIERS]
            ax.bar([x + i * width for x in range(len(TIERS))], values, width, label=LABELS[method])
        ax.set_xticks([x + 0.4 - width / 2 for x in range(len(TIERS))], TIERS)
        ax.set_title(f"{title} by tier ({split}, mean over runs)")
        ax.set_ylim(0, 100)
    axes[0].axhline(
        100 * comparison["floor"], color="black", linestyle="--", linewidth=1, label="no-reading floor"
    )
    axes[0].set_ylabel("% of items")
    axes[0].legend(fontsize=7)
    fig.tight_layout()
    with atomic_output(path) as tmp:
        fig.savefig(tmp, dpi=100)
    plt.close(fig)


def write_report(
    world,
    cfg,
    out: Path,
    results: dict[tuple[int, int], dict[str, Any]],
    *,
    probes: dict[int, dict[str, Any]],
    pretraining: dict[int, str],
    timings: dict[str, float],
) -> Path:
    """Score every run's evaluations and write comparison.json, details.json, report.md and accuracy_by_tier.png."""
    gold = gold_items(world, cfg.split)
    tiers = dict(world.tiers)
    per_run = {}
    for run, result in results.items():
        per_run[run] = {}
        for method, task_dirs in result["task_dirs"].items():
            merged: dict[str, dict[str, dict[str, float]]] = {metric: {} for metric in METRICS}
            for task_dir in task_dirs:
                for metric, by_lang in score_items(task_dir, method, gold).items():
                    merged[metric] |= by_lang
            per_run[run][method] = merged
    scores = Scores(world.languages, per_run, tiers)
    figures = {
        method: {
            metric: method_figures(scores, method, metric) for metric in ("accuracy", "structure", "fidelity")
        }
        for method in scores.methods
    }
    if "plug" in figures:
        figures["plug"]["pivot"] = method_figures(scores, "plug", "pivot")
    tier_deltas, language_deltas = deltas(scores)
    floor = _floor(world)
    first_run = scores.runs[0]
    budget = budgets(world, cfg, out / run_name(*first_run), results[first_run]["bridges"])
    bridges = _bridge_summary(results)

    comparison = {
        "tier_rule": str(world.tier_rule),
        "split": cfg.split,
        "runs": [{"pretraining_seed": p, "seed": s} for p, s in scores.runs],
        "floor": floor["floor"],
        "floor_per_language": floor["per_language"],
        "primary": {"method": PRIMARY[0], "comparison": PRIMARY[1], "tier": PRIMARY[2]},
        "methods": {
            method: {
                "per_language": figures[method]["accuracy"]["per_language"],
                "per_tier": figures[method]["accuracy"]["per_tier"],
                "structure_per_tier": figures[method]["structure"]["per_tier"],
                "fidelity_per_tier": figures[method]["fidelity"]["per_tier"],
                **({"pivot_per_tier": figures[method]["pivot"]["per_tier"]} if method == "plug" else {}),
                "budget": budget.get(method),
                **({"stage1": bridges[method]} if method in bridges else {}),
            }
            for method in scores.methods
        },
        "deltas": tier_deltas,
        "mastery": per_pretrained_pair(scores, figures["baseline"]["accuracy"]),
    }
    atomic_write_json(out / "comparison.json", comparison)
    details = {
        "figures": figures,
        "deltas_per_language": language_deltas,
        "floor": floor,
        "probe": {str(p): {k: v for k, v in probe.items() if k != "stamp"} for p, probe in probes.items()},
        "pretraining": {str(p): source for p, source in pretraining.items()},
        "stage1_checks": _stage1_checks(results),
        "timings_s": timings,
        "config": cfg.model_dump(mode="json"),
        "world": {"root": str(world.root), "hash": world.hash},
        **provenance(seed=cfg.seeds[0], data_files=[world.root / "world.json"]),
    }
    atomic_write_json(out / "details.json", details)
    _plot(comparison, out / "accuracy_by_tier.png", cfg.split)
    report = out / "report.md"
    atomic_write_text(report, "\n".join(_markdown(world, cfg, scores, figures, comparison, details)) + "\n")
    return report


def _floor(world) -> dict[str, Any]:
    def load(split: str) -> dict[str, list[dict[str, Any]]]:
        return {
            lang: json.loads(world.math(split, lang).read_text(encoding="utf-8")) for lang in world.languages
        }

    return no_reading_floor(load("dev"), load("test"))


def _bridge_summary(results: dict[tuple[int, int], dict[str, Any]]) -> dict[str, Any]:
    """Per bridge method: stage-1 attempts in every run, how many runs restarted, and whether the last passed."""
    from crosslift.synth.methods import check_passed

    summary: dict[str, Any] = {}
    for _, result in sorted(results.items()):
        for method, bridge in result["bridges"].items():
            entry = summary.setdefault(method, {"attempts": [], "restarts": 0, "passed": []})
            entry["attempts"].append(bridge["attempts"])
            entry["restarts"] += bridge["attempts"] - 1
            entry["passed"].append(check_passed(Path(bridge["stage1"])))
    return summary


def _stage1_checks(results: dict[tuple[int, int], dict[str, Any]]) -> dict[str, Any]:
    checks = {}
    for run, result in sorted(results.items()):
        for method, bridge in result["bridges"].items():
            path = Path(bridge["stage1"]) / "alignment_check.json"
            if path.is_file():
                checks.setdefault(run_name(*run), {})[method] = json.loads(path.read_text(encoding="utf-8"))
    return checks


def _markdown(world, cfg, scores: Scores, figures, comparison, details) -> list[str]:
    single = len(scores.runs) == 1
    runs = ", ".join(run_name(*r) for r in scores.runs)
    primary = comparison["deltas"].get(PRIMARY[0], {}).get(PRIMARY[1], {}).get(PRIMARY[2])
    lines = [
        "# crosslift demo: the tier gap in a synthetic world, and what each method does to it",
        "",
        f"World `{cfg.world}` (hash {world.hash[:12]}), {cfg.split} split, {len(scores.runs)} run(s): {runs}. "
        "Figures are % of items; a tier is the unweighted mean over its languages, English a tier of its own. "
        + (
            "Cells: the figure and its 95% interval (Wilson; tiers: from the languages' variances)."
            if single
            else "Cells: the mean over runs and a 95% bootstrap interval over runs and items."
        ),
        "",
        "**Primary comparison** (named before any result): LinguaLIFT against the self-encoder control (the same "
        "bridge, data, steps and restarts, with the LLM as its own encoder) on the low tier — what the "
        "multilingual encoder gives.",
        "",
    ]
    if primary:
        lines += [
            f"> LinguaLIFT vs the self-encoder control, low tier: **{primary['verdict']}** — "
            f"{_pct(primary['delta'], True)} points [{_pct(primary['ci_low'], True)}, {_pct(primary['ci_high'], True)}] "
            "(paired bootstrap, 95%).",
            "",
        ]
    else:
        lines += ["> Not run: it needs both `lingualift` and `self_encoder` in `methods`.", ""]
    lines += ["## Accuracy (final answer) by tier", "", "| method | " + " | ".join(TIERS) + " |"]
    lines.append("|---|" + "---|" * len(TIERS))
    floor_cells = [
        _pct(max(comparison["floor_per_language"][lang] for lang in scores.languages_of(t))) for t in TIERS
    ]
    lines.append("| no-reading floor (best numbers-only rule) | " + " | ".join(floor_cells) + " |")
    for method in scores.methods:
        cells = [_cell(figures[method]["accuracy"], t, single) for t in TIERS]
        lines.append(f"| {LABELS[method]} | " + " | ".join(cells) + " |")
    if "plug" in figures:
        cells = [_cell(figures["plug"]["pivot"], t, single) for t in TIERS]
        lines.append("| PLUG, its English (pivot) part | " + " | ".join(cells) + " |")
    lines += [
        "",
        f"The no-reading floor is the best rule over the question's numbers alone (chosen on dev): "
        f"{_pct(comparison['floor'])}% at most in any language (crosslift.synth.floor).",
        "",
        "## Paired differences (accuracy, points)",
        "",
        "Each cell: B − A over the same items, 95% paired-bootstrap interval, and the verdict. The primary "
        "comparison's verdict needs its interval to exclude 0; the others are Holm-corrected over the whole table "
        "(p_holm < 0.05). Per-language differences are in details.json.",
        "",
        "| comparison | " + " | ".join(TIERS) + " |",
        "|---|" + "---|" * len(TIERS),
    ]
    for method, name, other in comparisons(scores.methods):
        cells = []
        for tier in TIERS:
            d = comparison["deltas"].get(method, {}).get(name, {}).get(tier)
            if d is None:
                cells.append("–")
                continue
            mark = "primary" if d["primary"] else f"p_holm {d['p_holm']:.3f}"
            cells.append(
                f"{_pct(d['delta'], True)} [{_pct(d['ci_low'], True)}, {_pct(d['ci_high'], True)}] "
                f"{d['verdict']} ({mark})"
            )
        lines.append(f"| {LABELS[method]} vs {LABELS[other]} | " + " | ".join(cells) + " |")
    lines += _mastery_lines(comparison["mastery"])
    lines += ["", "## Structure and fidelity by tier (secondary)", ""]
    lines += ["| method | " + " | ".join(f"structure {t}" for t in TIERS) + " | fidelity low |"]
    lines.append("|---|" + "---|" * (len(TIERS) + 1))
    for method in scores.methods:
        cells = [_pct(figures[method]["structure"]["per_tier"][t]) for t in TIERS]
        cells.append(_pct(figures[method]["fidelity"]["per_tier"]["low"]))
        lines.append(f"| {LABELS[method]} | " + " | ".join(cells) + " |")
    lines += ["", "## Accuracy per language", ""]
    lines += [
        "| method | " + " | ".join(f"{lang} ({scores.tiers[lang]})" for lang in scores.languages) + " |"
    ]
    lines.append("|---|" + "---|" * len(scores.languages))
    for method in scores.methods:
        cells = [_pct(figures[method]["accuracy"]["per_language"][lang]) for lang in scores.languages]
        lines.append(f"| {LABELS[method]} | " + " | ".join(cells) + " |")
    lines += _probe_lines(details["probe"], scores.languages[1:])
    lines += _budget_lines(comparison)
    lines += _stage1_lines(comparison, details)
    timings = details["timings_s"]
    reused = [k for k, v in timings.items() if not v and ":" in k]
    lines += ["", "## Time (this invocation)", ""] + [f"- {k}: {v:.0f} s" for k, v in timings.items() if v]
    # A resumed demo: the reused steps' time is in the earlier invocation's report and each step's manifest.json.
    if reused:
        lines.append(f"- {len(reused)} step(s) done by an earlier invocation and reused")
    lines += [
        "",
        "Files: comparison.json (the figures, deltas, budgets), details.json (per run and language, intervals, "
        "the probe, every alignment check, provenance), accuracy_by_tier.png; every step's config under "
        "configs/ and its run folder beside it.",
    ]
    return lines


def _probe_lines(probe: dict[str, Any], languages: list[str]) -> list[str]:
    lines = [
        "",
        "## What the pretrained models know, before any bridge",
        "",
        "Cross-lingual retrieval with each model's own hidden states at the layer the bridges read: P@1 of a dev "
        "question's English version among all of them (chance 1%), and of a word's English word among the "
        "lexicon's.",
        "",
        "| pretraining seed | model | "
        + " | ".join(f"{lang} sentences / words" for lang in languages)
        + " |",
        "|---|---|" + "---|" * len(languages),
    ]
    for seed, models in probe.items():
        for name in ("encoder", "llm"):
            cells = [
                f"{_pct(models[name][lang]['sentences']['p_at_1'])} / {_pct(models[name][lang]['words']['p_at_1'])}"
                for lang in languages
            ]
            lines.append(f"| {seed} | {name} | " + " | ".join(cells) + " |")
    return lines


def _mastery_lines(mastery: dict[str, Any]) -> list[str]:
    lines = [
        "",
        "## Per pretrained pair: mastery of English and the primary comparison",
        "",
        f"Mastery: the baseline's English accuracy in each run, against the bar of {_pct(mastery['bar'])}%; a run "
        "below it is kept. The primary comparison over one pair's runs is descriptive (not part of the tested "
        "family; the verdict above is the pooled one).",
        "",
        "| pretraining seed | baseline English per fine-tuning seed | runs at the bar | LinguaLIFT vs self-encoder, low |",
        "|---|---|---|---|",
    ]
    for pretraining_seed, pair in mastery["pretraining_seeds"].items():
        english = ", ".join(f"{seed}: {_pct(value)}" for seed, value in pair["baseline_english"].items())
        d = pair["primary"]
        primary = (
            f"{_pct(d['delta'], True)} [{_pct(d['ci_low'], True)}, {_pct(d['ci_high'], True)}]" if d else "–"
        )
        lines.append(f"| {pretraining_seed} | {english} | {pair['mastered']} of {pair['runs']} | {primary} |")
    return lines


def _budget_lines(comparison: dict[str, Any]) -> list[str]:
    lines = [
        "",
        "## What each method trained on (first run)",
        "",
        "| method | stages (updated part: steps, examples, tokens) | LLM updates: steps / examples / tokens |",
        "|---|---|---|",
    ]
    for method, figures in comparison["methods"].items():
        budget = figures.get("budget")
        if not budget:
            continue
        stages = "; ".join(
            f"{s['run']} ({s['updates']}: {s['optimizer_steps']} steps, {s['examples']} examples, "
            f"{s['tokens'] or 0:,} tokens)"
            for s in budget["stages"]
        )
        llm = budget["llm_updates"]
        lines.append(
            f"| {LABELS[method]} | {stages} | {llm['optimizer_steps']} / {llm['examples']} / {llm['tokens']:,} |"
        )
    return lines


def _stage1_lines(comparison: dict[str, Any], details: dict[str, Any]) -> list[str]:
    lines = ["", "## Stage 1 of the bridges: the alignment check", ""]
    for method, figures in comparison["methods"].items():
        stage1 = figures.get("stage1")
        if not stage1:
            continue
        lines.append(
            f"- {LABELS[method]}: {sum(stage1['passed'])} of {len(stage1['passed'])} run(s) passed; "
            f"{stage1['restarts']} restart(s) in all (attempts per run: {stage1['attempts']})"
        )
    for run, checks in details["stage1_checks"].items():
        for method, check in checks.items():
            sentences = (check.get("sentences") or {}).get("languages", {})
            if sentences:
                cells = ", ".join(
                    f"{lang} {r['loss']['ratio']:.2f}/{r['retrieval']['p_at_1']:.2f}"
                    for lang, r in sentences.items()
                )
                lines.append(
                    f"  - {run}, {LABELS[method]}: per language (loss ratio / sentence P@1): {cells}"
                )
    return lines
