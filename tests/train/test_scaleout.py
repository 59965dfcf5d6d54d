"""Scale-out on this CPU machine: the recipes under `accelerate launch` with configs/accelerate/ddp_cpu2.yaml
(2 processes, DDP over gloo) — SFT killed with SIGKILL (launcher and both workers) and resumed, ending with the
weights of an uninterrupted 2-process run; LinguaLIFT stage 1 with 2 processes; manifest.json records the world
size and the launch config. DeepSpeed and FSDP do not run on CPU through accelerate (stack.md section 3b); their
launch configs are checked in test_launch_configs.py.

Each launch costs ~10 s of imports per process before training starts; the tests stay well under a minute.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
import yaml
from safetensors.torch import load_file

REPO = Path(__file__).resolve().parents[2]
DDP_CPU2 = REPO / "src" / "crosslift" / "configs" / "accelerate" / "ddp_cpu2.yaml"
ACCELERATE = Path(sys.executable).with_name("accelerate")
ENV = os.environ | {"OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}
# Two processes reduce gradients over gloo in a fixed order and a resumed run restores every rank's RNG state and
# data position, so the weights agree up to float32 rounding of the restored optimizer state.
WEIGHT_TOLERANCE = 1e-5


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def launch(config: Path, out: Path) -> list[str]:
    return [
        str(ACCELERATE),
        "launch",
        "--config_file",
        str(DDP_CPU2),
        "--main_process_port",
        str(free_port()),
        "-m",
        "crosslift",
        "train",
        str(config),
        f"output_dir={out}",
    ]


def kill_tree(proc: subprocess.Popen) -> None:
    """SIGKILL the launcher and every process under it (torchrun starts each worker in a session of its own)."""
    family = [psutil.Process(proc.pid), *psutil.Process(proc.pid).children(recursive=True)]
    for p in family:
        try:
            p.send_signal(signal.SIGKILL)
        except psutil.NoSuchProcess:
            pass
    proc.wait()
    psutil.wait_procs(family, timeout=30)


@pytest.fixture
def sft_config(tmp_path: Path) -> Path:
    data = tmp_path / "arith.jsonl"
    with open(data, "w") as f:
        for a in range(3, 40, 3):
            for b in range(2, 30, 4):
                f.write(
                    json.dumps({"instruction": f"What is {a} plus {b}?", "output": f"{a} + {b} = {a + b}."})
                    + "\n"
                )
    cfg = {
        "recipe": "sft",
        "name": "ddp",
        "output_dir": str(tmp_path / "unused"),
        "seed": 3,
        "model": {"name_or_path": "tiny:llama", "dtype": "float32"},
        "data": {"train": [{"path": str(data)}], "max_length": 128},
        "training": {
            "max_steps": 12,
            "batch_size": 4,
            "learning_rate": 2e-3,
            "save_steps": 3,
            "logging_steps": 3,
            "lr_scheduler": "cosine",
            "packing": True,
        },
    }
    path = tmp_path / "sft.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


@pytest.mark.slow
def test_sft_two_processes_killed_and_resumed_matches_uninterrupted(tmp_path, sft_config):
    straight_dir, killed_dir = tmp_path / "straight", tmp_path / "killed"
    straight = subprocess.Popen(
        launch(sft_config, straight_dir),
        env=ENV,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    killed = subprocess.Popen(
        launch(sft_config, killed_dir), env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.monotonic() + 120
    while not (killed_dir / "checkpoints" / "checkpoint-6" / "trainer_state.json").exists():
        assert killed.poll() is None, "training ended before it could be killed"
        assert time.monotonic() < deadline
        time.sleep(0.02)
    kill_tree(killed)
    assert not (killed_dir / "model").exists(), "the run finished before the kill"
    _, err = straight.communicate(timeout=180)
    assert straight.returncode == 0, err[-3000:]

    resumed = subprocess.run(
        launch(sft_config, killed_dir), env=ENV, capture_output=True, text=True, timeout=180
    )
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert "resuming from" in resumed.stderr and resumed.stderr.count("optimizer steps") == 1  # rank 0 prints

    manifest = json.loads((killed_dir / "manifest.json").read_text())
    assert manifest["status"] == "completed" and manifest["resumed_from"]
    assert manifest["world_size"] == 2
    launch_record = manifest["launch"]
    assert launch_record["launcher"] == "accelerate" and launch_record["distributed_type"] == "MULTI_CPU"
    assert launch_record["backend"] == "gloo" and launch_record["config_file"].endswith("ddp_cpu2.yaml")
    assert launch_record["config"]["num_processes"] == 2

    a = load_file(straight_dir / "model" / "model.safetensors")
    b = load_file(killed_dir / "model" / "model.safetensors")
    assert a.keys() == b.keys()
    assert max((a[k] - b[k]).abs().max().item() for k in a) < WEIGHT_TOLERANCE


@pytest.mark.slow
def test_lingualift_stage1_two_processes(tmp_path):
    data = tmp_path / "cs.jsonl"
    with open(data, "w") as f:  # code-switched question -> English question (stage 1's reconstruct target)
        for i in range(32):
            f.write(
                json.dumps(
                    {
                        "instruction": f"Tom ana {i} matofaa na {i % 5} vitabu.",
                        "output": f"Tom has {i} apples and {i % 5} books.",
                    }
                )
                + "\n"
            )
    cfg = {
        "recipe": "lingualift_stage1",
        "name": "s1",
        "output_dir": str(tmp_path / "unused"),
        "seed": 7,
        "model": {
            "encoder": "tiny:mt5-encoder",
            "lm": "tiny:llama",
            "dtype": "float32",
            "encoder_max_length": 64,
        },
        "data": {
            "train": [{"path": str(data)}],
            "validation": [{"path": str(data), "limit": 8}],
            "lm_max_length": 96,
        },
        "check": {"enabled": False},
        "training": {"max_steps": 4, "batch_size": 4, "save_steps": 4, "logging_steps": 2, "packing": True},
    }
    config = tmp_path / "s1.yaml"
    config.write_text(yaml.safe_dump(cfg))
    out = tmp_path / "run"
    proc = subprocess.run(launch(config, out), env=ENV, capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0, proc.stderr[-3000:]
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["status"] == "completed" and manifest["world_size"] == 2
    assert manifest["launch"]["distributed_type"] == "MULTI_CPU"
    assert manifest["training"]["global_step"] == 4 and manifest["training"]["last_validation_loss"] > 0
    assert {g["part"] for g in manifest["optimizer_groups"]} == {"alignment"}  # the LM stayed frozen
    assert (out / "model" / "model.safetensors").exists() and (out / "model" / "encoder_tokenizer").is_dir()
