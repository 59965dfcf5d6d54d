"""Bad input to `crosslift eval` and `crosslift report`, generated here: questions longer than the model's context
(up to 1 MB), parallel sets whose languages have different item counts, language codes the registry does not hold,
and an interrupted run. Each gives one clear line (exit status 2, no traceback) or the documented behaviour, and
no item's record is lost."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from crosslift.config import load_config
from crosslift.eval.config import EvalConfig
from crosslift.eval.runner.evaluate import evaluate
from crosslift.models.generate import load_generator

SRC = Path(__file__).resolve().parents[2] / "src"
SUM = re.compile(r"(\d+) \+ (\d+)")


class Adder:
    """Answers "What is a + b?" right; stops the run (as Ctrl-C would) after `calls` batches."""

    model_id = "adder"

    def __init__(self, calls: int | None = None) -> None:
        self.calls = calls

    def generate(self, prompts: list[str], settings) -> list[str]:
        if self.calls is not None:
            if self.calls == 0:
                raise KeyboardInterrupt
            self.calls -= 1
        return [f"The answer is {sum(map(int, SUM.findall(p)[-1]))}." for p in prompts]


def write_task(
    root: Path, counts: dict[str, int], *, family: str = "parallel_math", big: str | None = None
) -> str:
    """A task file (root/task.yaml) over generated files root/data/set_{lang}.jsonl with counts[lang] items; `big`
    replaces the first English question. Returns the task's name."""
    (root / "data").mkdir(exist_ok=True)
    for lang, n in counts.items():
        rows = [
            {"id": f"q{i}", "q": f"What is {i} + 2?", "a": str(i + 2), "options": ["one", "two"], "gold": "A"}
            for i in range(n)
        ]
        if big is not None and lang == "en":
            rows[0]["q"] = big
        (root / "data" / f"set_{lang}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    fields = (
        "question_field: q, answer_field: a"
        if family == "parallel_math"
        else "question_field: q, choices_field: options, answer_field: gold, id_field: id"
    )
    (root / "task.yaml").write_text(
        f"include: {family}\ntask: set\nlanguages: [{', '.join(counts)}]\n"
        f"dataset: {{path: 'set_{{lang}}.jsonl', format: jsonl, {fields}}}\n"
    )
    return "set"


def config(root: Path, *overrides: str) -> EvalConfig:
    return load_config(
        EvalConfig,
        None,
        [
            f"output_dir={root / 'out'}",
            "model.name_or_path=adder",
            f"data_dir={root / 'data'}",
            f"task_paths=[{root / 'task.yaml'}]",
            "tasks=[{name: set}]",
            *overrides,
        ],
    )


def records(root: Path) -> list[dict]:
    return [
        json.loads(line) for line in (root / "out" / "eval" / "set" / "items.jsonl").read_text().splitlines()
    ]


