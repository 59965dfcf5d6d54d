"""Disks that refuse writes (read-only, full, a path through a file) through the verbs that write: each ends
with one line naming the path and what to do (exit 2, no traceback), before the work when the folder was bad
from the start, and leaves what a rerun needs: after the disk is fixed, the same command finishes the work.

How the faults are made, without root and without a tiny file system of our own:
- a path through a regular file (ENOTDIR) is real everywhere, and shows that every verb checks its output
  folder before it starts (had it started, it would have complained about its missing inputs first);
- a read-only folder is real too: chmod 0o555 for a normal user; tests run as root here, whom permissions do
  not stop, so for root the folder is bind-mounted read-only in a private user and mount namespace
  (`unshare -rm`, which unprivileged users and root in a container usually may do): a read-only disk's EROFS;
- a full disk in this process: `os.fsync` starts failing with ENOSPC at a chosen file, and from then on for
  every file, as on a disk that has just filled up (every crosslift writer syncs what it writes);
- a full disk for torch.save, which writes from C++ where no Python patch reaches: a child process with a
  file-size limit (RLIMIT_FSIZE; Python ignores SIGXFSZ, so the write fails with EFBIG), set between the size
  of the weights and that of the optimizer state, so that a checkpoint's optimizer.pt is cut off: torch's
  real error.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from crosslift.cli import main

LEXICON = "apple Apfel\npear Birne\n"
THROUGH_A_FILE = "{}: a part of this path is a file, not a folder; choose another output path"
TEXTS = ["an apple", "a pear", "an apple and a pear"]


def one_error_line(err: str, verb: str) -> str:
    lines = [line for line in err.splitlines() if line.startswith(f"crosslift {verb}: error: ")]
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


@pytest.fixture
def codeswitch(tmp_path: Path) -> Callable[[Path], list[str]]:
    """args(out) -> `crosslift data codeswitch` of three English lines with a two-word German lexicon."""
    (tmp_path / "lex").mkdir()
    (tmp_path / "lex" / "en-de.txt").write_text(LEXICON)
    (tmp_path / "in.jsonl").write_text("".join(json.dumps({"text": t}) + "\n" for t in TEXTS))
    return lambda out: [
        "data",
        "codeswitch",
        "--input",
        str(tmp_path / "in.jsonl"),
        "--field",
        "text",
        "--lexicon",
        str(tmp_path / "lex"),
        "--languages",
        "de",
        "--ratio",
        "1",
        "--out",
        str(out),
    ]


# --------------------------------------------------------------------------------------------- through a file


def verb_args(out: Path, tmp: Path) -> dict[str, list[str]]:
    """Every verb that writes, with its output folder at `out`; none of their inputs exist."""
    missing = str(tmp / "missing.jsonl")
    return {
        "data codeswitch": [
            "data",
            "codeswitch",
            "--input",
            missing,
            "--field",
            "text",
            "--lexicon",
            missing,
            "--languages",
            "de",
            "--out",
            str(out / "cs.jsonl"),
        ],
        "data crossin": ["data", "crossin", "--parallel", f"en={missing}", "--out", str(out / "x.jsonl")],
        "data plug": [
            "data",
            "plug",
            "--pivot",
            f"en={missing}",
            "--target",
            f"sw={missing}",
            "--out",
            str(out / "p.jsonl"),
        ],
        "data mix": ["data", "mix", "--source", missing, "--size", "1", "--out", str(out / "m.jsonl")],
        "data translate": [
            "data",
            "translate",
            "--input",
            missing,
            "--language",
            "sw",
            "--base-url",
            "http://127.0.0.1:9/v1",
            "--model",
            "m",
            "--out",
            str(out / "t.jsonl"),
        ],
        "data lexicon-stats": ["data", "lexicon-stats", "--lexicon", missing, "--out", str(out / "s.json")],
        "data validate": ["data", "validate", missing, "--out", str(out / "v.json")],
        "data download": ["data", "download", "mmwp", "--to", str(out)],
        "eval": ["eval", "--task", "mmwp", "--languages", "en", "--model", "tiny:llama", "--out", str(out)],
        "judge": [
            "judge",
            "--a",
            str(tmp / "a"),
            "--b",
            str(tmp / "b"),
            "--judge",
            "http://127.0.0.1:9/v1",
            "--out",
            str(out),
        ],
        "report": ["report", str(tmp / "a"), str(tmp / "b"), "--out", str(out)],
        "demo": ["demo", "--quick", "--out", str(out)],
        "tiny-models": ["tiny-models", "--out", str(out)],
    }


@pytest.mark.parametrize("verb", list(verb_args(Path("o"), Path("t"))))
def test_every_verb_checks_its_output_folder_before_it_starts(tmp_path, capsys, verb):
    blocker = tmp_path / "results"  # a file where the output folder's parent should be
    blocker.write_text("not a folder\n")
    assert main(verb_args(blocker / "run", tmp_path)[verb]) == 2
    line = one_error_line(capsys.readouterr().err, verb.split()[0])
    assert line.endswith(THROUGH_A_FILE.format(blocker))
    assert blocker.read_text() == "not a folder\n"


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (OSError(errno.ENOSPC, "No space left on device"), "the disk is full ("),
        (
            RuntimeError("[enforce fail at inline_container.cc:672] . unexpected pos 5 vs 4"),
            "could not write it",
        ),
    ],
)
def test_a_write_outside_crosslifts_writers_is_one_line_too(tmp_path, capsys, monkeypatch, error, expected):
    """A library's own write (a plot, a tokenizer, torch.save) that the disk refuses, and that names no file:
    the line names the command's output folder."""
    from crosslift.cli import tiny_models

    def write(args):
        raise error

    monkeypatch.setattr(tiny_models, "run", write)
    assert main(["tiny-models", "--out", str(tmp_path / "models")]) == 2
    assert one_error_line(capsys.readouterr().err, "tiny-models").startswith(
        f"crosslift tiny-models: error: {tmp_path / 'models'}: {expected}"
    )
    monkeypatch.setattr(tiny_models, "run", lambda args: 1 / 0)  # anything else is a bug: its traceback stays
    with pytest.raises(ZeroDivisionError):
        main(["tiny-models", "--out", str(tmp_path / "models")])


