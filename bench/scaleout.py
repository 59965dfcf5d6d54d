"""1 vs 2 processes on this machine: `crosslift train` alone vs under `accelerate launch` with
configs/accelerate/ddp_cpu2.yaml (DDP over gloo), the same global batch.

    one process    batch B, OMP_NUM_THREADS = 2 (both cores for one process's matrix multiplies)
    two processes  batch B/2 per process, OMP_NUM_THREADS = 1 each (data parallel; gradients all-reduced each step)

Each side is a fresh `crosslift train` subprocess; the figure is its non-padding tokens per second of the training
loop from manifest.json (imports and model loading excluded). Sides alternate, `--repeats` times. On 2 cores the
ratio shows the cost of DDP (gradient all-reduce, two copies of Python overhead) against one process using both
cores for its kernels — it is not a scaling figure for GPUs, where each process has its own device.

    .venv/bin/python bench/scaleout.py                              # SFT on GSM8K, ~4 min on 2 CPU cores
    .venv/bin/python bench/scaleout.py --recipe stage1 --steps 20   # LinguaLIFT stage 1 (bridge, LM frozen)
    .venv/bin/python bench/scaleout.py --steps 4 --repeats 1        # smoke run
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CONFIGS = REPO / "src" / "crosslift" / "configs"
GSM8K = REPO.parent / "shared" / "data" / "gsm8k" / "train.jsonl"


def config(recipe: str, steps: int, batch: int, tmp: Path) -> Path:
    common = {"max_steps": steps, "batch_size": batch, "save_steps": 10**6, "logging_steps": 5}
    if recipe == "sft":
        cfg = {
            "recipe": "sft",
            "name": "bench",
            "output_dir": "unused",
            "seed": 1234,
            "model": {"name_or_path": "tiny:llama", "dtype": "float32"},
            "data": {
                "train": [
                    {
                        "path": str(GSM8K),
                        "fields": {"instruction": "question", "output": "answer"},
                        "limit": 512,
                    }
                ],
                "max_length": 512,
            },
            "training": common | {"learning_rate": 1e-3},
        }
    else:
        cfg = {
            "recipe": "lingualift_stage1",
            "name": "bench",
            "output_dir": "unused",
            "seed": 1234,
            "model": {
                "encoder": "tiny:mt5-encoder",
                "lm": "tiny:llama",
                "dtype": "float32",
                "encoder_max_length": 256,
            },
            "data": {
                "train": [
                    {
                        "path": str(GSM8K),
                        "fields": {"instruction": "question", "output": "question"},
                        "limit": 512,
                    }
                ],
                "lm_max_length": 512,
            },
            "check": {"enabled": False},
            "training": common,
        }
    path = tmp / f"{recipe}.yaml"
    path.write_text(json.dumps(cfg))  # JSON is YAML
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run(processes: int, cfg: Path, batch: int, out: Path) -> float:
    overrides = [f"output_dir={out}", f"training.batch_size={batch // processes}"]
    if processes == 1:
        command, threads = [sys.executable, "-m", "crosslift", "train", str(cfg), *overrides], "2"
    else:
        accelerate = Path(sys.executable).with_name("accelerate")
        command = [
            str(accelerate),
            "launch",
            "--config_file",
            str(CONFIGS / "accelerate" / "ddp_cpu2.yaml"),
            "--main_process_port",
            str(free_port()),
            "-m",
            "crosslift",
            "train",
            str(cfg),
            *overrides,
        ]
        threads = "1"
    env = os.environ | {"OMP_NUM_THREADS": threads, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
    proc = subprocess.run(command, env=env, capture_output=True, text=True)
    if proc.returncode:
        raise SystemExit(f"{' '.join(command)} failed:\n{proc.stderr[-3000:]}")
    training = json.loads((out / "manifest.json").read_text())["training"]
    return training["input_tokens_seen"] / training["train_runtime_s"]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--recipe", choices=["sft", "stage1"], default="sft")
    ap.add_argument("--steps", type=int, default=40)
    ap.add_argument("--batch-size", type=int, default=8, help="global batch (split over the processes)")
    ap.add_argument("--repeats", type=int, default=2)
    args = ap.parse_args()
    if not GSM8K.exists():
        print(f"needs {GSM8K}", file=sys.stderr)
        return 1
    rates: dict[int, list[float]] = {1: [], 2: []}
    with tempfile.TemporaryDirectory() as tmp:
        cfg = config(args.recipe, args.steps, args.batch_size, Path(tmp))
        for i in range(args.repeats):
            for n in (1, 2):
                rates[n].append(run(n, cfg, args.batch_size, Path(tmp) / f"p{n}-{i}"))
            print(
                f"repeat {i}: 1 process {rates[1][-1]:,.0f} tok/s | 2 processes {rates[2][-1]:,.0f} tok/s",
                flush=True,
            )
    one, two = statistics.median(rates[1]), statistics.median(rates[2])
    print(f"\n{args.recipe}, {args.steps} steps, global batch {args.batch_size}")
    print(f"median tokens/s: 1 process {one:,.0f} | 2 processes {two:,.0f} | ratio 2/1 = {two / one:.2f}")
    print(
        f"best tokens/s:   1 process {max(rates[1]):,.0f} | 2 processes {max(rates[2]):,.0f} | "
        f"ratio 2/1 = {max(rates[2]) / max(rates[1]):.2f}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
