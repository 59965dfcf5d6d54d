"""The demo's building blocks: equation reading for the structure score, the job runner."""

from __future__ import annotations

import os
import signal

import pytest

from crosslift.synth import jobs as jobs_module
from crosslift.synth.jobs import Job, JobFailed, run_jobs
from crosslift.synth.report import equations, same_structure


def test_equations_read_any_digits_and_their_results():
    assert equations("Tom has 3 + 4 = 7 apples. Then 7 * 2 = 15.") == [
        ["3", "+", "4", "7"],
        ["7", "*", "2", "15"],
    ]
    assert equations("३ + ४ = ७") == [["3", "+", "4", "7"]]
    assert equations("The answer is 7.") == []
    assert equations("10-5=05") == [["10", "-", "5", "5"]]
    assert equations("2 * 3 = and then") == [["2", "*", "3", ""]]


def test_structure_forgives_a_slip_carried_forward_and_nothing_else():
    gold = equations("16 * 6 = 96. 96 + 3 = 99.")
    assert same_structure(equations("16 * 6 = 96. 96 + 3 = 99."), gold)
    assert same_structure(
        equations("16 * 6 = 78. 78 + 3 = 81."), gold
    )  # one slip, carried on: structure right
    assert not same_structure(equations("16 * 6 = 78. 96 + 3 = 99."), gold)  # did not use its own result
    assert not same_structure(equations("16 * 6 = 78. 78 - 3 = 75."), gold)  # wrong operator
    assert not same_structure(equations("16 * 6 = 96. 96 + 4 = 100."), gold)  # wrong operand
    assert not same_structure(equations("16 * 6 = 96."), gold)  # a step missing
    assert not same_structure(equations("16 + 6 = 22."), equations("16 * 6 = 96."))
    assert same_structure(equations("16 * 6 = 95."), equations("16 * 6 = 96."))


def test_jobs_run_in_dependency_order_and_are_reused_while_their_config_is_unchanged(tmp_path):
    lines: list[str] = []
    config = tmp_path / "step.yaml"
    config.write_text("a: 1\n")
    listing = ["eval", "--list-tasks"]  # a cheap, real child command
    jobs = [
        Job("b", [listing, listing], tmp_path / "b.log", after=["a", "earlier"], configs=[config]),
        Job("a", [listing], tmp_path / "a.log", configs=[config]),
    ]
    timings = run_jobs(jobs, echo=lines.append, finished_before=("earlier",))
    started = [line for line in lines if "runs: crosslift" in line]
    assert [s[:3] for s in started] == ["[a]", "[b]", "[b]"] and timings["a"] > 0
    assert "mmwp" in (tmp_path / "a.log").read_text()
    lines.clear()
    assert run_jobs(jobs, echo=lines.append, finished_before=("earlier",))["a"] == 0.0
    assert all("reused" in line for line in lines)
    config.write_text("a: 2\n")  # a changed step runs again
    lines.clear()
    run_jobs(jobs, echo=lines.append, finished_before=("earlier",))
    assert sum("runs: crosslift" in line for line in lines) == 3


def test_a_failing_job_names_its_log(tmp_path):
    jobs = [
        Job("bad", [["no-such-verb"]], tmp_path / "bad.log"),
        Job("after", [["eval", "--list-tasks"]], tmp_path / "x.log", ["bad"]),
    ]
    with pytest.raises(JobFailed, match="bad.log"):
        run_jobs(jobs, echo=lambda line: None)
    assert not (tmp_path / "x.log").exists()


def test_unknown_dependency_is_refused(tmp_path):
    with pytest.raises(ValueError, match="unknown"):
        run_jobs(
            [Job("a", [["eval", "--list-tasks"]], tmp_path / "a.log", after=["nope"])], echo=lambda line: None
        )


def test_a_job_can_add_the_jobs_that_follow_it_when_it_finishes(tmp_path):
    """The demo's stage 1 adds stage 2 (or a restart of itself) while the other jobs keep running."""
    lines: list[str] = []
    listing = ["eval", "--list-tasks"]
    asked: list[str] = []

    def after_first() -> list[Job]:
        asked.append("first")
        return [Job("added", [listing], tmp_path / "added.log", after=["first", "other"])]

    jobs = [
        Job("first", [listing], tmp_path / "first.log", then=after_first),
        Job("other", [listing], tmp_path / "other.log"),
    ]
    timings = run_jobs(jobs, echo=lines.append)
    assert set(timings) == {"first", "other", "added"} and asked == ["first"]
    assert any(line.startswith("[added] finished") and "(3/3 steps" in line for line in lines)
    # reused jobs still hand over their successors
    jobs[0].then = after_first
    assert set(run_jobs(jobs[:1] + [Job("other", [listing], tmp_path / "other.log")], echo=lines.append)) == {
        "first",
        "other",
        "added",
    }


def test_added_jobs_go_ahead_of_the_waiting_ones(tmp_path):
    lines: list[str] = []
    listing = ["eval", "--list-tasks"]
    jobs = [
        Job("first", [listing], tmp_path / "first.log"),
        Job("waiting", [listing], tmp_path / "waiting.log"),
    ]
    jobs[0].then = lambda: [Job("added", [listing], tmp_path / "added.log", after=["first"])]
    run_jobs(jobs, slots=1, echo=lines.append)
    started = [line.split("]")[0][1:] for line in lines if "runs: crosslift" in line]
    assert started == ["first", "added", "waiting"]


@pytest.mark.parametrize("stop", ["sigterm", "error"])
def test_stopping_the_jobs_stops_the_steps_they_run(tmp_path, monkeypatch, stop):
    started, handler = [], signal.getsignal(signal.SIGTERM)
    popen = jobs_module.subprocess.Popen

    def recording_popen(*args, **kwargs):
        started.append(popen(*args, **kwargs))
        return started[-1]

    def echo(line: str) -> None:
        if started:  # a step is running: stop the jobs now
            if stop == "sigterm":
                os.kill(os.getpid(), signal.SIGTERM)
            raise RuntimeError("stopped")

    monkeypatch.setattr(jobs_module.subprocess, "Popen", recording_popen)
    steps = [Job(name, [["eval", "--list-tasks"]], tmp_path / f"{name}.log") for name in ("a", "b")]
    with pytest.raises(SystemExit if stop == "sigterm" else RuntimeError):
        run_jobs(steps, echo=echo)
    # importing torch alone takes seconds: a step that has ended by now was stopped
    assert len(started) == 1 and started[0].poll() is not None
    assert signal.getsignal(signal.SIGTERM) is handler