def write_train_config(tmp_path: Path, output_dir: Path, **training) -> Path:
    data = tmp_path / "arith.jsonl"
    rows = [
        {"instruction": f"What is {a} plus {b}?", "input": "", "output": f"{a} + {b} = {a + b}."}
        for a in range(3, 30, 3)
        for b in range(2, 20, 4)
    ]
    data.write_text("".join(json.dumps(r) + "\n" for r in rows))
    config = {
        "recipe": "sft",
        "name": "t",
        "output_dir": str(output_dir),
        "seed": 3,
        "model": {"name_or_path": "tiny:llama", "dtype": "float32"},
        "data": {"train": [{"path": str(data)}], "max_length": 128},
        "training": {
            "max_steps": 2,
            "batch_size": 8,
            "learning_rate": 2e-3,
            "save_steps": 2,
            "logging_steps": 1,
            "lr_scheduler": "constant",
            "save_total_limit": 3,
        }
        | training,
    }
    path = tmp_path / "sft.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def test_train_checks_its_run_folder_before_it_loads_the_model(tmp_path, capsys, monkeypatch):
    blocker = tmp_path / "runs"
    blocker.write_text("")
    from crosslift.train import sft

    def too_early(*args, **kwargs):
        raise AssertionError("the tokenizer was loaded before the run folder was checked")

    monkeypatch.setattr(sft, "load_tokenizer", too_early)
    assert main(["train", str(write_train_config(tmp_path, blocker / "sft"))]) == 2
    line = one_error_line(capsys.readouterr().err, "train")
    assert line.endswith(THROUGH_A_FILE.format(blocker))


# -------------------------------------------------------------------------------------------------- read-only


@dataclass
class ReadOnly:
    """`folder` is read-only for commands that start with `prefix`, until `fix()`; they fail with `expected`
    (the end of the error line)."""

    folder: Path
    prefix: list[str]
    expected: str
    fix: Callable[[], None]


@pytest.fixture
def read_only(tmp_path: Path) -> Iterator[ReadOnly]:
    folder = tmp_path / "ro"
    folder.mkdir()
    if os.geteuid() != 0:
        folder.chmod(0o555)
        yield ReadOnly(
            folder,
            [],
            "permission denied; give this user access to it, or use another folder",
            lambda: folder.chmod(0o755),
        )
        folder.chmod(0o755)
        return
    unshare = shutil.which("unshare")
    if unshare is None or subprocess.run([unshare, "-rm", "true"], capture_output=True).returncode != 0:
        pytest.skip("root, and no user namespaces (unshare -rm) to mount a folder read-only in")
    remount = 'mount --bind "$0" "$0" && mount -o remount,bind,ro "$0" "$0" && exec "$@"'
    yield ReadOnly(
        folder,
        [unshare, "-rm", "sh", "-c", remount, str(folder)],
        "the file system is read-only; write the output to a folder on a writable disk",
        lambda: None,
    )


