"""The bridge recipe: build a bridge (or take the one an earlier stage saved) and train the parts a method trains.

LangBridge, MindMerger and LayAlign are this recipe with their presets, data and trainable parts
(docs/bridges.md); LinguaLIFT has its own two stages (`crosslift.train.lingualift`) for its alignment check.

    LangBridge   one stage: English instructions; the alignment layer and the encoder's input embeddings train
    MindMerger   stage 1 (mapping): translation pairs x -> English, the LM reads no prompt; stage 2
                 (augmentation): query-translated task data, the LM reads the prompt too; only the mapping trains
    LayAlign     MindMerger's two stages, with the fusion (every encoder layer, gated cross-attention) training
                 beside the mapping

Reads top to bottom:

    setup   read + validate the data (fail before anything is written); build the bridge from `model:`, or load
            the one `start_from:` names; freeze all but `trainable:`
    train   HF Trainer with one optimizer group per part; resumes after kill -9
    save    the whole bridge (safetensors) + both tokenizers in runs/<name>/model, loadable by `crosslift eval`

    crosslift train configs/mindmerger/stage1_mapping_tiny.yaml
    crosslift train configs/mindmerger/stage2_augmentation_tiny.yaml    # starts from stage 1's run
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator
from transformers import set_seed

from crosslift.config import RunConfig, Section
from crosslift.data.sources import read_sources
from crosslift.errors import ConfigError
from crosslift.models.bridge import FAMILIES
from crosslift.models.build import load_bridge, resolve_model_path
from crosslift.runs import RunDir
from crosslift.train.common import RecipeRun, print_main, train_with_resume
from crosslift.train.lingualift.common import (
    BridgeBuildConfig,
    BridgeDataConfig,
    BridgeTrainingConfig,
    OptimConfig,
    bridge_trainer,
    data_line,
    encode_pairs,
    group_summary,
    parameter_counts,
    render_prompt,
    resolve_bridge_dir,
    with_options,
)


class StartFromConfig(Section):
    """A bridge an earlier stage saved, and how to load it."""

    path: str = Field(description="the earlier stage's run directory (or its model/ directory)")
    dtype: Literal["auto", "float32", "bfloat16", "float16"] = "auto"
    trust_remote_code: bool = False
    attn_implementation: str | None = None
    encoder_pattern: str | None = Field(
        None,
        description="a new prompt split for a bridge whose family takes one (this stage's prompts differ)",
    )
    encoder_max_length: int | None = Field(
        None, gt=0, description="a new cut of the encoder's input (this stage's texts are longer)"
    )


class BridgeTrainableConfig(Section):
    """The parts that train (the encoder body never does)."""

    alignment: bool = Field(True, description="the alignment layer and its boundary vectors (the mapping)")
    lm: bool = Field(False, description="the whole LM")
    encoder_embeddings: bool = Field(
        False,
        description="the encoder's input embeddings (LangBridge: yes, as the whitespace tokens are new)",
    )
    fusion: bool = Field(False, description="the fusion family's layer mix, projection and gates (LayAlign)")

    @model_validator(mode="after")
    def _something(self) -> BridgeTrainableConfig:
        if not any(self.model_dump().values()):
            raise ValueError("nothing would train: set at least one part to true")
        return self


class BridgeStageDataConfig(BridgeDataConfig):
    lm_reads_prompt: bool = Field(
        True,
        description="false: the LM of an augment or fusion bridge reads only the soft tokens, not the prompt "
        "(MindMerger's and LayAlign's first stage: `--augmentation False`)",
    )


class BridgeRecipeConfig(RunConfig):
    recipe: Literal["bridge"] = "bridge"
    model: BridgeBuildConfig | None = Field(None, description="build a new bridge (or give start_from)")
    start_from: StartFromConfig | None = Field(
        None, description="continue from the bridge an earlier stage saved (or give model)"
    )
    trainable: BridgeTrainableConfig = Field(default_factory=BridgeTrainableConfig)
    data: BridgeStageDataConfig
    optim: OptimConfig = Field(default_factory=OptimConfig)
    training: BridgeTrainingConfig = Field(default_factory=BridgeTrainingConfig)

    @model_validator(mode="after")
    def _one_bridge(self) -> BridgeRecipeConfig:
        if (self.model is None) == (self.start_from is None):
            raise ValueError(
                "give one of model (build a new bridge from an encoder and an LM) and start_from (the bridge an "
                "earlier stage saved)"
            )
        if self.model is not None:
            try:
                check_family(
                    self.model.family, self.data.lm_reads_prompt, self.trainable.fusion, self.training.packing
                )
            except ConfigError as e:
                raise ValueError(str(e)) from None
        return self


def check_family(family: str, lm_reads_prompt: bool, fusion: bool, packing: bool) -> None:
    """What this stage asks of the bridge's family: a fusion to train, a prompt kept from the LM, packing.

    Raises:
        ConfigError: a family that cannot do it.
    """
    kind = FAMILIES[family]
    if fusion and not kind.fusion:
        raise ConfigError(f"trainable.fusion: the {family} family has no fusion (the fusion family has)")
    if not lm_reads_prompt and kind.lm_reads != "prompt":
        raise ConfigError(
            f"data.lm_reads_prompt: false applies to the augment and fusion families, not {family} (its LM reads "
            f"{kind.lm_reads} of the prompt anyway)"
        )
    if packing and kind.fusion:
        raise ConfigError(
            "training.packing does not apply to the fusion family: a packed row holds several examples, and each "
            "must read its own encoder states"
        )


# ---------------------------------------------------------------------------------------------------- run


def run(cfg: BridgeRecipeConfig) -> RunDir:
    """Set up, train (resuming if the run directory has a checkpoint) and save. Returns the run directory."""
    # -- data (first: bad data fails before anything is written or loaded)
    examples, _, summaries = read_sources(cfg.data.train, skip_invalid=cfg.data.skip_invalid)
    held_out, _, _ = read_sources(cfg.data.validation or [], skip_invalid=cfg.data.skip_invalid)
    start = None
    if cfg.start_from is not None:
        start = resolve_bridge_dir(cfg.start_from.path)
    run = RecipeRun(cfg)
    for line in summaries:
        print_main(f"data: {line}")

    # -- model
    set_seed(cfg.seed)
    if cfg.model is not None:
        m = cfg.model
        bridge, processor, std = m.build()
        models = {
            "encoder": m.encoder,
            "encoder_path": resolve_model_path(m.encoder),
            "lm": m.lm,
            "lm_path": resolve_model_path(m.lm),
        }
        origin = {"preset": m.preset, "boundary_init_std": std}
    else:
        s = cfg.start_from
        model_dir, earlier_run = start
        bridge, processor = load_bridge(
            model_dir,
            dtype=s.dtype,
            trust_remote_code=s.trust_remote_code,
            attn_implementation=s.attn_implementation,
        )
        changes = {
            k: v for k in ("encoder_pattern", "encoder_max_length") if (v := getattr(s, k)) is not None
        }
        if changes:
            processor = with_options(bridge, processor, model_dir, **changes)
        check_family(
            bridge.config.options.family, cfg.data.lm_reads_prompt, cfg.trainable.fusion, cfg.training.packing
        )
        models = {
            "start_from": str(model_dir),
            "encoder": bridge.config.encoder_name_or_path,
            "lm": bridge.config.lm_name_or_path,
        }
        origin = {"start_from": {"model": str(model_dir), "run": str(earlier_run) if earlier_run else None}}
    t = cfg.trainable
    bridge.set_trainable(
        alignment=t.alignment, lm=t.lm, encoder_embeddings=t.encoder_embeddings, fusion=t.fusion
    )

    tok = processor.lm_tokenizer

    def encoded(items):
        return encode_pairs(
            processor,
            [(ex.id, render_prompt(ex, cfg.data.template, tok), ex.output) for ex in items],
            cfg.data.lm_max_length,
            lm_reads_prompt=cfg.data.lm_reads_prompt,
        )

    features, data_stats = encoded(examples)
    print_main(data_line(data_stats))
    validation, validation_stats = encoded(held_out) if held_out else (None, None)
    run.start(
        models=models,
        bridge=bridge.config.bridge,
        data_stats=data_stats,
        **({"validation_stats": validation_stats} if validation_stats else {}),
        parameters=parameter_counts(bridge),
        **origin,
    )

    # -- train
    trainer = bridge_trainer(
        run, bridge, processor, features, validation, f"bridge ({bridge.config.options.family})"
    )
    result = train_with_resume(trainer, run.dir)

    # -- save
    run.save(trainer, bridge, processor.tokenizers())
    run.finish(trainer, result, "bridge", optimizer_groups=group_summary(trainer.optimizer))
    return run.dir


Config = BridgeRecipeConfig
