"""Every command in the README's ```bash blocks runs, in order, in a fresh folder beside ../shared (as a user runs
them from the checkout), so the README cannot drift from what the tools do.

What the test changes, and why, is listed in ADJUSTMENTS: training runs stop after two steps and evaluations after
two items of eight new tokens (the commands, not the models, are under test); the one stage-2 run is told to go
on past stage 1's alignment check (two steps cannot pass it); `crosslift data download` fetches from a server on
127.0.0.1 (a catalogue in $CROSSLIFT_CATALOGUE points MMWP at it, serving the files of ../shared/data/mmwp). The
commands `make demo` and `make test` are exercised elsewhere (MAKE_TARGETS), and the model `make demo` leaves in
runs/demo/ is stood in for by a tiny Llama.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
README = REPO / "README.md"
CONFIGS = REPO / "src" / "crosslift" / "configs"
# make targets -> the tests that run what they run (CI runs `make test` itself)
MAKE_TARGETS = {"make demo": "tests/synth/test_demo.py", "make test": ".ci/run"}
DEMO_MODEL = (
    "runs/demo/seed0/baseline/model"  # what `make demo` (default config, seed 0) leaves for the baseline
)
FAST_TRAINING = ["training.max_steps=2", "training.save_steps=2"]
FAST_EVAL = ["--limit", "2", "--max-new-tokens", "8"]
ADJUSTMENTS = {  # command prefix -> what is appended to it here
    "crosslift train configs/lingualift/stage2_tiny.yaml": [*FAST_TRAINING, "on_failed_alignment=warn"],
    "crosslift train": FAST_TRAINING,
    "crosslift eval": FAST_EVAL,
}


def readme_commands() -> list[str]:
    """The commands of the README's ```bash blocks: continuation lines joined, comments and blank lines dropped."""
    commands = []
    for block in re.findall(r"^```bash\n(.*?)^```", README.read_text(encoding="utf-8"), flags=re.S | re.M):
        for command in block.replace("\\\n", " ").splitlines():
            command = " ".join(shlex.split(command, comments=True))
            if command:
                commands.append(command)
    return commands


def test_readme_commands_are_known():
    """Each README command is either run by test_every_readme_command_runs or covered where MAKE_TARGETS says."""
    commands = readme_commands()
    assert commands[:2] == ["make demo", "make test"]
    for target, covered_by in MAKE_TARGETS.items():
        assert (REPO / covered_by).is_file() and target.split()[1] in (REPO / "Makefile").read_text()
    others = [c for c in commands if c not in MAKE_TARGETS]
    assert others and all(c.startswith("crosslift ") for c in others), others
    verbs = {c.split()[1] for c in others}
    assert verbs <= {"train", "eval", "data", "report", "judge", "demo", "tiny-models"}
    # the eval example that follows `make demo` uses the model `make demo` writes
    assert any(DEMO_MODEL in c for c in others if c.startswith("crosslift eval"))


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def mmwp_origin(shared_data, tmp_path):
    """A server on 127.0.0.1 holding MMWP's en/sw/te files, and a catalogue naming it as MMWP's origin."""
    from crosslift.catalogue import get_dataset

    source = shared_data / "mmwp"
    handler = functools.partial(_Quiet, directory=str(source))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    files = [
        {
            "name": f"test_{lang}.json",
            "bytes": (source / f"test_{lang}.json").stat().st_size,
            "sha256": hashlib.sha256((source / f"test_{lang}.json").read_bytes()).hexdigest(),
        }
        for lang in ("en", "sw", "te")
    ]
    entry = get_dataset("mmwp").model_dump(exclude={"name", "files", "base_url"}, exclude_none=True)
    entry |= {"base_url": f"http://127.0.0.1:{server.server_address[1]}/", "files": files}
    catalogue = tmp_path / "catalogue.json"
    catalogue.write_text(json.dumps({"version": 1, "datasets": {"mmwp": entry}}))
    yield catalogue
    server.shutdown()
    server.server_close()


def _environment(tmp_path: Path, catalogue: Path) -> dict[str, str]:
    cache = tmp_path / "cache"
    cache.mkdir()
    tiny = Path(os.environ.get("CROSSLIFT_CACHE", Path.home() / ".cache" / "crosslift")) / "tiny-models"
    if tiny.is_dir():  # reuse the tiny models already built on this machine
        (cache / "tiny-models").symlink_to(tiny)
    env = os.environ | {"CROSSLIFT_CACHE": str(cache), "CROSSLIFT_CATALOGUE": str(catalogue)}
    # the data download goes to 127.0.0.1 only; the hub stays off for everything else (HF_DATASETS_OFFLINE)
    return env | {"HF_HUB_OFFLINE": "0", "CROSSLIFT_OFFLINE": "0"}


@pytest.mark.slow
def test_every_readme_command_runs(shared_data, mmwp_origin, tmp_path):
    work = tmp_path / "checkout"  # ../shared from here is the shared data, as from the repository root
    work.mkdir()
    (tmp_path / "shared").mkdir()
    (tmp_path / "shared" / "data").symlink_to(shared_data)
    (work / "configs").symlink_to(CONFIGS)
    env = _environment(tmp_path, mmwp_origin)
    # stand-in for the baseline model that `make demo` writes (the demo itself runs in tests/synth/test_demo.py)
    subprocess.run(
        [
            sys.executable,
            "-m",
            "crosslift",
            "tiny-models",
            "--out",
            str(tmp_path / "tiny"),
            "--kinds",
            "llama",
        ],
        cwd=work,
        env=env,
        check=True,
        capture_output=True,
    )
    (work / DEMO_MODEL).parent.mkdir(parents=True)
    shutil.copytree(tmp_path / "tiny" / "llama", work / DEMO_MODEL)

    for command in (c for c in readme_commands() if c not in MAKE_TARGETS):
        extra = next((v for k, v in ADJUSTMENTS.items() if command.startswith(k)), [])
        argv = [sys.executable, "-m", "crosslift", *shlex.split(command)[1:], *extra]
        proc = subprocess.run(argv, cwd=work, env=env, capture_output=True, text=True, timeout=600)
        assert proc.returncode == 0, f"{command}\n{proc.stdout[-2000:]}\n{proc.stderr[-4000:]}"
    assert (work / "runs" / "sft_tiny" / "eval" / "mmwp" / "summary.json").is_file()
    summary = json.loads((work / "runs" / "demo_mmwp" / "eval" / "mmwp" / "summary.json").read_text())
    assert set(summary["languages"]) == {"en", "sw", "te"}
    assert (tmp_path / "cache" / "data" / "mmwp" / "test_sw.json").is_file()  # read from the download cache
