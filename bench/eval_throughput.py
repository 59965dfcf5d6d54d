"""Evaluation generation throughput: batched (`HFGenerator`, length-sorted left-padded batches with the KV cache)
vs. one prompt at a time, side by side on the same model and prompts.

Every prompt gets exactly ``--new-tokens`` new tokens (``min_new_tokens`` = ``max_new_tokens``: random tiny
models would otherwise stop at different points), greedy decoding. Each side runs ``--repeats`` times,
alternating; we compare medians of generated tokens per second (model loading excluded). The greedy outputs of
both sides are also compared item by item.

    .venv/bin/python bench/eval_throughput.py                        # tiny:llama, 64 prompts, ~1-2 min on 2 cores
    .venv/bin/python bench/eval_throughput.py --data-dir ../shared/data/mmwp --prompts 128 --batch-size 32
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from crosslift.eval.tasks.prompts import PromptSettings, build_prompt, instruction_words  # noqa: E402
from crosslift.models.generate import HFGenerator  # noqa: E402
from crosslift.models.generation import GenerationSettings  # noqa: E402


def synthetic_questions(n: int, seed: int = 0) -> list[str]:
    """Math word problems of varied length (so batches need padding, as real benchmarks do)."""
    rng = random.Random(seed)
    names, things = (
        ["Ariel", "Roger", "Amina", "Kofi", "Lena", "Ravi"],
        ["apples", "pencils", "books", "eggs", "coins"],
    )
    questions = []
    for _ in range(n):
        clauses = [f"{rng.choice(names)} has {rng.randint(2, 90)} {rng.choice(things)}."]
        for _ in range(rng.randint(0, 5)):
            clauses.append(
                f"Then {rng.choice(names)} gives {rng.randint(1, 20)} more {rng.choice(things)} to a friend."
            )
        clauses.append(f"How many {rng.choice(things)} are there now?")
        questions.append(" ".join(clauses))
    return questions


def mmwp_questions(data_dir: str, n: int) -> list[str]:
    from crosslift.eval.tasks.data import read_items

    return [item.question for item in read_items(f"{data_dir}/test_en.json", format="json")[:n]]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default="tiny:llama")
    p.add_argument("--prompts", type=int, default=64)
    p.add_argument("--new-tokens", type=int, default=32)
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--data-dir", help="MMWP folder: use its English questions instead of synthetic ones")
    args = p.parse_args(argv)

    import torch

    questions = (
        mmwp_questions(args.data_dir, args.prompts) if args.data_dir else synthetic_questions(args.prompts)
    )
    settings = PromptSettings()  # LinguaLIFT's metamath prompt, as `crosslift eval` sends it
    prompts = [build_prompt(q, settings, instruction_words("en", settings)).text for q in questions]
    generator = HFGenerator.from_pretrained(args.model, dtype="float32")

    def decode(batch_size: int) -> GenerationSettings:
        return GenerationSettings(
            max_new_tokens=args.new_tokens, min_new_tokens=args.new_tokens, batch_size=batch_size
        )

    def batched() -> tuple[list[str], int, float]:
        start_tokens, start = generator.tokens_generated, time.perf_counter()
        outputs = generator.generate(prompts, decode(args.batch_size))
        return outputs, generator.tokens_generated - start_tokens, time.perf_counter() - start

    def one_at_a_time() -> tuple[list[str], int, float]:
        start_tokens, start = generator.tokens_generated, time.perf_counter()
        outputs = [generator.generate([prompt], decode(1))[0] for prompt in prompts]
        return outputs, generator.tokens_generated - start_tokens, time.perf_counter() - start

    generator.generate(prompts[:2], decode(2))  # warm-up (first-call allocations)
    rates: dict[str, list[float]] = {"batched": [], "one_at_a_time": []}
    outputs: dict[str, list[str]] = {}
    for r in range(args.repeats):
        sides = [("batched", batched), ("one_at_a_time", one_at_a_time)]
        for name, run in sides if r % 2 == 0 else sides[::-1]:
            out, tokens, seconds = run()
            outputs[name] = out
            rates[name].append(tokens / seconds)
            print(
                f"repeat {r + 1} {name:>13}: {tokens} new tokens in {seconds:.2f} s = {tokens / seconds:,.0f} tokens/s"
            )
    same = sum(a == b for a, b in zip(outputs["batched"], outputs["one_at_a_time"], strict=True))
    batched_rate, single_rate = statistics.median(rates["batched"]), statistics.median(rates["one_at_a_time"])
    print(
        f"\nmodel {args.model}, {len(prompts)} metamath prompts ({'MMWP en' if args.data_dir else 'synthetic'}), "
        f"{args.new_tokens} new tokens each, greedy, torch threads {torch.get_num_threads()}"
    )
    print(f"batched (batch {args.batch_size}): {batched_rate:,.0f} tokens/s (median of {args.repeats})")
    print(f"one at a time:       {single_rate:,.0f} tokens/s (median of {args.repeats})")
    print(f"speed-up: {batched_rate / single_rate:.1f}x (goal >= 5x)")
    print(f"greedy outputs identical: {same}/{len(prompts)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
