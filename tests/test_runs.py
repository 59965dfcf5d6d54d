import json

import pytest
import yaml

from crosslift.errors import ConfigError
from crosslift.runs import RunDir, config_differences, provenance


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
