"""Causal language-model pretraining (or continued pretraining) on raw text.

`crosslift.synth` pretrains its tiny LLM and its encoder with this recipe; a user may continue pretraining any
causal LM on text in a new language the same way. Reads top to bottom:

    setup   read the text field of every record, tokenize each document (BOS + text + EOS), concatenate and
            cut into blocks of `block_size` tokens (the remainder is dropped and counted)
    train   HF Trainer, next-token loss on every token; resumes from the run's last complete checkpoint
    save    final weights as safetensors + tokenizer in runs/<name>/model, figures in manifest.json

    crosslift train PRETRAIN.yaml [key.sub=value ...]
"""

from __future__ import annotations

from typing import Literal

import torch
from pydantic import Field
from transformers import set_seed

from crosslift.config import ModelConfig, RunConfig, Section, TrainingConfig
from crosslift.data.options import ReadOptions
from crosslift.data.records import iter_records
from crosslift.errors import DataError
from crosslift.models.build import load_causal_lm, load_tokenizer, resolve_model_path
from crosslift.runs import RunDir
from crosslift.train.common import RecipeRun, RecipeTrainer, print_main, train_with_resume


class TextSourceConfig(Section):
    """One file of documents (JSON, JSONL, CSV/TSV, parquet, or .txt with one document per line)."""

    path: str
    format: Literal["auto", "json", "jsonl", "csv", "tsv", "txt", "parquet", "hf-disk"] = "auto"
    field: str = Field("text", description="the field holding a document's text")
    limit: int | None = Field(None, gt=0, description="use only the first N documents")


class PretrainDataConfig(Section):
    train: list[TextSourceConfig] = Field(min_length=1)
    validation: list[TextSourceConfig] | None = Field(
        None,
        description="held-out documents whose loss is logged every training.eval_steps and kept in the manifest",
    )
    block_size: int = Field(
        128, gt=1, description="tokens per training row (documents are concatenated, then cut)"
    )


class PretrainConfig(RunConfig):
    recipe: Literal["pretrain"] = "pretrain"
    model: ModelConfig
    data: PretrainDataConfig
    training: TrainingConfig = Field(default_factory=TrainingConfig)


# ---------------------------------------------------------------------------------------------------- setup


def read_documents(sources: list[TextSourceConfig]) -> list[str]:
    """The documents' texts, in file order; a record without a text string is an error naming file and place."""
    documents = []
    for source in sources:
        for n, (location, record) in enumerate(iter_records(source.path, ReadOptions(format=source.format))):
            if source.limit is not None and n >= source.limit:
                break
            text = record.get(source.field) if isinstance(record, dict) else None
            if not isinstance(text, str):
                raise DataError(
                    "missing text" if text is None else f"expected a string, got {type(text).__name__}",
                    field=source.field,
                    **location,
                )
            if text.strip():
                documents.append(text)
    if not documents:
        raise DataError("no non-empty document in " + ", ".join(s.path for s in sources))
    return documents


def pack_blocks(documents: list[str], tokenizer, block_size: int) -> tuple[torch.Tensor, dict]:
    """Tokenize every document with BOS/EOS, concatenate, and cut into rows of `block_size` tokens."""
    ids: list[int] = []
    eos = [tokenizer.eos_token_id] if tokenizer.eos_token_id is not None else []
    for encoded in tokenizer(documents, add_special_tokens=True)["input_ids"]:
        ids += encoded + eos
    rows = len(ids) // block_size
    if rows == 0:
        raise DataError(f"the documents hold {len(ids)} tokens, fewer than one block of {block_size}")
    blocks = torch.tensor(ids[: rows * block_size]).view(rows, block_size)
    return blocks, {
        "documents": len(documents),
        "tokens": len(ids),
        "blocks": rows,
        "dropped_tokens": len(ids) - rows * block_size,
    }


# ---------------------------------------------------------------------------------------------------- run


def run(cfg: PretrainConfig) -> RunDir:
    """Set up, train (resuming if the run directory has a checkpoint) and save. Returns the run directory."""
    documents = read_documents(cfg.data.train)  # first: bad data fails before anything is written
    held_out = read_documents(cfg.data.validation) if cfg.data.validation else None
    run = RecipeRun(cfg)
    tokenizer = load_tokenizer(cfg.model.name_or_path, trust_remote_code=cfg.model.trust_remote_code)
    blocks, data_stats = pack_blocks(documents, tokenizer, cfg.data.block_size)
    print_main(
        f"data: {data_stats['documents']:,} documents, {data_stats['tokens']:,} tokens, "
        f"{data_stats['blocks']:,} blocks of {cfg.data.block_size}"
    )
    features = [{"input_ids": row, "labels": row} for row in blocks]
    validation = None
    if held_out:
        validation = [
            {"input_ids": row, "labels": row}
            for row in pack_blocks(held_out, tokenizer, cfg.data.block_size)[0]
        ]

    set_seed(cfg.seed)
    model = load_causal_lm(
        cfg.model.name_or_path,
        dtype=cfg.model.dtype,
        trust_remote_code=cfg.model.trust_remote_code,
        attn_implementation=cfg.model.attn_implementation,
    )
    run.start(
        models={"model": cfg.model.name_or_path, "model_path": resolve_model_path(cfg.model.name_or_path)},
        data_stats=data_stats,
        parameters={"total": sum(p.numel() for p in model.parameters())},
    )

    trainer = RecipeTrainer(
        model=model,
        args=run.training_arguments(validation=validation is not None),
        eval_dataset=validation,
        train_dataset=features,
        processing_class=tokenizer,
        callbacks=run.callbacks("pretrain"),
        **run.trainer_options(),
    )
    result = train_with_resume(trainer, run.dir)

    run.save(trainer, trainer.model, {"": tokenizer})
    run.finish(trainer, result, "model")
    return run.dir


Config = PretrainConfig
