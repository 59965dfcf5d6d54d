"""`crosslift report RUN_A RUN_B --paired --out DIR` on two MSVAMP runs made through an OpenAI-compatible endpoint:
one that answers every question right (A) and one that is wrong by one everywhere (B)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from crosslift.cli import main

MSVAMP = Path(__file__).resolve().parents[1] / "fixtures" / "msvamp"


def _answers(offset: float) -> dict[str, str]:
    out = {}
    for path in MSVAMP.glob("test_*.json"):
        for row in map(json.loads, path.read_text(encoding="utf-8").splitlines()):
            out[row["m_query"]] = f" The answer is {float(row['response']) + offset:g}."
    return out


def _eval(url: str, out: Path, *extra: str) -> int:
    argv = ["eval", "--task", "msvamp", "--model", url, "--data-dir", str(MSVAMP), "--languages", "en,sw,zh"]
    return main([*argv, "--out", str(out), *extra])


def test_paired_report_of_a_right_and_a_wrong_run(tmp_path, completions_server, capsys):
    right, wrong = completions_server(_answers(0)), completions_server(_answers(1))
    assert _eval(right.url, tmp_path / "a") == 0 and _eval(wrong.url, tmp_path / "b") == 0
    capsys.readouterr()
    out = tmp_path / "cmp"
    assert main(["report", str(tmp_path / "a"), str(tmp_path / "b"), "--paired", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    paired = json.loads((out / "paired.json").read_text())
    assert paired["metric"] == "accuracy_mathoctopus"
    assert {code: cell["delta"] for code, cell in paired["languages"].items()} == {
        "en": -1.0,
        "sw": -1.0,
        "zh": -1.0,
    }
    for cell in [*paired["languages"].values(), *paired["tiers"].values()]:
        assert {"delta", "ci_low", "ci_high", "p_mcnemar", "holm_significant", "n"} <= set(cell)
        assert cell["ci_low"] == cell["ci_high"] == -1.0 and cell["p_mcnemar"] == pytest.approx(
            2 / 2 ** cell["n"]
        )
    assert paired["languages"]["sw"]["n"] == 4 and paired["tiers"]["high"]["n"] == 8
    assert (out / "paired.md").read_text() in printed and "| sw | low | 4 | 100.0 | 0.0 | -100.0 |" in printed

    # a run of other items: a clear error, no silent intersection
    assert _eval(right.url, tmp_path / "c", "--limit", "3") == 0
    capsys.readouterr()
    assert main(["report", str(tmp_path / "a"), str(tmp_path / "c"), "--paired", "--out", str(out)]) == 2
    error = capsys.readouterr().err
    assert "did not score the same items" in error and "3 only in run A" in error
