"""Least-squares initialisation of the alignment layer: the fit recovers an affine map, and a tiny bridge is
fitted on token pairs of English text."""

from __future__ import annotations

import pytest
import torch

from crosslift.models.alignment import AlignmentLayer
from crosslift.models.least_squares import fit_least_squares


@pytest.mark.parametrize("kind, min_r2", [("linear", 0.999), ("ffn", 0.9)])
def test_least_squares_recovers_an_affine_map(kind, min_r2):
    torch.manual_seed(0)
    states = torch.randn(2000, 8)
    weight, bias = torch.randn(8, 16), torch.randn(16)
    targets = states @ weight + bias
    layer = AlignmentLayer(kind, 8, 16, hidden_size=64)
    stats = fit_least_squares(layer, states, targets, ridge=1e-6)
    assert stats["r2"] > min_r2 and stats["pairs"] == 2000
    with torch.no_grad():
        predicted = layer(states[:10, None])[0][:, 0]
    assert torch.allclose(predicted, targets[:10], atol=0.05 if kind == "linear" else 1.5)


def test_least_squares_init_fits_the_bridge_on_token_pairs_of_english_text():
    from crosslift.models.build import build_bridge
    from crosslift.models.least_squares import least_squares_init, least_squares_pairs

    torch.manual_seed(0)
    bridge, processor = build_bridge("tiny:mt5-encoder", "tiny:llama", dtype="float32")
    texts = ["Tom has 3 apples and buys 5 more.", "How many apples does Tom have now?"]
    states, targets = least_squares_pairs(bridge, processor, texts)
    assert states.shape[1] == bridge.config.encoder_config.hidden_size
    assert targets.shape == (len(states), bridge.config.lm_config.hidden_size) and len(states) > 10
    before = bridge.alignment.output_layer.weight.detach().clone()
    stats = least_squares_init(bridge, processor, texts, ridge=1e-3)
    assert stats["pairs"] == len(states) and stats["texts"] == 2 and stats["ridge"] == 1e-3
    assert not torch.equal(before, bridge.alignment.output_layer.weight)
