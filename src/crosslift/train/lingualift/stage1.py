"""LinguaLIFT stage 1, language alignment: train the alignment layer on code-switched text, LM frozen.

A multilingual encoder reads code-switched English (words swapped for their translations, built by
`crosslift data codeswitch`); the alignment layer learns to turn its states into soft tokens from which the
frozen LM produces English. Reads top to bottom:

    setup   read + validate the pairs (fail before anything is written); hold out the last `check.holdout`;
            build encoder + alignment layer + LM; optional least-squares init of the alignment layer;
            freeze all but the alignment layer (and, optionally, the encoder's input embeddings)
    train   HF Trainer with one optimizer group per part; resumes after kill -9
    save    the whole bridge (safetensors) + both tokenizers in runs/<name>/model
    check   the alignment check (`check.py`) on the held-out pairs -> alignment_check.json;
            stage 2 refuses a bridge that failed it unless told otherwise

The stage-1 *target* (`data.target`): "reconstruct" — the original English sentence (the paper's task), or
"continue" — the English answer of the code-switched question (`data.answer_field` of the record; the
code-switcher keeps it), which trains far more reliably through a frozen LM.

    crosslift train configs/lingualift/stage1_tiny.yaml [key.sub=value ...]
"""

from __future__ import annotations

import dataclasses
import os
from typing import Literal

import torch
from pydantic import Field
from transformers import set_seed

from crosslift.config import RunConfig, Section
from crosslift.data.examples import Example
from crosslift.data.sources import read_sources
from crosslift.errors import ConfigError, DataError
from crosslift.io import atomic_write_json
from crosslift.models.build import resolve_model_path
from crosslift.models.least_squares import least_squares_init
from crosslift.runs import RunDir
from crosslift.train.common import RecipeRun, print_main, train_with_resume
from crosslift.train.lingualift.check import (
    CheckConfig,
    CheckPair,
    check_words,
    read_check_sentences,
    run_check,
    summary_line,
    training_holdout,
)
from crosslift.train.lingualift.common import (
    CHECK_FILE,
    BridgeBuildConfig,
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
)


class InitConfig(Section):
    """How the alignment layer starts: torch's default init, or least squares from English text."""

    method: Literal["random", "least_squares"] = "random"
    texts: int = Field(
        256, ge=1, description="English prompts (from the training pairs) that give the paired tokens"
    )
    ridge: float = Field(1e-3, ge=0)


class Stage1DataConfig(BridgeDataConfig):
    target: Literal["reconstruct", "continue"] = Field(
        "reconstruct",
        description="reconstruct: the English sentence (output); continue: the record's English answer",
    )
    answer_field: str = Field("answer", description="continue: the record field holding the English answer")


class Stage1Config(RunConfig):
    recipe: Literal["lingualift_stage1"] = "lingualift_stage1"
    model: BridgeBuildConfig
    init: InitConfig = Field(default_factory=InitConfig)
    data: Stage1DataConfig
    trainable: TrainableConfig = Field(default_factory=TrainableConfig)
    optim: OptimConfig = Field(default_factory=OptimConfig)
    check: CheckConfig = Field(default_factory=CheckConfig)
    training: BridgeTrainingConfig = Field(default_factory=BridgeTrainingConfig)


# ---------------------------------------------------------------------------------------------------- setup


@dataclasses.dataclass
class Stage1Pair:
    id: str
    switched: Example  # the example as read: code-switched text in `input` if it has one, else `instruction`
    english: (
        Example  # the same example with the original English (its `output`) in place of the switched text
    )
    target: str


def stage1_pairs(
    examples: list[Example], origins: list[tuple[str, int]], data: Stage1DataConfig
) -> list[Stage1Pair]:
    """Pair each code-switched example with its English version and its target; bad records fail here."""
    pairs = []
    for ex, (path, index) in zip(examples, origins, strict=True):
        if data.target == "continue":
            answer = ex.meta.get(data.answer_field)
            if not isinstance(answer, str) or not answer.strip():
                raise DataError(
                    f"example {ex.id}: data.target is 'continue' but the record has no English answer in "
                    f"'{data.answer_field}' (set data.answer_field, or use target: reconstruct)",
                    path=path,
                    record=index,
                    field=data.answer_field,
                )
            target = answer
        else:
            target = ex.output
        field = "input" if ex.input.strip() else "instruction"
        english = dataclasses.replace(ex, **{field: ex.output}, instruction_lang="en")
        pairs.append(Stage1Pair(ex.id, ex, english, target))
    return pairs


# ---------------------------------------------------------------------------------------------------- run


