"""The bridge recipe (LangBridge, MindMerger, LayAlign) and QAlign's two SFT stages on the tiny models: exactly the
intended parts train in each stage, every bundled tiny config runs (a method's stages in the lexical order of their
file names, in a folder with nothing from ../shared beside it) and its model evaluates through `crosslift eval`,
presets, and the configs a stage refuses."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import torch
import yaml
from safetensors.torch import load_file

from crosslift.cli import main as cli_main
from crosslift.data.toy import toy_parallel
from crosslift.errors import ConfigError
from crosslift.train import load_run_config, train

CONFIGS = Path(__file__).resolve().parents[2] / "src" / "crosslift" / "configs"
METHODS = ("langbridge", "mindmerger", "qalign", "layalign")
TRAINED = {  # the parts each bridge method trains, in every stage (methods.md §4; docs/bridges.md)
    "langbridge": {"alignment", "encoder_embeddings"},
    "mindmerger": {"alignment"},
    "layalign": {"alignment", "fusion"},
}
# One step of four examples (no warm-up: the step's learning rate is not zero)
FAST = [
    "training.max_steps=1",
    "training.save_steps=1",
    "training.batch_size=4",
    "training.warmup_ratio=0.0",
    "training.logging_steps=1",
]


def tiny_configs(method: str) -> list[Path]:
    """A method's tiny configs, its stages in the lexical order of their file names."""
    return sorted((CONFIGS / method).glob("*tiny*.yaml"))


@pytest.fixture(scope="module")
def workdir(tmp_path_factory) -> Path:
    """An empty folder to run the bundled configs from: ../shared is not beside it."""
    root = tmp_path_factory.mktemp("methods") / "work"
    root.mkdir()
    assert not (root.parent / "shared").exists()
    return root


@pytest.fixture(scope="module")
def toy_task(workdir) -> Path:
    """A parallel_math task over the toy set (en, sw), for `crosslift eval`."""
    root = workdir.parent / "toymath"
    root.mkdir()
    parallel = toy_parallel(["sw"], 4, seed=99)
    for lang in ("en", "sw"):
        with open(root / f"toy_{lang}.jsonl", "w") as f:
            for item in parallel.ids:
                ex = parallel.get(item, lang)
                answer = re.findall(r"\d+", parallel.get(item, "en").output)[-1]
                f.write(json.dumps({"question": ex.instruction, "answer": answer}) + "\n")
    (root / "toymath.yaml").write_text(
        "include: parallel_math\ntask: toymath\nlanguages: [en, sw]\n"
        "dataset: {path: 'toy_{lang}.jsonl', format: jsonl, question_field: question, answer_field: answer}\n"
    )
    return root


def run_method(method: str, workdir: Path, monkeypatch) -> list:
    monkeypatch.chdir(workdir)
    return [train(config, FAST) for config in tiny_configs(method)]


def trainable_parts(run) -> set[str]:
    return {g["part"] for g in run.manifest()["optimizer_groups"]}


# ---------------------------------------------------------------------------------------------------- the methods


@pytest.mark.parametrize("method", METHODS)
def test_each_tiny_config_runs_and_its_model_evaluates(method, workdir, toy_task, monkeypatch):
    configs = tiny_configs(method)
    assert len(configs) == (1 if method == "langbridge" else 2)
    assert all("../shared" not in c.read_text() for c in configs)
    runs = run_method(method, workdir, monkeypatch)
    for run in runs:
        manifest = run.manifest()
        assert manifest["status"] == "completed" and manifest["training"]["global_step"] == 1
        assert manifest["data_stats"]["used"] > 0
    if method == "qalign":
        first, second = runs
        assert first.manifest()["recipe"] == "sft" and "Translate the following sentences from Swahili" in (
            (workdir / "runs" / "data" / "qalign_tiny.jsonl").read_text()
        )
        assert second.manifest()["models"]["model_path"].endswith("qalign_stage1_tiny/model")
    else:
        for run in runs:
            assert trainable_parts(run) == TRAINED[method]
        final = json.loads((runs[-1].model / "config.json").read_text())["bridge"]
        assert (
            final["family"]
            == {"langbridge": "replace", "mindmerger": "augment", "layalign": "fusion"}[method]
        )
        if len(runs) == 2:  # stage 2 starts from stage 1's bridge: the frozen parts are the same weights
            one, two = (load_file(r.model / "model.safetensors") for r in runs)
            assert all(torch.equal(one[k], two[k]) for k in one if k.startswith(("lm.", "encoder.")))
            assert any(not torch.equal(one[k], two[k]) for k in one if k.startswith("alignment."))
    out = workdir.parent / f"eval-{method}"
    argv = ["eval", "--include-path", str(toy_task), "--task", "toymath", "--data-dir", str(toy_task)]
    argv += ["--model", str(runs[-1].model), "--limit", "2", "--max-new-tokens", "4", "--out", str(out)]
    assert cli_main(argv) == 0
    summary = json.loads(next(out.rglob("summary.json")).read_text())
    assert {"en", "sw"} <= set(json.dumps(summary).replace('"', " ").split())