def crosslift(*args: str) -> subprocess.CompletedProcess:
    env = os.environ | {"PYTHONPATH": str(SRC), "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    command = [sys.executable, "-m", "crosslift", *args]
    return subprocess.run(command, capture_output=True, text=True, env=env, timeout=300)


@pytest.fixture(scope="module")
def llama():
    return load_generator("tiny:llama", dtype="float32", device="cpu")


@pytest.mark.parametrize("policy", ["cut", "refuse"])
def test_a_question_longer_than_the_context_is_cut_or_refused_in_seconds(tmp_path, llama, policy):
    big = "What is 4 + 4? " * 70_000  # 1 MB, 500 000 tokens: its attention mask alone would need 1 TB
    write_task(tmp_path, {"en": 3, "sw": 2}, big=big)
    started = time.monotonic()
    settings = config(tmp_path, "generation.max_new_tokens=8", f"generation.long_prompts={policy}")
    summary = evaluate(settings, llama)["set"]
    assert time.monotonic() - started < 90
    stored = records(tmp_path)
    assert sorted((r["language"], r["index"]) for r in stored) == [("en", i) for i in range(3)] + [
        ("sw", 0),
        ("sw", 1),
    ]
    (long,) = [r for r in stored if r.get("long_prompt")]
    action = {"cut": "cut", "refuse": "refused"}[policy]
    assert (long["index"], long["long_prompt"]["action"], long["long_prompt"]["limit"]) == (
        0,
        action,
        2048 - 8,
    )
    assert (
        long["long_prompt"]["tokens"] > 400_000 and big in long["prompt"]
    )  # the record keeps the prompt built
    if policy == "refuse":
        assert long["output"] == "" and long["extracted"] is None
    by = summary["languages"]
    assert by["en"]["long_prompts"] == {action: 1} and "long_prompts" not in by["sw"]
    assert summary["long_prompts"] == {"policy": policy, action: 1} and summary["complete"]
    report = (tmp_path / "out" / "eval" / "set" / "report.md").read_text()
    assert "1 prompt(s) longer than the model's context (less max_new_tokens for the answer) were" in report


@pytest.mark.parametrize(
    ("counts", "family", "message"),
    [
        (
            {"en": 4, "swahilli": 4},
            "parallel_math",
            "task 'set_swahilli': unknown language 'swahilli'; did you mean sw (Swahili)",
        ),
        (
            {"en": 10, "sw": 7},
            "cross_mc",
            "ac3 and consistency compare each question across languages, but the "
            "languages' data hold different numbers of items (en 10, sw 7)",
        ),
    ],
    ids=["unknown_code", "uneven_consistency_set"],
)
def test_cli_refuses_an_unknown_language_code_and_an_uneven_consistency_set_in_one_line(
    tmp_path, counts, family, message
):
    write_task(tmp_path, counts, family=family)
    done = crosslift(
        "eval",
        "--task",
        "set",
        "--include-path",
        str(tmp_path / "task.yaml"),
        "--data-dir",
        str(tmp_path / "data"),
        "--model",
        "tiny:llama",
        "--out",
        str(tmp_path / "out"),
    )
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
    assert done.stderr.count("error:") == 1 and message in done.stderr
    assert not (tmp_path / "out" / "eval" / "set").exists()  # refused before the model or any file


def test_an_uneven_parallel_set_warns_and_scores_every_item(tmp_path, capsys):
    write_task(tmp_path, {"en": 10, "sw": 7})
    summary = evaluate(config(tmp_path), Adder())["set"]
    warning = "the languages' data hold different numbers of items (en 10, sw 7)"
    assert warning in " ".join(capsys.readouterr().err.split()) and warning in summary["warnings"][0]
    assert [summary["languages"][lang]["n_items"] for lang in ("en", "sw")] == [10, 7] and len(
        records(tmp_path)
    ) == 17
    assert (
        f"**Warning: task 'set': {warning}" in (tmp_path / "out" / "eval" / "set" / "report.md").read_text()
    )


def test_a_code_outside_the_registry_that_langcodes_knows_is_evaluated_as_unlisted(tmp_path):
    write_task(tmp_path, {"en": 2, "tlh": 2})
    summary = evaluate(config(tmp_path), Adder())["set"]
    assert (
        summary["languages"]["tlh"]["tier"] == "unlisted" and summary["languages"]["tlh"]["name"] == "Klingon"
    )
    assert len(records(tmp_path)) == 4


def test_cli_report_marks_an_interrupted_run_and_loses_nothing(tmp_path):
    write_task(tmp_path, {"en": 6, "sw": 6})
    with pytest.raises(KeyboardInterrupt):
        evaluate(config(tmp_path, "generation.batch_size=2"), Adder(calls=2))
    assert len(records(tmp_path)) == 4
    done = crosslift("report", str(tmp_path / "out"))
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr
    assert "INCOMPLETE, 4 of 12 items: partial figures" in " ".join(done.stdout.split())
    summary = json.loads((tmp_path / "out" / "eval" / "set" / "summary.json").read_text())
    assert (summary["complete"], summary["n_items"], summary["n_items_expected"]) == (False, 4, 12)
    assert len(records(tmp_path)) == 4
