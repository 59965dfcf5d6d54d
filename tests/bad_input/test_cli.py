"""A few bad-input cases as a user meets them: the `crosslift` command in its own process, exit status 2, one
clear message naming the file, the line and the field, and no Python traceback (test_readers.py and
test_config_numbers.py run every case in-process)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
CROSSLIFT = [sys.executable, "-m", "crosslift"]
GOOD = b'{"instruction": "What is two plus three?", "output": "5"}\n'


def _crosslift(*args: str) -> subprocess.CompletedProcess:
    offline = {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
    env = {**os.environ, **offline, "PYTHONPATH": str(REPO / "src")}
    return subprocess.run([*CROSSLIFT, *args], capture_output=True, text=True, env=env, timeout=300)


def _error(done: subprocess.CompletedProcess, verb: str) -> str:
    """The message of a command that failed on bad input (from its one error line on)."""
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    assert done.stderr.count(f"crosslift {verb}: error:") == 1, done.stderr
    return done.stderr[done.stderr.index(f"crosslift {verb}: error:") :]


def test_validate_lists_bad_lines_and_exits_2(tmp_path):
    data = tmp_path / "data.jsonl"
    bad = [
        b'{"instruction": "caf\xe9", "output": "4"}',
        b'{"instruction": "Hi?", "output": NaN}',
        b'{"instruction": 7, "output": "4"}',
    ]
    data.write_bytes(GOOD + b"\n".join(bad) + b"\n")
    done = _crosslift("data", "validate", str(data))
    assert "3 invalid record(s)" in _error(done, "data")
    message = "line 2: not valid UTF-8 (byte 0xe9 at column 21); re-save the file as UTF-8"
    assert f"{data}, {message}" in done.stderr
    assert f"{data}, line 3, field 'output': NaN is not a JSON value" in done.stderr
    assert f"{data}, line 4, field 'instruction': expected a string, got int" in done.stderr
    assert _crosslift("data", "validate", str(data), "--encoding", "klingon").returncode == 2


def test_codeswitch_refuses_a_lone_surrogate(tmp_path):
    data = tmp_path / "data.jsonl"
    data.write_bytes(GOOD + b'{"instruction": "Hi \\ud800", "output": "4"}\n')
    (tmp_path / "en-de.txt").write_text("what was\n", encoding="utf-8")
    lexicon, out = tmp_path / "en-de.txt", tmp_path / "o.jsonl"
    done = _crosslift(
        "data",
        "codeswitch",
        "--input",
        str(data),
        "--field",
        "instruction",
        "--languages",
        "de",
        "--lexicon",
        f"de={lexicon}",
        "--out",
        str(out),
    )
    assert f"{data}, line 2, field 'instruction': a lone surrogate \\ud800" in _error(done, "data")
    assert not out.exists()


@pytest.mark.parametrize("bad", ["data", "max_steps"])
def test_train_fails_at_load_on_bad_data_or_a_bad_number(bad, tmp_path):
    data = tmp_path / "data.jsonl"
    repeated = b'{"instruction": "Hi?", "output": "4", "output": "5"}\n'
    data.write_bytes(GOOD + (repeated if bad == "data" else GOOD))
    config = tmp_path / "c.yaml"
    config.write_text(
        f"recipe: sft\nname: bad\noutput_dir: {tmp_path / 'run'}\n"
        f"model: {{name_or_path: tiny:llama}}\ndata:\n  train:\n    - path: {data}\n"
        f"training:\n  max_steps: {1 if bad == 'data' else -5}\n",
        encoding="utf-8",
    )
    error = _error(_crosslift("train", str(config)), "train")
    if bad == "data":
        assert f"{data}, line 2, field 'output': this key occurs more than once" in error
    else:
        assert f"{config}, line 9, key 'training.max_steps': got -5; expected: at least 1" in error
    assert not (tmp_path / "run").exists()


def test_eval_with_a_custom_task_names_the_data_line(tmp_path):
    data = tmp_path / "data.jsonl"
    data.write_bytes(b'{"q": "What is 2 + 3?", "a": "5"}\n{"q": "What is 1 + 1?", "a": Infinity}\n')
    task = tmp_path / "task.yaml"
    task.write_text(
        f"include: parallel_math\ntask: custom\nlanguage: en\ndataset:\n  path: {data}\n"
        "  format: jsonl\n  question_field: q\n  answer_field: a\n",
        encoding="utf-8",
    )
    done = _crosslift("eval", "--task", str(task), "--model", "tiny:llama", "--out", str(tmp_path / "out"))
    assert f"{data}, line 2, field 'a': Infinity is not a JSON value" in _error(done, "eval")