def run(cfg: Stage1Config) -> RunDir:
    """Set up, train (resuming if the run directory has a checkpoint), save, check. Returns the run directory."""
    # -- data (first: bad data fails before anything is written or loaded)
    examples, origins, summaries = read_sources(cfg.data.train, skip_invalid=cfg.data.skip_invalid)
    pairs = stage1_pairs(examples, origins, cfg.data)
    validation_pairs = stage1_pairs(
        *read_sources(cfg.data.validation or [], skip_invalid=cfg.data.skip_invalid)[:2], cfg.data
    )
    holdout = cfg.check.holdout if cfg.check.enabled else 0
    if holdout >= len(pairs):
        raise ConfigError(f"check.holdout={holdout} leaves no training pair out of {len(pairs)}; lower it")
    train_pairs, check_pairs = (pairs[:-holdout], pairs[-holdout:]) if holdout else (pairs, [])
    words = None
    if holdout and cfg.check.lexicons:
        # retrieval on lexicon entries the training data's code-switching never used (check.word_pairs)
        held = (
            training_holdout([p.switched for p in train_pairs])
            if cfg.check.word_pairs == "held_out"
            else None
        )
        words = check_words(
            cfg.check, [p.switched.instruction_lang for p in check_pairs], cfg.seed, held_out=held
        )
    sentences = read_check_sentences(cfg.check.sentences) if holdout and cfg.check.sentences else None
    run = RecipeRun(cfg)
    for line in summaries:
        print_main(f"data: {line}")

    # -- model
    set_seed(cfg.seed)
    m = cfg.model
    bridge, processor, std = m.build()
    tok = processor.lm_tokenizer
    if torch.cuda.is_available():  # least squares and the check run where training does
        bridge.to(torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0"))))
    init_stats = None
    if cfg.init.method == "least_squares" and not run.dir.resuming:  # a checkpoint restores the trained layer
        texts = [render_prompt(p.english, cfg.data.template, tok) for p in train_pairs[: cfg.init.texts]]
        init_stats = least_squares_init(bridge, processor, texts, cfg.init.ridge)
        print_main(
            f"least-squares init: {init_stats['pairs']:,} token pairs from {len(texts)} English prompts, "
            f"R^2 {init_stats['r2']:.3f}, cosine {init_stats['cosine']:.3f} "
            f"(mean-embedding baseline {init_stats['cosine_of_mean_baseline']:.3f})"
        )
    bridge.set_trainable(alignment=True, lm=False, encoder_embeddings=cfg.trainable.encoder_embeddings)

    triples = [(p.id, render_prompt(p.switched, cfg.data.template, tok), p.target) for p in train_pairs]
    features, data_stats = encode_pairs(processor, triples, cfg.data.lm_max_length)
    print_main(data_line(data_stats) + f"; {len(check_pairs)} held out for the alignment check")
    validation, validation_stats = None, None
    if validation_pairs:
        validation, validation_stats = encode_pairs(
            processor,
            [(p.id, render_prompt(p.switched, cfg.data.template, tok), p.target) for p in validation_pairs],
            cfg.data.lm_max_length,
        )
    run.start(
        models={
            "encoder": m.encoder,
            "encoder_path": resolve_model_path(m.encoder),
            "lm": m.lm,
            "lm_path": resolve_model_path(m.lm),
        },
        data_stats=data_stats | {"held_out_for_check": len(check_pairs)},
        **({"validation_stats": validation_stats} if validation_stats else {}),
        parameters=parameter_counts(bridge),
        boundary_init_std=std,
        **({"least_squares_init": init_stats} if init_stats else {}),
    )

    # -- train
    trainer = bridge_trainer(run, bridge, processor, features, validation, "lingualift stage 1")
    result = train_with_resume(trainer, run.dir)

    # -- save
    run.save(trainer, bridge, processor.tokenizers())

    # -- check (every process takes part: under ZeRO-3 a forward pass gathers weights from all of them)
    check = None
    if check_pairs:
        check_input = [
            CheckPair(
                render_prompt(p.switched, cfg.data.template, tok),
                render_prompt(p.english, cfg.data.template, tok),
                p.target,
                p.switched.instruction_lang,
            )
            for p in check_pairs
        ]
        check_sentences = None
        if sentences:
            check_sentences = {
                lang: [
                    CheckPair(
                        render_prompt(Example(id="", instruction=text, output=""), cfg.data.template, tok),
                        render_prompt(Example(id="", instruction=english, output=""), cfg.data.template, tok),
                        target,
                        lang,
                        text,
                        english,
                    )
                    for text, english, target in rows
                ]
                for lang, rows in sentences.items()
            }
        check = run_check(bridge, processor, check_input, cfg.check, words, check_sentences)
        print_main(summary_line(check), style="green" if check["passed"] else "bold red")
        if not check["passed"]:
            print_main(
                "stage 2 will refuse this bridge (on_failed_alignment: refuse). Try more steps, init.method: "
                "least_squares, data.target: continue, or another model.encoder_layer.",
                style="red",
            )
    if run.is_main and check is not None:
        atomic_write_json(run.dir.path / CHECK_FILE, check)
        atomic_write_json(run.dir.model / CHECK_FILE, check)
    run.finish(
        trainer,
        result,
        "bridge",
        optimizer_groups=group_summary(trainer.optimizer),
        alignment_check=None
        if check is None
        else {"passed": check["passed"], "file": CHECK_FILE, "loss_ratio": check["loss"]["ratio"]},
    )
    return run.dir


Config = Stage1Config
