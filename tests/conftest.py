"""Shared fixtures. Tests never reach the network: the hub is switched off before transformers is imported."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

for _var in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE", "TRANSFORMERS_OFFLINE"):
    os.environ[_var] = "1"
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("CROSSLIFT_SHARED_DATA", REPO_ROOT.parent / "shared" / "data"))


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The read-only data folder beside the checkout (../shared/data); skips the test when it is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"shared data not found at {SHARED_DATA}")
    return SHARED_DATA


@pytest.fixture
def register_language(tmp_path, monkeypatch):
    """Register a one-language table (code qxa) with the given script; the registry is restored afterwards."""
    from crosslift import languages

    monkeypatch.setenv(languages.LANGUAGES_ENV, "")
    monkeypatch.setattr(languages, "_registered_files", [])

    def register(script: str) -> Path:
        table = tmp_path / "synthetic.tsv"
        table.write_text(
            "code\tiso639_1\tiso639_3\tname\tscript\taliases\tother_names\n"
            f"qxa\t\tqxa\tSynthetic X-A\t{script}\t\t\n"
        )
        languages.register_languages(table)
        return table

    yield register
    languages._registered_files.clear()
    languages._registry.cache_clear()


# A process holding a run folder's lock (crosslift.runs.run_folder_lock) until its stdin closes, or killed with
# SIGKILL once it holds it; argv: folder, host name to record ("" = this one), LOCK_TIMEOUT_S, "kill" or "".
_HOLDER = """
import os, signal, socket, sys
folder, host, timeout, kill = sys.argv[1:]
if host:
    socket.gethostname = lambda: host
from crosslift import runs
runs.LOCK_TIMEOUT_S, runs.LOCK_HEARTBEAT_S = float(timeout), float(timeout) / 4
with runs.run_folder_lock(folder):
    print("held", flush=True)
    if kill:
        os.kill(os.getpid(), signal.SIGKILL)
    sys.stdin.read()
"""


@pytest.fixture
def run_folder_holder():
    """hold(folder, host="", timeout=LOCK_TIMEOUT_S, kill=False) -> pid: another process takes `folder`'s lock
    (recording `host` as its host name); with kill=True it is then killed with SIGKILL, leaving its lock file.
    A holder left alive lets go at the end of the test."""
    import subprocess
    import sys

    from crosslift.runs import LOCK_TIMEOUT_S

    alive = []

    def hold(folder: Path, host: str = "", timeout: float = LOCK_TIMEOUT_S, kill: bool = False) -> int:
        proc = subprocess.Popen(
            [sys.executable, "-c", _HOLDER, str(folder), host, str(timeout), "kill" if kill else ""],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert proc.stdout.readline() == "held\n"
        if kill:
            proc.wait(timeout=30)
        else:
            alive.append(proc)
        return proc.pid

    yield hold
    for proc in alive:
        proc.communicate(timeout=30)
