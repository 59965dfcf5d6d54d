"""One process of test_zero3.py (run by torchrun, 2 processes, gloo; needs the deepspeed extra): the LinguaLIFT
bridge under DeepSpeed ZeRO-3 with the per-part optimizer groups built before `deepspeed.initialize` (as the Trainer
hands its optimizer to DeepSpeed), two steps, the full 16-bit state dict gathered and saved by rank 0.

    torchrun --nproc_per_node 2 tests/train/zero3_bridge_worker.py OUT_DIR

Rank 0 writes OUT_DIR/report.json (what the test checks) and OUT_DIR/model (the saved bridge).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import deepspeed
import torch
import torch.distributed as dist

from crosslift.models.build import build_bridge
from crosslift.train.common import save_final
from crosslift.train.lingualift.common import OptimConfig, parameter_groups

CONFIG = {
    "train_micro_batch_size_per_gpu": 4,
    "gradient_accumulation_steps": 1,
    "gradient_clipping": 1.0,
    "zero_optimization": {"stage": 3, "stage3_gather_16bit_weights_on_model_save": True},
    "zero_allow_untested_optimizer": True,
    "steps_per_print": 10**6,
}


def main(out: Path) -> None:
    deepspeed.init_distributed(dist_backend="gloo")
    rank = dist.get_rank()
    torch.manual_seed(0)
    bridge, processor = build_bridge("tiny:mt5-encoder", "tiny:llama", dtype="float32")
    bridge.set_trainable(
        alignment=True, lm=False, encoder_embeddings=True
    )  # stage 1 with the encoder's embeddings
    before = {k: v.clone() for k, v in bridge.state_dict().items()}
    trainable = sorted(n for n, p in bridge.named_parameters() if p.requires_grad)
    decay = [n for n in trainable if not n.endswith("bias")]
    optimizer = torch.optim.AdamW(parameter_groups(bridge, OptimConfig(), decay))  # built before wrapping
    engine, *_ = deepspeed.initialize(model=bridge, optimizer=optimizer, config=CONFIG)
    groups = [{"part": g.get("part"), "lr": g["lr"]} for g in engine.optimizer.param_groups]
    partitioned = all(p.ds_tensor.numel() < p.ds_numel for p in bridge.lm.parameters() if p.ds_numel > 1)

    prompts = [f"Tom ana {i + rank} matofaa." for i in range(4)]
    batch = processor.collate(
        [processor.encode(p, p.replace("ana", "has"), lm_max_length=48) for p in prompts]
    )
    losses = []
    for _ in range(2):
        loss = engine(**batch).loss
        engine.backward(loss)
        engine.step()
        losses.append(loss.item())

    full = engine._zero3_consolidated_16bit_state_dict()  # what the Trainer's final save gathers (collective)
    if rank == 0:
        report = {
            "groups": groups,
            "partitioned": partitioned,
            "losses": losses,
            "trainable": trainable,
            "full_keys": sorted(full),
            "changed": sorted(n for n in full if not torch.equal(full[n], before[n])),
        }
        (out / "report.json").write_text(json.dumps(report))
        unwrapped = build_bridge("tiny:mt5-encoder", "tiny:llama", dtype="float32")[0]
        save_final(unwrapped, processor.tokenizers(), out / "model", state_dict=full)
    dist.barrier()


if __name__ == "__main__":
    main(Path(sys.argv[1]))
