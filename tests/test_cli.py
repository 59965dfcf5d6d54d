import subprocess
import sys

import pytest

from crosslift.cli import VERBS, build_parser
from crosslift.cli import main as cli_main


def test_every_verb_has_help(capsys):
    parser = build_parser()
    for verb in VERBS:
        with pytest.raises(SystemExit) as e:
            parser.parse_args([verb, "--help"])
        assert e.value.code == 0
        assert f"crosslift {verb}" in capsys.readouterr().out


def test_console_script_runs_and_help_lists_the_verbs():
    out = subprocess.run(
        [sys.executable, "-m", "crosslift", "--help"], capture_output=True, text=True, check=True
    ).stdout
    for verb in ("train", "eval", "data", "report", "demo", "tiny-models"):
        assert verb in out


def test_missing_config_file_is_a_clear_error(tmp_path, capsys):
    assert cli_main(["train", str(tmp_path / "nope.yaml")]) == 2
    assert "config file not found" in capsys.readouterr().err


def test_tiny_models_verb_builds_loadable_models(tmp_path, capsys):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    assert cli_main(["tiny-models", "--out", str(tmp_path), "--kinds", "llama"]) == 0
    assert "llama:" in capsys.readouterr().out
    model = AutoModelForCausalLM.from_pretrained(tmp_path / "llama")
    tok = AutoTokenizer.from_pretrained(tmp_path / "llama")
    assert model.config.vocab_size >= len(tok)
