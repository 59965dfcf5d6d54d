"""Consistency_s and AC3_s: hand-computed examples (ties, missing answers), the counting formula against
enumerating every subset, and equality with SeaEval's definition on the real Cross-MMLU / Cross-LogiQA items."""

from __future__ import annotations

import itertools
import json
import random
import re
from fractions import Fraction

import pytest

from crosslift.config import load_config
from crosslift.eval.config import EvalConfig
from crosslift.eval.runner.evaluate import evaluate
from crosslift.eval.runner.plan import plan_task
from crosslift.eval.scoring.consistency import (
    ac3,
    answers_by_item,
    consistency,
    consistency_scores,
    harmonic_mean,
)
from crosslift.eval.tasks.registry import TaskRegistry


def records(answers: list[str | None], gold: list[str]) -> list[dict]:
    return [
        {"index": i, "filtered": {"choice": a}, "extracted": a, "metrics": {"accuracy": float(a == g)}}
        for i, (a, g) in enumerate(zip(answers, gold, strict=True))
    ]


GOLD = ["A", "A", "A", "B"]
# item 0: all agree; item 1: zh differs; item 2: zh unmappable; item 3: en and zh unmappable, vi answers
HAND = {
    "en": records(["A", "A", "A", None], GOLD),
    "zh": records(["A", "B", None, None], GOLD),
    "vi": records(["A", "A", "A", "B"], GOLD),
}


def test_hand_computed_example_with_missing_answers():
    # s=2: {en,zh} agree on item 0 only (1/4); {en,vi} on items 0,1,2 (3/4), item 3 has en missing; {zh,vi} on
    # item 0 (1/4). Two missing answers (item 3, en and zh) do NOT agree. Mean: 5/12. s=3: item 0 only: 1/4.
    assert consistency(HAND) == {"2": pytest.approx(5 / 12), "3": pytest.approx(1 / 4)}
    # accuracy pooled over the 12 answers: 3 + 2 + 2 + 1 = 8 correct -> 2/3; AC3 = 2ac/(a+c)
    acc, c2, c3 = Fraction(2, 3), Fraction(5, 12), Fraction(1, 4)
    assert ac3(HAND) == {
        "2": pytest.approx(float(2 * acc * c2 / (acc + c2))),
        "3": pytest.approx(float(2 * acc * c3 / (acc + c3))),
    }
    assert float(2 * acc * c2 / (acc + c2)) == pytest.approx(20 / 39)


def test_ties_between_options_and_between_accuracy_and_consistency():
    gold = ["A"]
    # four languages split 2-2 between A and B: 2 of the 6 pairs agree, no triple does
    split = {lang: records([a], gold) for lang, a in zip("en zh vi es".split(), "AABB", strict=True)}
    assert consistency(split) == {"2": pytest.approx(2 / 6), "3": 0.0, "4": 0.0}
    # accuracy 2/4 (the two A answers); AC3_2 is the harmonic mean of 1/2 and 1/3
    assert ac3(split)["2"] == pytest.approx(2 * 0.5 * (1 / 3) / (0.5 + 1 / 3))
    assert harmonic_mean(0.4, 0.4) == pytest.approx(0.4)  # equal inputs: AC3 is that value
    assert harmonic_mean(0.0, 0.0) == 0.0  # both zero: 0, not a division by zero
    everyone_missing = {lang: records([None], gold) for lang in ("en", "zh")}
    assert consistency(everyone_missing) == {"2": 0.0} and ac3(everyone_missing) == {"2": 0.0}


def test_items_align_by_id_and_a_missing_record_counts_as_missing():
    en = [
        {"id": "q1", "index": 0, "filtered": {"choice": "A"}},
        {"id": "q2", "index": 1, "filtered": {"choice": "B"}},
    ]
    zh = [
        {"id": "q2", "index": 0, "filtered": {"choice": "B"}}
    ]  # q1 absent in zh, and q2 at another position
    assert answers_by_item({"en": en, "zh": zh}, "choice") == {"q1": ["A", None], "q2": ["B", "B"]}
    assert consistency({"en": en, "zh": zh}) == {"2": 0.5}


def test_fewer_than_two_languages_has_no_consistency():
    assert consistency({"en": records(["A"], ["A"])}) is None and ac3({"en": records(["A"], ["A"])}) is None


@pytest.mark.parametrize("seed", range(5))
def test_counting_equals_enumerating_every_subset(seed):
    rng = random.Random(seed)
    n_languages, n_items = rng.randint(2, 7), rng.randint(1, 30)
    table = {
        str(i): [rng.choice("ABCD") if rng.random() > 0.15 else None for _ in range(n_languages)]
        for i in range(n_items)
    }
    fast = consistency_scores(table, n_languages)
    for s in range(2, n_languages + 1):
        subsets = list(itertools.combinations(range(n_languages), s))
        brute = sum(
            sum(
                1
                for row in table.values()
                if None not in (vals := [row[c] for c in subset]) and len(set(vals)) == 1
            )
            / n_items
            for subset in subsets
        ) / len(subsets)
        assert fast[s] == pytest.approx(brute, abs=1e-12)


# ---------------------------------------------------------------------------------------------------- SeaEval


