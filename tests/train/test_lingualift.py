"""LinguaLIFT's two training stages on the tiny models: what trains (bit for bit), parameter groups, both recipes
end to end on code-switched data (loss goes down, the alignment check lands in the run directory), stage 2's
refusal of a failed stage 1, configs, and resume after kill -9."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch
import yaml
from safetensors.torch import load_file

from crosslift.cli import main as cli_main
from crosslift.config import LoraConfig
from crosslift.data.codeswitch import CodeSwitcher, codeswitch_example
from crosslift.data.examples import write_examples
from crosslift.data.lexicon import load_lexicons
from crosslift.errors import CrossliftError
from crosslift.models.build import apply_lora, build_bridge, resolve_model_path
from crosslift.runs import RunDir
from crosslift.train import load_run_config, train
from crosslift.train.common import training_arguments
from crosslift.train.lingualift.common import (
    BridgeTrainer,
    BridgeTrainingConfig,
    GroupConfig,
    OptimConfig,
    encode_pairs,
    parameter_groups,
    resolve_bridge_dir,
)

REPO = Path(__file__).resolve().parents[2]
CONFIGS = REPO / "src" / "crosslift" / "configs" / "lingualift"
NAMES = ["Tom", "Ana", "Ravi", "Mei"]
ITEMS = ["apples", "books", "cows", "pens"]
LEXICON = {
    "sw": {
        "has": "ana",
        "and": "na",
        "buys": "ananunua",
        "more": "zaidi",
        "how": "vipi",
        "many": "ngapi",
        "does": "je",
        "have": "kuwa",
        "now": "sasa",
        "apples": "matofaa",
        "books": "vitabu",
        "cows": "ngombe",
        "pens": "kalamu",
        "then": "kisha",
        "gives": "anatoa",
        "away": "mbali",
    },
    "de": {
        "has": "hat",
        "and": "und",
        "buys": "kauft",
        "more": "mehr",
        "how": "wie",
        "many": "viele",
        "does": "tut",
        "have": "haben",
        "now": "jetzt",
        "apples": "Äpfel",
        "books": "Bücher",
        "cows": "Kühe",
        "pens": "Stifte",
        "then": "dann",
        "gives": "gibt",
        "away": "weg",
    },
}


# Words the questions never use: the alignment check's lexicon has them too, so that the entries held out of
# code-switching leave enough pairs for word retrieval.
EXTRA_WORDS = (
    "house water river tree stone bread chair table window garden flower bird fish horse road city village "
    "school teacher friend mother father sister brother morning evening night summer winter market"
).split()


def problems(n: int) -> list[dict]:
    rows = []
    for i in range(n):
        name, item, a, b = NAMES[i % 4], ITEMS[i // 4 % 4], 2 + i % 7, 1 + i % 5
        if i % 2:
            q = f"{name} has {a + b} {item} and then gives away {b}. How many {item} does {name} have now?"
            ans = f"{name} has {a + b} - {b} = {a} {item}.\n#### {a}"
        else:
            q = f"{name} has {a} {item} and buys {b} more {item}. How many {item} does {name} have now?"
            ans = f"{name} has {a} + {b} = {a + b} {item}.\n#### {a + b}"
        rows.append({"id": f"p{i}", "question": q, "answer": ans})
    return rows


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> dict[str, Path]:
    """Code-switched stage-1 pairs (made with crosslift.data.codeswitch), English stage-2 data, a lexicon dir."""
    root = tmp_path_factory.mktemp("lingualift-data")
    lexdir = root / "lexicons"
    lexdir.mkdir()
    for lang, pairs in LEXICON.items():
        extra = {w: f"{w[::-1]}{lang}" for w in EXTRA_WORDS}
        (lexdir / f"en-{lang}.tsv").write_text("".join(f"{e}\t{f}\n" for e, f in (pairs | extra).items()))
    switcher = CodeSwitcher(load_lexicons([lexdir], ["sw", "de"]), ratio=0.5, seed=1, holdout_share=0.5)
    records = problems(72)
    write_examples(
        root / "cs.jsonl",
        (
            codeswitch_example(r, i, field="question", switcher=switcher, source="t")
            for i, r in enumerate(records)
        ),
    )
    with open(root / "en.jsonl", "w") as f:
        for r in records:
            f.write(json.dumps({"instruction": r["question"], "output": r["answer"]}) + "\n")
    return {"cs": root / "cs.jsonl", "en": root / "en.jsonl", "lexicons": lexdir}


def stage1_config(path: Path, data: dict[str, Path], out: Path, **training) -> Path:
    cfg = {
        "recipe": "lingualift_stage1",
        "name": "s1",
        "output_dir": str(out),
        "seed": 7,
        "model": {
            "encoder": "tiny:mt5-encoder",
            "lm": "tiny:llama",
            "dtype": "float32",
            "encoder_max_length": 96,
        },
        "data": {"train": [{"path": str(data["cs"])}], "target": "continue", "lm_max_length": 160},
        "optim": {"alignment": {"lr": 3e-3}},
        "check": {
            "holdout": 8,
            "lexicons": [str(data["lexicons"])],
            "words_per_language": 10,
            "batch_size": 8,
        },
        "training": {
            "max_steps": 24,
            "batch_size": 8,
            "save_steps": 12,
            "logging_steps": 4,
            "lr_scheduler": "constant",
        }
        | training,
    }
    path.write_text(yaml.safe_dump(cfg))
    return path


def stage2_config(path: Path, data: dict[str, Path], stage1: Path, out: Path, **training) -> Path:
    cfg = {
        "recipe": "lingualift_stage2",
        "name": "s2",
        "output_dir": str(out),
        "seed": 7,
        "stage1": str(stage1),
        "model": {"dtype": "float32"},
        "data": {"train": [{"path": str(data["en"])}], "template": "metamath", "lm_max_length": 192},
        "optim": {"lm": {"lr": 2e-3}},
        "training": {
            "max_steps": 16,
            "batch_size": 8,
            "save_steps": 8,
            "logging_steps": 4,
            "lr_scheduler": "cosine",
        }
        | training,
    }
    path.write_text(yaml.safe_dump(cfg))
    return path


@pytest.fixture(scope="module")
def stage1_run(tmp_path_factory, data) -> RunDir:
    root = tmp_path_factory.mktemp("stage1")
    return train(stage1_config(root / "s1.yaml", data, root / "run"))


@pytest.fixture(scope="module")
def stage2_run(tmp_path_factory, data, stage1_run) -> RunDir:
    root = tmp_path_factory.mktemp("stage2")
    return train(stage2_config(root / "s2.yaml", data, stage1_run.path, root / "run"))


def losses(run: RunDir) -> list[float]:
    return [loss for _, loss in run.manifest()["training"]["loss_history"]]


# ---------------------------------------------------------------------------------------------------- what trains


def tiny_bridge():
    torch.manual_seed(0)
    return build_bridge("tiny:mt5-encoder", "tiny:llama", dtype="float32")


def one_step(model, processor, tmp_path: Path, optim: OptimConfig | None = None) -> BridgeTrainer:
    triples = [(r["id"], r["question"], r["answer"]) for r in problems(8)]
    features, _ = encode_pairs(processor, triples, lm_max_length=128)
    args = training_arguments(
        BridgeTrainingConfig(max_steps=1, batch_size=8, save_steps=1, logging_steps=1),
        RunDir(tmp_path),
        seed=0,
    )
    trainer = BridgeTrainer(
        model=model,
        args=args,
        train_dataset=features,
        data_collator=processor.collate,
        optim=optim or OptimConfig(),
    )
    trainer.train()
    return trainer


def changed(before: dict[str, torch.Tensor], model) -> set[str]:
    return {n for n, p in model.named_parameters() if not torch.equal(before[n], p.detach())}


@pytest.mark.parametrize("encoder_embeddings", [False, True])
def test_stage1_step_changes_only_the_alignment_layer_and_chosen_embeddings(tmp_path, encoder_embeddings):
    model, processor = tiny_bridge()
    model.set_trainable(alignment=True, lm=False, encoder_embeddings=encoder_embeddings)
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    trainer = one_step(model, processor, tmp_path)
    alignment = {n for n in before if n.startswith("alignment.")}
    assert changed(before, model) == alignment | ({"encoder.shared.weight"} if encoder_embeddings else set())
    # The checkpoint holds exactly the trainable parameters.
    saved = load_file(tmp_path / "checkpoints" / "checkpoint-1" / "model.safetensors")
    assert set(saved) == {n for n, p in model.named_parameters() if p.requires_grad}
    parts = {g["part"] for g in trainer.optimizer.param_groups}
    assert parts == {"alignment"} | ({"encoder_embeddings"} if encoder_embeddings else set())


def test_stage2_step_leaves_the_alignment_layer_bit_identical(tmp_path):
    model, processor = tiny_bridge()
    model.set_trainable(alignment=False, lm=True, encoder_embeddings=False)
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    one_step(model, processor, tmp_path)
    moved = changed(before, model)
    assert not any(n.startswith(("alignment.", "encoder.")) for n in moved)
    lm = {n for n, p in model.named_parameters() if n.startswith("lm.")}
    assert moved == lm


def test_stage2_lora_step_changes_only_adapters(tmp_path):
    model, processor = tiny_bridge()
    model.set_trainable(alignment=False, lm=False, encoder_embeddings=False)
    lora = LoraConfig(r=4, target_modules=["q_proj", "v_proj"])
    model.lm = apply_lora(
        model.lm, r=lora.r, alpha=lora.alpha, dropout=0.0, target_modules=lora.target_modules
    )
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    one_step(model, processor, tmp_path)
    moved = changed(before, model)
    assert moved and all("lora_" in n for n in moved)
    assert any("lora_B" in n for n in moved)


def test_parameter_groups_take_their_own_learning_rates_and_decay(tmp_path):
    model, processor = tiny_bridge()
    model.set_trainable(alignment=True, lm=True, encoder_embeddings=True)
    optim = OptimConfig(
        alignment=GroupConfig(lr=1e-3),
        lm=GroupConfig(lr=1e-5, weight_decay=0.01),
        encoder_embeddings=GroupConfig(lr=3e-5, weight_decay=0.1),
    )
    trainer = one_step(model, processor, tmp_path, optim)
    groups = {(g["part"], g["weight_decay"]): g["initial_lr"] for g in trainer.optimizer.param_groups}
    assert groups == {
        ("alignment", 0.0): 1e-3,
        ("lm", 0.01): 1e-5,
        ("lm", 0.0): 1e-5,
        ("encoder_embeddings", 0.1): 3e-5,
    }
    no_decay = next(
        g for g in trainer.optimizer.param_groups if g["part"] == "lm" and g["weight_decay"] == 0.0
    )
    names = {id(p): n for n, p in model.named_parameters()}
    assert all("norm" in names[id(p)] for p in no_decay["params"])  # norms (and biases) do not decay


def test_decay_norms_and_biases_decays_every_parameter_of_a_part():
    model, _ = tiny_bridge()
    model.set_trainable(alignment=True, lm=True, encoder_embeddings=True)
    decay = {n for n, _ in model.named_parameters() if "norm" not in n and not n.endswith("bias")}
    released = OptimConfig(lm=GroupConfig(lr=1e-5, weight_decay=0.01), decay_norms_and_biases=True)
    groups = parameter_groups(model, released, decay)
    assert {(g["part"], g["weight_decay"]) for g in groups} == {
        ("alignment", 0.0),
        ("lm", 0.01),
        ("encoder_embeddings", 0.1),
    }
    lm = next(g for g in groups if g["part"] == "lm")
    assert len(lm["params"]) == sum(1 for n, p in model.named_parameters() if n.startswith("lm."))


# ---------------------------------------------------------------------------------------------------- the recipes


def test_stage1_end_to_end(stage1_run, data):
    history = losses(stage1_run)
    assert len(history) == 6 and history[-1] < history[0] - 0.05, history  # seed 7: the loss goes down
    manifest = stage1_run.manifest()
    assert manifest["status"] == "completed" and manifest["recipe"] == "lingualift_stage1"
    assert manifest["data_stats"]["held_out_for_check"] == 8 and manifest["data_stats"]["used"] == 64
    assert str(data["cs"]) in manifest["data"]
    assert {g["part"] for g in manifest["optimizer_groups"]} == {"alignment"}
    # The alignment check's figures, in the run directory and beside the model.
    check = json.loads((stage1_run.path / "alignment_check.json").read_text())
    assert check == json.loads((stage1_run.model / "alignment_check.json").read_text())
    loss = check["loss"]
    assert loss["examples"] == 8 and loss["target_tokens"] > 0
    assert loss["ratio"] == pytest.approx(loss["bridge"] / loss["english_tokens"])
    assert (
        check["passed"] == (loss["ratio"] <= 1.10)
        and manifest["alignment_check"]["passed"] == check["passed"]
    )
    retrieval = check["word_retrieval"]
    assert set(retrieval["languages"]) == {"sw", "de"}
    assert all(v["pairs"] == 10 and 0 <= v["p_at_1"] <= 1 for v in retrieval["languages"].values())
    # ... on lexicon entries the code-switching held out (the data's records say which share and seed)
    assert retrieval["word_pairs"] == "held_out" and retrieval["held_out"] == [{"share": 0.5, "seed": 1}]
    # Frozen parts are saved exactly as loaded.
    saved = load_file(stage1_run.model / "model.safetensors")
    lm = load_file(Path(resolve_model_path("tiny:llama")) / "model.safetensors")
    encoder = load_file(Path(resolve_model_path("tiny:mt5-encoder")) / "model.safetensors")
    assert all(torch.equal(saved[f"lm.{k}"], v) for k, v in lm.items())
    # (the encoder's embedding matrix grew rows for the space-run tokens the tiny mT5 tokenizer lacks)
    assert all(
        torch.equal(saved[f"encoder.{k}"][: len(v)], v) for k, v in encoder.items() if f"encoder.{k}" in saved
    )


def test_stage2_end_to_end_from_stage1(stage2_run, stage1_run):
    history = losses(stage2_run)
    assert history[-1] < 0.8 * history[0], history
    manifest = stage2_run.manifest()
    assert manifest["status"] == "completed" and manifest["stage1"]["model"] == str(stage1_run.model)
    assert {g["part"] for g in manifest["optimizer_groups"]} == {"lm"}
    one, two = (
        load_file(stage1_run.model / "model.safetensors"),
        load_file(stage2_run.model / "model.safetensors"),
    )
    assert all(torch.equal(one[k], two[k]) for k in one if k.startswith(("alignment.", "encoder.")))
    assert any(not torch.equal(one[k], two[k]) for k in one if k.startswith("lm."))
    assert (stage2_run.model / "alignment_check.json").exists()

    from crosslift.models.generate import load_generator
    from crosslift.models.generation import GenerationSettings

    generator = load_generator(str(stage2_run.model), device="cpu")
    out = generator.generate(["Tom has 3 apples. How many apples?"], GenerationSettings(max_new_tokens=8))
    assert isinstance(out[0], str)


def test_stage2_with_lora_saves_a_merged_bridge_and_the_adapter(tmp_path, data, stage1_run):
    config = stage2_config(tmp_path / "c.yaml", data, stage1_run.path, tmp_path / "run", max_steps=2)
    run = train(config, ["lora.r=4", "lora.target_modules=[q_proj, v_proj]"])
    assert (run.path / "lm_adapter" / "adapter_model.safetensors").exists()
    weights = load_file(run.model / "model.safetensors")
    assert not any("lora_" in k for k in weights) and "lm.model.layers.0.self_attn.q_proj.weight" in weights


def test_stage2_refuses_a_stage1_that_failed_its_check(tmp_path, data, stage1_run, capsys):
    failed = tmp_path / "stage1"
    shutil.copytree(stage1_run.path, failed)
    check = json.loads((failed / "alignment_check.json").read_text())
    check |= {
        "passed": False,
        "failures": ["loss through the bridge is 1.50x the loss with the English prompt"],
    }
    (failed / "alignment_check.json").write_text(json.dumps(check))
    config = stage2_config(tmp_path / "c.yaml", data, failed, tmp_path / "run", max_steps=1)
    assert cli_main(["train", str(config)]) == 2
    err = capsys.readouterr().err
    assert "failed its alignment check" in err and "1.50x" in err and "on_failed_alignment: warn" in err
    assert not (tmp_path / "run").exists()
    run = train(config, ["on_failed_alignment=warn"])
    assert run.manifest()["stage1"]["alignment_check"]["passed"] is False


def test_insert_family_trains_both_stages(tmp_path, data):
    pattern = r"### Instruction:\n(.*?)\n\n### Response"
    s1 = stage1_config(tmp_path / "s1.yaml", data, tmp_path / "s1", max_steps=2, save_steps=2)
    run1 = train(
        s1,
        [
            "model.family=insert",
            f"model.encoder_pattern='{pattern}'",
            "data.template=metamath",
            "check.lexicons=[]",
            "init.method=least_squares",
            "init.texts=16",
        ],
    )
    assert run1.manifest()["least_squares_init"]["pairs"] > 100
    assert json.loads((run1.model / "config.json").read_text())["bridge"]["encoder_pattern"] == pattern
    assert json.loads((run1.path / "alignment_check.json").read_text())["word_retrieval"] is None
    s2 = stage2_config(tmp_path / "s2.yaml", data, run1.path, tmp_path / "s2", max_steps=2)
    run2 = train(s2, ["on_failed_alignment=warn"])
    assert run2.manifest()["status"] == "completed"


def test_resolve_bridge_dir(stage1_run, tmp_path):
    assert resolve_bridge_dir(stage1_run.path) == (stage1_run.model, stage1_run.path)
    assert resolve_bridge_dir(stage1_run.model) == (stage1_run.model, stage1_run.path)
    with pytest.raises(CrossliftError, match="neither a stage-1 run directory"):
        resolve_bridge_dir(tmp_path)


# ---------------------------------------------------------------------------------------------------- configs, errors


def test_a_global_learning_rate_is_refused_with_its_key(tmp_path, data, capsys):
    config = stage1_config(tmp_path / "c.yaml", data, tmp_path / "run")
    assert cli_main(["train", str(config), "training.learning_rate=1e-3"]) == 2
    err = capsys.readouterr().err
    assert "training.learning_rate" in err and "per part" in err and "optim.alignment" in err


def test_insert_without_pattern_is_a_located_config_error(tmp_path, data, capsys):
    config = stage1_config(tmp_path / "c.yaml", data, tmp_path / "run")
    assert cli_main(["train", str(config), "model.family=insert"]) == 2
    assert "key 'model'" in capsys.readouterr().err


def test_continue_target_without_answers_fails_before_any_work(tmp_path, data, capsys):
    config = stage1_config(tmp_path / "c.yaml", data, tmp_path / "run")
    assert cli_main(["train", str(config), "data.answer_field=solution"]) == 2
    err = capsys.readouterr().err
    assert str(data["cs"]) in err and "'solution'" in err and "no English answer" in err
    assert not (tmp_path / "run").exists()


def test_retrieval_on_held_out_pairs_needs_data_that_held_some_out(tmp_path, data, capsys):
    plain = tmp_path / "plain.jsonl"
    switcher = CodeSwitcher(
        load_lexicons([data["lexicons"]], ["sw", "de"]), ratio=0.5, seed=1
    )  # nothing held out
    write_examples(
        plain,
        (codeswitch_example(r, i, field="question", switcher=switcher) for i, r in enumerate(problems(40))),
    )
    config = stage1_config(tmp_path / "c.yaml", data | {"cs": plain}, tmp_path / "run")
    assert cli_main(["train", str(config)]) == 2
    err = capsys.readouterr().err
    assert "were not code-switched with held-out lexicon entries" in err and "check.word_pairs: all" in err
    assert not (tmp_path / "run").exists()


def test_a_missing_check_lexicon_fails_before_training(tmp_path, data, capsys):
    config = stage1_config(tmp_path / "c.yaml", data, tmp_path / "run")
    assert cli_main(["train", str(config), f"check.lexicons=[{tmp_path / 'nowhere'}]"]) == 2
    assert "lexicon source not found" in capsys.readouterr().err
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("name", ["stage1_tiny", "stage2_tiny", "stage1_paper", "stage2_paper"])
def test_bundled_configs_validate(name):
    module, cfg = load_run_config(CONFIGS / f"{name}.yaml")
    assert module.__name__ == f"crosslift.train.lingualift.{name.split('_')[0]}"
    if name.endswith("paper"):
        assert (
            cfg.training.precision == "bf16" and cfg.training.deepspeed == "configs/lingualift/ds_zero3.json"
        )
        assert (
            cfg.optim.alignment.lr == 6e-4
            and cfg.optim.lm.lr == 2e-5
            and cfg.optim.encoder_embeddings.weight_decay == 0.1
        )
        assert cfg.trainable.encoder_embeddings and cfg.data.lm_max_length == 1280
        assert cfg.training.grad_accum == 8 and cfg.training.batch_size == (
            8 if name == "stage1_paper" else 4
        )
        assert cfg.training.lr_scheduler == ("constant" if name == "stage1_paper" else "cosine")
        # as released: per-micro-batch losses, a part's decay on all its parameters, stage 2 on the raw query
        assert cfg.training.loss_average == "micro_batch" and cfg.optim.decay_norms_and_biases
        assert cfg.data.template is None


def test_deepspeed_config_lets_our_parameter_groups_through():
    ds = json.loads((CONFIGS / "ds_zero3.json").read_text())
    assert ds["zero_optimization"]["stage"] == 3
    assert ds["zero_optimization"]["stage3_gather_16bit_weights_on_model_save"] is True
    # No optimizer / scheduler sections: HF Trainer then builds ours (three groups) and its scheduler.
    assert "optimizer" not in ds and "scheduler" not in ds
    assert (REPO / "configs" / "lingualift" / "ds_zero3.json").is_file()  # the path the paper configs use


# ---------------------------------------------------------------------------------------------------- resume


def assert_same_weights(a: Path, b: Path, prefix: str) -> None:
    wa, wb = load_file(a / "model" / "model.safetensors"), load_file(b / "model" / "model.safetensors")
    assert wa.keys() == wb.keys()
    for name in (n for n in wa if n.startswith(prefix)):
        assert (wa[name] - wb[name]).abs().max().item() < 1e-5, name


@pytest.mark.slow
def test_stage1_resumes_after_sigkill(tmp_path, data, killed_and_resumed):
    config = stage1_config(tmp_path / "c.yaml", data, tmp_path / "unused", max_steps=40, save_steps=5)
    straight, killed = killed_and_resumed(tmp_path, config, 10)
    assert_same_weights(straight, killed, "alignment.")
    a = json.loads((straight / "alignment_check.json").read_text())["loss"]
    b = json.loads((killed / "alignment_check.json").read_text())["loss"]
    assert a["bridge"] == pytest.approx(b["bridge"], rel=1e-4)


@pytest.mark.slow
def test_stage2_resumes_after_sigkill(tmp_path, data, stage1_run, killed_and_resumed):
    config = stage2_config(
        tmp_path / "c.yaml", data, stage1_run.path, tmp_path / "unused", max_steps=30, save_steps=5
    )
    straight, killed = killed_and_resumed(tmp_path, config, 10)
    assert_same_weights(straight, killed, "lm.")