def test_stage1_bridges_of_mindmerger_and_layalign_keep_the_prompt_from_the_lm(tmp_path, monkeypatch):
    """Stage 1 (mapping): the LM reads <s>, the soft tokens, the boundary and the target, nothing of a prompt."""
    from crosslift.models.build import build_bridge

    monkeypatch.chdir(tmp_path)
    _, cfg = load_run_config(CONFIGS / "mindmerger" / "stage1_mapping_tiny.yaml")
    assert cfg.data.lm_reads_prompt is False and cfg.data.template is None
    _, processor = build_bridge("tiny:mt5-encoder", "tiny:llama", **cfg.model.bridge_options())
    f = processor.encode("ngapi matofaa", "how many apples", lm_reads_prompt=False)
    target = [t for t in f["labels"] if t >= 0]
    assert f["input_ids"] == processor.lm_prefix + target


# ---------------------------------------------------------------------------------------------------- what trains


def bridge_config(path: Path, **sections) -> Path:
    cfg = {
        "recipe": "bridge",
        "name": "b",
        "output_dir": str(path.parent / "run"),
        "seed": 3,
        "model": {
            "encoder": "tiny:mt5-encoder",
            "lm": "tiny:llama",
            "dtype": "float32",
            "encoder_max_length": 64,
        },
        "data": {
            "train": [{"path": str(path.parent / "toy.jsonl"), "build": {"verb": "toy", "items": 16}}],
            "template": "metamath",
            "lm_max_length": 512,
        },
        "training": {"max_steps": 2, "batch_size": 8, "save_steps": 1, "logging_steps": 1},
    } | sections
    path.write_text(yaml.safe_dump(cfg))
    return path


@pytest.mark.parametrize(
    "preset, trainable, prefixes",
    [
        ("langbridge", {"alignment": True, "encoder_embeddings": True}, ("alignment.", "encoder.shared.")),
        ("mindmerger", {"alignment": True}, ("alignment.",)),
        ("layalign", {"alignment": True, "fusion": True}, ("alignment.", "fusion.")),
    ],
)
def test_exactly_the_intended_parameters_train_and_are_checkpointed(tmp_path, preset, trainable, prefixes):
    config = bridge_config(
        tmp_path / "c.yaml",
        model={"preset": preset, "encoder": "tiny:mt5-encoder", "lm": "tiny:llama", "dtype": "float32"},
        trainable=trainable,
    )
    run = train(config)
    checkpoint = load_file(run.path / "checkpoints" / "checkpoint-2" / "model.safetensors")
    assert all(k.startswith(prefixes) for k in checkpoint)  # the checkpoint holds what trains, nothing else
    assert {p for p in prefixes if any(k.startswith(p) for k in checkpoint)} == set(prefixes)
    saved = load_file(run.model / "model.safetensors")
    lm = load_file(Path(run.manifest()["models"]["lm_path"]) / "model.safetensors")
    assert all(torch.equal(saved[f"lm.{k}"], v) for k, v in lm.items())  # the LM is frozen
    if preset == "layalign":
        gates = [v.item() for k, v in saved.items() if k.endswith(".gate")]
        assert gates and all(g != 0.0 for g in gates)  # the zero gates opened during training
    bridge = json.loads((run.model / "config.json").read_text())["bridge"]
    assert (
        bridge["family"] == {"langbridge": "replace", "mindmerger": "augment", "layalign": "fusion"}[preset]
    )


def test_presets_fill_what_a_config_leaves_unset():
    _, lb = load_run_config(CONFIGS / "langbridge" / "tiny.yaml")
    assert (lb.model.alignment, lb.model.begin_boundary, lb.model.end_boundary) == ("linear", False, True)
    assert lb.model.boundary_init_std == 0.02  # set by the config: wins over the preset's 1.0
    _, mm = load_run_config(CONFIGS / "mindmerger" / "stage1_mapping_paper.yaml")
    options = mm.model.bridge_options()
    assert (options["family"], options["activation"], options["begin_boundary"]) == ("augment", "relu", False)
    assert (mm.model.boundary_init, options["encoder_new_line_tokens"]) == ("zeros", False)
    _, la = load_run_config(CONFIGS / "layalign" / "stage1_translation_paper.yaml")
    assert la.model.family == "fusion" and la.trainable.fusion and la.optim.betas == (0.8, 0.999)


