"""Run the recipes under every GPU launch config in configs/accelerate/ and say what ran: a check for GPU machines.

For each launch config (single GPU, FSDP2, DeepSpeed ZeRO-2, ZeRO-3, ZeRO-3 with CPU offload) this launches, with
`accelerate launch --config_file CONFIG --num_processes N -m crosslift train ...`, a short SFT run and a LinguaLIFT
stage 1 → stage 2 chain (tiny models built locally, data written here: nothing downloads), then reads each run's
manifest.json: status, world size, distributed type, steps, first and last loss, optimizer groups (stage 1 must
train the alignment layer only) and whether full weights were saved as safetensors. Configs run side by side (one
chain each, own port); a failed run keeps the end of its log.

    python bench/gpu_launch_check.py --out /tmp/launch-check                  # every config, 1 process each
    python bench/gpu_launch_check.py --out /tmp/launch-check --num-processes 8 --configs deepspeed_zero3

Writes `summary.json` and prints one line per run. Exit status 1 when any run failed.
"""

from __future__ import annotations

import argparse
import json
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
LAUNCH_CONFIGS = REPO / "src" / "crosslift" / "configs" / "accelerate"
GPU_CONFIGS = ["single_gpu", "fsdp2", "deepspeed_zero2", "deepspeed_zero3", "deepspeed_zero3_offload"]
RECIPES = ["sft", "lingualift_stage1", "lingualift_stage2"]


def write_data(folder: Path) -> tuple[Path, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    sft, codeswitched = folder / "arith.jsonl", folder / "cs.jsonl"
    with open(sft, "w", encoding="utf-8") as f:
        for a in range(3, 60, 3):
            for b in range(2, 30, 4):
                f.write(
                    json.dumps({"instruction": f"What is {a} plus {b}?", "output": f"{a} + {b} = {a + b}."})
                    + "\n"
                )
    with open(
        codeswitched, "w", encoding="utf-8"
    ) as f:  # code-switched question -> English (stage 1's target)
        for i in range(64):
            f.write(
                json.dumps(
                    {
                        "instruction": f"Tom ana {i} matofaa na {i % 5} vitabu.",
                        "output": f"Tom has {i} apples and {i % 5} books.",
                    }
                )
                + "\n"
            )
    return sft, codeswitched


def recipe_config(recipe: str, sft_data: Path, cs_data: Path, stage1_run: Path, steps: int) -> dict:
    training = {"max_steps": steps, "batch_size": 4, "save_steps": steps, "logging_steps": 1}
    if recipe == "sft":
        return {
            "recipe": "sft",
            "name": "gpu_sft",
            "seed": 1,
            "model": {"name_or_path": "tiny:llama", "dtype": "float32"},
            "data": {"train": [{"path": str(sft_data)}], "max_length": 128},
            "training": training | {"learning_rate": 2e-3},
        }
    if recipe == "lingualift_stage1":
        return {
            "recipe": recipe,
            "name": "gpu_s1",
            "seed": 1,
            "model": {
                "encoder": "tiny:mt5-encoder",
                "lm": "tiny:llama",
                "dtype": "float32",
                "encoder_max_length": 64,
            },
            "data": {"train": [{"path": str(cs_data)}], "lm_max_length": 96},
            "check": {"enabled": False},
            "training": training,
        }
    return {
        "recipe": recipe,
        "name": "gpu_s2",
        "seed": 1,
        "stage1": str(stage1_run),
        "on_failed_alignment": "warn",
        "data": {"train": [{"path": str(sft_data)}], "template": "metamath", "lm_max_length": 96},
        "training": training,
    }


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_one(
    launch: str, recipe: str, out: Path, data: tuple[Path, Path], num_processes: int, steps: int
) -> dict:
    run_dir, config = out / launch / recipe, out / launch / f"{recipe}.yaml"
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text(yaml.safe_dump(recipe_config(recipe, *data, out / launch / "lingualift_stage1", steps)))
    command = [
        sys.executable,
        "-m",
        "accelerate.commands.launch",
        "--config_file",
        str(LAUNCH_CONFIGS / f"{launch}.yaml"),
        "--num_processes",
        str(num_processes),
        "--main_process_port",
        str(free_port()),
        "-m",
        "crosslift",
        "train",
        str(config),
        f"output_dir={run_dir}",
    ]
    start = time.perf_counter()
    try:
        proc = subprocess.run(command, capture_output=True, text=True, timeout=300)
        rc, log = proc.returncode, proc.stdout + proc.stderr
    except subprocess.TimeoutExpired as e:
        rc, log = "timeout", f"{e.stdout or ''}{e.stderr or ''}"
    (out / launch / f"{recipe}.log").write_text(log if isinstance(log, str) else log.decode(errors="replace"))
    result = {"launch": launch, "recipe": recipe, "rc": rc, "seconds": round(time.perf_counter() - start, 1)}
    manifest_path = run_dir / "manifest.json"
    if manifest_path.is_file():
        manifest = json.loads(manifest_path.read_text())
        training = manifest.get("training", {})
        result |= {
            "status": manifest.get("status"),
            "world_size": manifest.get("world_size"),
            "distributed_type": manifest.get("launch", {}).get("distributed_type"),
            "global_step": training.get("global_step"),
            "first_loss": training.get("first_logged_loss"),
            "last_loss": training.get("last_logged_loss"),
            "optimizer_groups": sorted({g["part"] for g in manifest.get("optimizer_groups", [])}),
            "safetensors": sorted(p.name for p in (run_dir / "model").glob("*.safetensors")),
        }
    if rc != 0:
        result["log_tail"] = "\n".join(str(log).splitlines()[-30:])
    return result


def run_chain(launch: str, out: Path, data: tuple[Path, Path], num_processes: int, steps: int) -> list[dict]:
    results = []
    for recipe in RECIPES:
        if recipe == "lingualift_stage2" and results[-1]["rc"] != 0:
            results.append({"launch": launch, "recipe": recipe, "rc": "skipped: stage 1 failed"})
            continue
        results.append(run_one(launch, recipe, out, data, num_processes, steps))
        r = results[-1]
        print(
            f"{launch:24} {recipe:18} rc={r['rc']} {r.get('status', '-')} world_size={r.get('world_size')} "
            f"{r.get('distributed_type')} steps={r.get('global_step')} loss {r.get('first_loss')} -> "
            f"{r.get('last_loss')} groups={r.get('optimizer_groups')} {r['seconds']} s",
            flush=True,
        )
    return results


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--configs", nargs="+", default=GPU_CONFIGS, choices=GPU_CONFIGS)
    ap.add_argument("--num-processes", type=int, default=1)
    ap.add_argument("--steps", type=int, default=6)
    args = ap.parse_args()
    data = write_data(args.out / "data")
    with ThreadPoolExecutor(len(args.configs)) as pool:
        chains = pool.map(
            lambda c: run_chain(c, args.out, data, args.num_processes, args.steps), args.configs
        )
        results = [r for chain in chains for r in chain]
    (args.out / "summary.json").write_text(json.dumps(results, indent=1))
    failed = [f"{r['launch']}/{r['recipe']}" for r in results if r["rc"] != 0]
    print(
        f"{len(results) - len(failed)}/{len(results)} runs completed"
        + (f"; failed: {failed}" if failed else "")
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
