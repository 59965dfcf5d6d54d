"""The demo's plan: every method's configs validate, controls are matched to LinguaLIFT, and both bridges get the
same stage-1 restart policy; LinguaLIFT's peers, when asked for, run their released recipes on the demo's models,
data and schedules."""

from __future__ import annotations

import json

import pytest
import yaml

from crosslift.synth.config import BRIDGES, PEERS, DemoConfig
from crosslift.synth.demo import load_demo_config
from crosslift.synth.methods import (
    PEER_STAGES,
    QUESTION_PATTERNS,
    build_data,
    build_peer_data,
    data_files,
    plan_run,
    task_files,
    translated_languages,
)
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


# ---------------------------------------------------------------------------------------------------- peers


def _peer_plan(setting):
    return _plan(setting, methods=[*setting[1].methods, *PEERS])


def _job(plan, method):
    return next(job for job in plan.jobs if job.name == f"pretrain0_seed0:{method}")


def _configs(job) -> list[dict]:
    return [_config(job, i) for i in range(len(job.commands))]


def test_the_peers_join_only_when_asked_after_the_bridges_stage1(setting):
    plan, _ = _plan(setting)
    assert not {job.name.split(":")[1] for job in plan.jobs} & set(PEERS)
    plan, _ = _peer_plan(setting)
    names = [job.name.split(":")[1] for job in plan.jobs]
    assert names[:6] == ["lingualift_stage1", "self_encoder_stage1", *PEERS]
    assert sorted(names[6:]) == sorted(["baseline", "crossin", "plug", "codeswitch_sft"])
    assert set(plan.bridges) == set(BRIDGES)  # no peer has LinguaLIFT's check, so none restarts


@pytest.mark.parametrize("method", PEERS)
def test_each_peer_runs_its_stages_then_is_evaluated_like_the_other_methods(setting, method):
    plan, _ = _peer_plan(setting)
    job = _job(plan, method)
    verbs = [command[0] for command in job.commands]
    own = [name for name, _ in PEER_STAGES[method] if name != "baseline"]
    assert verbs == ["train"] * len(own) + ["eval"]
    configs = _configs(job)
    assert [c["name"] for c in configs[:-1]] == own
    assert configs[-1]["model"]["name_or_path"] == str(plan.steps.model(own[-1]))
    assert configs[-1]["tasks"] == _configs(_job(plan, "baseline"))[-1]["tasks"]  # the same task and prompt
    assert plan.evals[method] == [plan.steps.runs / "eval" / method / "eval" / "synth_math"]


@pytest.mark.parametrize("method", ["langbridge", "mindmerger", "layalign"])
def test_the_bridge_peers_train_only_their_mapping_into_the_frozen_baseline_model(setting, method):
    world, cfg, models, _ = setting
    plan, _ = _peer_plan(setting)
    job = _job(plan, method)
    assert job.after == ["pretrain0_seed0:baseline"]
    assert plan.steps.configs / "baseline.yaml" in job.configs  # a changed baseline reruns the peer
    first, *rest = _configs(job)[:-1]
    family = {"langbridge": "replace", "mindmerger": "augment", "layalign": "fusion"}[method]
    assert first["recipe"] == "bridge" and first["model"]["preset"] == method
    assert first["model"]["family"] == family
    assert first["model"]["encoder"] == str(models["encoder"])
    assert first["model"]["lm"] == str(plan.steps.model("baseline"))
    assert first["model"]["encoder_layer"] == cfg.stage1.encoder_layer
    fusion = method == "layalign"
    for config in [first, *rest]:
        assert config["trainable"] == {"alignment": True, **({"fusion": True} if fusion else {})}
        assert config["training"]["max_steps"] == cfg.stage1.max_steps  # the demo's mapping schedule
        assert config["optim"]["alignment"]["lr"] == cfg.stage1.learning_rate
        assert config["training"]["packing"] is (cfg.packing and not fusion)
    budget = dict(PEER_STAGES[method])
    assert budget["baseline"] == "LLM" and all(
        "LLM frozen" in u for n, u in budget.items() if n != "baseline"
    )


@pytest.mark.parametrize("method", ["mindmerger", "layalign"])
def test_mindmerger_and_layalign_map_the_parallel_set_then_the_translated_questions(setting, method):
    _, cfg, _, _ = setting
    plan, _ = _peer_plan(setting)
    stage1, stage2 = _configs(_job(plan, method))[:2]
    assert stage1["data"]["train"][0]["path"].endswith("mindmerger_mapping.jsonl")
    assert stage1["data"]["template"] is None and stage1["data"]["lm_reads_prompt"] is False
    assert stage1["optim"]["betas"] == [0.8, 0.999]
    assert stage2["start_from"]["path"] == str(plan.steps.runs / f"{method}_stage1")
    assert stage2["data"]["train"][0]["path"].endswith("mindmerger_task.jsonl")
    assert stage2["data"]["template"] == cfg.template and stage2["data"]["lm_reads_prompt"] is True
    assert stage2["start_from"]["encoder_pattern"] == QUESTION_PATTERNS[cfg.template]


