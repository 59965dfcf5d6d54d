"""crosslift tiny-models --out DIR"""

from __future__ import annotations

import argparse

HELP = "Build tiny random-init models and locally trained tokenizers (offline), for tests and trials."


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--out", required=True, help="output directory; one sub-folder per model")
    p.add_argument("--kinds", default=None, help="comma-separated subset of: llama, qwen2, mt5-encoder, xlmr")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--corpus", action="append", default=[], help="extra text file(s) to train the tokenizers on"
    )


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from crosslift.models.tiny import TINY_KINDS
    from crosslift.models.tiny.cache import build_tiny_models

    kinds = tuple(args.kinds.split(",")) if args.kinds else TINY_KINDS
    built = build_tiny_models(args.out, kinds, seed=args.seed, corpus=[Path(c) for c in args.corpus])
    for kind, path in built.items():
        print(f"{kind}: {path}")
    return 0
