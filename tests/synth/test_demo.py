"""`crosslift demo --quick`: the whole comparison through the real recipes and harness, on the small world.

Asserts the files and their shape, not a score: the quick world's models are too small to learn the task. The
quick run here uses a world whose low tier has no translated instructions at all (LinguaLIFT's own setting), so
the machine-translation path of CrossIn and PLUG runs too, and it adds LinguaLIFT's four peers (`--methods`: about
1.5 minutes more on two cores).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
import yaml

from crosslift.config import resolve_config
from crosslift.synth.config import METHODS, PEERS
from crosslift.synth.demo import load_demo_config
from crosslift.synth.report import TIERS

LANGUAGES = ["en", "qha", "qhb", "qma", "qmb", "qla", "qlb"]


@pytest.fixture(scope="module")
def quick_demo(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo")
    world = yaml.safe_load(resolve_config("quick", "world").read_text(encoding="utf-8"))
    for spec in world["languages"]:
        if spec["tier"] == "low":
            spec["translated_items"] = 0
    (out / "world.yaml").write_text(yaml.safe_dump(world, allow_unicode=True), encoding="utf-8")
    env = {**os.environ, "CROSSLIFT_CACHE": str(out / "cache")}
    command = [sys.executable, "-m", "crosslift", "demo", "--quick", "--out", str(out / "run")]
    command += ["--methods", ",".join(PEERS)]
    result = subprocess.run(
        [*command, f"world={out / 'world.yaml'}"], capture_output=True, text=True, env=env, timeout=900
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return out / "run", result.stdout


@pytest.mark.slow
def test_quick_demo_writes_the_comparison_in_its_documented_shape(quick_demo):
    run, stdout = quick_demo
    comparison = json.loads((run / "comparison.json").read_text())
    assert 0 <= comparison["floor"] <= 1 and set(comparison["floor_per_language"]) == set(LANGUAGES)
    assert comparison["runs"] == [{"pretraining_seed": 0, "seed": 0}]
    assert comparison["primary"] == {"method": "lingualift", "comparison": "vs_self_encoder", "tier": "low"}
    assert list(comparison["methods"]) == [*METHODS, *PEERS]
    for name, figures in comparison["methods"].items():
        assert list(figures["per_language"]) == LANGUAGES
        assert list(figures["per_tier"]) == list(TIERS) == list(figures["structure_per_tier"])
        assert all(
            0.0 <= v <= 1.0 for v in [*figures["per_language"].values(), *figures["per_tier"].values()]
        )
        assert figures["budget"]["llm_updates"]["optimizer_steps"] > 0, name
    assert set(comparison["methods"]["plug"]["pivot_per_tier"]) == set(TIERS)
    deltas = comparison["deltas"]
    assert set(deltas) == {*METHODS, *PEERS} - {"baseline"}
    assert set(deltas["lingualift"]) == {"vs_baseline", "vs_self_encoder", "vs_codeswitch_sft"}
    assert all(
        set(deltas[peer]) == {"vs_baseline"} and set(deltas[peer]["vs_baseline"]) == set(TIERS)
        for peer in PEERS
    )
    # the Holm family: each method against the baseline and LinguaLIFT against both controls, but the primary
    family = [d for m in deltas.values() for tiers in m.values() for d in tiers.values() if not d["primary"]]
    assert len(family) == (len(deltas) + 2) * len(TIERS) - 1 and all("p_holm" in d for d in family)
    for method in deltas.values():
        for tiers in method.values():
            for d in tiers.values():
                assert d["ci_low"] <= d["delta"] <= d["ci_high"]
                assert d["verdict"] in ("beats", "loses to", "no detectable difference")
    # the low tier had no human translations: CrossIn and PLUG got the world's machine translations
    translated = comparison["methods"]["crossin"]["budget"]["resources"]["translated_instructions"]
    assert {translated[x]["translation"] for x in ("qla", "qlb")} == {"machine"}
    assert translated["qha"]["translation"] == "human"
    mindmerger = comparison["methods"]["mindmerger"]["budget"]
    assert [stage["run"] for stage in mindmerger["stages"]] == [
        "baseline",
        "mindmerger_stage1",
        "mindmerger_stage2",
    ]
    assert mindmerger["llm_updates"] == comparison["methods"]["baseline"]["budget"]["llm_updates"]
    assert (
        mindmerger["resources"]["translated_questions_with_english_answers"]["qla"]["translation"]
        == "machine"
    )
    qalign = comparison["methods"]["qalign"]["budget"]["llm_updates"]["optimizer_steps"]
    assert qalign == 2 * comparison["methods"]["baseline"]["budget"]["llm_updates"]["optimizer_steps"]
    # the peers' recipes have no alignment check: no stage-1 attempts to report
    assert not any("stage1" in comparison["methods"][peer] for peer in PEERS)
    assert comparison["methods"]["lingualift"]["stage1"]["attempts"][0] >= 1
    assert comparison["methods"]["self_encoder"]["stage1"]["attempts"][0] >= 1
    report = (run / "report.md").read_text()
    assert "**Primary comparison**" in report and "no-reading floor" in report and "qmb (medium)" in report
    assert "| LayAlign vs baseline (English SFT) |" in report
    assert (run / "accuracy_by_tier.png").stat().st_size > 1000
    assert "report:" in stdout and "| method | english" in stdout


@pytest.mark.slow
def test_every_step_is_a_config_a_user_can_rerun_and_the_demo_resumes(quick_demo):
    run, _ = quick_demo
    configs = sorted(p.name for p in (run / "configs" / "pretrain0_seed0").glob("*.yaml"))
    for name in ("baseline", "lingualift_stage1", "self_encoder_stage1", "codeswitch_sft", "eval_plug_plug"):
        assert f"{name}.yaml" in configs
    header = (run / "configs" / "pretrain0_seed0" / "baseline.yaml").read_text().splitlines()[1]
    assert "CROSSLIFT_LANGUAGES=" in header and "crosslift train" in header
    details = json.loads((run / "details.json").read_text())
    assert "versions" in json.dumps(details) and details["probe"]["0"]["layer"] == 2
    assert set(details["probe"]["0"]["encoder"]) == set(LANGUAGES[1:])
    check = details["stage1_checks"]["pretrain0_seed0"]["lingualift"]
    assert set(check["sentences"]["languages"]) == set(LANGUAGES[1:])
    for method in [*METHODS, *PEERS]:
        assert list((run / "pretrain0_seed0" / "eval" / method / "eval").glob("*/items.jsonl"))
    # the same command again reuses every step and says so in its report
    out = run.parent
    command = [
        sys.executable,
        "-m",
        "crosslift",
        "demo",
        "--quick",
        "--out",
        str(run),
        "--methods",
        ",".join(PEERS),
    ]
    env = {**os.environ, "CROSSLIFT_CACHE": str(out / "cache")}
    again = subprocess.run(
        [*command, f"world={out / 'world.yaml'}"], capture_output=True, text=True, env=env, timeout=300
    )
    assert again.returncode == 0, again.stdout[-3000:] + again.stderr[-3000:]
    assert " runs: crosslift" not in again.stdout and "already done, reused" in again.stdout
    assert "step(s) done by an earlier invocation and reused" in (run / "report.md").read_text()


def test_demo_config_errors_name_the_key():
    from crosslift.errors import ConfigError

    with pytest.raises(ConfigError, match="sft.max_steps"):
        load_demo_config("quick", ["sft.max_steps=0"])
    with pytest.raises(ConfigError, match="bundled: default, quick"):
        load_demo_config("no-such-demo")


def test_full_is_five_seeds_under_two_pretraining_seeds():
    from crosslift.synth.demo import FULL

    config = load_demo_config("default", [f"{k}={v}" for k, v in FULL.items()])
    assert len(config.seeds) >= 5 and len(config.pretraining_seeds) >= 2


def test_a_step_config_is_validated_before_it_is_written(tmp_path):
    from crosslift.errors import ConfigError
    from crosslift.synth.steps import write_step_config
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
