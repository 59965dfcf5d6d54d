"""The SFT recipe end to end on the tiny Llama: run directory, loss, LoRA, errors, and resume after kill -9."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from safetensors.torch import load_file

from crosslift.cli import main as cli_main
from crosslift.errors import ConfigError
from crosslift.runs import LOCK_FILE
from crosslift.train import train

ARITH = [(a, b) for a in range(3, 40, 3) for b in range(2, 30, 4)]


@pytest.fixture
def data_file(tmp_path: Path) -> Path:
    path = tmp_path / "arith.jsonl"
    with open(path, "w") as f:
        for a, b in ARITH:
            f.write(
                json.dumps(
                    {"instruction": f"What is {a} plus {b}?", "input": "", "output": f"{a} + {b} = {a + b}."}
                )
                + "\n"
            )
    return path


def write_config(tmp_path: Path, data_file: Path, **training) -> Path:
    cfg = {
        "recipe": "sft",
        "name": "t",
        "output_dir": str(tmp_path / "run"),
        "seed": 3,
        "model": {"name_or_path": "tiny:llama", "dtype": "float32"},
        "data": {"train": [{"path": str(data_file)}], "max_length": 128},
        "training": {
            "max_steps": 4,
            "batch_size": 8,
            "learning_rate": 2e-3,
            "save_steps": 2,
            "logging_steps": 1,
            "lr_scheduler": "constant",
        }
        | training,
    }
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


def test_run_directory_and_loss_goes_down(tmp_path, data_file):
    run = train(write_config(tmp_path, data_file, max_steps=30, save_steps=30, logging_steps=5))
    assert (run.path / "config.yaml").exists()
    assert (run.model / "model.safetensors").exists() and (run.model / "tokenizer.json").exists()
    assert not list(run.model.glob("*.bin"))
    m = run.manifest()
    assert m["status"] == "completed" and m["seed"] == 3 and m["recipe"] == "sft"
    assert m["versions"]["transformers"] and str(data_file) in m["data"]
    assert m["data_stats"]["used"] == len(ARITH)
    assert m["training"]["global_step"] == 30
    assert m["training"]["last_logged_loss"] < 0.6 * m["training"]["first_logged_loss"]


def test_micro_batch_loss_averaging_runs_the_recipe(tmp_path, data_file):
    run = train(
        write_config(tmp_path, data_file, max_steps=1, batch_size=2, grad_accum=2, loss_average="micro_batch")
    )
    assert run.manifest()["status"] == "completed"
    assert yaml.safe_load((run.path / "config.yaml").read_text())["training"]["loss_average"] == "micro_batch"


def test_lora_saves_only_the_adapter(tmp_path, data_file):
    run = train(write_config(tmp_path, data_file), ["lora.r=4", "lora.target_modules=[q_proj, v_proj]"])
    assert (run.model / "adapter_model.safetensors").exists()
    assert not (run.model / "model.safetensors").exists()
    params = run.manifest()["parameters"]
    assert 0 < params["trainable"] < params["total"] / 10


@pytest.mark.parametrize(
    "content, expected",
    [
        (None, "file not found"),
        ("", "file is empty"),
        ('{"instruction": "a", "output": "b"}\n{"instruction": \n', "line 2: not valid JSON"),
        (
            '{"instruction": "a", "output": "b"}\n{"instruction": "a"}\n',
            "line 2, field 'output': missing field",
        ),
    ],
)
def test_bad_data_fails_before_any_work(tmp_path, capsys, content, expected):
    data = tmp_path / "bad.jsonl"
    if content is not None:
        data.write_text(content)
    assert cli_main(["train", str(write_config(tmp_path, data))]) == 2
    err = capsys.readouterr().err
    assert expected in err and str(data) in err
    assert not (tmp_path / "run").exists()


def test_bad_config_names_key_and_value(tmp_path, data_file, capsys):
    assert cli_main(["train", str(write_config(tmp_path, data_file)), "training.batch_size=big"]) == 2
    err = capsys.readouterr().err
    assert "training.batch_size" in err and "'big'" in err and "integer" in err


def test_a_run_folder_in_use_is_refused_in_one_line_before_any_work(
    tmp_path, data_file, capsys, monkeypatch, run_folder_holder
):
    from crosslift.train import sft

    monkeypatch.setattr(sft, "load_tokenizer", lambda *a, **k: pytest.fail("the model loaded"))
    pid = run_folder_holder(tmp_path / "run")
    assert cli_main(["train", str(write_config(tmp_path, data_file))]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.startswith(
        f"crosslift train: error: {tmp_path / 'run'} is being written by process {pid} on host "
    )
    assert [p.name for p in (tmp_path / "run").iterdir()] == [LOCK_FILE]  # the holder's, and nothing else


def test_unknown_recipe(tmp_path, capsys):
    cfg = tmp_path / "c.yaml"
    cfg.write_text("recipe: dpo\nname: x\noutput_dir: x\n")
    assert cli_main(["train", str(cfg)]) == 2
    assert "unknown recipe 'dpo'" in capsys.readouterr().err


@pytest.mark.slow
def test_resume_after_sigkill_matches_uninterrupted_run(tmp_path, data_file, killed_and_resumed):
    config = write_config(
        tmp_path, data_file, max_steps=40, save_steps=5, logging_steps=5, lr_scheduler="cosine"
    )
    # asserts the refused second writer, the kill, the lock's takeover, "resuming from", resumed_from
    _, killed = killed_and_resumed(tmp_path, config, 10, second_writer=True)
    manifest = json.loads((killed / "manifest.json").read_text())
    assert manifest["status"] == "completed" and manifest["resumed_from"]

    a = load_file(tmp_path / "straight" / "model" / "model.safetensors")
    b = load_file(killed / "model" / "model.safetensors")
    assert a.keys() == b.keys()
    for name in a:
        assert (a[name] - b[name]).abs().max().item() < 1e-5, name


@pytest.mark.slow
def test_two_process_ddp_on_cpu(tmp_path, data_file):
    """Scale-out path that CPU CI can run: torchrun, 2 processes, gloo DDP through Trainer/accelerate."""
    config = write_config(tmp_path, data_file, max_steps=4, save_steps=4)
    out = tmp_path / "ddp"
    torchrun = Path(sys.executable).with_name("torchrun")
    proc = subprocess.run(
        [
            str(torchrun),
            "--nproc_per_node",
            "2",
            "--standalone",  # a free port: another launch may hold torchrun's default one
            "-m",
            "crosslift",
            "train",
            str(config),
            f"output_dir={out}",
        ],
        capture_output=True,
        text=True,
        env=os.environ | {"OMP_NUM_THREADS": "1"},
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert (out / "model" / "model.safetensors").exists()
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["status"] == "completed" and manifest["training"]["global_step"] == 4
    assert proc.stderr.count("optimizer steps") == 1  # progress is printed by rank 0 only


def test_raising_max_steps_extends_a_finished_run_with_the_longer_schedule(tmp_path, data_file):
    import math

    config = write_config(tmp_path, data_file, max_steps=4, save_steps=2, lr_scheduler="cosine")
    run = train(config)
    assert run.manifest()["training"]["global_step"] == 4
    run = train(config, ["training.max_steps=8"])
    manifest = run.manifest()
    assert manifest["status"] == "completed" and manifest["training"]["global_step"] == 8
    assert manifest["extensions"][0]["changes"] == {"training.max_steps": [4, 8]}
    assert manifest["extensions"][0]["continues_from"] == "checkpoint-4" and manifest["resumed_from"] == [
        "checkpoint-4"
    ]
    state = json.loads((run.checkpoints / "checkpoint-8" / "trainer_state.json").read_text())
    assert state["max_steps"] == 8
    # the rate each step used (logged with it) follows the 8-step cosine from the resumed step on, the first one too
    logged = {h["step"]: h["learning_rate"] for h in state["log_history"] if "learning_rate" in h}
    for step in range(5, 9):
        assert logged[step] == pytest.approx(2e-3 * 0.5 * (1 + math.cos(math.pi * (step - 1) / 8))), step
    with pytest.raises(ConfigError, match="only upwards"):
        train(config, ["training.max_steps=6"])


def test_every_assistant_turn_is_learned_unless_asked_for_the_last_only():
    from crosslift.data.examples import record_to_example
    from crosslift.models.build import load_tokenizer
    from crosslift.models.labels import IGNORE_INDEX
    from crosslift.train.sft import SFTDataConfig, tokenize_examples

    tokenizer = load_tokenizer("tiny:qwen2")
    turns = [
        ("system", "Be brief."),
        ("user", "Q one"),
        ("assistant", "A one"),
        ("user", "Q two"),
        ("assistant", "A two"),
        ("user", "Q three"),
        ("assistant", "A three"),
    ]
    record = {
        "conversations": [
            {"from": {"user": "human", "assistant": "gpt"}.get(r, r), "value": t} for r, t in turns
        ]
    }
    example = record_to_example(record, path="chat.jsonl", location={"line": 1})

    def learned(assistant_turns: str) -> list[str]:
        data = SFTDataConfig(train=[{"path": "x"}], template="chat", assistant_turns=assistant_turns)
        (features,), stats = tokenize_examples([example], tokenizer, data)
        spans, current = [], []
        for token, label in zip(features["input_ids"], features["labels"], strict=True):
            if label != IGNORE_INDEX:
                current.append(token)
            elif current:
                spans, current = [*spans, tokenizer.decode(current)], []
        return [*spans, tokenizer.decode(current)] if current else spans

    assert learned("all") == ["A one<|im_end|>\n", "A two<|im_end|>\n", "A three<|im_end|>\n"]
    assert learned("last") == ["A three<|im_end|>\n"]
