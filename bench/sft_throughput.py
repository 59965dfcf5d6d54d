"""Training throughput: `crosslift train` (the sft recipe) vs. a plain HF Trainer script, side by side.

Both train the same tiny model on the same examples with the same batch size, sequence cap, optimizer
settings and checkpoint cadence; the plain script is what one writes by hand (tokenize prompt + response, mask
the prompt, DataCollatorForSeq2Seq, Trainer). Each side runs `--repeats` times, alternating, and we compare
medians of non-padding tokens per second of the training loop (Trainer's train_runtime; imports and model
loading excluded on both sides). The machine may be shared: the best pass per side is the least disturbed one.

    .venv/bin/python bench/sft_throughput.py                 # ~2 min on 2 CPU cores
    .venv/bin/python bench/sft_throughput.py --steps 60 --repeats 3

`--against GIT_REF` compares this tree's `crosslift train` with the same command at another commit instead (a
regression check: nothing in the single-process path may get slower, ratio >= 0.95). Both sides then run as fresh
processes (`python -m crosslift train`, PYTHONPATH pointing at each tree's src/), on the same config and data:

    .venv/bin/python bench/sft_throughput.py --against HEAD --repeats 3
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from transformers import DataCollatorForSeq2Seq, Trainer, TrainingArguments  # noqa: E402

from crosslift.models.build import load_causal_lm, load_tokenizer  # noqa: E402
from crosslift.train import train  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
CONFIG = REPO / "configs" / "sft_tiny.yaml"
DATA = REPO.parent / "shared" / "data" / "gsm8k" / "train.jsonl"


def same_data(limit: int) -> list[str]:
    """Overrides that train sft_tiny on GSM8K's first `limit` questions (its own data is the toy set), so that
    every side, and every commit, trains on the same examples."""
    return [
        f"data.train.0.path={DATA}",
        "data.train.0.fields={instruction: question, output: answer}",
        f"data.train.0.limit={limit}",
    ]


def plain_trainer(
    data: Path, limit: int, steps: int, batch: int, max_length: int, lr: float, out: Path
) -> tuple[int, float]:
    """A hand-written SFT script on plain HF Trainer. Returns (non-padding tokens, train seconds)."""
    tok = load_tokenizer("tiny:llama")
    tok.padding_side = "right"
    model = load_causal_lm("tiny:llama", dtype="float32")
    rows = [json.loads(line) for line in data.read_text().splitlines()[:limit]]
    features = []
    for r in rows:
        prompt = (
            "Below is an instruction that describes a task. Write a response that appropriately completes the request."
            f"\n\n### Instruction:\n{r['question']}\n\n### Response:\n"
        )
        p_ids = tok(prompt)["input_ids"]
        ids = tok(prompt + r["answer"])["input_ids"] + [tok.eos_token_id]
        labels = [-100] * len(p_ids) + ids[len(p_ids) :]
        features.append({"input_ids": ids[:max_length], "labels": labels[:max_length]})
    args = TrainingArguments(
        output_dir=str(out),
        max_steps=steps,
        per_device_train_batch_size=batch,
        learning_rate=lr,
        lr_scheduler_type="cosine",
        warmup_steps=0.05,
        save_strategy="steps",
        save_steps=20,
        save_total_limit=2,
        logging_steps=5,
        report_to="none",
        use_cpu=True,
        seed=1234,
        data_seed=1234,
        disable_tqdm=True,
        include_num_input_tokens_seen="non_padding",
        remove_unused_columns=False,
    )
    trainer = Trainer(
        model=model,
        args=args,
        train_dataset=features,
        data_collator=DataCollatorForSeq2Seq(tok, label_pad_token_id=-100, padding=True),
    )
    result = trainer.train()
    return trainer.state.num_input_tokens_seen, result.metrics["train_runtime"]


def crosslift_train(steps: int, limit: int, out: Path) -> tuple[int, float]:
    run = train(CONFIG, [f"output_dir={out}", f"training.max_steps={steps}", *same_data(limit)])
    summary = run.manifest()["training"]
    return summary["input_tokens_seen"], summary["train_runtime_s"]


def tree_train(src: Path, steps: int, limit: int, out: Path) -> tuple[int, float]:
    """`python -m crosslift train` with the crosslift package of `src` (a checkout's src/ folder)."""
    command = [
        sys.executable,
        "-m",
        "crosslift",
        "train",
        str(CONFIG),
        f"output_dir={out}",
        f"training.max_steps={steps}",
        *same_data(limit),
    ]
    env = os.environ | {"PYTHONPATH": str(src), "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
    proc = subprocess.run(command, env=env, capture_output=True, text=True)
    if proc.returncode:
        raise SystemExit(f"crosslift train from {src} failed:\n{proc.stderr[-3000:]}")
    summary = json.loads((out / "manifest.json").read_text())["training"]
    return summary["input_tokens_seen"], summary["train_runtime_s"]


def against(ref: str, args: argparse.Namespace) -> int:
    """This tree vs `ref`, alternating, each a fresh process."""
    ours, theirs = [], []
    with tempfile.TemporaryDirectory() as tmp:
        tree = Path(tmp) / "ref"
        tree.mkdir()
        archive = subprocess.run(
            ["git", "-C", str(REPO), "archive", ref, "src"], capture_output=True, check=True
        )
        subprocess.run(["tar", "-x", "-C", str(tree)], input=archive.stdout, check=True)
        for i in range(args.repeats):
            tokens, secs = tree_train(REPO / "src", args.steps, args.limit, Path(tmp) / f"ours{i}")
            ours.append(tokens / secs)
            tokens_r, secs_r = tree_train(tree / "src", args.steps, args.limit, Path(tmp) / f"ref{i}")
            theirs.append(tokens_r / secs_r)
            print(
                f"repeat {i}: this tree {ours[-1]:,.0f} tok/s ({tokens} tokens) | {ref} {theirs[-1]:,.0f} tok/s "
                f"({tokens_r} tokens)",
                flush=True,
            )
    o, r = statistics.median(ours), statistics.median(theirs)
    print(f"\nmedian tokens/s: this tree {o:,.0f} | {ref} {r:,.0f} | ratio this/{ref} = {o / r:.2f}")
    print(
        f"best tokens/s:   this tree {max(ours):,.0f} | {ref} {max(theirs):,.0f} | ratio = {max(ours) / max(theirs):.2f}"
    )
    return 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--steps", type=int, default=40)
    ap.add_argument("--limit", type=int, default=512)
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument(
        "--against", metavar="GIT_REF", help="compare with crosslift at this commit instead of plain Trainer"
    )
    args = ap.parse_args()
    if not DATA.exists():
        print(f"needs {DATA}", file=sys.stderr)
        return 1
    if args.against:
        return against(args.against, args)
    ours, plain = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(args.repeats):
            tokens, secs = crosslift_train(args.steps, args.limit, Path(tmp) / f"ours{i}")
            ours.append(tokens / secs)
            tokens_p, secs_p = plain_trainer(
                DATA, args.limit, args.steps, 8, 512, 1e-3, Path(tmp) / f"plain{i}"
            )
            plain.append(tokens_p / secs_p)
            print(
                f"repeat {i}: crosslift {ours[-1]:,.0f} tok/s ({tokens} tokens) | plain Trainer {plain[-1]:,.0f} tok/s ({tokens_p} tokens)"
            )
    o, p = statistics.median(ours), statistics.median(plain)
    print(
        f"\nmedian tokens/s: crosslift train {o:,.0f} | plain HF Trainer {p:,.0f} | ratio crosslift/plain = {o / p:.2f}"
    )
    print(
        f"best tokens/s:   crosslift train {max(ours):,.0f} | plain HF Trainer {max(plain):,.0f} | "
        f"ratio crosslift/plain = {max(ours) / max(plain):.2f}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
