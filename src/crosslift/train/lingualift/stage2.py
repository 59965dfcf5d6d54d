"""LinguaLIFT stage 2, task transfer: freeze the alignment layer, instruction-tune the LM on English data.

Starts from a stage-1 directory. The encoder reads each (English) prompt, the frozen alignment layer turns it
into soft tokens, and the LM — fully, or through LoRA adapters — learns to answer. Because the encoder is
multilingual and the alignment layer already maps other languages onto English meaning, the skill learned on
English prompts transfers to prompts in other languages at inference. Reads top to bottom:

    setup   read + validate the data; refuse a stage-1 bridge that failed its alignment check (unless
            `on_failed_alignment: warn`); load the bridge; freeze the alignment layer (and the encoder body);
            LoRA adapters on the LM if asked for
    train   HF Trainer with one optimizer group per part; resumes after kill -9
    save    the whole bridge (LoRA merged into the LM; the adapter also in runs/<name>/lm_adapter) +
            both tokenizers in runs/<name>/model

    crosslift train configs/lingualift/stage2_tiny.yaml [key.sub=value ...]
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, field_validator
from rich.text import Text
from transformers import set_seed

from crosslift.config import LoraConfig, RunConfig, Section
from crosslift.data.sources import read_sources
from crosslift.errors import ConfigError, CrossliftError
from crosslift.io import atomic_write_json
from crosslift.models.bridge import check_bridge_options
from crosslift.models.build import apply_lora, load_bridge
from crosslift.runs import RunDir
from crosslift.train.common import RecipeRun, print_main, train_with_resume
from crosslift.train.lingualift.common import (
    CHECK_FILE,
    BridgeDataConfig,
    BridgeTrainingConfig,
    OptimConfig,
    TrainableConfig,
    bridge_trainer,
    data_line,
    encode_pairs,
    group_summary,
    parameter_counts,
    render_prompt,
    resolve_bridge_dir,
    with_options,
)


class Stage2ModelConfig(Section):
    """How to load the stage-1 bridge."""

    dtype: Literal["auto", "float32", "bfloat16", "float16"] = "auto"
    trust_remote_code: bool = False
    attn_implementation: str | None = None
    encoder_pattern: str | None = Field(
        None,
        description="a bridge with an encoder_pattern (insert family): replace stage 1's prompt split (stage-2 "
        "prompts usually differ)",
    )


class Stage2DataConfig(BridgeDataConfig):
    template: str | None = "metamath"


class Stage2Config(RunConfig):
    recipe: Literal["lingualift_stage2"] = "lingualift_stage2"
    stage1: str = Field(description="the stage-1 run directory (or its model/ directory)")
    on_failed_alignment: Literal["refuse", "warn"] = Field(
        "refuse", description="what to do when the stage-1 bridge failed its alignment check"
    )
    model: Stage2ModelConfig = Field(default_factory=Stage2ModelConfig)
    lora: LoraConfig | None = None
    data: Stage2DataConfig
    trainable: TrainableConfig = Field(default_factory=TrainableConfig)
    optim: OptimConfig = Field(default_factory=OptimConfig)
    training: BridgeTrainingConfig = Field(default_factory=BridgeTrainingConfig)

    @field_validator("model")
    @classmethod
    def _pattern(cls, v: Stage2ModelConfig) -> Stage2ModelConfig:
        if v.encoder_pattern is not None:
            try:
                check_bridge_options(
                    {"family": "insert", "encoder_pattern": v.encoder_pattern},
                    encoder_layers=None,
                    lm_layers=None,
                )
            except ConfigError as e:
                raise ValueError(str(e)) from None
        return v


# ---------------------------------------------------------------------------------------------------- setup


def stage1_alignment(model_dir: Path, run_dir: Path | None, policy: str) -> dict[str, Any] | None:
    """The stage-1 alignment check, enforced: a failed check raises unless `policy` is "warn"."""
    found = [d / CHECK_FILE for d in (run_dir, model_dir) if d is not None and (d / CHECK_FILE).is_file()]
    if not found:
        print_main(
            f"{model_dir} carries no alignment check (stage 1 ran with check.enabled: false, or the bridge "
            "was built elsewhere); stage 2 goes on without one",
            style="yellow",
        )
        return None
    check = json.loads(found[0].read_text(encoding="utf-8"))
    if check.get("passed"):
        return check
    message = (
        f"the stage-1 bridge {model_dir} failed its alignment check ({found[0]}): "
        + "; ".join(check.get("failures") or ["no reason recorded"])
        + ". Fine-tuning the LM on top of it would teach it to ignore a bridge that carries too little of the prompt. "
        "Improve stage 1 (more steps, init.method: least_squares, data.target: continue, another model.encoder_layer), "
        "or set on_failed_alignment: warn to train anyway."
    )
    if policy == "refuse":
        raise CrossliftError(message)
    print_main(Text.assemble(("warning", "bold red"), f": {message}"))
    return check


# ---------------------------------------------------------------------------------------------------- run


def run(cfg: Stage2Config) -> RunDir:
    """Set up, train (resuming if the run directory has a checkpoint) and save. Returns the run directory."""
    # -- data and the stage-1 bridge's check (first: nothing is written or loaded when either is bad)
    examples, _, summaries = read_sources(cfg.data.train, skip_invalid=cfg.data.skip_invalid)
    held_out, _, _ = read_sources(cfg.data.validation or [], skip_invalid=cfg.data.skip_invalid)
    model_dir, stage1_run = resolve_bridge_dir(cfg.stage1)
    check = stage1_alignment(model_dir, stage1_run, cfg.on_failed_alignment)
    run = RecipeRun(cfg)
    for line in summaries:
        print_main(f"data: {line}")

    # -- model
    set_seed(cfg.seed)
    m = cfg.model
    bridge, processor = load_bridge(
        model_dir,
        dtype=m.dtype,
        trust_remote_code=m.trust_remote_code,
        attn_implementation=m.attn_implementation,
    )
    if m.encoder_pattern is not None:
        processor = with_options(bridge, processor, model_dir, encoder_pattern=m.encoder_pattern)
    bridge.set_trainable(
        alignment=False, lm=cfg.lora is None, encoder_embeddings=cfg.trainable.encoder_embeddings
    )
    if cfg.lora is not None:
        lora = cfg.lora
        bridge.lm = apply_lora(
            bridge.lm,
            r=lora.r,
            alpha=lora.alpha,
            dropout=lora.dropout,
            target_modules=lora.target_modules,
            modules_to_save=lora.modules_to_save,
        )
        bridge.train(bridge.training)

    tok = processor.lm_tokenizer
    triples = [(ex.id, render_prompt(ex, cfg.data.template, tok), ex.output) for ex in examples]
    features, data_stats = encode_pairs(processor, triples, cfg.data.lm_max_length)
    print_main(data_line(data_stats))
    validation, validation_stats = None, None
    if held_out:
        validation, validation_stats = encode_pairs(
            processor,
            [(ex.id, render_prompt(ex, cfg.data.template, tok), ex.output) for ex in held_out],
            cfg.data.lm_max_length,
        )
    run.start(
        models={
            "stage1": str(model_dir),
            "encoder": bridge.config.encoder_name_or_path,
            "lm": bridge.config.lm_name_or_path,
        },
        stage1={
            "model": str(model_dir),
            "run": str(stage1_run) if stage1_run else None,
            "alignment_check": None
            if check is None
            else {"passed": check["passed"], "loss_ratio": check["loss"]["ratio"]},
        },
        data_stats=data_stats,
        **({"validation_stats": validation_stats} if validation_stats else {}),
        parameters=parameter_counts(bridge),
    )

    # -- train
    trainer = bridge_trainer(run, bridge, processor, features, validation, "lingualift stage 2")
    result = train_with_resume(trainer, run.dir)

    # -- save
    if cfg.lora is not None:
        if run.is_main:
            bridge.lm.save_pretrained(run.dir.path / "lm_adapter")
        bridge.lm = bridge.lm.merge_and_unload()  # the saved bridge is a plain one: generation needs no peft
    run.save(trainer, bridge, processor.tokenizers())
    if run.is_main and check is not None:
        atomic_write_json(run.dir.model / CHECK_FILE, check)  # the bridge keeps its stage-1 verdict
    run.finish(trainer, result, "bridge", optimizer_groups=group_summary(trainer.optimizer))
    return run.dir


Config = Stage2Config
