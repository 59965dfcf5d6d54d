"""training.report_to: TensorBoard event files and an offline W&B run in the run directory, with the training and
validation losses; a logger that is not installed is a config error before any work."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest
import yaml

from crosslift.cli import main as cli_main
from crosslift.train import train


@pytest.fixture
def config(tmp_path: Path):
    data = tmp_path / "arith.jsonl"
    with open(data, "w") as f:
        for a in range(2, 30):
            f.write(
                json.dumps({"instruction": f"What is {a} plus 3?", "output": f"{a} + 3 = {a + 3}."}) + "\n"
            )

    def make(*report_to: str) -> Path:
        cfg = {
            "recipe": "sft",
            "name": "logged",
            "output_dir": str(tmp_path / "run"),
            "seed": 1,
            "model": {"name_or_path": "tiny:llama", "dtype": "float32"},
            "data": {
                "train": [{"path": str(data)}],
                "validation": [{"path": str(data), "limit": 8}],
                "max_length": 128,
            },
            "training": {
                "max_steps": 3,
                "batch_size": 8,
                "learning_rate": 2e-3,
                "save_steps": 3,
                "logging_steps": 1,
                "eval_steps": 2,
                "report_to": list(report_to),
            },
        }
        path = tmp_path / "c.yaml"
        path.write_text(yaml.safe_dump(cfg))
        return path

    return make


def test_tensorboard_gets_training_and_validation_losses(config):
    pytest.importorskip("tensorboard")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    run = train(config("tensorboard"))
    logs = run.path / "logs" / "tensorboard"
    events = EventAccumulator(str(logs))
    events.Reload()
    train_loss = [(e.step, e.value) for e in events.Scalars("train/loss")]
    eval_loss = [(e.step, e.value) for e in events.Scalars("eval/loss")]
    assert [s for s, _ in train_loss] == [1, 2, 3] and [s for s, _ in eval_loss] == [2, 3]
    manifest = run.manifest()["training"]
    assert manifest["validation_loss_history"] == [[s, pytest.approx(v)] for s, v in eval_loss]
    assert not (
        run.checkpoints / "runs"
    ).exists()  # nothing under the checkpoints (transformers' default place)


def test_wandb_runs_offline_in_the_run_directory(config, monkeypatch):
    pytest.importorskip("wandb")
    for var in ("WANDB_MODE", "WANDB_DIR", "WANDB_PROJECT", "WANDB_API_KEY"):
        monkeypatch.delenv(var, raising=False)
    run = train(config("wandb"))
    run_id = run.manifest()["wandb_run_id"]
    offline = list((run.path / "logs" / "wandb").glob(f"offline-run-*-{run_id}"))
    assert len(offline) == 1 and list(offline[0].glob("*.wandb"))


def test_a_logger_that_is_not_installed_fails_before_any_work(config, monkeypatch, capsys):
    find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "wandb" else find_spec(name, *a)
    )
    path = config("wandb")
    assert cli_main(["train", str(path)]) == 2
    err = capsys.readouterr().err
    assert "training.report_to" in err and "crosslift[logging]" in err
    assert not (path.parent / "run").exists()


def test_pretrain_logs_its_validation_loss_too(tmp_path):
    pytest.importorskip("tensorboard")
    docs = tmp_path / "docs.jsonl"
    docs.write_text(
        "".join(json.dumps({"text": f"Tom has {i} apples and {i + 2} pens. " * 4}) + "\n" for i in range(40))
    )
    cfg = {
        "recipe": "pretrain",
        "name": "pre",
        "output_dir": str(tmp_path / "run"),
        "seed": 1,
        "model": {"name_or_path": "tiny:llama", "dtype": "float32"},
        "data": {
            "train": [{"path": str(docs)}],
            "validation": [{"path": str(docs), "limit": 6}],
            "block_size": 32,
        },
        "training": {
            "max_steps": 2,
            "batch_size": 4,
            "save_steps": 2,
            "logging_steps": 1,
            "report_to": "tensorboard",
        },
    }
    path = tmp_path / "pre.yaml"
    path.write_text(yaml.safe_dump(cfg))
    run = train(path)
    assert [s for s, _ in run.manifest()["training"]["validation_loss_history"]] == [2]
    assert list((run.path / "logs" / "tensorboard").glob("events.out.tfevents.*"))
