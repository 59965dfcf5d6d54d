"""Least-squares initialisation of the LinguaLIFT alignment layer, all in one place.

Stage 1 is where bridges fail silently, and a good start is the cheapest insurance: instead of from noise, the
alignment layer's output projection can start from the ridge least-squares fit of paired (encoder state, LM
input embedding) examples of the same English text, so that stage 1 starts from a bridge that already points the
LM at the right words.

    least_squares_pairs   one pair per encoder token: its state, and the mean LM input embedding of the LM tokens
                          whose characters overlap it (the two tokenizers may split words differently)
    fit_least_squares     the ridge solution for the layer's last Linear, from those pairs
    least_squares_init    both, on a bridge and its processor (what stage 1 calls)
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from crosslift.errors import CrossliftError
from crosslift.models.alignment import AlignmentLayer
from crosslift.models.bridge import BridgeModel, BridgeProcessor


@torch.no_grad()
def fit_least_squares(
    layer: AlignmentLayer, states: torch.Tensor, targets: torch.Tensor, ridge: float = 1e-3, chunk: int = 8192
) -> dict[str, float]:
    """Set the layer's output Linear to the ridge least-squares solution of features(states) -> targets.

    For "linear" the features are the encoder states themselves, so this is the best affine map; for "ffn" they
    are the (randomly initialised) hidden activations GELU(W1 h + b1), and only W2, b2 are fitted. The normal
    equations are accumulated in float64 chunk by chunk, so N can be large.

    Args:
        states: [N, d_enc] encoder states of English tokens.
        targets: [N, d_lm] the LM input embeddings of the same text (one row per encoder token).
        ridge: regularisation, relative to the mean eigenvalue of the feature Gram matrix.

    Returns:
        Fit figures on these pairs: r2 (explained variance), cosine (mean cosine of prediction and target),
        pairs (N) and the cosine of the zero-mean baseline (predicting the mean target).
    """
    out = layer.output_layer
    device = out.weight.device
    features_of = (lambda x: x) if layer.kind == "linear" else (lambda x: layer.proj[1](layer.proj[0](x)))
    n_feat = out.in_features + 1  # + the bias column
    gram = torch.zeros(n_feat, n_feat, dtype=torch.float64, device=device)
    cross = torch.zeros(n_feat, out.out_features, dtype=torch.float64, device=device)
    for i in range(0, len(states), chunk):
        x = features_of(states[i : i + chunk].to(device, out.weight.dtype)).double()
        x = torch.cat([x, x.new_ones(len(x), 1)], dim=1)
        gram += x.T @ x
        cross += x.T @ targets[i : i + chunk].to(device).double()
    penalty = ridge * gram.diagonal()[:-1].mean()
    reg = torch.eye(n_feat, dtype=torch.float64, device=device) * penalty
    reg[-1, -1] = 0.0  # never shrink the bias
    solution = torch.linalg.solve(gram + reg, cross)  # [n_feat, d_lm]
    out.weight.copy_(solution[:-1].T.to(out.weight.dtype))
    out.bias.copy_(solution[-1].to(out.bias.dtype))

    predicted = torch.cat(
        [
            out(features_of(states[i : i + chunk].to(device, out.weight.dtype))).float()
            for i in range(0, len(states), chunk)
        ]
    )
    targets = targets.to(device).float()
    residual = ((predicted - targets) ** 2).sum()
    total = ((targets - targets.mean(0)) ** 2).sum()
    baseline = targets.mean(0, keepdim=True).expand_as(targets)
    return {
        "pairs": len(states),
        "r2": float(1 - residual / total) if total > 0 else float("nan"),
        "cosine": float(nn.functional.cosine_similarity(predicted, targets, dim=-1).mean()),
        "cosine_of_mean_baseline": float(nn.functional.cosine_similarity(baseline, targets, dim=-1).mean()),
    }


def _overlaps(spans: list[tuple[int, int]], start: int, end: int, first: int) -> tuple[list[int], int]:
    """Indices of `spans` (sorted by start) overlapping [start, end), scanning from `first`; and the next `first`."""
    while first < len(spans) and spans[first][1] <= start:
        first += 1
    hits, k = [], first
    while k < len(spans) and spans[k][0] < end:
        if spans[k][1] > spans[k][0] and spans[k][1] > start:
            hits.append(k)
        k += 1
    return hits, first


@torch.no_grad()
def least_squares_pairs(
    model: BridgeModel, processor: BridgeProcessor, texts: list[str], batch_size: int = 16
) -> tuple[torch.Tensor, torch.Tensor]:
    """Paired (encoder state, LM input embedding) of the same English text, one pair per encoder token.

    An encoder token's target is the mean LM input embedding of the LM tokens whose character spans overlap
    its own (found by offsets, so the two tokenizers may split words differently); special tokens have no
    span and no pair.

    Returns:
        states [N, d_enc] (of the configured encoder layer) and targets [N, d_lm].
    """
    enc_tok, lm_tok = processor.encoder_tokenizer, processor.lm_tokenizer
    options = model.config.options
    layer = options.encoder_layer
    embed = model.lm.get_input_embeddings()
    device = embed.weight.device
    states_out, targets_out = [], []
    for start in range(0, len(texts), batch_size):
        chunk = texts[start : start + batch_size]
        try:
            enc = enc_tok(
                chunk,
                padding=True,
                truncation=True,
                max_length=options.encoder_max_length,
                return_offsets_mapping=True,
                return_tensors="pt",
            )
            lm = lm_tok(chunk, add_special_tokens=False, return_offsets_mapping=True)
        except NotImplementedError as e:
            raise CrossliftError(
                f"least-squares init needs fast tokenizers with character offsets: {e}"
            ) from None
        out = model.encoder(
            input_ids=enc["input_ids"].to(device),
            attention_mask=enc["attention_mask"].to(device),
            output_hidden_states=layer != -1,
        )
        hidden = out.last_hidden_state if layer == -1 else out.hidden_states[layer]
        for row in range(len(chunk)):
            lm_spans = [tuple(s) for s in lm["offset_mapping"][row]]
            lm_vectors = embed(torch.tensor(lm["input_ids"][row], device=device)).float()
            first = 0
            for j, (s, e) in enumerate(enc["offset_mapping"][row].tolist()):
                if e <= s or not enc["attention_mask"][row, j]:
                    continue
                hits, first = _overlaps(lm_spans, s, e, first)
                if hits:
                    states_out.append(hidden[row, j].float())
                    targets_out.append(lm_vectors[hits].mean(0))
    if not states_out:
        raise CrossliftError("least-squares init found no encoder token that overlaps an LM token")
    return torch.stack(states_out), torch.stack(targets_out)


def least_squares_init(
    bridge: BridgeModel, processor: BridgeProcessor, texts: list[str], ridge: float
) -> dict[str, Any]:
    """Fit the alignment layer's output Linear on (encoder state, LM embedding) pairs of English prompts.

    Returns:
        The fit figures of `fit_least_squares`, with the number of texts and the ridge.
    """
    states, targets = least_squares_pairs(bridge, processor, texts)
    stats = fit_least_squares(bridge.alignment, states, targets, ridge=ridge)
    return stats | {"texts": len(texts), "ridge": ridge}
