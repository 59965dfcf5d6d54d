"""Model FLOPs utilisation (MFU) of crosslift's training set-up on one GPU: a ~0.5B-parameter Llama built from a
config (random init), bf16, SDPA attention, with and without gradient checkpointing. Goal: >= 40% on an H100.

The model trains through HF Trainer with crosslift's own TrainingArguments (`crosslift.train.common`), on full
rows of random tokens (the FLOPs of a step do not depend on the token values), AdamW. A callback times optimizer
steps after `--warmup` steps (CUDA synchronised). MFU = model FLOPs per second / the GPU's peak dense bf16 FLOPs:

    model FLOPs per token = 6 * N + 12 * layers * hidden * seq_len
        N: parameters that multiply (every weight except the input embedding table); the second term is attention
        (scores and weighted sum, forward and backward, the full square as in PaLM's definition). Recomputation
        under gradient checkpointing is not counted: MFU counts the model's FLOPs, not the hardware's.

    python bench/mfu.py --device cuda                                   # H100: 0.5B Llama, seq 2048
    python bench/mfu.py --device cuda --batch-size 4 --seq-len 4096
    python bench/mfu.py --device cuda --batch-size 16 --compile         # torch.compile (training.torch_compile)
    python bench/mfu.py --device cuda --batch-size 16 --compile --liger # + Liger kernels (training.use_liger_kernel)
    .venv/bin/python bench/mfu.py --preset tiny --steps 3 --warmup 1    # CPU smoke run (the MFU figure is meaningless there)
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import torch  # noqa: E402
from transformers import LlamaConfig, LlamaForCausalLM, Trainer, TrainerCallback  # noqa: E402
from transformers.trainer_callback import PrinterCallback  # noqa: E402

from crosslift.config import TrainingConfig  # noqa: E402
from crosslift.runs import RunDir  # noqa: E402
from crosslift.train.common import training_arguments  # noqa: E402

PRESETS = {
    # hidden, layers, heads, kv heads, FFN, vocab: 0.47 B parameters (0.44 B that multiply)
    "0.5b": dict(
        hidden_size=1024,
        num_hidden_layers=24,
        num_attention_heads=16,
        num_key_value_heads=16,
        intermediate_size=4096,
        vocab_size=32000,
    ),
    "tiny": dict(
        hidden_size=128,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=4,
        intermediate_size=512,
        vocab_size=4000,
    ),
}
PEAK_BF16 = {"H100": 989e12, "H200": 989e12, "A100": 312e12, "L40S": 362e12}  # dense, no sparsity


class StepTimer(TrainerCallback):
    def __init__(self) -> None:
        self.times: list[float] = []
        self._start = 0.0

    def on_step_begin(self, args, state, control, **kwargs):
        if torch.cuda.is_available():
            torch.cuda.synchronize()
        self._start = time.perf_counter()

    def on_step_end(self, args, state, control, **kwargs):
        if torch.cuda.is_available():
            torch.cuda.synchronize()
        self.times.append(time.perf_counter() - self._start)


class RandomTokens(torch.utils.data.Dataset):
    def __init__(self, n: int, seq_len: int, vocab: int) -> None:
        self.data = torch.randint(0, vocab, (n, seq_len), generator=torch.Generator().manual_seed(0))

    def __len__(self) -> int:
        return len(self.data)

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        return {"input_ids": self.data[i], "labels": self.data[i]}


def peak_flops(device: str) -> tuple[str, float | None]:
    if device != "cuda":
        return "cpu", None
    name = torch.cuda.get_device_name(0)
    return name, next((v for k, v in PEAK_BF16.items() if k in name), None)


def measure(args: argparse.Namespace, checkpointing: bool) -> dict[str, float]:
    config = LlamaConfig(
        **PRESETS[args.preset],
        max_position_embeddings=args.seq_len,
        tie_word_embeddings=False,
        attn_implementation="sdpa",
    )
    torch.manual_seed(0)
    model = LlamaForCausalLM(config)
    if args.device == "cuda":
        model = model.to(
            "cuda", dtype=torch.float32
        )  # fp32 master weights, bf16 autocast (Trainer's bf16=True)
    n_mul = sum(p.numel() for p in model.parameters()) - model.get_input_embeddings().weight.numel()
    flops_per_token = 6 * n_mul + 12 * config.num_hidden_layers * config.hidden_size * args.seq_len
    steps = args.warmup + args.steps
    cfg = TrainingConfig(
        max_steps=steps,
        batch_size=args.batch_size,
        learning_rate=1e-4,
        save_steps=10**6,
        logging_steps=10**6,
        precision="bf16" if args.device == "cuda" else "fp32",
        gradient_checkpointing=checkpointing,
        torch_compile=args.compile,
        use_liger_kernel=args.liger,
    )
    timer = StepTimer()
    with tempfile.TemporaryDirectory() as tmp:
        targs = training_arguments(
            cfg,
            RunDir(Path(tmp)),
            seed=0,
            save_strategy="no",
            use_cpu=args.device != "cuda",
            include_num_input_tokens_seen="no",
        )
        trainer = Trainer(
            model=model,
            args=targs,
            callbacks=[timer],
            train_dataset=RandomTokens(steps * args.batch_size, args.seq_len, config.vocab_size),
        )
        trainer.remove_callback(PrinterCallback)
        trainer.train()
    step = statistics.median(timer.times[args.warmup :])
    tokens = args.batch_size * args.seq_len
    memory = torch.cuda.max_memory_allocated() / 2**30 if args.device == "cuda" else float("nan")
    if args.device == "cuda":
        torch.cuda.reset_peak_memory_stats()
    return {
        "params": sum(p.numel() for p in model.parameters()),
        "step_s": step,
        "tokens_per_s": tokens / step,
        "flops_per_s": flops_per_token * tokens / step,
        "memory_gib": memory,
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--preset", choices=sorted(PRESETS), default="0.5b")
    ap.add_argument(
        "--device", choices=["cuda", "cpu"], default="cuda" if torch.cuda.is_available() else "cpu"
    )
    ap.add_argument("--batch-size", type=int, default=8)
    ap.add_argument("--seq-len", type=int, default=2048)
    ap.add_argument("--steps", type=int, default=20, help="timed steps (after the warm-up)")
    ap.add_argument("--warmup", type=int, default=5, help="untimed steps first (with --compile: compilation)")
    ap.add_argument("--compile", action="store_true", help="training.torch_compile: true")
    ap.add_argument("--liger", action="store_true", help="training.use_liger_kernel: true (fused kernels)")
    ap.add_argument(
        "--checkpointing", choices=["off", "on", "both"], default="both", help="gradient checkpointing"
    )
    ap.add_argument(
        "--peak-tflops", type=float, help="the device's peak dense bf16 TFLOP/s (default: from its name)"
    )
    args = ap.parse_args()
    device, peak = peak_flops(args.device)
    peak = args.peak_tflops * 1e12 if args.peak_tflops else peak
    print(
        f"device {device}, preset {args.preset}, batch {args.batch_size} x {args.seq_len}, bf16 "
        f"{args.device == 'cuda'}, SDPA, torch.compile {args.compile}, Liger {args.liger}, {args.steps} timed steps after {args.warmup}"
    )
    for checkpointing in {"off": (False,), "on": (True,), "both": (False, True)}[args.checkpointing]:
        r = measure(args, checkpointing)
        mfu = f"{100 * r['flops_per_s'] / peak:.1f}%" if peak else "n/a (no peak figure for this device)"
        print(
            f"gradient checkpointing {'on ' if checkpointing else 'off'}: {r['params'] / 1e6:,.0f}M params, "
            f"{r['step_s'] * 1e3:,.1f} ms/step, {r['tokens_per_s']:,.0f} tok/s, "
            f"{r['flops_per_s'] / 1e12:,.1f} TFLOP/s, MFU {mfu}, peak memory {r['memory_gib']:.1f} GiB",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
