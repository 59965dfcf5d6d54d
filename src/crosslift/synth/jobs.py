"""Run `crosslift` commands in child processes, at most `slots` at a time, in dependency order.

The demo's steps are ordinary `crosslift train` / `crosslift eval` runs of configs it writes; two jobs run side by
side on a two-core machine, one thread each (a tiny model gains little from a second thread, two runs nearly 2x).
A job's commands run one after the other in one child process (`python -m crosslift.cli.sequence`), so the ~7 s
of importing torch and transformers is paid once per job. Each child's progress lines are shown prefixed by the job's name.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from crosslift.errors import CrossliftError
from crosslift.io import atomic_write_text, sha256_file


@dataclass
class Job:
    """One `crosslift ...` command; `after` names the jobs it needs.

    A job that finished is stamped (``<log>.done`` holds the sha256 of its `configs` files); while they are
    unchanged, a later run skips it and reuses its result. `then`, when set, is called once the job is finished
    (or reused) and returns the jobs to run next: a step whose successor depends on its result.
    """

    name: str
    commands: list[list[str]]
    log: Path
    after: list[str] = field(default_factory=list)
    configs: list[Path] = field(default_factory=list)
    then: Callable[[], list[Job]] | None = None

    @property
    def stamp(self) -> Path:
        return self.log.with_name(self.log.name + ".done")

    def config_hash(self) -> str:
        return " ".join(sha256_file(path) for path in self.configs) or "no config"

    def done(self) -> bool:
        return self.stamp.is_file() and self.stamp.read_text(encoding="utf-8") == self.config_hash()


def _format_duration(seconds: float) -> str:
    seconds = int(seconds)
    return f"{seconds // 60}:{seconds % 60:02d}"


def _exit_on_sigterm(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)


class JobFailed(CrossliftError):
    """A step of the demo exited with an error; its log is named in the message."""


def run_jobs(
    jobs: list[Job],
    *,
    slots: int = 2,
    echo: Callable[[str], None] = print,
    quiet_lines: tuple[str, ...] = (),
    finished_before: tuple[str, ...] = (),
) -> dict[str, float]:
    """Run the jobs, `slots` at a time, each as soon as the jobs it names are finished.

    A job that is `done()` is skipped (its result is reused); `finished_before` names jobs of an earlier call
    that others may wait on. Output lines are echoed as "[name] line" and kept in the job's log file; lines
    containing any of `quiet_lines` go only to the log.

    Returns:
        Job name -> wall seconds (0.0 for skipped jobs).

    Raises:
        JobFailed: a job exited non-zero (the jobs still running are let finish; no new one starts).
        SystemExit: on SIGTERM. Whatever ends the call (this, Ctrl-C, an error) stops the jobs still running.
    """
    names = {job.name for job in jobs} | set(finished_before)
    unknown = [(job.name, dep) for job in jobs for dep in job.after if dep not in names]
    if unknown:
        raise ValueError(f"jobs name unknown dependencies: {unknown}")
    pending = list(jobs)
    by_name = {job.name: job for job in jobs}
    running: dict[str, tuple[subprocess.Popen, threading.Thread, float]] = {}
    finished: dict[str, float] = dict.fromkeys(finished_before, 0.0)
    failed: list[str] = []
    lock = threading.Lock()
    env = dict(os.environ, OMP_NUM_THREADS=str(max(1, (os.cpu_count() or 2) // slots)), PYTHONUNBUFFERED="1")

    def pump(job: Job, process: subprocess.Popen) -> None:
        with open(job.log, "a", encoding="utf-8") as log:
            for line in process.stdout:
                log.write(line)
                text = line.rstrip()
                if text and not any(q in text for q in quiet_lines):
                    with lock:
                        echo(f"[{job.name}] {text}")

    total, start = len(jobs) + len(finished_before), time.monotonic()

    def follow(job: Job) -> None:
        """Queue the jobs `job.then` adds ahead of those waiting: they continue a chain that others do not wait on."""
        nonlocal total
        successors = job.then() if job.then else []
        for successor in successors:
            if successor.name in by_name or any(dep not in names for dep in successor.after):
                raise ValueError(
                    f"job {job.name} adds {successor.name}, a name taken or with unknown dependencies"
                )
            by_name[successor.name] = successor
            names.add(successor.name)
        pending[:0] = successors
        total += len(successors)

    # A demo stopped by Ctrl-C, a kill or an error stops its steps too: an orphaned step would go on writing
    # into the run folder that a resumed demo takes up again.
    in_main_thread = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, _exit_on_sigterm) if in_main_thread else None
    try:
        while pending or running:
            for job in [j for j in pending if all(d in finished for d in j.after)]:
                if failed or len(running) >= slots:
                    break
                pending.remove(job)
                if job.done():
                    finished[job.name] = 0.0
                    echo(f"[{job.name}] already done, reused ({len(finished)}/{total})")
                    follow(job)
                    continue
                job.log.parent.mkdir(parents=True, exist_ok=True)
                for command in job.commands:
                    echo(f"[{job.name}] runs: crosslift {' '.join(command)}")
                process = subprocess.Popen(
                    [sys.executable, "-m", "crosslift.cli.sequence", json.dumps(job.commands)],
                    stdout=subprocess.PIPE,
                    stderr=subprocess.STDOUT,
                    text=True,
                    env=env,
                )
                thread = threading.Thread(target=pump, args=(job, process), daemon=True)
                thread.start()
                running[job.name] = (process, thread, time.monotonic())
            if failed and not running:
                break
            if pending and not running and not any(all(d in finished for d in j.after) for j in pending):
                raise ValueError(f"jobs wait on each other: {[j.name for j in pending]}")
            time.sleep(0.2)
            for name, (process, thread, began) in list(running.items()):
                if process.poll() is None:
                    continue
                thread.join()
                del running[name]
                if process.returncode != 0:
                    failed.append(name)
                    continue
                finished[name] = time.monotonic() - began
                atomic_write_text(by_name[name].stamp, by_name[name].config_hash())
                echo(
                    f"[{name}] finished in {_format_duration(finished[name])} "
                    f"({len(finished)}/{total} steps, {_format_duration(time.monotonic() - start)} so far)"
                )
                follow(by_name[name])
    finally:
        for process, _, _ in running.values():
            process.terminate()
        for process, _, _ in running.values():
            process.wait()
        if in_main_thread:
            signal.signal(signal.SIGTERM, previous)
    if failed:
        logs = ", ".join(str(by_name[name].log) for name in failed)
        raise JobFailed(f"step(s) {', '.join(failed)} failed; see {logs}")
    return finished