def seaeval_votes(entry: dict, output: str) -> set[str]:
    """SeaEval's first mapping stage, re-expressed: every "(a) text", "(a)", "(a", "a)" key found in a sentence of
    the output votes for its option (ties and no votes end in a random pick there)."""
    keys = {}
    for choice in entry["choices"]:
        label = choice[1]
        for key in (choice.lower(), f"({label})".lower(), f"({label}".lower(), f"{label})".lower()):
            keys[key] = choice
    votes = set()
    for sentence in re.findall(r"[^!?。\.\!\?]+[!?。\.\!\?]?", output):
        votes |= {keys[k] for k in keys if k in sentence.lower()}
    return votes


def seaeval_scores(data: list[dict], languages: list[str], outputs: dict[tuple[str, str], str]) -> dict:
    """SeaEval's cross-lingual scores, re-expressed from `_compute_cross_mmlu` (Lingy12/my_seaeval src/metric.py,
    the CrossIn author's fork; SeaEval/SeaEval's cross_lingual_assessment computes the same): accuracy pooled
    over all (item, language) pairs; consistency compares the mapped options' "(X)" prefixes over every subset of
    s languages; AC3 = 2ca / (c + a + 1e-9)."""
    mapped: dict[str, list[str]] = {lang: [] for lang in languages}
    correct = 0
    for item in data:
        for lang in languages:
            votes = seaeval_votes(item[lang], outputs[(item["id"], lang)])
            assert len(votes) == 1, "the synthetic outputs must not need SeaEval's random tie-break"
            answer = votes.pop()
            mapped[lang].append(answer[0:3])
            correct += answer == item[lang]["answer"]
    accuracy = correct / (len(data) * len(languages))
    out = {"accuracy": accuracy}
    for s in range(2, len(languages) + 1):
        combos = list(itertools.combinations(languages, s))
        c = sum(
            sum(len({mapped[lang][i] for lang in combo}) == 1 for i in range(len(data))) / len(data)
            for combo in combos
        ) / len(combos)
        out[f"consistency_{s}"] = c
        out[f"ac3_{s}"] = 2 * c * accuracy / (c + accuracy + 1e-9)
    return out


NAMES = {
    "en": "English",
    "zh": "Chinese",
    "id": "Indonesian",
    "vi": "Vietnamese",
    "es": "Spanish",
    "ms": "Malay",
    "fil": "Filipino",
}


@pytest.mark.parametrize("name", ["cross_mmlu", "cross_logiqa"])
def test_equal_to_seaeval_on_the_real_items(shared_data, tmp_path, name):
    data = json.loads((shared_data / "seaeval_cross" / f"{name}.json").read_text(encoding="utf-8"))
    by_id = {item["id"]: item for item in data}
    config = load_config(
        EvalConfig,
        None,
        [
            f"output_dir={tmp_path}",
            "model.name_or_path=synthetic",
            f"data_dir={shared_data / 'seaeval_cross'}",
            f"tasks=[{{name: {name}}}]",
            "generation.batch_size=64",
        ],
    )
    plan = plan_task(config.tasks[0], config, TaskRegistry())
    # Synthetic answers: one "belief" per question that each language follows with probability 0.6, written as
    # "(B)", "B)" or SeaEval's own "(B) option text" - outputs that SeaEval and we both map without ambiguity.
    rng = random.Random(0)
    beliefs = {item["id"]: rng.choice("ABCD") for item in data}
    by_prompt: dict[str, str] = {}
    outputs: dict[tuple[str, str], str] = {}
    for lp in plan.languages:
        for item, prompt in zip(lp.items, lp.prompts, strict=True):
            entry = by_id[item.id][NAMES[lp.language]]
            if prompt.text not in by_prompt:  # a repeated question gets the same answer, as from a real model
                letter = beliefs[item.id] if rng.random() < 0.6 else rng.choice("ABCD")
                text = [f"({letter})", f"{letter})", entry["choices"]["ABCD".index(letter)]][rng.randrange(3)]
                by_prompt[prompt.text] = text if len(seaeval_votes(entry, text)) == 1 else f"({letter})"
            outputs[(item.id, NAMES[lp.language])] = by_prompt[prompt.text]

    class Synthetic:
        model_id = "synthetic"

        def generate(self, prompts, settings):
            return [by_prompt[p] for p in prompts]

    summary = evaluate(config, Synthetic())[name]
    expected = seaeval_scores(data, list(NAMES.values()), outputs)
    overall = summary["overall"]["metrics"]
    assert summary["n_items"] == len(data) * 7
    assert sum(e["extraction_failures"] for e in summary["languages"].values()) == 0
    assert overall["accuracy"]["value"] == pytest.approx(expected["accuracy"], abs=1e-12)
    for s in range(2, 8):
        assert overall[f"consistency_{s}"]["value"] == pytest.approx(expected[f"consistency_{s}"], abs=1e-12)
        assert overall[f"ac3_{s}"]["value"] == pytest.approx(
            expected[f"ac3_{s}"], abs=1e-8
        )  # SeaEval's +1e-9
    assert (
        0.05 < expected["consistency_3"] < 0.9
    )  # the synthetic answers are neither all equal nor independent