def test_langbridge_is_one_stage_on_the_english_instructions(setting):
    plan, _ = _peer_plan(setting)
    (config, _) = _configs(_job(plan, "langbridge"))
    assert config["data"]["train"][0]["path"].endswith("english.jsonl")
    assert config["model"]["alignment"] == "linear" and config["trainable"] == {"alignment": True}


def test_qalign_trains_the_llm_on_question_translation_then_english_from_that_model(setting):
    _, cfg, models, _ = setting
    plan, _ = _peer_plan(setting)
    job = _job(plan, "qalign")
    assert job.after == []
    stage1, stage2, _ = _configs(job)
    assert stage1["recipe"] == stage2["recipe"] == "sft"
    assert stage1["model"]["name_or_path"] == str(models["llm"])
    assert stage2["model"]["name_or_path"] == str(plan.steps.model("qalign_stage1"))
    assert stage1["data"]["train"][0]["path"].endswith("qalign.jsonl")
    baseline = _configs(_job(plan, "baseline"))[0]
    for config in (stage1, stage2):
        assert config["training"] == baseline["training"]  # the demo's sft schedule
    assert stage2["data"] == baseline["data"]
    assert dict(PEER_STAGES["qalign"]) == {"qalign_stage1": "LLM", "qalign_stage2": "LLM"}


@pytest.mark.parametrize("template", ["qa", "metamath_en"])
def test_the_encoder_of_the_augment_stages_reads_the_question_of_the_demos_prompt(template):
    import re

    from crosslift.data.examples import Example
    from crosslift.data.templates import get_template

    question = "Sam has 3 eggs.\nHow many eggs?"
    prompt = get_template(template).render(Example(id="1", instruction=question, output="")).prompt
    match = re.compile(QUESTION_PATTERNS[template], re.DOTALL).search(prompt)
    assert match is not None and match.group(1) == question
    assert set(QUESTION_PATTERNS) == set(DemoConfig.model_fields["template"].annotation.__args__)


def test_the_peers_data_come_from_the_worlds_translations_and_parallel_set(setting):
    world, cfg, _, out = setting
    paths = data_files(out / "peers")
    cfg = cfg.model_copy(update={"methods": [*cfg.methods, *PEERS]})
    build_peer_data(world, cfg, paths)
    english = {r["id"]: r for r in map(json.loads, open(world.instructions("en"), encoding="utf-8"))}
    translated = translated_languages(world)

    def records(name):
        return [json.loads(line) for line in open(paths[name], encoding="utf-8")]

    qalign, task, mapping = records("qalign"), records("mindmerger_task"), records("mindmerger_mapping")
    for lang in translated:
        items = sum(1 for _ in open(world.instructions(lang), encoding="utf-8"))
        assert sum(r["instruction_lang"] == lang for r in qalign) == items
        assert sum(r["instruction_lang"] == lang for r in task) == items
    for r in qalign:
        assert r["instruction"].startswith("Translate the following sentences from Synthetic ")
        assert r["output"] == english[r["item"]]["instruction"] and r["output_lang"] == "en"
    assert all(r["output"] == english[r["item"]]["output"] for r in task)
    assert all(r["instruction_lang"] != "en" for r in task)  # the queries translated; no English query
    per_language = {lang: sum(r["instruction_lang"] == lang for r in mapping) for lang in world.languages[1:]}
    assert set(per_language.values()) == {world.config.sizes.parallel}  # as many pairs in every tier
    english_sentences = open(world.parallel_text("en"), encoding="utf-8").read().splitlines()
    assert {r["output"] for r in mapping} == set(english_sentences)


def test_only_the_asked_peers_data_are_built(setting):
    world, cfg, _, out = setting
    paths = data_files(out / "only_qalign")
    build_peer_data(world, cfg.model_copy(update={"methods": [*cfg.methods, "qalign"]}), paths)
    assert paths["qalign"].is_file()
    assert not paths["mindmerger_mapping"].exists() and not paths["mindmerger_task"].exists()


def test_methods_may_name_the_peers(setting):
    cfg = load_demo_config("quick", ["methods=[baseline, langbridge, qalign]"])
    assert cfg.methods == ["baseline", "langbridge", "qalign"]
    assert not set(PEERS) & set(load_demo_config("quick").methods)  # the default comparison is unchanged
    plan, _ = _plan(setting, methods=cfg.methods)
    assert [job.name.split(":")[1] for job in plan.jobs] == ["langbridge", "qalign", "baseline"]


def test_the_mapping_schedule_gives_the_bridge_peers_their_own_steps(setting):
    from crosslift.synth.steps import Steps

    _, cfg, _, _ = setting
    mapping = Steps(max_steps=7, batch_size=8, learning_rate=3e-3, lr_scheduler="cosine")
    plan, _ = _plan(setting, methods=[*cfg.methods, *PEERS], mapping=mapping)
    for method in ("langbridge", "mindmerger", "layalign"):
        for config in _configs(_job(plan, method))[:-1]:
            assert config["training"]["max_steps"] == 7 and config["training"]["batch_size"] == 8
            assert config["training"]["lr_scheduler"] == "cosine"
            assert config["optim"]["alignment"]["lr"] == 3e-3
    assert all(c["training"]["max_steps"] == cfg.sft.max_steps for c in _configs(_job(plan, "qalign"))[:-1])
