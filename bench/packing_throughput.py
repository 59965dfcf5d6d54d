"""Padding-free packing: SFT tokens/s on a skewed-length instruction set, crosslift vs a plain HF Trainer script.

The data are real instruction-tuning lengths with a long tail: the 1,000 Alpaca-GPT4 examples of
../shared/data/instruction_en_zh/alpaca_gpt4_en_demo.json (tiny:llama tokens: median 278, p90 817, max 1,421; at
max_length 1024 a random batch of 8 is ~43% real tokens, the rest padding). Sides, alternating, same model, data,
batch size, sequence cap, optimizer and seed (so the same batches):

    plain     a hand-written HF Trainer script: tokenize prompt + response, mask the prompt,
              DataCollatorForSeq2Seq (pads every batch to its longest row) — what one writes by default
    padded    `crosslift train` (the sft recipe), padded batches
    packed    `crosslift train ... training.packing=true` (crosslift.models.packing)
    grouped   `crosslift train ... training.group_by_length=true` (padded, batches of similar length)

Figure: non-padding tokens per second of the training loop (Trainer's train_runtime; imports, tokenization and
model loading excluded). Goals: packed / plain >= 1.5, padded / plain >= 1.0. The best pass per side is the
least disturbed one on a shared machine; medians are printed too.

    .venv/bin/python bench/packing_throughput.py                        # ~15 min on 2 CPU cores
    .venv/bin/python bench/packing_throughput.py --steps 2 --repeats 1 --limit 64 --max-length 256   # smoke run
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from transformers import DataCollatorForSeq2Seq, Trainer, TrainingArguments  # noqa: E402
from transformers.utils import logging as hf_logging  # noqa: E402

from crosslift.models.build import load_causal_lm, load_tokenizer  # noqa: E402
from crosslift.train import train  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data" / "instruction_en_zh" / "alpaca_gpt4_en_demo.json"
ALPACA = "Below is an instruction that describes a task. Write a response that appropriately completes the request."
ALPACA_INPUT = (
    "Below is an instruction that describes a task, paired with an input that provides further context. "
    "Write a response that appropriately completes the request."
)
SEED = 1234


def plain_trainer(args: argparse.Namespace, out: Path) -> tuple[int, float]:
    """The hand-written script. Returns (non-padding tokens, train seconds)."""
    tok = load_tokenizer(args.model)
    tok.padding_side = "right"
    model = load_causal_lm(args.model, dtype="float32")
    features = []
    for r in json.loads(DATA.read_text())[: args.limit]:
        if r.get("input"):
            prompt = f"{ALPACA_INPUT}\n\n### Instruction:\n{r['instruction']}\n\n### Input:\n{r['input']}\n\n### Response:\n"
        else:
            prompt = f"{ALPACA}\n\n### Instruction:\n{r['instruction']}\n\n### Response:\n"
        p_ids = tok(prompt)["input_ids"]
        ids = tok(prompt + r["output"])["input_ids"] + [tok.eos_token_id]
        labels = [-100] * len(p_ids) + ids[len(p_ids) :]
        features.append({"input_ids": ids[: args.max_length], "labels": labels[: args.max_length]})
    targs = TrainingArguments(
        output_dir=str(out),
        max_steps=args.steps,
        per_device_train_batch_size=args.batch_size,
        learning_rate=1e-3,
        lr_scheduler_type="cosine",
        warmup_steps=0.05,
        save_strategy="no",
        logging_steps=5,
        report_to="none",
        use_cpu=True,
        seed=SEED,
        data_seed=SEED,
        disable_tqdm=True,
        include_num_input_tokens_seen="non_padding",
        remove_unused_columns=False,
    )
    trainer = Trainer(
        model=model,
        args=targs,
        train_dataset=features,
        data_collator=DataCollatorForSeq2Seq(tok, label_pad_token_id=-100, padding=True),
    )
    result = trainer.train()
    return trainer.state.num_input_tokens_seen, result.metrics["train_runtime"]


def crosslift_train(args: argparse.Namespace, out: Path, *extra: str) -> tuple[int, float]:
    config = {
        "recipe": "sft",
        "name": "bench",
        "output_dir": str(out),
        "seed": SEED,
        "model": {"name_or_path": args.model, "dtype": "float32"},
        "data": {
            "train": [{"path": str(DATA), "limit": args.limit}],
            "template": "alpaca",
            "max_length": args.max_length,
        },
        "training": {
            "max_steps": args.steps,
            "batch_size": args.batch_size,
            "learning_rate": 1e-3,
            "lr_scheduler": "cosine",
            "warmup_ratio": 0.05,
            "save_steps": 10**6,
            "logging_steps": 5,
        },
    }
    path = out.with_suffix(".yaml")
    path.write_text(json.dumps(config))  # JSON is YAML
    summary = train(path, list(extra)).manifest()["training"]
    return summary["input_tokens_seen"], summary["train_runtime_s"]


SIDES = {
    "plain": plain_trainer,
    "padded": lambda args, out: crosslift_train(args, out),
    "packed": lambda args, out: crosslift_train(args, out, "training.packing=true"),
    "grouped": lambda args, out: crosslift_train(args, out, "training.group_by_length=true"),
}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--steps", type=int, default=30)
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--limit", type=int, default=1000, help="examples of the data set used")
    ap.add_argument("--batch-size", type=int, default=8)
    ap.add_argument("--max-length", type=int, default=1024)
    ap.add_argument("--model", default="tiny:llama")
    ap.add_argument(
        "--sides", default="plain,padded,packed,grouped", help="comma-separated, from: " + ", ".join(SIDES)
    )
    args = ap.parse_args()
    if not DATA.exists():
        print(f"needs {DATA}", file=sys.stderr)
        return 1
    hf_logging.disable_progress_bar()
    sides = args.sides.split(",")
    rates: dict[str, list[float]] = {s: [] for s in sides}
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(args.repeats):
            line = []
            for side in sides:
                tokens, seconds = SIDES[side](args, Path(tmp) / f"{side}{i}")
                rates[side].append(tokens / seconds)
                line.append(f"{side} {rates[side][-1]:,.0f} tok/s ({tokens:,} tokens)")
            print(f"repeat {i}: " + " | ".join(line), flush=True)
    print(
        f"\nsteps {args.steps}, batch {args.batch_size}, max_length {args.max_length}, {args.limit} examples, "
        f"model {args.model}"
    )
    for name, pick in (("median", statistics.median), ("best", max)):
        figures = {s: pick(rates[s]) for s in sides}
        text = " | ".join(f"{s} {v:,.0f}" for s, v in figures.items())
        if "plain" in figures:
            text += " || " + " ".join(
                f"{s}/plain {figures[s] / figures['plain']:.2f}" for s in sides if s != "plain"
            )
        print(f"{name} tokens/s: {text}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
