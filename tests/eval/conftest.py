"""Fixtures of the evaluation tests: a scripted generator and a tiny parallel math set with its task YAML."""

from __future__ import annotations

import json
import re
import textwrap
from pathlib import Path

import pytest

from crosslift.config import load_config
from crosslift.eval.config import EvalConfig
from crosslift.models.generate import GenerationSettings

PROBLEMS = [(2, 3), (10, 7), (1000, 25), (4, 4), (6, 9), (12, 30)]


class ScriptedGenerator:
    """Answers "What is a + b?" correctly in English, wrongly in Swahili, and without any number in Telugu."""

    model_id = "scripted"

    def __init__(self, fail_after_calls: int | None = None) -> None:
        self.batches: list[list[str]] = []
        self.fail_after_calls = fail_after_calls

    def generate(self, prompts: list[str], settings: GenerationSettings) -> list[str]:
        if self.fail_after_calls is not None and len(self.batches) >= self.fail_after_calls:
            raise KeyboardInterrupt  # as if the process were stopped here
        self.batches.append(list(prompts))
        outputs = []
        for prompt in prompts:
            a, b = map(int, re.findall(r"(\d+) \+ (\d+)", prompt)[-1])
            if "Swali" in prompt:
                outputs.append(f"Jibu ni {a + b + 1}.")
            elif "ప్రశ్న" in prompt:
                outputs.append("నాకు తెలియదు")
            else:
                outputs.append(f"{a} + {b} = {a + b:,}. The answer is {a + b:,}.\nQuestion: more")
        return outputs


@pytest.fixture
def dataset(tmp_path: Path) -> Path:
    """A one-file parallel math set in JSONL (en, sw, te) and its task YAML, plus a low-tier group."""
    data = tmp_path / "data"
    data.mkdir()
    for lang in ("en", "sw", "te"):
        rows = [{"q": f"What is {a} + {b}?", "a": str(a + b)} for a, b in PROBLEMS]
        (data / f"add_{lang}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    tasks = tmp_path / "tasks"
    tasks.mkdir()
    (tasks / "addition.yaml").write_text(textwrap.dedent("""\
        include: parallel_math
        task: addition
        languages: [en, sw, te]
        dataset: {path: "add_{lang}.jsonl", format: jsonl, question_field: q, answer_field: a}
        tier_rule: mmwp-llama2
    """))
    (tasks / "addition_low.yaml").write_text("group: addition_low\ntask: [addition]\ntier: low\n")
    return tmp_path


@pytest.fixture
def scripted() -> type[ScriptedGenerator]:
    return ScriptedGenerator


@pytest.fixture
def eval_config(dataset: Path):
    """make(*overrides, task="addition"): the config evaluating a task of `dataset` into dataset/out (batch 2)."""

    def make(*overrides: str, task: str = "addition") -> EvalConfig:
        base = [f"output_dir={dataset / 'out'}", "model.name_or_path=scripted", f"data_dir={dataset / 'data'}",
                f"task_paths=[{dataset / 'tasks'}]", f"tasks=[{{name: {task}}}]", "generation.batch_size=2"]  # fmt: skip
        return load_config(EvalConfig, None, [*base, *overrides])

    return make
