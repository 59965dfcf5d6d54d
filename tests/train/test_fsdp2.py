"""The LinguaLIFT bridge under FSDP2, on CPU (2 processes, gloo), prepared the way accelerate prepares it for the
Trainer (tests/train/fsdp2_bridge_worker.py): the per-part optimizer groups built before wrapping land on the
sharded parameters with their own learning rates, only the trainable parts change, the frozen encoder and LM stay
bit for bit, tied weights stay tied, and the gathered full state dict saves a bridge that loads by itself.

accelerate's FSDP integration does not run on a CPU through `accelerate launch` (stack.md section 3b); the worker
calls the same accelerate functions the Trainer's `accelerator.prepare` calls."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from crosslift.models.build import build_bridge, load_bridge

WORKER = Path(__file__).with_name("fsdp2_bridge_worker.py")
TORCHRUN = Path(sys.executable).with_name("torchrun")


@pytest.mark.slow
def test_bridge_groups_frozen_parts_and_tied_weights_survive_fsdp2(tmp_path):
    proc = subprocess.run(
        [str(TORCHRUN), "--nproc_per_node", "2", "--standalone", str(WORKER), str(tmp_path)],
        env=os.environ | {"OMP_NUM_THREADS": "1"},
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.loads((tmp_path / "report.json").read_text())

    groups = report["groups"]
    assert all(g["sharded"] for g in groups)  # the optimizer steps the sharded parameters
    lrs = {g["part"]: g["lr"] for g in groups}
    assert lrs == {"alignment": 6e-4, "encoder_embeddings": 2e-5}
    assert sorted(n for g in groups for n in g["names"]) == report["trainable"]
    assert (
        report["changed"] == report["trainable"]
    )  # exactly the trainable parts moved; frozen ones are untouched
    assert report["losses"][1] < report["losses"][0]
    assert report["tied"] == [True, True]  # LM head = LM input embeddings; mT5 shared = encoder embed_tokens

    torch.manual_seed(0)
    fresh, _ = build_bridge("tiny:mt5-encoder", "tiny:llama", dtype="float32")
    saved, _ = load_bridge(tmp_path / "model", dtype="float32")
    assert set(saved.state_dict()) == set(report["full_keys"])
    assert saved.lm.lm_head.weight is saved.lm.model.embed_tokens.weight
    moved = {n for n, v in saved.state_dict().items() if not torch.equal(v, fresh.state_dict()[n])}
    # the trained parts, and the encoder's embed_tokens: the same tensor as its trained `shared` embeddings
    assert moved == {*report["trainable"], "encoder.encoder.embed_tokens.weight"}
