"""The CrossIn and PLUG configs: paper settings as documented, and the tiny ones end to end (data command -> train).

Each tiny config's header documents the `crosslift data ...` command that makes its data; it is the config's own
`build:` (checked for every tiny config that builds its data), and the end-to-end tests run it, so the
documented command is the tested one.
"""

import shlex
from pathlib import Path

import pytest

from crosslift.cli import main
from crosslift.data.specs import spec_from_argv
from crosslift.train import load_run_config, train

CONFIGS = Path(__file__).resolve().parents[2] / "src" / "crosslift" / "configs"


def documented_command(config: Path) -> list[str]:
    """The `crosslift data ...` command of a config's header comment, as argv (without 'crosslift')."""
    lines, collecting = [], False
    for line in config.read_text().splitlines():
        text = line.lstrip("#").strip()
        if text.startswith("crosslift data "):
            collecting = True
        if collecting:
            lines.append(text.rstrip("\\").strip())
            if not text.endswith("\\"):
                break
    assert lines, f"{config} documents no 'crosslift data' command"
    return shlex.split(" ".join(lines))[1:]


def test_crossin_paper_config():
    _, cfg = load_run_config(CONFIGS / "crossin" / "paper_llama2_7b_lora.yaml")
    assert (cfg.lora.r, cfg.lora.alpha, cfg.lora.dropout) == (64, 128, 0.05)
    assert set(cfg.lora.target_modules) == {
        "q_proj",
        "k_proj",
        "v_proj",
        "o_proj",
        "gate_proj",
        "down_proj",
        "up_proj",
    }
    assert cfg.lora.modules_to_save == ["embed_tokens", "lm_head"]
    t = cfg.training
    assert (t.learning_rate, t.epochs, t.batch_size * t.grad_accum, t.lr_scheduler) == (1e-4, 1, 16, "cosine")
    assert (t.warmup_ratio, t.weight_decay, t.precision, cfg.seed, cfg.data.max_length) == (
        0.03,
        0.01,
        "bf16",
        42,
        4096,
    )
    assert t.loss_average == "micro_batch"  # released: each micro-batch (one sequence) weighs the same


def test_plug_paper_config():
    _, cfg = load_run_config(CONFIGS / "plug" / "paper_llama2_13b.yaml")
    t = cfg.training
    assert cfg.lora is None and cfg.model.name_or_path == "meta-llama/Llama-2-13b-hf"
    assert (t.learning_rate, t.epochs, t.lr_scheduler, t.warmup_ratio, t.weight_decay) == (
        5e-6,
        4,
        "linear",
        0.03,
        0.0,
    )
    assert (cfg.data.template, cfg.data.max_length, t.precision, t.gradient_checkpointing) == (
        "tulu",
        4096,
        "bf16",
        True,
    )
    assert t.loss_average == "micro_batch"


TINY_WITH_BUILD = [
    "sft_tiny",
    "crossin/tiny",
    "plug/tiny",
    "lingualift/stage1_tiny",
    "lingualift/stage2_tiny",
]


@pytest.mark.parametrize("name", TINY_WITH_BUILD)
def test_the_documented_command_is_the_tiny_configs_build_and_needs_nothing_outside(name):
    config = CONFIGS / f"{name}.yaml"
    _, cfg = load_run_config(config)
    (source,) = cfg.data.train
    data, *argv = documented_command(config)
    out = argv.index("--out")
    assert data == "data" and argv[out + 1] == source.path
    assert spec_from_argv(argv[:out] + argv[out + 2 :]).model_dump() == source.build.model_dump()
    build = source.build  # made in code: the toy set, and the toy lexicon; no file is read
    assert (build.verb == "toy" or build.toy_items) and getattr(build, "lexicon", ["toy"]) == ["toy"]
    assert "toy set made by crosslift" in " ".join(config.read_text().split())  # said in the header


@pytest.mark.slow
@pytest.mark.parametrize("method", ["crossin", "plug"])
def test_tiny_config_end_to_end(method, tmp_path, monkeypatch):
    """The documented data command, then two training steps, in a folder with no ../shared beside it."""
    monkeypatch.chdir(tmp_path)
    assert not (tmp_path.parent / "shared").exists()
    config = CONFIGS / method / "tiny.yaml"
    assert main(documented_command(config)) == 0
    run = train(config, [f"output_dir={tmp_path / 'run'}", "training.max_steps=2", "training.save_steps=2"])
    manifest = run.manifest()
    assert manifest["status"] == "completed" and manifest["training"]["global_step"] == 2
    assert manifest["data_stats"]["left_out_no_response_within_max_length"] == 0
    assert (run.model / "tokenizer.json").exists()
