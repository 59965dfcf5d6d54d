"""Every command in the README's ```bash blocks runs, in order, as a user runs them: in a fresh copy of the
checkout with no ../shared beside it, an empty $HOME and an empty crosslift cache, so the README cannot drift from
what the tools do, and no command can lean on the development data in ../shared.

A block whose first line is the comment `# needs the network` (a download, a hub name, and what reads them) is
skipped there: the test runs offline. What the test changes in the others, and why, is listed in ADJUSTMENTS:
training runs stop after two steps and evaluations after two items of eight new tokens (the commands, not the
models, are under test); the one stage-2 run is told to go on past stage 1's alignment check (two steps need not
pass it). The commands `make demo` and `make test` are exercised elsewhere (MAKE_TARGETS).
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
README = REPO / "README.md"
NETWORK = "# needs the network"
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
METHODS = [  # the training commands of "The methods, on tiny models", in the order a user runs them
    "crosslift train configs/sft_tiny.yaml",
    "crosslift train configs/crossin/tiny.yaml",
    "crosslift train configs/plug/tiny.yaml",
    "crosslift train configs/lingualift/stage1_tiny.yaml",
    "crosslift train configs/lingualift/stage2_tiny.yaml",
]


def readme_blocks() -> list[tuple[bool, list[str]]]:
    """The README's ```bash blocks: whether each needs the network, and its commands (continuation lines joined,
    comments and blank lines dropped)."""
    blocks = []
    for block in re.findall(r"^```bash\n(.*?)^```", README.read_text(encoding="utf-8"), flags=re.S | re.M):
        commands = []
        for command in block.replace("\\\n", " ").splitlines():
            command = " ".join(shlex.split(command, comments=True))
            if command:
                commands.append(command)
        blocks.append((block.startswith(NETWORK), commands))
    return blocks


def readme_commands(*, network: bool | None = None) -> list[str]:
    """The README's commands in order: all of them, or those of the blocks that need the network (or not)."""
    return [c for needs, commands in readme_blocks() if network in (None, needs) for c in commands]


def test_readme_commands_are_known():
    """Each README command is run by test_every_readme_command_runs, covered where MAKE_TARGETS says, or marked
    as needing the network."""
    commands = readme_commands()
    assert commands[:2] == ["make demo", "make test"]
    for target, covered_by in MAKE_TARGETS.items():
        assert (REPO / covered_by).is_file() and target.split()[1] in (REPO / "Makefile").read_text()
    others = [c for c in commands if c not in MAKE_TARGETS]
    assert others and all(c.startswith("crosslift ") for c in others), others
    verbs = {c.split()[1] for c in others}
    assert verbs <= {"train", "eval", "data", "report", "judge", "demo", "tiny-models"}
    offline = readme_commands(network=False)
    # what reaches the network is marked: downloads, and hub datasets or models
    assert not [c for c in offline if c.startswith("crosslift data download") or "hf:" in c]
    # the methods run offline, in order (stage 2 after stage 1), with an evaluation after them
    assert [c for c in offline if c in METHODS] == METHODS
    assert any(c.startswith("crosslift eval") for c in offline[offline.index(METHODS[-1]) :])
    # the eval example that follows `make demo` uses the model `make demo` writes
    assert any(DEMO_MODEL in c for c in others if c.startswith("crosslift eval"))


def _fresh_checkout(tmp_path: Path) -> Path:
    """The files a clone of this working tree has (tracked, and new files git does not ignore), copied into
    tmp_path/checkout: the working tree's own state, with nothing beside it."""
    listed = subprocess.run(
        ["git", "-C", str(REPO), "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        capture_output=True,
        check=True,
    ).stdout.decode()
    work = tmp_path / "checkout"
    for name in filter(None, listed.split("\0")):
        source, target = REPO / name, work / name
        if not source.is_symlink() and not source.is_file():
            continue  # deleted in the working tree, or a submodule
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.is_symlink():
            target.symlink_to(os.readlink(source))
        else:
            shutil.copyfile(source, target)
    return work


@pytest.mark.slow
def test_every_readme_command_runs(tmp_path):
    if shutil.which("git") is None or not (REPO / ".git").exists():
        pytest.skip("needs a git checkout (the files a clone has)")
    work = _fresh_checkout(tmp_path)
    assert (work / "configs" / "sft_tiny.yaml").is_file() and not (tmp_path / "shared").exists()
    home, cache = tmp_path / "home", tmp_path / "cache"
    home.mkdir()
    cache.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CROSSLIFT_", "HF_HOME", "XDG_"))}
    env |= {"HOME": str(home), "CROSSLIFT_CACHE": str(cache), "HF_HUB_OFFLINE": "1", "CROSSLIFT_OFFLINE": "1"}
    env |= {"HF_DATASETS_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}

    for command in readme_commands(network=False):
        if command in MAKE_TARGETS:
            continue
        extra = next((v for k, v in ADJUSTMENTS.items() if command.startswith(k)), [])
        argv = [sys.executable, "-m", "crosslift", *shlex.split(command)[1:], *extra]
        proc = subprocess.run(argv, cwd=work, env=env, capture_output=True, text=True, timeout=600)
        output = f"{command}\n{proc.stdout[-2000:]}\n{proc.stderr[-4000:]}"
        assert proc.returncode == 0, output
        assert "shared/" not in proc.stdout + proc.stderr, output  # nothing reached for ../shared
    for run in ("sft_tiny", "crossin_tiny", "plug_tiny", "lingualift_stage1_tiny", "lingualift_stage2_tiny"):
        manifest = json.loads((work / "runs" / run / "manifest.json").read_text())
        assert manifest["status"] == "completed", run
        assert not [p for p in manifest.get("data", {}) if "shared" in p], run
    summary = json.loads((work / "runs" / "sft_tiny" / "eval" / "toy_math" / "summary.json").read_text())
    assert set(summary["languages"]) == {"en", "sw", "te", "zh"}
    assert not (tmp_path / "shared").exists() and not (cache / "data").exists()  # nothing was downloaded
