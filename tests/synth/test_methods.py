"""The demo's plan: every method's configs validate, controls are matched to LinguaLIFT, and both bridges get the
same stage-1 restart policy."""

from __future__ import annotations

import json

import pytest
import yaml

from crosslift.synth.config import BRIDGES
from crosslift.synth.demo import load_demo_config
from crosslift.synth.methods import build_data, data_files, plan_run, task_files
from crosslift.synth.world import build_world, load_world_config


@pytest.fixture(scope="module")
def setting(tmp_path_factory):
    from crosslift.languages import register_languages

    out = tmp_path_factory.mktemp("demo")
    cfg = load_demo_config("quick")
    world = build_world(load_world_config(cfg.world), out / "world")
    register_languages(world.languages_file)
    models = {"llm": out / "models" / "llm", "encoder": out / "models" / "encoder"}
    return world, cfg, models, out


def _plan(setting, **overrides):
    world, cfg, models, out = setting
    cfg = cfg.model_copy(update=overrides)
    messages = []
    plan = plan_run(world, cfg, models, 0, 0, out, task_files(world, cfg, out), echo=messages.append)
    return plan, messages


def _config(job, index=0) -> dict:
    return yaml.safe_load(open(job.commands[index][1], encoding="utf-8"))


def test_every_method_is_one_job_and_the_bridges_start_first(setting):
    plan, _ = _plan(setting)
    names = [job.name.split(":")[1] for job in plan.jobs]
    assert names == [
        "lingualift_stage1",
        "self_encoder_stage1",
        "baseline",
        "crossin",
        "plug",
        "codeswitch_sft",
    ]
    assert all(job.name.startswith("pretrain0_seed0:") for job in plan.jobs)


def test_the_self_encoder_control_is_lingualift_with_the_llm_as_its_encoder(setting):
    world, cfg, models, _ = setting
    plan, _ = _plan(setting)
    lingualift, self_encoder = (_config(job) for job in plan.jobs[:2])
    assert lingualift["model"]["encoder"] == str(models["encoder"])
    assert self_encoder["model"]["encoder"] == str(models["llm"]) == self_encoder["model"]["lm"]
    for key in ("data", "training", "optim", "init", "check", "seed"):
        assert lingualift[key] == self_encoder[key], key
    different = {k for k in lingualift["model"] if lingualift["model"][k] != self_encoder["model"][k]}
    assert different == {"encoder"}


def test_the_codeswitch_control_trains_on_the_stage1_pairs_and_english_with_stage2s_steps(setting):
    world, cfg, _, _ = setting
    plan, _ = _plan(setting)
    jobs = {job.name.split(":")[1]: job for job in plan.jobs}
    control = _config(jobs["codeswitch_sft"])
    stage2 = yaml.safe_load(open(plan.bridges["lingualift"].stage2_job().commands[0][1], encoding="utf-8"))
    assert control["training"]["max_steps"] == stage2["training"]["max_steps"] == cfg.sft.max_steps
    assert control["training"]["batch_size"] == stage2["training"]["batch_size"]
    assert control["data"]["train"][0]["path"].endswith("codeswitch_mix.jsonl")
    build_data(world, cfg, 0, plan.steps.data)
    mix = [json.loads(line) for line in open(plan.steps.data["codeswitch_mix"], encoding="utf-8")]
    english = sum(1 for r in mix if r["instruction_lang"] == "en")
    assert english == world.config.sizes.instructions and len(mix) == english + cfg.stage1.examples
    assert all(r["output_lang"] == "en" and "The answer is" in r["output"] for r in mix)


@pytest.mark.parametrize("method", sorted(BRIDGES))
def test_a_failed_check_restarts_stage1_within_the_same_budget_for_both_bridges(setting, method):
    _, cfg, _, _ = setting
    plan, messages = _plan(setting, stage1=cfg.stage1.model_copy(update={"restarts": 2}))
    bridge = plan.bridges[method]
    job = next(j for j in plan.jobs if j.name.endswith(f":{method}_stage1"))
    tries = [job]
    for _ in range(5):
        check = bridge.stage1_dir / "alignment_check.json"
        check.parent.mkdir(parents=True, exist_ok=True)
        check.write_text(json.dumps({"passed": False}))
        (follow,) = job.then()
        if not follow.name.endswith("_stage1") and "_try" not in follow.name:
            break
        tries.append(follow)
        job = follow
    names = [t.name.split(":")[1] for t in tries]
    assert names == [f"{method}_stage1", f"{method}_stage1_try1", f"{method}_stage1_try2"]
    assert follow.name.endswith(f":{method}") and bridge.attempts == 3  # stage 2 after the last allowed try
    assert len(messages) == 2 and all("restarting it with another seed" in m for m in messages)
    assert _config(tries[1])["seed"] == 1000 and _config(follow)["stage1"].endswith(f"{method}_stage1_try2")


def test_a_passed_check_goes_straight_to_stage2(setting, tmp_path):
    plan, messages = _plan(setting)
    bridge = plan.bridges["lingualift"]
    job = plan.jobs[0]
    check = bridge.stage1_dir / "alignment_check.json"
    check.parent.mkdir(parents=True, exist_ok=True)
    check.write_text(json.dumps({"passed": True}))
    (follow,) = job.then()
    assert follow.name == "pretrain0_seed0:lingualift" and not messages and bridge.attempts == 1


def test_stage1_checks_every_language_on_whole_dev_sentences(setting):
    world, cfg, _, _ = setting
    plan, _ = _plan(setting)
    check = _config(plan.jobs[0])["check"]
    assert set(check["sentences"]["languages"]) == set(world.languages[1:])
    assert all("/dev_" in path for path in check["sentences"]["languages"].values())
    assert check["sentences"]["target_field"] == "cot"
    assert check["sentences"]["per_language"] == cfg.stage1.check.sentences_per_language


def test_methods_can_be_chosen_but_not_without_the_baseline(setting):
    plan, _ = _plan(setting, methods=["baseline", "crossin"])
    assert [job.name.split(":")[1] for job in plan.jobs] == ["baseline", "crossin"] and not plan.bridges
    from crosslift.errors import ConfigError

    with pytest.raises(ConfigError, match="keep it in methods"):
        load_demo_config("quick", ["methods=[crossin]"])
    with pytest.raises(ConfigError, match="unknown method"):
        load_demo_config("quick", ["methods=[baseline, nope]"])


def test_stage1_whole_sentences_come_from_the_parallel_set_in_every_tier(setting):
    world, cfg, _, out = setting
    paths = data_files(out / "sentences")
    build_data(
        world, cfg.model_copy(update={"stage1": cfg.stage1.model_copy(update={"examples": 600})}), 0, paths
    )
    whole = {}
    for line in open(paths["stage1"], encoding="utf-8"):
        record = json.loads(line)
        whole.setdefault(record["instruction_lang"], 0)
        whole[record["instruction_lang"]] += record["codeswitch"]["sentences"]
    # the low tier has a tenth of the high tier's translated instructions, but as many whole sentences
    assert min(whole.values()) > 0 and max(whole.values()) < 3 * min(whole.values())
