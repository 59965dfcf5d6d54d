"""Run directories and provenance: what a user gets back, and a record of exactly what produced it.

    runs/<name>/
      config.yaml     the resolved config, as run
      manifest.json   versions, git commit, seed, data hashes, models, hardware, timings, status
      checkpoints/    resumable Trainer checkpoints
      model/          final weights (safetensors) + tokenizer(s)

Starting a run in a directory that already holds the same config resumes it; a different config there is an
error (mixing two configs in one directory would make its results unattributable). The one exception is a longer
run: raising `training.max_steps` or `training.epochs` (and nothing else) extends a finished or interrupted run
from its last checkpoint (the learning-rate schedule is rebuilt for the new length); manifest.json lists every
extension.

A run claims its directory with its first result (a complete checkpoint, or the final model), not with its start:
a start that failed before any result (a wrong model path, a server that was down) leaves a config.yaml that the
corrected command replaces, with the failed start's manifest.json, instead of refusing it. (A run in progress
before its first checkpoint has not claimed its directory either: start two runs in one directory and the second
config wins.)

A run folder has one writer at a time (`run_folder_lock`): `crosslift train`, `eval`, `judge` and `demo` hold
its lock file while they write, so a second process started on the same folder (a requeued job whose first copy
still runs) is refused instead of writing beside the first.
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from importlib import metadata
from pathlib import Path
from typing import Any

import yaml
from filelock import LeaseSettingsMismatch, SoftFileLease, Timeout

from crosslift.catalogue import data_licenses
from crosslift.errors import ConfigError, CrossliftError
from crosslift.io import (
    atomic_write_json,
    atomic_write_yaml,
    check_writable,
    disk_errors,
    known_digest,
    sha256_path,
)

TRACKED_PACKAGES = (
    "crosslift",
    "torch",
    "transformers",
    "tokenizers",
    "peft",
    "accelerate",
    "datasets",
    "safetensors",
    "deepspeed",
    "vllm",
    "py3langid",
    "numpy",
    "pydantic",
)


def package_versions() -> dict[str, str]:
    """Installed versions of the packages that can change results (absent ones are left out)."""
    versions = {"python": platform.python_version()}
    for name in TRACKED_PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            pass
    return versions


def git_state() -> dict[str, Any] | None:
    """Commit and dirty flag of the crosslift checkout this code runs from (None when not a git checkout)."""
    src = Path(__file__).resolve().parent
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=src, capture_output=True, text=True, timeout=5, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=src,
            capture_output=True,
            text=True,
            timeout=5,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return {"commit": commit, "dirty": bool(dirty)}


def hardware() -> dict[str, Any]:
    """CPU and accelerator summary (imports torch lazily)."""
    info: dict[str, Any] = {"platform": platform.platform(), "cpu_count": os.cpu_count()}
    try:
        import torch

        info["torch_threads"] = torch.get_num_threads()
        if torch.cuda.is_available():
            info["cuda_devices"] = [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]
    except ImportError:
        pass
    return info


def data_hashes(paths: list[str | Path]) -> dict[str, str]:
    """SHA-256 of each input file or directory, keyed by the path as given; for data that is not a file (a hub
    dataset, ``hf:ORG/NAME``) the hash of its records taken when it was loaded (`crosslift.io.known_digest`)."""
    hashes = {str(p): sha256_path(p) for p in paths if Path(p).exists()}
    return hashes | {
        str(p): digest for p in paths if str(p) not in hashes and (digest := known_digest(str(p)))
    }


def provenance(
    *,
    seed: int | None = None,
    data_files: list[str | Path] = (),
    models: dict[str, str] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """The record every result file carries: versions, git commit, hardware, seed, data hashes (and the licenses
    of catalogued data, `crosslift.catalogue.data_licenses`), models."""
    record: dict[str, Any] = {
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "command": " ".join([Path(sys.argv[0]).name, *sys.argv[1:]]),
        "versions": package_versions(),
        "git": git_state(),
        "hardware": hardware(),
    }
    if seed is not None:
        record["seed"] = seed
    if models:
        record["models"] = models
    if data_files:
        record["data"] = data_hashes(list(data_files))
        if licenses := data_licenses(record["data"]):  # catalogued data: its license travels with the results
            record["data_licenses"] = licenses
    record.update(extra)
    return record


def _changes(old: Any, new: Any, prefix: str = "") -> list[tuple[str, Any, Any]]:
    """(key, old value, new value) of every leaf that differs, keys dotted (below `prefix`)."""
    if isinstance(old, dict) and isinstance(new, dict):
        out = []
        for k in sorted(set(old) | set(new), key=str):
            out += _changes(old.get(k), new.get(k), f"{prefix}.{k}" if prefix else str(k))
        return out
    return [] if old == new else [(prefix, old, new)]


def config_differences(old: Any, new: Any, prefix: str = "") -> list[str]:
    """Every leaf where two settings (nested mappings) differ, as ``"key.sub: old -> new"`` lines, keys sorted;
    `prefix` names the settings' own key (``config_differences(a, b, "model")`` gives ``"model.name: ..."``)."""
    return [f"{key}: {a!r} -> {b!r}" for key, a, b in _changes(old, new, prefix)]


