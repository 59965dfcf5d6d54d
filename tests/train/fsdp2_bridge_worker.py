"""One process of test_fsdp2.py (run by torchrun, 2 processes, gloo): the LinguaLIFT bridge sharded with FSDP2 the
way accelerate prepares it for the Trainer (`fsdp2_prepare_model`, then `fsdp2_switch_optimizer_parameters` onto the
optimizer built before wrapping), two optimizer steps, the full state dict gathered and saved by rank 0.

    torchrun --nproc_per_node 2 tests/train/fsdp2_bridge_worker.py OUT_DIR

Rank 0 writes OUT_DIR/report.json (what the test checks) and OUT_DIR/model (the saved bridge).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from types import SimpleNamespace

import torch
import torch.distributed as dist
from accelerate.utils import FullyShardedDataParallelPlugin
from accelerate.utils.fsdp_utils import fsdp2_prepare_model, fsdp2_switch_optimizer_parameters
from torch.distributed.checkpoint.state_dict import StateDictOptions, get_model_state_dict
from torch.distributed.tensor import DTensor

from crosslift.models.build import build_bridge
from crosslift.train.common import save_final
from crosslift.train.lingualift.common import OptimConfig, parameter_groups


def main(out: Path) -> None:
    dist.init_process_group("gloo")
    rank = dist.get_rank()
    torch.manual_seed(0)
    bridge, processor = build_bridge("tiny:mt5-encoder", "tiny:llama", dtype="float32")
    bridge.set_trainable(
        alignment=True, lm=False, encoder_embeddings=True
    )  # stage 1 with the encoder's embeddings
    before = {n: p.detach().clone() for n, p in bridge.named_parameters()}
    trainable = {n for n, p in bridge.named_parameters() if p.requires_grad}
    decay = [n for n in trainable if not n.endswith("bias")]
    optimizer = torch.optim.AdamW(parameter_groups(bridge, OptimConfig(), decay))  # built before wrapping
    old_ptr = {n: p.data_ptr() for n, p in bridge.named_parameters()}

    plugin = FullyShardedDataParallelPlugin(
        fsdp_version=2,
        auto_wrap_policy="transformer_based_wrap",
        reshard_after_forward=True,
        state_dict_type="SHARDED_STATE_DICT",
    )
    accelerator = SimpleNamespace(
        state=SimpleNamespace(fsdp_plugin=plugin),
        mixed_precision="no",
        device=torch.device("cpu"),
        is_main_process=rank == 0,
        torch_device_mesh=None,
    )
    # as Accelerator._prepare_fsdp2 does: the optimizer's entries keep the original data_ptr, fully_shard replaces
    # the parameters, and the optimizer is switched onto the sharded ones by name
    for group in optimizer.param_groups:
        for i, p in enumerate(group["params"]):
            group["params"][i] = torch.empty(1, dtype=p.dtype)
            group["params"][i].data_ptr = p.data_ptr()
    model = fsdp2_prepare_model(accelerator, bridge)
    fsdp2_switch_optimizer_parameters(optimizer, {old_ptr[n]: p for n, p in model.named_parameters()})
    by_id = {id(p): n for n, p in model.named_parameters()}
    groups = [
        {
            "part": g["part"],
            "lr": g["lr"],
            "names": sorted(by_id[id(p)] for p in g["params"]),
            "sharded": all(isinstance(p, DTensor) for p in g["params"]),
        }
        for g in optimizer.param_groups
    ]

    prompts = [f"Tom ana {i + rank} matofaa." for i in range(4)]  # each process its own batch, as DDP would
    batch = processor.collate(
        [processor.encode(p, p.replace("ana", "has"), lm_max_length=48) for p in prompts]
    )
    losses = []
    for _ in range(2):
        loss = model(**batch).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        losses.append(loss.item())

    full = get_model_state_dict(model, options=StateDictOptions(full_state_dict=True, cpu_offload=True))
    if rank == 0:
        report = {
            "groups": groups,
            "losses": losses,
            "trainable": sorted(trainable),
            "full_keys": sorted(full),
            "changed": sorted(n for n in before if n in full and not torch.equal(full[n], before[n])),
            "tied": [
                torch.equal(full[a], full[b])
                for a, b in (
                    ("lm.lm_head.weight", "lm.model.embed_tokens.weight"),
                    ("encoder.shared.weight", "encoder.encoder.embed_tokens.weight"),
                )
            ],
        }
        (out / "report.json").write_text(json.dumps(report))
        unwrapped = build_bridge("tiny:mt5-encoder", "tiny:llama", dtype="float32")[
            0
        ]  # a plain module to save from
        save_final(unwrapped, processor.tokenizers(), out / "model", state_dict=full)
    dist.barrier()
    dist.destroy_process_group()


if __name__ == "__main__":
    main(Path(sys.argv[1]))