def test_paper_configs_carry_the_released_settings():
    _, lb = load_run_config(CONFIGS / "langbridge" / "paper_metamath_7b.yaml")
    assert (lb.model.encoder, lb.model.lm) == ("DKYoon/mt5-xl-lm-adapt", "meta-math/MetaMath-7B-V1.0")
    assert (
        lb.optim.alignment.lr,
        lb.optim.encoder_embeddings.lr,
        lb.optim.encoder_embeddings.weight_decay,
    ) == (
        6e-4,
        2e-5,
        0.1,
    )
    assert (
        lb.training.batch_size * lb.training.grad_accum * 4 == 128 and lb.training.lr_scheduler == "constant"
    )
    for name, lr in (("stage1_mapping_paper", 2e-5), ("stage2_augmentation_paper", 2e-5)):
        _, mm = load_run_config(CONFIGS / "mindmerger" / f"{name}.yaml")
        t = mm.training
        assert (mm.optim.alignment.lr, t.epochs, t.batch_size * t.grad_accum * 8) == (lr, 3, 128)
        assert not mm.trainable.lm and not mm.trainable.encoder_embeddings
    _, mm1 = load_run_config(CONFIGS / "mindmerger" / "stage1_mapping_paper.yaml")
    assert {s.build.verb for s in mm1.data.train} == {"mindmerger"} and len(mm1.data.train) == 9
    for name, lr in (("stage1_translation_paper", 4e-5), ("stage2_task_paper", 3e-5)):
        _, la = load_run_config(CONFIGS / "layalign" / f"{name}.yaml")
        assert (la.optim.alignment.lr, la.optim.fusion.lr, la.training.lr_scheduler) == (lr, lr, "cosine")
        assert la.training.warmup_ratio == 0.05
    for stage in ("stage1", "stage2"):
        _, qa = load_run_config(CONFIGS / "qalign" / f"{stage}_paper.yaml")
        t = qa.training
        assert (t.learning_rate, t.epochs, t.batch_size * t.grad_accum * 8, t.lr_scheduler) == (
            2e-5,
            3,
            128,
            "cosine",
        )
        assert (qa.lora, qa.data.template, qa.data.max_length, qa.seed) == (None, "alpaca", 512, 1234)


# ---------------------------------------------------------------------------------------------------- refused configs


@pytest.mark.parametrize(
    "change, message",
    [
        (["start_from.path=somewhere"], "give one of model"),
        (["model=null"], "give one of model"),
        (["data.lm_reads_prompt=false"], "lm_reads_prompt: false applies to the augment and fusion families"),
        (["trainable.fusion=true"], "the replace family has no fusion"),
        (
            ["model.family=fusion", "training.packing=true"],
            "training.packing does not apply to the fusion family",
        ),
        (["trainable.alignment=false"], "nothing would train"),
        (["data.template=alpacca"], "one of alpaca"),
        (["model.preset=mindmerge"], "model.preset"),
    ],
)
def test_a_stage_refuses_what_its_bridge_cannot_do(tmp_path, capsys, change, message):
    config = bridge_config(tmp_path / "c.yaml")
    assert cli_main(["train", str(config), *change]) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "run").exists()


def test_a_started_bridge_is_checked_against_the_stage(tmp_path, monkeypatch):
    first = train(
        bridge_config(tmp_path / "c.yaml", training={"max_steps": 1, "batch_size": 8, "save_steps": 1})
    )
    second = bridge_config(
        tmp_path / "d.yaml",
        model=None,
        start_from={"path": str(first.path), "dtype": "float32"},
        trainable={"fusion": True},
    )
    with pytest.raises(ConfigError, match="the replace family has no fusion"):
        train(second, [f"output_dir={tmp_path / 'run2'}"])
    with pytest.raises(ConfigError, match="encoder_pattern does not apply to the replace family"):
        train(
            second,
            [f"output_dir={tmp_path / 'run2'}", "trainable.fusion=false", "start_from.encoder_pattern='(x)'"],
        )


@pytest.mark.slow
def test_a_fusion_stage_resumes_after_sigkill(tmp_path, killed_and_resumed):
    """Checkpoints hold the mapping and the fusion (what trains): a killed run resumes to the same weights."""
    config = bridge_config(
        tmp_path / "c.yaml",
        model={"preset": "layalign", "encoder": "tiny:mt5-encoder", "lm": "tiny:llama", "dtype": "float32"},
        trainable={"alignment": True, "fusion": True},
        training={"max_steps": 30, "batch_size": 8, "save_steps": 5, "logging_steps": 5},
    )
    straight, killed = killed_and_resumed(tmp_path, config, 10)
    a, b = (load_file(run / "model" / "model.safetensors") for run in (straight, killed))
    for name in (n for n in a if n.startswith(("alignment.", "fusion."))):
        assert (a[name] - b[name]).abs().max().item() < 1e-5, name