# The keys whose raise makes a longer run of the same config (`RunDir.prepare` continues it).
EXTENDABLE = ("training.max_steps", "training.epochs")


def _is_extension(changes: list[tuple[str, Any, Any]]) -> bool:
    return bool(changes) and all(
        key in EXTENDABLE and isinstance(a, int | float) and isinstance(b, int | float) and b > a
        for key, a, b in changes
    )


_CHECKPOINT = re.compile(r"^checkpoint-(\d+)$")


class RunDir:
    """One run's directory. `prepare` creates it or, with the same config, reopens it to resume."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.config_path = self.path / "config.yaml"
        self.manifest_path = self.path / "manifest.json"
        self.checkpoints = self.path / "checkpoints"
        self.model = self.path / "model"

    @classmethod
    def prepare(cls, output_dir: str | Path, config: dict[str, Any]) -> RunDir:
        """Create the run directory for `config`, or reopen it when it already holds the same config.

        A config that only raises ``training.max_steps`` / ``training.epochs`` extends the run: it continues from
        the last complete checkpoint (Trainer rebuilds the schedule for the new length), and the extension is
        recorded in manifest.json under ``extensions``. A directory whose run wrote no result yet
        (`holds_results`) takes any config. Temporary files and folders of writers a kill stopped (the final
        model's, `crosslift.io.atomic_folder`) are removed: the caller holds the folder's `run_folder_lock`.

        Raises:
            ConfigError: any other difference, listed.
            DiskError: the directory cannot be written (`crosslift.io.check_writable`), found before any work.
        """
        run = cls(output_dir)
        check_writable(run.path)
        for leftover in run.path.glob(".*.tmp*"):
            shutil.rmtree(leftover) if leftover.is_dir() else leftover.unlink()
        if run.config_path.exists():
            previous = yaml.safe_load(run.config_path.read_text(encoding="utf-8"))
            changes = _changes(previous, config)
            if changes and not run.holds_results():
                run.manifest_path.unlink(missing_ok=True)  # the record of a start that produced nothing
                print(f"{run.path}: replacing the config of a run that wrote no result", file=sys.stderr)
            elif changes and not _is_extension(changes):
                lengths = [key for key, _, _ in changes if key in EXTENDABLE]
                hint = (
                    f"\n({', '.join(lengths)} may change alone, and only upwards: that extends the run)"
                    if lengths
                    else ""
                )
                changed = "\n  ".join(config_differences(previous, config))
                raise ConfigError(
                    f"{run.path} already holds a run with a different config:\n  {changed}{hint}"
                    "\nUse another output_dir, or delete that directory to start over."
                )
            elif changes:
                run._record_extension(changes)
        run.path.mkdir(parents=True, exist_ok=True)
        atomic_write_yaml(run.config_path, config)
        return run

    def _record_extension(self, changes: list[tuple[str, Any, Any]]) -> None:
        last = self.last_checkpoint()
        extension = {
            "at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "changes": {key: [a, b] for key, a, b in changes},
            "status_before": self.manifest().get("status"),
            "continues_from": last.name if last else None,
        }
        self.update_manifest(extensions=[*self.manifest().get("extensions", []), extension])
        changed = ", ".join(f"{key} {a} -> {b}" for key, a, b in changes)
        print(
            f"extending {self.path} ({changed}) from {extension['continues_from'] or 'the start'}",
            file=sys.stderr,
        )

    @property
    def resuming(self) -> bool:
        return self.last_checkpoint() is not None

    def holds_results(self) -> bool:
        """Whether the run wrote a result: a complete checkpoint or a final model (what claims the directory)."""
        return self.resuming or (self.model.is_dir() and any(self.model.iterdir()))

    def manifest(self) -> dict[str, Any]:
        if not self.manifest_path.exists():
            return {}
        return json.loads(self.manifest_path.read_text(encoding="utf-8"))

    def update_manifest(self, **fields: Any) -> dict[str, Any]:
        """Merge `fields` into manifest.json (atomically) and return the result."""
        previous = self.manifest()
        manifest = previous | fields
        if "created" in previous:  # a resumed run keeps its first start time; each session adds `updated`
            manifest["created"] = previous["created"]
            manifest["updated"] = fields.get("created", manifest.get("updated"))
        atomic_write_json(self.manifest_path, manifest)
        return manifest

    def complete_checkpoints(self) -> list[Path]:
        """Checkpoints whose save finished, oldest first.

        HF Trainer writes trainer_state.json last, so a checkpoint without a readable one was cut off by a kill.
        """
        if not self.checkpoints.is_dir():
            return []
        found = []
        for d in self.checkpoints.iterdir():
            m = _CHECKPOINT.match(d.name)
            if not m or not d.is_dir():
                continue
            try:
                state = json.loads((d / "trainer_state.json").read_text(encoding="utf-8"))
            except (OSError, json.JSONDecodeError):
                continue
            if state.get("global_step") == int(m.group(1)):
                found.append(d)
        return sorted(found, key=lambda d: int(d.name.split("-")[1]))

    def last_checkpoint(self) -> Path | None:
        done = self.complete_checkpoints()
        return done[-1] if done else None

    def remove_incomplete_checkpoints(self) -> list[Path]:
        """Delete checkpoint folders a kill left half-written, so that checkpoint rotation never counts them."""
        if not self.checkpoints.is_dir():
            return []
        complete = set(self.complete_checkpoints())
        removed = [d for d in self.checkpoints.iterdir() if _CHECKPOINT.match(d.name) and d not in complete]
        for d in removed:
            shutil.rmtree(d)
        return removed


# ---------------------------------------------------------------------------------------------------- one writer

# The lock file `run_folder_lock` holds in a run folder while a command writes there.
LOCK_FILE = ".crosslift.lock"
# A holder's background thread refreshes its lock file's time every LOCK_HEARTBEAT_S seconds. A lock left by a
# process that is gone from this host is taken over at once; one from another host (a node that died, on a shared
# file system) once its file went LOCK_TIMEOUT_S seconds without a refresh: it must look that old by this host's
# clock, and stay unchanged that long while the new process watches it (so neither a skewed clock nor a
# file system's cached file times can hand a live holder's folder to a second writer). Every process must agree
# on LOCK_TIMEOUT_S: the lock file records it, and a holder with another value is an error.
LOCK_HEARTBEAT_S = 30.0
LOCK_TIMEOUT_S = 300.0


def is_main_process() -> bool:
    """Rank 0 of a torchrun / accelerate launch (or a single process): the one that writes the run folder."""
    return int(os.environ.get("RANK", "0")) == 0


def close_process_group() -> None:
    """End this process's part in torch.distributed once its command is done: the ranks wait for each other, then
    the group is destroyed. Left to interpreter exit, the group's threads can abort a rank whose work is done
    ("terminate called without an active exception"), and torchrun then reports the whole run as failed."""
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()


class RunFolderBusy(CrossliftError):
    """Another process is writing the run folder (its host and process id are in the message)."""


def _holder(lock: SoftFileLease) -> str:
    owner = lock.owner
    return "another process" if owner is None else f"process {owner.pid} on host {owner.hostname}"


def _unrefreshed_s(path: Path) -> float | None:
    """Seconds since the lock file at `path` was last refreshed, by this host's clock (None: it is gone)."""
    try:
        return time.time() - path.stat().st_mtime
    except FileNotFoundError:
        return None


def _busy(folder: Path, lock: SoftFileLease) -> RunFolderBusy:
    age = _unrefreshed_s(Path(lock.lock_file))
    refreshed = f"; its lock was refreshed {max(age, 0):.0f} s ago" if age is not None else ""
    return RunFolderBusy(
        f"{folder} is being written by {_holder(lock)}{refreshed}: wait for it to finish or stop it, then "
        "rerun the same command (one process writes a run folder at a time; the lock of a killed one is taken "
        "over)"
    )


def _take_over_from_another_host(folder: Path, lock: SoftFileLease) -> None:
    """Take a lock whose holder stopped refreshing it `LOCK_TIMEOUT_S` ago, once it stays unchanged that long.

    Raises:
        RunFolderBusy: the holder refreshed it lately (or does so while we watch), or it is no lease of ours.
    """
    age = _unrefreshed_s(Path(lock.lock_file))
    owner = lock.owner
    if owner is None or owner.lease_duration != LOCK_TIMEOUT_S or age is None or age < LOCK_TIMEOUT_S:
        raise _busy(folder, lock)
    print(
        f"{folder}: {_holder(lock)} has not refreshed its lock for {age / 60:.0f} min; taking it over if it "
        f"stays unchanged for another {LOCK_TIMEOUT_S:.0f} s",
        file=sys.stderr,
    )
    try:
        lock.acquire(timeout=LOCK_TIMEOUT_S + 2 * LOCK_HEARTBEAT_S, poll_interval=LOCK_TIMEOUT_S / 100)
    except Timeout:
        raise _busy(folder, lock) from None


@contextlib.contextmanager
def run_folder_lock(folder: str | Path) -> Iterator[None]:
    """Hold `folder`'s lock file (`LOCK_FILE`) while the block writes the folder: one writer per run folder.

    The lock file names its holder (host, process id, the process's start) and is refreshed by a background
    thread; it is removed when the block ends (and the folder too when the block created it and wrote nothing).
    A second process is refused at once while the holder runs. A lock left by a killed process is taken over
    with a note on stderr, so the same command resumes: at once when the holder was on this host and its process
    is gone; after `LOCK_TIMEOUT_S` without a refresh when it was on another host. Under torchrun / accelerate
    launch the main process holds it for all ranks (the others share it), and a launcher stops the other ranks
    when the main one is refused.

    The lock is filelock's `SoftFileLease`: a file created exclusively, which works on network file systems
    (NFS, Lustre) where OS locks (flock) are missing or outlive a dead node, with its holder's identity, the
    heartbeat and an atomic takeover.

    Raises:
        RunFolderBusy: another process holds the lock (the message names its host and process id).
        DiskError: the folder cannot be written (`crosslift.io.check_writable`).
    """
    if not is_main_process():
        yield
        return
    folder = check_writable(folder)
    lock = SoftFileLease(
        folder / LOCK_FILE, lease_duration=LOCK_TIMEOUT_S, heartbeat_interval=LOCK_HEARTBEAT_S, timeout=0
    )
    with disk_errors(folder):
        created = not folder.exists()
        folder.mkdir(parents=True, exist_ok=True)
        left = lock.owner  # a killed holder's, when the acquisition succeeds at once
        try:
            lock.acquire()  # a holder gone from this host is taken over here
        except (Timeout, LeaseSettingsMismatch):
            left = lock.owner
            _take_over_from_another_host(folder, lock)
    if left is not None:
        print(
            f"{folder}: taking over the lock left by process {left.pid} on host {left.hostname}",
            file=sys.stderr,
        )
    try:
        yield
    finally:
        lock.release()
        if (
            created
        ):  # a command that failed before it wrote leaves no folder (rmdir removes only an empty one)
            with contextlib.suppress(OSError):
                folder.rmdir()
