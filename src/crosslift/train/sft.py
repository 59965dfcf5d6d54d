"""Plain supervised fine-tuning: the baseline every method is compared with.

CrossIn and PLUG are this recipe over their own data. Reads top to bottom:

    setup   read + validate data, render the template, tokenize with an exact response-only loss mask;
            load tokenizer and model (full fine-tuning, or LoRA adapters through peft)
    train   HF Trainer; resumes from the run's last complete checkpoint after a kill
    save    final weights as safetensors + tokenizer in runs/<name>/model, figures in manifest.json

`training.packing` trains on padding-free batches and `training.group_by_length` on batches of similar lengths
(`crosslift.models.packing`, `RecipeTrainer`); `data.validation` adds a validation loss. Scale out with
`accelerate launch --config_file configs/accelerate/X.yaml -m crosslift train ...` (README: Training on many GPUs).

    crosslift train configs/sft_tiny.yaml [key.sub=value ...]
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator
from transformers import DataCollatorForSeq2Seq, set_seed

from crosslift.config import LoraConfig, ModelConfig, RunConfig, Section, TrainingConfig
from crosslift.data.examples import Example
from crosslift.data.sources import DataSourceConfig, read_sources
from crosslift.data.templates import TEMPLATES, get_template
from crosslift.data.tokenize import encode_prompt_target
from crosslift.errors import DataError
from crosslift.models.build import apply_lora, load_causal_lm, load_tokenizer, resolve_model_path
from crosslift.models.labels import IGNORE_INDEX
from crosslift.models.packing import PackingCollator, check_packing_support, row_tokens_for
from crosslift.runs import RunDir
from crosslift.train.common import RecipeRun, RecipeTrainer, print_main, save_final, train_with_resume
from crosslift.train.hf_compat import attn_implementation


class SFTDataConfig(Section):
    train: list[DataSourceConfig] = Field(min_length=1)
    validation: list[DataSourceConfig] | None = Field(
        None,
        description="held-out data whose loss is logged every training.eval_steps and kept in the manifest",
    )
    template: str = Field(
        "alpaca", description="alpaca | metamath | tulu | chat (the tokenizer's own chat template)"
    )
    max_length: int = Field(512, gt=8)
    skip_invalid: bool = Field(False, description="skip (and count) invalid records instead of failing")
    assistant_turns: Literal["all", "last"] = Field(
        "all",
        description="multi-turn (messages / ShareGPT) data: learn every assistant turn (as TRL's "
        "assistant_only_loss), or only the last one (earlier turns are context)",
    )

    @field_validator("template")
    @classmethod
    def _known_template(cls, name: str) -> str:
        if name not in TEMPLATES:
            raise ValueError(f"one of {', '.join(sorted(TEMPLATES))}")
        return name


class SFTConfig(RunConfig):
    recipe: Literal["sft"] = "sft"
    model: ModelConfig
    lora: LoraConfig | None = None
    data: SFTDataConfig
    training: TrainingConfig = Field(default_factory=TrainingConfig)


# ---------------------------------------------------------------------------------------------------- setup


def tokenize_examples(examples: list[Example], tokenizer, data: SFTDataConfig) -> tuple[list[dict], dict]:
    """Render and tokenize; examples whose response is cut away entirely by max_length are left out and counted."""
    template = get_template(data.template, tokenizer=tokenizer)
    features, truncated, no_target, multi_turn = [], 0, [], 0
    for ex in examples:
        rendered = template.render(ex)
        earlier = rendered.earlier_replies if data.assistant_turns == "all" else ()
        if earlier is None:
            raise DataError(
                f"example {ex.id}: the {data.template} template renders earlier turns differently once the "
                "conversation goes on, so they cannot be learned exactly; set data.assistant_turns: last (learn the "
                "last reply only) or use the tulu template",
                path=ex.source,
            )
        multi_turn += bool(earlier)
        enc = encode_prompt_target(
            tokenizer,
            rendered.prompt,
            rendered.target,
            max_length=data.max_length,
            add_special_tokens=template.add_special_tokens,  # False when the rendered text carries its own BOS
            append_eos=template.append_eos,  # False when the target already ends with the end-of-turn token
            learned_prompt_spans=earlier,
        )
        truncated += enc.truncated
        if all(label == IGNORE_INDEX for label in enc.labels):
            no_target.append(ex.id)
            continue
        features.append({"input_ids": enc.input_ids, "labels": enc.labels})
    if not features:
        raise DataError(f"no example keeps any response token within max_length={data.max_length}")
    stats = {
        "examples": len(examples),
        "used": len(features),
        "multi_turn_all_assistant_turns_learned": multi_turn,
        "truncated": truncated,
        "left_out_no_response_within_max_length": len(no_target),
        "left_out_ids_sample": no_target[:20],
        "tokens": sum(len(f["input_ids"]) for f in features),
        "target_tokens": sum(sum(label != IGNORE_INDEX for label in f["labels"]) for f in features),
    }
    return features, stats


# ---------------------------------------------------------------------------------------------------- run


def run(cfg: SFTConfig) -> RunDir:
    """Set up, train (resuming if the run directory has a checkpoint) and save. Returns the run directory."""
    # -- data (first: bad data fails before anything is written or loaded)
    examples, _, summaries = read_sources(cfg.data.train, skip_invalid=cfg.data.skip_invalid)
    held_out, _, held_out_summaries = read_sources(
        cfg.data.validation or [], skip_invalid=cfg.data.skip_invalid
    )
    run = RecipeRun(cfg)
    for line in summaries:
        print_main(f"data: {line}")
    for line in held_out_summaries:
        print_main(f"validation data: {line}")
    tokenizer = load_tokenizer(cfg.model.name_or_path, trust_remote_code=cfg.model.trust_remote_code)
    tokenizer.padding_side = "right"  # training pads on the right; positions then start at 0 for every row
    features, data_stats = tokenize_examples(examples, tokenizer, cfg.data)
    print_main(
        f"data: {data_stats['used']} examples, {data_stats['tokens']:,} tokens "
        f"({data_stats['truncated']} truncated, {data_stats['left_out_no_response_within_max_length']} left out: "
        f"no response token within max_length)"
    )
    validation, validation_stats = (
        tokenize_examples(held_out, tokenizer, cfg.data) if held_out else (None, None)
    )

    # -- model
    set_seed(cfg.seed)
    model = load_causal_lm(
        cfg.model.name_or_path,
        dtype=cfg.model.dtype,
        trust_remote_code=cfg.model.trust_remote_code,
        attn_implementation=cfg.model.attn_implementation,
    )
    if cfg.lora is not None:
        model = apply_lora(
            model,
            r=cfg.lora.r,
            alpha=cfg.lora.alpha,
            dropout=cfg.lora.dropout,
            target_modules=cfg.lora.target_modules,
            modules_to_save=cfg.lora.modules_to_save,
        )
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    total = sum(p.numel() for p in model.parameters())
    run.start(
        models={"model": cfg.model.name_or_path, "model_path": resolve_model_path(cfg.model.name_or_path)},
        data_stats=data_stats,
        **({"validation_stats": validation_stats} if validation_stats else {}),
        parameters={"total": total, "trainable": trainable},
    )

    # -- train
    padded = DataCollatorForSeq2Seq(tokenizer, label_pad_token_id=IGNORE_INDEX, padding=True)
    packed = None
    if cfg.training.packing:
        attention = attn_implementation(model)
        check_packing_support(model, attention)
        row_tokens = row_tokens_for(attention, cfg.data.max_length)
        packed = PackingCollator(tokenizer.pad_token_id, row_tokens)
    trainer = RecipeTrainer(
        model=model,
        args=run.training_arguments(validation=validation is not None),
        train_dataset=features,
        eval_dataset=validation,
        data_collator=packed or padded,
        eval_collator=padded if packed else None,  # the validation loss is computed as without packing
        processing_class=tokenizer,
        callbacks=run.callbacks("sft"),
        **run.trainer_options(),
    )
    result = train_with_resume(trainer, run.dir)

    # -- save
    run.save(trainer, trainer.model, {"": tokenizer})
    if run.is_main and cfg.lora is not None and cfg.lora.merge_at_end:
        save_final(trainer.model.merge_and_unload(), {"": tokenizer}, run.dir.path / "model_merged")
    run.finish(trainer, result, "model")
    return run.dir


Config = SFTConfig
