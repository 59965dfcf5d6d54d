import json
import os
import re
import socket
import time

import pytest
import yaml
from filelock import SoftFileLease

from crosslift import runs
from crosslift.errors import ConfigError
from crosslift.runs import LOCK_FILE, RunDir, RunFolderBusy, config_differences, provenance, run_folder_lock


def _complete_checkpoint(run: RunDir, step: int) -> None:
    (run.checkpoints / f"checkpoint-{step}").mkdir(parents=True)
    (run.checkpoints / f"checkpoint-{step}" / "trainer_state.json").write_text(
        json.dumps({"global_step": step})
    )


def test_prepare_same_config_reopens_and_different_config_refuses(tmp_path):
    cfg = {"a": 1, "b": {"c": 2}}
    run = RunDir.prepare(tmp_path / "r", cfg)
    assert (run.path / "config.yaml").exists()
    _complete_checkpoint(run, 5)  # the run's first result claims the directory
    RunDir.prepare(tmp_path / "r", cfg)
    with pytest.raises(ConfigError, match=r"b\.c: 2 -> 3"):
        RunDir.prepare(tmp_path / "r", {"a": 1, "b": {"c": 3}})


def test_a_start_that_wrote_no_result_does_not_claim_the_directory(tmp_path, capsys):
    failed = RunDir.prepare(tmp_path / "r", {"model": "/no/such/model"})
    failed.update_manifest(created="yesterday", status="running")
    (failed.checkpoints / "checkpoint-2").mkdir(parents=True)  # cut off before its trainer_state.json
    assert not failed.holds_results()
    run = RunDir.prepare(tmp_path / "r", {"model": "tiny:llama"})
    assert yaml.safe_load(run.config_path.read_text()) == {"model": "tiny:llama"}
    assert (
        run.manifest() == {}
        and "replacing the config of a run that wrote no result" in capsys.readouterr().err
    )
    (run.model).mkdir()
    (run.model / "model.safetensors").write_bytes(b"weights")  # a final model claims it too
    assert run.holds_results()
    with pytest.raises(ConfigError, match="model: 'tiny:llama' -> '/no/such/model'"):
        RunDir.prepare(tmp_path / "r", {"model": "/no/such/model"})


def test_config_differences_list_every_changed_leaf_under_a_prefix():
    old, new = (
        {"name": "m", "sub": {"a": 1, "b": 2}},
        {"name": "m", "sub": {"a": 1, "b": 3, "c": None}, "x": 1},
    )
    assert config_differences(old, new) == ["sub.b: 2 -> 3", "x: None -> 1"]
    assert config_differences(old, new, "model") == ["model.sub.b: 2 -> 3", "model.x: None -> 1"]
    assert config_differences(None, {"a": 1}, "model") == ["model: None -> {'a': 1}"]
    assert config_differences(old, old, "model") == []


def test_checkpoint_completeness(tmp_path):
    run = RunDir.prepare(tmp_path / "r", {})
    for step, state in [(10, {"global_step": 10}), (20, {"global_step": 20}), (30, None)]:
        d = run.checkpoints / f"checkpoint-{step}"
        d.mkdir(parents=True)
        if state is not None:
            (d / "trainer_state.json").write_text(json.dumps(state))
    (run.checkpoints / "checkpoint-40").mkdir()
    (run.checkpoints / "checkpoint-40" / "trainer_state.json").write_text('{"global_st')  # torn write
    assert run.last_checkpoint().name == "checkpoint-20"
    removed = sorted(d.name for d in run.remove_incomplete_checkpoints())
    assert removed == ["checkpoint-30", "checkpoint-40"]
    assert sorted(d.name for d in run.checkpoints.iterdir()) == ["checkpoint-10", "checkpoint-20"]


def test_provenance_records_versions_seed_and_hashes(tmp_path):
    f = tmp_path / "d.jsonl"
    f.write_text("{}\n")
    rec = provenance(seed=3, data_files=[f], models={"model": "tiny:llama"})
    assert rec["seed"] == 3
    assert rec["versions"]["torch"].startswith("2.13.0")
    assert "transformers" in rec["versions"]
    assert len(rec["data"][str(f)]) == 64
    assert rec["models"] == {"model": "tiny:llama"}


def test_raising_the_length_extends_the_run_and_anything_else_is_refused(tmp_path, capsys):
    cfg = {"lr": 1, "training": {"max_steps": 10, "epochs": 1.0}}
    run = RunDir.prepare(tmp_path / "r", cfg)
    _complete_checkpoint(run, 10)
    run.update_manifest(status="completed")
    longer = {"lr": 1, "training": {"max_steps": 25, "epochs": 1.0}}
    RunDir.prepare(tmp_path / "r", longer)
    assert "extending" in capsys.readouterr().err
    (extension,) = run.manifest()["extensions"]
    assert (
        extension["changes"] == {"training.max_steps": [10, 25]}
        and extension["continues_from"] == "checkpoint-10"
    )
    assert extension["status_before"] == "completed"
    assert yaml.safe_load(run.config_path.read_text()) == longer
    with pytest.raises(
        ConfigError, match=r"training.max_steps: 25 -> 5\n.*may change alone, and only upwards"
    ):
        RunDir.prepare(tmp_path / "r", {"lr": 1, "training": {"max_steps": 5, "epochs": 1.0}})
    with pytest.raises(
        ConfigError, match=r"lr: 1 -> 2\n  training.max_steps: 25 -> 30\n\(training.max_steps may"
    ):
        RunDir.prepare(tmp_path / "r", {"lr": 2, "training": {"max_steps": 30, "epochs": 1.0}})
    with pytest.raises(ConfigError, match=r"lr: 1 -> 2\nUse another output_dir"):
        RunDir.prepare(tmp_path / "r", {"lr": 2, "training": {"max_steps": 25, "epochs": 1.0}})
    RunDir.prepare(tmp_path / "r", {"lr": 1, "training": {"max_steps": 25, "epochs": 3.0}})
    assert [e["changes"] for e in run.manifest()["extensions"]][1] == {"training.epochs": [1.0, 3.0]}


