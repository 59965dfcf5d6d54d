"""`crosslift demo --quick`: the whole comparison through the real recipes and harness, on the small world.

Asserts the files and their shape, not a score: the quick world's models are too small to learn the task.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from crosslift.synth.demo import load_demo_config
from crosslift.synth.report import METHODS, TIERS

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def quick_demo(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo")
    env = {**__import__("os").environ, "CROSSLIFT_CACHE": str(out / "cache")}
    result = subprocess.run(
        [sys.executable, "-m", "crosslift", "demo", "--quick", "--out", str(out / "run")],
        capture_output=True,
        text=True,
        env=env,
        timeout=900,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return out / "run", result.stdout


def test_quick_demo_writes_the_comparison_in_its_documented_shape(quick_demo):
    run, stdout = quick_demo
    comparison = json.loads((run / "comparison.json").read_text())
    assert set(comparison) == {"tier_rule", "seeds", "methods"}
    assert comparison["seeds"] == [0] and comparison["tier_rule"].endswith("tiers.tsv")
    assert list(comparison["methods"]) == list(METHODS)
    languages = ["en", "qha", "qhb", "qma", "qmb", "qla", "qlb"]
    for figures in comparison["methods"].values():
        assert set(figures) == {"per_language", "per_tier", "structure_per_tier"}
        assert list(figures["per_language"]) == languages
        assert list(figures["per_tier"]) == list(TIERS) == list(figures["structure_per_tier"])
        assert all(
            0.0 <= v <= 1.0 for v in [*figures["per_language"].values(), *figures["per_tier"].values()]
        )
    report = (run / "report.md").read_text()
    for label in ("baseline", "LinguaLIFT", "CrossIn", "PLUG", "control"):
        assert label in report
    assert "| method | english | high | medium | low |" in report and "qmb (medium)" in report
    assert (run / "accuracy_by_tier.png").stat().st_size > 1000
    assert "report:" in stdout and "| method | english" in stdout


def test_every_step_is_a_config_a_user_can_rerun_and_the_demo_resumes(quick_demo, tmp_path):
    run, _ = quick_demo
    configs = sorted(p.name for p in (run / "configs" / "seed0").glob("*.yaml"))
    assert (
        "baseline.yaml" in configs
        and "lingualift_stage1.yaml" in configs
        and "eval_plug_plug.yaml" in configs
    )
    details = json.loads((run / "details.json").read_text())
    assert details["stage1"]["0"]["stage1_restarts"] >= 0 and "versions" in json.dumps(details)
    # every method's items were evaluated through the harness, one items.jsonl per task
    for method in METHODS:
        assert list((run / "seed0" / "eval" / method / "eval").glob("*/items.jsonl"))


def test_demo_config_errors_name_the_key(tmp_path):
    from crosslift.errors import ConfigError

    with pytest.raises(ConfigError, match="sft.max_steps"):
        load_demo_config("quick", ["sft.max_steps=0"])
    with pytest.raises(ConfigError, match="bundled: default, quick"):
        load_demo_config("no-such-demo")


def test_a_step_config_is_validated_before_it_is_written(tmp_path):
    from crosslift.errors import ConfigError
    from crosslift.synth.demo import write_step_config
    from crosslift.train import load_run_config

    path = tmp_path / "configs" / "baseline.yaml"
    tree = {
        "recipe": "sft",
        "name": "baseline",
        "output_dir": str(tmp_path / "baseline"),
        "model": {"name_or_path": "tiny:llama"},
        "data": {"train": [{"path": "english.jsonl"}], "template": "qa"},
        "training": {"batch_size": 0},
    }
    with pytest.raises(ConfigError, match=r"baseline\.yaml, key 'training\.batch_size': got 0"):
        write_step_config("train", path, tree, "baseline")
    assert not path.exists()
    tree["training"]["batch_size"] = 4
    write_step_config("train", path, tree, "baseline: English-only SFT")
    assert path.read_text().startswith("# baseline: English-only SFT\n# Written by `crosslift demo`; rerun")
    assert f"crosslift train {path}" in path.read_text()
    assert load_run_config(path)[1].training.batch_size == 4
    with pytest.raises(ConfigError, match=r"eval\.yaml: missing required key 'tasks'"):
        write_step_config(
            "eval", tmp_path / "eval.yaml", {"output_dir": "o", "model": {"name_or_path": "m"}}, "e"
        )
