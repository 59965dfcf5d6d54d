"""The LinguaLIFT bridge under DeepSpeed ZeRO-3, on CPU (2 processes, gloo; skipped without the deepspeed extra):
the per-part optimizer groups built before `deepspeed.initialize` keep their learning rates, the weights are
partitioned, only the trainable parts change, and the gathered 16-bit state dict saves a bridge that loads by itself
with its tied weights (tests/train/zero3_bridge_worker.py). accelerate's DeepSpeed integration does not run on a CPU
(stack.md section 3b); the Trainer hands DeepSpeed its optimizer the same way."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from crosslift.models.build import build_bridge, load_bridge

WORKER = Path(__file__).with_name("zero3_bridge_worker.py")
TORCHRUN = Path(sys.executable).with_name("torchrun")


@pytest.mark.slow
def test_bridge_groups_frozen_parts_and_tied_weights_survive_zero3(tmp_path):
    pytest.importorskip(
        "deepspeed", reason="the deepspeed extra is not installed (pip install -e '.[deepspeed]')"
    )
    proc = subprocess.run(
        [str(TORCHRUN), "--nproc_per_node", "2", "--standalone", str(WORKER), str(tmp_path)],
        env=os.environ | {"OMP_NUM_THREADS": "1"},
        capture_output=True,
        text=True,
        timeout=400,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["partitioned"]  # each process holds a part of every LM weight
    assert {(g["part"], g["lr"]) for g in report["groups"]} == {
        ("alignment", 6e-4),
        ("encoder_embeddings", 2e-5),
    }
    assert report["losses"][1] < report["losses"][0]
    # the trained parts moved, and the encoder's embed_tokens (the same tensor as its `shared` embeddings); the
    # frozen encoder body and LM are untouched
    assert set(report["changed"]) == {*report["trainable"], "encoder.encoder.embed_tokens.weight"}

    torch.manual_seed(0)
    fresh, _ = build_bridge("tiny:mt5-encoder", "tiny:llama", dtype="float32")
    saved, _ = load_bridge(tmp_path / "model", dtype="float32")
    assert set(saved.state_dict()) == set(report["full_keys"])
    assert saved.lm.lm_head.weight is saved.lm.model.embed_tokens.weight
    moved = {n for n, v in saved.state_dict().items() if not torch.equal(v, fresh.state_dict()[n])}
    assert moved == set(report["changed"])
