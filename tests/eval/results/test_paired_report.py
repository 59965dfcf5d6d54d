"""The paired comparison of two runs (crosslift report A B --paired): its figures against direct computations on
the items, and its refusals (runs of different items, incomplete runs, scores that are not 0/1)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from crosslift.config import load_config
from crosslift.errors import CrossliftError
from crosslift.eval.config import EvalConfig
from crosslift.eval.results.paired_report import paired_comparison, write_paired
from crosslift.eval.runner.evaluate import evaluate
from crosslift.eval.scoring.paired import holm

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
NAMES = {"en": "English", "sw": "Swahili", "zh": "Chinese"}


def _gold() -> dict[str, tuple[str, int, float]]:
    """question -> (language, position, gold) of the MSVAMP fixture."""
    out = {}
    for code, name in NAMES.items():
        lines = (FIXTURES / "msvamp" / f"test_{name}.json").read_text(encoding="utf-8").splitlines()
        for i, line in enumerate(lines):
            row = json.loads(line)
            out[row["m_query"]] = (code, i, float(row["response"]))
    return out


class Answers:
    """Answers item i of language l right when right(l, i)."""

    model_id = "answers"

    def __init__(self, right) -> None:
        self.right, self.gold = right, _gold()

    def generate(self, prompts, settings):
        out = []
        for prompt in prompts:
            code, i, gold = next(v for q, v in self.gold.items() if q in prompt)
            out.append(f"The answer is {gold if self.right(code, i) else gold + 1:g}.")
        return out


def _run(out: Path, right, *overrides: str) -> Path:
    config = load_config(
        EvalConfig,
        None,
        [
            f"output_dir={out}",
            "model.name_or_path=answers",
            f"data_dir={FIXTURES / 'msvamp'}",
            "tasks=[{name: msvamp, languages: [en, sw, zh]}]",
            *overrides,
        ],
    )
    evaluate(config, Answers(right))
    return out


# A: right on items 0, 1 everywhere, and on 2 in English; B: right on 1, 2, 3 everywhere.
A = {code: [1, 1, int(code == "en"), 0] for code in NAMES}
B = {code: [0, 1, 1, 1] for code in NAMES}


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("paired")
    a = _run(root / "a", lambda code, i: A[code][i] == 1)
    b = _run(root / "b", lambda code, i: B[code][i] == 1)
    return a, b


def test_the_figures_equal_direct_computations(runs, tmp_path):
    result, text = write_paired(*runs, tmp_path / "cmp")
    assert json.loads((tmp_path / "cmp" / "paired.json").read_text()) == json.loads(json.dumps(result))
    assert (tmp_path / "cmp" / "paired.md").read_text() == text
    assert result["metric"] == "accuracy_mathoctopus" and result["task"] == "msvamp"
    p_values = []
    for code in NAMES:
        cell = result["languages"][code]
        a, b = np.array(A[code]), np.array(B[code])
        assert cell["delta"] == pytest.approx(float(np.mean(b - a))) and cell["n"] == 4
        a_only, b_only = int(np.sum((a == 1) & (b == 0))), int(np.sum((b == 1) & (a == 0)))
        n, k = a_only + b_only, min(a_only, b_only)
        assert cell["p_mcnemar"] == pytest.approx(
            min(1.0, 2 * sum(math.comb(n, i) for i in range(k + 1)) / 2**n)
        )
        assert cell["ci_low"] <= cell["delta"] <= cell["ci_high"]
        p_values.append(cell["p_mcnemar"])
    adjusted = holm(p_values)
    assert [result["languages"][c]["holm_significant"] for c in NAMES] == [p < 0.05 for p in adjusted]
    # tiers under mmwp-llama2: en and zh high, sw low; a tier is the mean over its languages
    high = result["tiers"]["high"]
    assert high["delta"] == pytest.approx(np.mean([np.mean(np.subtract(B[c], A[c])) for c in ("en", "zh")]))
    assert high["n"] == 8 and result["languages"]["sw"]["tier"] == "low"
    assert "| sw | low | 4 |" in text and "## By tier and overall" in text


def test_runs_of_different_items_are_refused(runs, tmp_path):
    fewer = _run(tmp_path / "fewer", lambda code, i: True, "tasks.0.limit=3")
    with pytest.raises(
        CrossliftError, match=r"did not score the same items.*3 only in run A \(msvamp_en en: 1, "
    ):
        paired_comparison(runs[0], fewer)


def test_incomplete_runs_and_non_binary_metrics_are_refused(runs, tmp_path):
    with pytest.raises(CrossliftError, match="no item metric 'bleu'"):
        paired_comparison(*runs, metric="bleu")

    def copy(name: str, edit) -> Path:
        task = tmp_path / name / "eval" / "msvamp"
        task.mkdir(parents=True)
        for file in ("run.json", "summary.json"):
            (task / file).write_text((runs[0] / "eval" / "msvamp" / file).read_text())
        records = [json.loads(line) for line in (runs[0] / "eval" / "msvamp" / "items.jsonl").open()]
        (task / "items.jsonl").write_text("".join(json.dumps(r) + "\n" for r in edit(records)))
        return tmp_path / name

    bare = copy("bare", lambda records: [r | {"output": "5"} for r in records])  # no letters: no language
    with pytest.raises(CrossliftError, match="'lang_fidelity' is None on .* needs a 0/1 score on every item"):
        paired_comparison(bare, runs[1], metric="lang_fidelity")
    with pytest.raises(CrossliftError, match="is incomplete"):
        paired_comparison(copy("cut", lambda records: records[:-1]), runs[1])
