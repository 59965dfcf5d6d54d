"""Fixtures shared by the recipe tests."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest


def _killed_and_resumed(
    tmp_path: Path, config: Path, kill_at: int, *, second_writer: bool = False
) -> tuple[Path, Path]:
    """Train `config` straight through, and again with a real SIGKILL once checkpoint `kill_at` is complete,
    then rerun the same command. Returns the two run directories (straight, killed-and-resumed).

    With `second_writer`, the same command is also started while the killed run still trains (stopped with
    SIGSTOP meanwhile), and must be refused with one line naming the process that holds the run folder."""
    env = os.environ | {"PYTHONUNBUFFERED": "1"}

    def command(out: Path) -> list[str]:
        return [sys.executable, "-m", "crosslift", "train", str(config), f"output_dir={out}"]

    subprocess.run(command(tmp_path / "straight"), check=True, env=env, capture_output=True)
    killed = tmp_path / "killed"
    proc = subprocess.Popen(command(killed), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 180
    while not (killed / "checkpoints" / f"checkpoint-{kill_at}" / "trainer_state.json").exists():
        assert proc.poll() is None, "training ended before it could be killed"
        assert time.monotonic() < deadline
        time.sleep(0.02)
    if second_writer:
        proc.send_signal(signal.SIGSTOP)
        second = subprocess.run(command(killed), env=env, capture_output=True, text=True, timeout=180)
        assert second.returncode == 2 and second.stderr.count("\n") == 1, second.stderr
        assert second.stderr.startswith(
            f"crosslift train: error: {killed} is being written by process {proc.pid} "
        )
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert not (killed / "model").exists(), "the run finished before the kill"
    resumed = subprocess.run(command(killed), check=True, env=env, capture_output=True, text=True)
    assert f"{killed}: taking over the lock left by process {proc.pid} " in resumed.stderr
    assert "resuming from" in resumed.stderr
    assert json.loads((killed / "manifest.json").read_text())["resumed_from"]
    return tmp_path / "straight", killed


@pytest.fixture
def killed_and_resumed() -> Callable[..., tuple[Path, Path]]:
    """The kill -9 / resume driver: `straight, killed = killed_and_resumed(tmp_path, config, kill_at)`."""
    return _killed_and_resumed