# ---------------------------------------------------------------------------------------------------- one writer


def held_by(pid: int, host: str) -> str:
    """The holder as the lock's messages name it, as a pattern: filelock records the host name, and in a
    container's PID namespace that namespace's number after it."""
    return rf"process {pid} on host {re.escape(host)}(\?pidns-\w+)?"


def test_a_second_writer_is_refused_with_one_line_naming_the_holder(tmp_path, run_folder_holder):
    folder = tmp_path / "run"
    pid = run_folder_holder(folder)
    with pytest.raises(RunFolderBusy) as refused, run_folder_lock(folder):
        pytest.fail("a second writer got the lock")
    where, holder = re.escape(str(folder)), held_by(pid, socket.gethostname())
    assert re.fullmatch(
        rf"{where} is being written by {holder}; its lock was refreshed \d+ s ago: .*", str(refused.value)
    )
    assert [p.name for p in folder.iterdir()] == [LOCK_FILE]  # the holder's: nothing else was written


def test_the_lock_is_let_go_when_the_block_ends_and_shared_by_the_other_ranks(tmp_path, monkeypatch, capsys):
    folder = tmp_path / "run"
    with run_folder_lock(folder):
        assert (folder / LOCK_FILE).is_file()
        monkeypatch.setenv("RANK", "1")  # another rank of the same launch: it neither takes nor waits for it
        with run_folder_lock(folder):
            pass
        monkeypatch.delenv("RANK")
    assert not folder.exists()  # the lock file removed, and the folder it made for a block that wrote nothing
    with run_folder_lock(folder):  # a next command takes it again, with nothing to say
        pass
    assert capsys.readouterr().err == ""


def test_a_killed_holders_lock_is_taken_over_with_a_note(tmp_path, run_folder_holder, capsys):
    folder = tmp_path / "run"
    pid = run_folder_holder(folder, kill=True)
    assert (folder / LOCK_FILE).is_file()
    with run_folder_lock(folder):
        pass
    where, holder = re.escape(str(folder)), held_by(pid, socket.gethostname())
    assert re.fullmatch(rf"{where}: taking over the lock left by {holder}\n", capsys.readouterr().err)


def test_a_lock_from_a_dead_host_is_taken_over_once_its_heartbeat_is_old(
    tmp_path, run_folder_holder, capsys, monkeypatch
):
    """A node that died on a shared file system: its process id means nothing here, its heartbeat does."""
    monkeypatch.setattr(runs, "LOCK_TIMEOUT_S", 2.0)
    monkeypatch.setattr(runs, "LOCK_HEARTBEAT_S", 0.5)
    folder = tmp_path / "run"
    pid = run_folder_holder(folder, host="dead-node", timeout=2.0, kill=True)
    with pytest.raises(
        RunFolderBusy, match=f"^{re.escape(str(folder))} is being written by process {pid} on host dead-node"
    ):
        with run_folder_lock(folder):  # refreshed a moment ago: it may be alive
            pass
    an_hour_ago = time.time() - 3600
    os.utime(folder / LOCK_FILE, (an_hour_ago, an_hour_ago))
    started = time.monotonic()
    with run_folder_lock(folder):
        assert SoftFileLease(folder / LOCK_FILE).owner.pid == os.getpid()
    assert time.monotonic() - started >= 2.0  # watched unchanged for LOCK_TIMEOUT_S first
    where, holder = re.escape(str(folder)), held_by(pid, "dead-node")
    notes = (
        rf"{where}: {holder} has not refreshed its lock for 60 min; taking it over if it stays unchanged for "
        rf"another 2 s\n{where}: taking over the lock left by {holder}\n"
    )
    assert re.fullmatch(notes, capsys.readouterr().err)


def test_a_holder_on_another_host_that_refreshes_its_lock_keeps_it(tmp_path, run_folder_holder, monkeypatch):
    monkeypatch.setattr(runs, "LOCK_TIMEOUT_S", 2.0)
    monkeypatch.setattr(runs, "LOCK_HEARTBEAT_S", 0.5)
    folder = tmp_path / "run"
    pid = run_folder_holder(folder, host="live-node", timeout=2.0)
    an_hour_ago = time.time() - 3600
    os.utime(folder / LOCK_FILE, (an_hour_ago, an_hour_ago))  # looks old by our clock (a skewed one)
    with pytest.raises(RunFolderBusy, match=f"by process {pid} on host live-node"), run_folder_lock(folder):
        pass  # its heartbeat changes the file while we watch
