"""Failed starts: an evaluation or a training run that fails before its first result (a wrong model path, an endpoint
that is down) says so in one line (exit status 2, no traceback) and claims nothing, so the corrected command runs
in the same output folder. The data is generated here."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from crosslift.cli import main
from crosslift.config import load_config
from crosslift.errors import CrossliftError
from crosslift.eval.config import EvalConfig
from crosslift.eval.runner.evaluate import evaluate

SRC = Path(__file__).resolve().parents[2] / "src"
PROBLEMS = [(2, 3), (10, 7), (41, 1)]
SUM = re.compile(r"(\d+) \+ (\d+)")


class Adder:
    """Answers every "What is a + b?" right."""

    model_id = "adder"

    def generate(self, prompts: list[str], settings) -> list[str]:
        return [f"The answer is {sum(map(int, SUM.findall(p)[-1]))}." for p in prompts]


@pytest.fixture
def task(tmp_path: Path) -> Path:
    """A two-language addition set (data/add_{lang}.jsonl) and its task file (addition.yaml)."""
    (tmp_path / "data").mkdir()
    for lang in ("en", "sw"):
        rows = [{"q": f"What is {a} + {b}?", "a": str(a + b)} for a, b in PROBLEMS]
        (tmp_path / "data" / f"add_{lang}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    (tmp_path / "addition.yaml").write_text(
        "include: parallel_math\ntask: addition\nlanguages: [en, sw]\n"
        "dataset: {path: 'add_{lang}.jsonl', format: jsonl, question_field: q, answer_field: a}\n"
    )
    return tmp_path


def eval_args(root: Path, model: str) -> list[str]:
    return [
        "eval",
        "--task",
        "addition",
        "--include-path",
        str(root / "addition.yaml"),
        "--data-dir",
        str(root / "data"),
        "--model",
        model,
        "--out",
        str(root / "out"),
        "--max-new-tokens",
        "4",
    ]


def crosslift(*args: str) -> subprocess.CompletedProcess:
    env = os.environ | {"PYTHONPATH": str(SRC), "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    command = [sys.executable, "-m", "crosslift", *args]
    return subprocess.run(command, capture_output=True, text=True, env=env, timeout=300)


def assert_one_line_error(done: subprocess.CompletedProcess, message: str) -> None:
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
    errors = [line for line in done.stderr.splitlines() if "error:" in line]
    assert len(errors) == 1 and message in errors[0], done.stderr


def items(root: Path) -> list[dict]:
    return [
        json.loads(line)
        for line in (root / "out" / "eval" / "addition" / "items.jsonl").read_text().splitlines()
    ]


def test_eval_with_a_wrong_model_path_then_the_corrected_command(task):
    assert_one_line_error(
        crosslift(*eval_args(task, str(task / "no-such-model"))), "model directory not found"
    )
    assert not (task / "out" / "eval" / "addition" / "run.json").exists()
    done = crosslift(*eval_args(task, "tiny:llama"), "--limit", "1")
    assert done.returncode == 0, done.stderr
    assert [(r["language"], r["index"]) for r in items(task)] == [("en", 0), ("sw", 0)]


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # nothing listens there once the socket is closed


def test_eval_with_an_endpoint_down_then_the_corrected_command(task):
    def config(model: str) -> EvalConfig:
        return load_config(
            EvalConfig,
            None,
            [
                f"output_dir={task / 'out'}",
                f"model.name_or_path={model}",
                f"data_dir={task / 'data'}",
                f"task_paths=[{task / 'addition.yaml'}]",
                "tasks=[{name: addition}]",
                "model.endpoint.max_retries=0",
            ],
        )

    down = f"http://127.0.0.1:{closed_port()}/v1"
    with pytest.raises(CrossliftError, match="connection failed"):
        evaluate(config(down))
    summary = evaluate(config("http://127.0.0.1:8000/v1"), Adder())["addition"]  # the server that is up
    assert summary["n_items"] == 6 and summary["overall"]["metrics"]["accuracy_strict"]["value"] == 1.0
    assert len(items(task)) == 6


def test_train_with_a_wrong_model_path_then_the_corrected_command(task, capsys):
    (task / "train.jsonl").write_text(
        "".join(
            json.dumps({"instruction": f"What is {a} + {b}?", "output": str(a + b)}) + "\n"
            for a, b in PROBLEMS * 4
        )
    )
    config = task / "sft.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "recipe": "sft",
                "name": "t",
                "output_dir": str(task / "run"),
                "seed": 1,
                "model": {"name_or_path": "tiny:llama", "dtype": "float32"},
                "data": {"train": [{"path": str(task / "train.jsonl")}], "max_length": 128},
                "training": {"max_steps": 1, "batch_size": 4, "save_steps": 1, "logging_steps": 1},
            }
        )
    )
    assert main(["train", str(config), f"model.name_or_path={task / 'no-such-model'}"]) == 2
    assert "model directory not found" in capsys.readouterr().err
    assert (task / "run" / "config.yaml").is_file()  # the failed start got as far as its run directory
    assert main(["train", str(config)]) == 0  # the corrected command takes the folder the failed start left
    assert "replacing the config of a run that wrote no result" in capsys.readouterr().err
    manifest = json.loads((task / "run" / "manifest.json").read_text())
    assert manifest["status"] == "completed" and manifest["models"]["model"] == "tiny:llama"
    assert yaml.safe_load((task / "run" / "config.yaml").read_text())["model"]["name_or_path"] == "tiny:llama"
