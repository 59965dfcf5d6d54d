"""Step time of the LinguaLIFT bridge vs. the plain LM at equal total length (goal: <= 1.3x).

The plain LM trains on sequences of L tokens (loss on the last T); the bridge trains on the same LM with the
same L positions, made of <bos>, begin, E soft tokens from the encoder, end and the same T target tokens. Both
use one model object (the bridge's own LM), the same batch size and optimizer, and alternate, so the ratio
isolates what the bridge adds: the frozen encoder's forward, the alignment layer, and the per-row assembly of
inputs_embeds. Two settings:

    stage2   LM trainable in both (the bridge's alignment layer frozen): the apples-to-apples comparison
    stage1   bridge: only the alignment layer trains (LM frozen, gradients still flow through it);
             plain: the whole LM trains, as plain SFT would

Times are medians of optimizer steps (forward + backward + step) after warm-up; on a GPU each step is
synchronised. Presets:

    tiny           tiny:mt5-encoder + tiny:llama, float32 (CPU default; ~1 min on 2 cores)
    paper-shapes   random weights with the shapes of mT5-XL's encoder (24 layers, d 2048) and Llama-2-7B
                   (32 layers, d 4096), bfloat16, built directly on the GPU (nothing downloads)

    .venv/bin/python bench/bridge_overhead.py
    .venv/bin/python bench/bridge_overhead.py --preset paper-shapes --device cuda --batch 2 --seq-len 1024 \\
        --encoder-len 512 --optimizer sgd
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import torch  # noqa: E402

from crosslift.models.bridge import BridgeModel  # noqa: E402
from crosslift.models.build import build_bridge  # noqa: E402


def build(preset: str, device: str, lm_layers: int | None) -> BridgeModel:
    if preset == "tiny":
        torch.manual_seed(0)
        model, _ = build_bridge("tiny:mt5-encoder", "tiny:llama", dtype="float32")
        return model.to(device)
    from transformers import LlamaConfig, LlamaForCausalLM, MT5Config, MT5EncoderModel

    encoder_config = MT5Config(
        vocab_size=250112,
        d_model=2048,
        d_kv=64,
        d_ff=5120,
        num_layers=24,
        num_heads=32,
        feed_forward_proj="gated-gelu",
        tie_word_embeddings=False,
    )  # mT5-XL
    lm_config = LlamaConfig(
        vocab_size=32000,
        hidden_size=4096,
        intermediate_size=11008,
        num_hidden_layers=lm_layers or 32,
        num_attention_heads=32,
        num_key_value_heads=32,
        max_position_embeddings=4096,
    )  # Llama-2-7B
    lm_config._attn_implementation = "sdpa"
    encoder_config._attn_implementation = "sdpa"
    torch.manual_seed(0)
    with torch.device(device):
        encoder = MT5EncoderModel(encoder_config).to(torch.bfloat16)
        lm = LlamaForCausalLM(lm_config).to(torch.bfloat16)
    return BridgeModel.from_parts(encoder, lm, alignment="ffn").to(device)


def batches(model: BridgeModel, batch: int, seq_len: int, encoder_len: int, device: str) -> tuple[dict, dict]:
    """(plain LM batch, bridge batch) with the same total LM length and the same target tokens."""
    options = model.config.options
    boundaries = int(options.begin_boundary) + int(options.end_boundary)
    prompt = 1 + encoder_len + boundaries  # <bos> + soft tokens + boundaries
    target_len = seq_len - prompt
    if target_len < 1:
        raise SystemExit(f"--seq-len {seq_len} leaves no target after {prompt} prompt positions")
    lm_vocab = model.config.lm_config.vocab_size
    enc_vocab = model.config.encoder_config.vocab_size
    g = torch.Generator().manual_seed(0)
    target = torch.randint(5, lm_vocab, (batch, target_len), generator=g)
    bos = torch.ones(batch, 1, dtype=torch.long)
    plain_ids = torch.cat([bos, torch.randint(5, lm_vocab, (batch, prompt - 1), generator=g), target], dim=1)
    plain_labels = plain_ids.clone()
    plain_labels[:, :prompt] = -100
    plain = {"input_ids": plain_ids, "attention_mask": torch.ones_like(plain_ids), "labels": plain_labels}
    bridge_ids = torch.cat([bos, target], dim=1)
    bridge_labels = bridge_ids.clone()
    bridge_labels[:, 0] = -100
    bridge = {
        "input_ids": bridge_ids,
        "attention_mask": torch.ones_like(bridge_ids),
        "labels": bridge_labels,
        "prefix_lengths": torch.ones(batch, dtype=torch.long),
        "encoder_input_ids": torch.randint(5, enc_vocab, (batch, encoder_len), generator=g),
        "encoder_attention_mask": torch.ones(batch, encoder_len, dtype=torch.long),
    }
    move = lambda b: {k: v.to(device) for k, v in b.items()}  # noqa: E731
    return move(plain), move(bridge)


def time_steps(
    forward, params: list, optimizer: str, steps: int, warmup: int, device: str
) -> tuple[float, float]:
    """Median seconds per optimizer step, and peak GPU memory in GiB (0 on CPU)."""
    opt = torch.optim.AdamW(params, lr=1e-5) if optimizer == "adamw" else torch.optim.SGD(params, lr=1e-5)
    sync = torch.cuda.synchronize if device.startswith("cuda") else (lambda: None)
    if device.startswith("cuda"):
        torch.cuda.reset_peak_memory_stats()
    times = []
    for i in range(warmup + steps):
        sync()
        start = time.perf_counter()
        loss = forward()
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
        sync()
        if i >= warmup:
            times.append(time.perf_counter() - start)
    peak = torch.cuda.max_memory_allocated() / 2**30 if device.startswith("cuda") else 0.0
    del opt
    return statistics.median(times), peak


def measure(model: BridgeModel, setting: str, plain: dict, bridge: dict, args) -> dict[str, float]:
    lm_params = [p for p in model.lm.parameters()]
    align_params = list(model.alignment.parameters())

    def run_plain() -> tuple[float, float]:
        model.requires_grad_(False)
        model.lm.requires_grad_(True)
        return time_steps(
            lambda: model.lm(**plain).loss, lm_params, args.optimizer, args.steps, args.warmup, args.device
        )

    def run_bridge() -> tuple[float, float]:
        model.requires_grad_(False)
        trained = lm_params if setting == "stage2" else align_params
        for p in trained:
            p.requires_grad_(True)
        return time_steps(
            lambda: model(**bridge).loss, trained, args.optimizer, args.steps, args.warmup, args.device
        )

    plain_times, bridge_times, plain_mem, bridge_mem = [], [], 0.0, 0.0
    for _ in range(args.repeats):
        t, m = run_plain()
        plain_times.append(t)
        plain_mem = max(plain_mem, m)
        t, m = run_bridge()
        bridge_times.append(t)
        bridge_mem = max(bridge_mem, m)
    p, b = statistics.median(plain_times), statistics.median(bridge_times)
    return {
        "plain_s": p,
        "bridge_s": b,
        "ratio": b / p,
        "plain_peak_gib": plain_mem,
        "bridge_peak_gib": bridge_mem,
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--preset", choices=("tiny", "paper-shapes"), default="tiny")
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--lm-layers", type=int, default=None, help="paper-shapes: fewer LM layers (default 32)")
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--seq-len", type=int, default=256, help="total LM positions per row")
    ap.add_argument("--encoder-len", type=int, default=128, help="encoder tokens per row (soft tokens)")
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--optimizer", choices=("adamw", "sgd"), default="adamw")
    ap.add_argument("--settings", default="stage2,stage1")
    args = ap.parse_args()

    model = build(args.preset, args.device, args.lm_layers)
    model.train()
    plain, bridge = batches(model, args.batch, args.seq_len, args.encoder_len, args.device)
    params = {
        "encoder": sum(p.numel() for p in model.encoder.parameters()),
        "alignment": sum(p.numel() for p in model.alignment.parameters()),
        "lm": sum(p.numel() for p in model.lm.parameters()),
    }
    print(
        f"preset {args.preset} on {args.device} ({torch.get_num_threads()} threads), parameters: "
        + ", ".join(f"{k} {v / 1e6:,.1f} M" for k, v in params.items()),
        file=sys.stderr,
    )
    print(
        f"batch {args.batch} x {args.seq_len} LM positions (bridge: {args.encoder_len} encoder tokens), "
        f"{args.optimizer}, {args.steps} timed steps after {args.warmup} warm-up, {args.repeats} alternating repeats",
        file=sys.stderr,
    )
    results = {}
    for setting in args.settings.split(","):
        r = measure(model, setting, plain, bridge, args)
        results[setting] = r
        mem = (
            f", peak {r['plain_peak_gib']:.1f} / {r['bridge_peak_gib']:.1f} GiB"
            if args.device.startswith("cuda")
            else ""
        )
        print(
            f"{setting}: plain LM {r['plain_s'] * 1000:,.1f} ms/step, bridge {r['bridge_s'] * 1000:,.1f} ms/step, "
            f"ratio {r['ratio']:.2f}x{mem}"
        )
    device_name = torch.cuda.get_device_name() if args.device.startswith("cuda") else "cpu"
    print(
        json.dumps(
            {
                "preset": args.preset,
                "device": device_name,
                "args": vars(args),
                "parameters": params,
                "results": results,
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
