"""The demo's config: the world, the models, the methods and the steps of every phase (`configs/demo/*.yaml`)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator

from crosslift.config import Section, load_config, resolve_config
from crosslift.synth.steps import Steps

LABELS = {
    "baseline": "baseline (English SFT)",
    "lingualift": "LinguaLIFT",
    "crossin": "CrossIn",
    "plug": "PLUG",
    "self_encoder": "control: self-encoder bridge",
    "codeswitch_sft": "control: code-switched SFT",
    "langbridge": "LangBridge",
    "mindmerger": "MindMerger",
    "qalign": "QAlign",
    "layalign": "LayAlign",
}
# LinguaLIFT's peers (docs/bridges.md), in the comparison when asked for (`crosslift demo --methods`)
PEERS = ("langbridge", "mindmerger", "qalign", "layalign")
METHODS = tuple(m for m in LABELS if m not in PEERS)  # the default comparison
CONTROLS = ("self_encoder", "codeswitch_sft")
BRIDGES = {"lingualift": "encoder", "self_encoder": "llm"}  # bridge method -> the model its encoder is

# `crosslift demo --full`: the recorded experiment (docs/demo.md)
FULL = {"seeds": [0, 1, 2, 3, 4], "pretraining_seeds": [0, 1]}

# ---------------------------------------------------------------------------------------------------- config


class PretrainSettings(Section):
    vocab_size: int = Field(2048, ge=512)
    block_size: int = Field(128, gt=8)
    llm: Steps
    encoder: Steps


class CheckSettings(Section):
    """Stage 1's alignment check (crosslift.train.lingualift.check); the thresholds were chosen on dev."""

    max_loss_ratio: float = Field(
        1.10, gt=0, description="code-switched held-out pairs: bridge / English tokens"
    )
    language_loss_ratio: float | None = Field(
        None, gt=0, description="per language, whole dev sentences: a language fails above this ratio"
    )
    mean_sentence_retrieval: float | None = Field(
        None,
        ge=0,
        le=1,
        description="the mean over languages of sentence-retrieval P@1 through the bridge must reach this",
    )
    sentences_per_language: int = Field(50, ge=2)


class Stage1Settings(Steps):
    ratio: float = Field(0.4, ge=0, le=1, description="share of dictionary-covered words switched")
    sentence_ratio: float = Field(
        0.5,
        ge=0,
        le=1,
        description="chance a sentence is rendered whole where the world's parallel set has it (0: the paper's "
        "words-only code-switching)",
    )
    encoder_layer: int = Field(2, ge=-1, description="which hidden state of the encoder the bridge reads")
    examples: int = Field(
        4000, gt=0, description="code-switched questions built from the English instructions"
    )
    holdout_share: float = Field(
        0.2,
        ge=0,
        lt=1,
        description="dictionary entries never switched: the alignment check's word retrieval is measured on them",
    )
    restarts: int = Field(
        2,
        ge=0,
        description="stage-1 restarts (new seed) when the check fails: the same for every bridge method",
    )
    check: CheckSettings = Field(default_factory=CheckSettings)


class DemoConfig(Section):
    """A demo run: the world, the models, the methods and the steps of every phase."""

    world: str = Field("default", description="a bundled world (default, quick, ...) or a world YAML path")
    seeds: list[int] = Field([0], min_length=1, description="fine-tuning seeds")
    pretraining_seeds: list[int] = Field(
        [0],
        min_length=1,
        description="pretraining seeds (0 of the default world: the models shipped with crosslift)",
    )
    split: Literal["test", "dev"] = "test"
    methods: list[str] = Field(list(METHODS), min_length=1, description="methods and controls to compare")
    pretrain: PretrainSettings
    sft: Steps = Field(description="the baseline, both bridges' stage 2 and the code-switched SFT control")
    crossin: Steps | None = Field(
        None, description="CrossIn's own schedule (default: as sft); its mix is larger"
    )
    plug: Steps | None = Field(
        None, description="PLUG's own schedule (default: as sft); its answers are longer"
    )
    mapping: Steps | None = Field(
        None,
        description="the peers' stages that train a mapping with the LLM frozen (LangBridge, MindMerger, LayAlign; "
        "default: as stage1's steps, batch and rate)",
    )
    stage1: Stage1Settings
    template: Literal["qa", "metamath_en"] = Field(
        "qa",
        description="the prompt every method but PLUG trains and is evaluated with: qa ('Question: ...\\nAnswer:') "
        "or LinguaLIFT's metamath prompt",
    )
    packing: bool = Field(
        True, description="padding-free batches in every fine-tuning step (training.packing)"
    )
    max_length: int = Field(256, gt=16)
    eval_batch_size: int = Field(64, gt=0)
    max_new_tokens: int = Field(64, gt=0)

    @field_validator("methods")
    @classmethod
    def _known_methods(cls, methods: list[str]) -> list[str]:
        if unknown := [m for m in methods if m not in LABELS]:
            raise ValueError(f"unknown method(s) {', '.join(unknown)}; known: {', '.join(LABELS)}")
        if "baseline" not in methods:
            raise ValueError("the baseline is what every method is compared with: keep it in methods")
        return list(dict.fromkeys(methods))


def load_demo_config(name_or_path: str | Path, overrides: list[str] = ()) -> DemoConfig:
    """A bundled demo config by name ("default", "quick") or a YAML path, with `key=value` overrides."""
    return load_config(DemoConfig, resolve_config(name_or_path, "demo"), list(overrides))