def test_codeswitch_into_a_read_only_folder_fails_before_the_work(read_only, codeswitch):
    """The issue's case: codeswitch did all its work, then died with a raw `OSError: [Errno 30]`."""
    command = [sys.executable, "-m", "crosslift", *codeswitch(read_only.folder / "cs.jsonl")]
    result = subprocess.run([*read_only.prefix, *command], capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    assert one_error_line(result.stderr, "data").endswith(f"{read_only.folder}: {read_only.expected}")
    assert "covered words" not in result.stderr  # the statistics table: the work never ran
    assert list(read_only.folder.iterdir()) == []
    read_only.fix()  # the same command now runs
    assert subprocess.run(command, capture_output=True, timeout=120).returncode == 0
    assert len((read_only.folder / "cs.jsonl").read_text().splitlines()) == len(TEXTS)


# ------------------------------------------------------------------------------------------------------- full


class FillingDisk:
    """`os.fsync` that, after `fill(name, after=N)`, fails with ENOSPC from the N+1-th sync of a file whose
    path contains `name` on, and then for every file, until `free()`."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.real = os.fsync
        self.name, self.after, self.seen, self.full = "", 0, 0, False
        monkeypatch.setattr(os, "fsync", self.fsync)

    def fill(self, name: str, *, after: int = 0) -> None:
        self.name, self.after, self.seen, self.full = name, after, 0, False

    def free(self) -> None:
        self.name, self.full = "", False

    def fsync(self, fd: int) -> None:
        if self.name and not self.full and self.name in os.readlink(f"/proc/self/fd/{fd}"):
            self.seen += 1
            self.full = self.seen > self.after
        if self.full:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        self.real(fd)


@pytest.fixture
def disk(monkeypatch) -> FillingDisk:
    if not Path("/proc/self/fd").is_dir():
        pytest.skip("needs /proc/self/fd to tell which file is synced")
    return FillingDisk(monkeypatch)


def test_codeswitch_on_a_full_disk_leaves_no_half_file_and_reruns(disk, codeswitch, tmp_path, capsys):
    out = tmp_path / "out" / "cs.jsonl"
    disk.fill("cs.jsonl")
    assert main(codeswitch(out)) == 2
    line = one_error_line(capsys.readouterr().err, "data")
    assert f"{out}: the disk is full (" in line
    assert line.endswith("free some space or write the output to another disk, then rerun the same command")
    assert list(out.parent.iterdir()) == []  # no output, no temporary file, no manifest
    disk.free()
    assert main(codeswitch(out)) == 0
    assert [json.loads(r)["instruction"] for r in out.read_text().splitlines()] == [
        "an Apfel",
        "a Birne",
        "an Apfel and a Birne",
    ]


def test_eval_on_a_disk_that_fills_up_stops_with_one_line_and_resumes(disk, shared_data, tmp_path, capsys):
    """The issue's case: a raw ENOSPC traceback. Items stored before the disk filled up are kept and not
    generated again; the rerun adds the others."""
    out = tmp_path / "out"
    args = [
        "eval",
        "--task",
        "mmwp",
        "--data-dir",
        str(shared_data / "mmwp"),
        "--languages",
        "en,sw",
        "--limit",
        "3",
        "--model",
        "tiny:llama",
        "--max-new-tokens",
        "4",
        "--batch-size",
        "1",
        "--out",
        str(out),
    ]
    items = out / "eval" / "mmwp" / "items.jsonl"
    disk.fill("items.jsonl", after=2)
    assert main(args) == 2
    line = one_error_line(capsys.readouterr().err, "eval")
    assert f"{items}: the disk is full (" in line and line.endswith("then rerun the same command")
    kept = [json.loads(r) for r in items.read_text().splitlines()]
    assert 2 <= len(kept) < 6
    disk.free()
    assert main(args) == 0
    summary = json.loads((items.parent / "summary.json").read_text())
    assert summary["timing"]["items_generated"] == 6 - len(kept)
    assert {lang: entry["n_items"] for lang, entry in summary["languages"].items()} == {"en": 3, "sw": 3}
    assert [json.loads(r) for r in items.read_text().splitlines()][: len(kept)] == kept


@pytest.mark.slow
def test_train_on_a_full_disk_names_the_checkpoint_and_resumes(tmp_path):
    """The issue's case: torch.save's `RuntimeError: [enforce fail at inline_container.cc:672]`, which never
    mentions the disk. A finished 2-step run is extended to 4 steps in a child whose files may not outgrow the
    weights by half: checkpoint-4's optimizer.pt (twice the weights) is cut off by the real write error."""
    from crosslift.train import train

    run = tmp_path / "run"
    config = write_train_config(tmp_path, run)
    assert train(config).manifest()["status"] == "completed"  # checkpoint-2, complete
    limit = (run / "model" / "model.safetensors").stat().st_size * 3 // 2
    child = (
        f"import resource, runpy, sys; resource.setrlimit(resource.RLIMIT_FSIZE, ({limit}, {limit})); "
        f"sys.argv = ['crosslift', 'train', {str(config)!r}, 'training.max_steps=4']; "
        "runpy.run_module('crosslift', run_name='__main__')"
    )
    result = subprocess.run([sys.executable, "-c", child], capture_output=True, text=True, timeout=300)
    assert result.returncode == 2, result.stderr
    line = one_error_line(result.stderr, "train")
    assert f"{run / 'checkpoints' / 'checkpoint-4'}: could not write it" in line
    assert "inline_container.cc" in line and "check the disk and the file-size limit (ulimit -f)" in line
    assert line.endswith("then rerun the same command (checkpoint-2 is complete: a rerun resumes from it)")
    assert not (run / "checkpoints" / "checkpoint-4").exists()  # the cut checkpoint, removed
    # space again: the same command resumes from checkpoint-2 and finishes
    resumed = train(config, ["training.max_steps=4"])
    manifest = resumed.manifest()
    assert manifest["status"] == "completed" and manifest["training"]["global_step"] == 4
    assert manifest["resumed_from"][-1] == "checkpoint-2"
