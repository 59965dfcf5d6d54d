"""What a user who installs crosslift from a wheel gets, outside this checkout (issue 21: a wheel without the demo's
configs could not start `crosslift demo`, and the suite, running from the checkout, never saw it).

The wheel is built from a copy of the checkout's package (pyproject.toml, README.md, src/) as `pip wheel .` builds
it. Its file list must hold every file the package reads at run time; and, in CI (`.ci/run`, after `make test`:
the `installed` marker, minutes), `crosslift demo --quick` runs from it in a fresh virtualenv, in an empty folder,
with an empty $HOME and cache."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import zipfile
from pathlib import Path
from typing import get_args

import pytest

import crosslift
from crosslift.config import ConfigKind, bundled_configs
from crosslift.eval.tasks.registry import builtin_task_dir

REPO = Path(__file__).resolve().parents[1]
PACKAGE = Path(crosslift.__file__).resolve().parent


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """The wheel of this checkout, built offline (setuptools from this environment, no dependencies)."""
    source = tmp_path_factory.mktemp("source")
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO / name, source / name)
    shutil.copytree(REPO / "src", source / "src", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    dist = tmp_path_factory.mktemp("dist")
    command = [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation"]
    subprocess.run([*command, "--wheel-dir", str(dist), str(source)], check=True, timeout=300)
    (built,) = dist.glob("crosslift-*.whl")
    return built


def in_wheel(path: Path) -> str:
    """A file of the package as the wheel names it."""
    return f"crosslift/{path.resolve().relative_to(PACKAGE).as_posix()}"


def test_the_wheel_holds_every_file_the_package_reads(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    configs = {kind: list(bundled_configs(kind).values()) for kind in get_args(ConfigKind)}
    assert all(configs.values()), configs  # every kind has bundled configs
    read = [
        *(path for paths in configs.values() for path in paths),  # crosslift.config's lookups
        *builtin_task_dir().rglob("*"),  # the task registry's YAMLs
        *(PACKAGE / "resources").rglob("*"),  # languages, tier rules, the catalogue, the tiny-model corpus
    ]
    assert [in_wheel(p) for p in read if p.is_file() and in_wheel(p) not in names] == []
    # and everything else in the package folder, so that a data file added where no lookup above goes is shipped
    package = [p for p in PACKAGE.rglob("*") if p.is_file() and "__pycache__" not in p.parts]
    assert [in_wheel(p) for p in package if in_wheel(p) not in names] == []


@pytest.mark.slow
@pytest.mark.installed
def test_the_demo_runs_from_the_wheel_in_a_fresh_virtualenv(wheel, tmp_path):
    venv = tmp_path / "venv"
    started = time.monotonic()
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    # torch stays at the pinned CPU wheel (pip finds it locally); an unpinned one pulls CUDA packages
    install = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"} | {
        "PIP_CONSTRAINT": str(REPO / "constraints.txt"),
        "PIP_DISABLE_PIP_VERSION_CHECK": "1",
    }
    subprocess.run(
        [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", str(wheel)],
        check=True,
        env=install,
        timeout=1800,
    )
    installed = time.monotonic()
    empty = {name: tmp_path / name for name in ("folder", "home", "cache")}
    for folder in empty.values():
        folder.mkdir()
    # nothing from this environment (no PYTHONPATH to the checkout, no cache, no home), and no network
    user = {
        "PATH": os.defpath,
        "HOME": str(empty["home"]),
        "CROSSLIFT_CACHE": str(empty["cache"]),
        "HF_HUB_OFFLINE": "1",
        "HF_DATASETS_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
    }
    where = subprocess.run(
        [str(venv / "bin" / "python"), "-c", "import crosslift; print(crosslift.__file__)"],
        cwd=empty["folder"],
        env=user,
        capture_output=True,
        text=True,
        check=True,
    )
    assert Path(where.stdout.strip()).is_relative_to(venv)
    demo = subprocess.run(
        [str(venv / "bin" / "crosslift"), "demo", "--quick"],
        cwd=empty["folder"],
        env=user,
        capture_output=True,
        text=True,
        timeout=3600,
    )
    assert demo.returncode == 0, demo.stdout[-3000:] + demo.stderr[-3000:]
    assert (empty["folder"] / "runs" / "demo" / "comparison.json").is_file()
    print(
        f"\nwheel -> fresh virtualenv: install {installed - started:.0f} s, "
        f"crosslift demo --quick {time.monotonic() - installed:.0f} s"
    )
