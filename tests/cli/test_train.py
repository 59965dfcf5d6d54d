"""`crosslift train CONFIG --check`: every bundled config passes it anywhere (paper ones on a laptop), nothing is
loaded or written, the plan is printed, and problems are listed with exit status 2."""

from __future__ import annotations

import json

import pytest
import yaml

from crosslift.cli import main
from crosslift.config import bundled_configs
from crosslift.models.build import resolve_model_path


@pytest.mark.parametrize("name", sorted(bundled_configs("train")))
def test_every_bundled_config_passes_the_check(name, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)  # nothing of an earlier run, no repository files beside it
    assert main(["train", name, "--check"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("config: ") and "check passes: 0 problem(s)" in out
    assert "trains: " in out and "writes: runs/" in out
    assert list(tmp_path.iterdir()) == []  # nothing built, nothing written


def test_the_check_reads_what_exists_and_says_what_is_not_there_yet(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "data.jsonl").write_text(
        json.dumps({"instruction": "2 + 3?", "output": "5", "instruction_lang": "sw"})
    )
    config = tmp_path / "c.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "recipe": "bridge",
                "name": "c",
                "output_dir": "runs/c",
                "start_from": {"path": "runs/stage1"},
                "data": {"train": [{"path": "data.jsonl"}], "template": "metamath"},
            }
        )
    )
    assert main(["train", str(config), "--check"]) == 0
    out = capsys.readouterr().out
    assert "train data: data.jsonl (first 1 records read as examples; languages sw)" in out
    assert "not there yet: bridge runs/stage1" in out and "run directory: runs/c (new)" in out


def test_problems_are_listed_and_exit_with_status_2(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "bad.jsonl").write_text('{"instruction": "no output"}\n')
    (tmp_path / "not_a_model").mkdir()
    encoder = resolve_model_path("tiny:mt5-encoder")  # a real directory: its config.json says 2 layers
    config = tmp_path / "c.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "recipe": "bridge",
                "name": "c",
                "output_dir": "runs/c",
                "model": {"encoder": encoder, "lm": str(tmp_path / "not_a_model"), "encoder_layer": 5},
                "data": {"train": [{"path": "bad.jsonl"}]},
            }
        )
    )
    assert main(["train", str(config), "--check"]) == 2
    err = capsys.readouterr().err
    assert "the check found problems" in err and "check fails: 3 problem(s)" in err
    assert "not_a_model: a directory without config.json" in err
    assert "encoder_layer must be -1 or in 0..2" in err
    assert "bad.jsonl" in err and "missing field" in err
    assert not (tmp_path / "runs").exists()


def test_an_invalid_config_fails_the_check_as_it_fails_training(tmp_path, capsys):
    assert main(["train", "langbridge/tiny", "model.family=insert", "--check"]) == 2
    assert "needs encoder_pattern" in capsys.readouterr().err
