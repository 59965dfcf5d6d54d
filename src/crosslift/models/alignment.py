"""The language alignment layer of LinguaLIFT: encoder states in, LM input embeddings out.

A multilingual encoder reads the prompt; this layer maps each of its output vectors (width d_enc) into the
causal LM's input-embedding space (width d_lm), so that the LM can read them as if they were token
embeddings ("soft tokens"). Two kinds, chosen in YAML (methods.md §1.2):

    linear   Linear(d_enc -> d_lm)                                   LangBridge's default
    ffn      Linear(d_enc -> h) -> GELU -> Linear(h -> d_lm)          LinguaLIFT's released code
             h = 2 * d_enc unless set (2048 -> 4096 -> 4096 for mT5-XL + Llama-2-7B)

plus learned *boundary* vectors that frame the soft tokens: `begin` before them and `end` after them (LangBridge
has only `end`; LinguaLIFT adds `begin`). They tell the LM where the encoder's part starts and stops; `end` is
also the position from which the LM predicts the first response token.

The boundary vectors are returned by `forward` instead of being read as attributes by the caller: under
DeepSpeed ZeRO-3 a parameter is only materialised inside its own module's forward.

`fit_least_squares` initialises the projection from paired (encoder state, LM input embedding) examples of
the same English text, so that stage 1 starts from a bridge that already points the LM at the right words
instead of from noise; stage 1 is where bridges fail silently, and a good start is the cheapest insurance.
"""

from __future__ import annotations

import torch
from torch import nn

KINDS = ("linear", "ffn")


class AlignmentLayer(nn.Module):
    """Per-token projection from encoder space to LM embedding space, with optional begin/end vectors.

    Args:
        kind: "linear" or "ffn".
        encoder_size: d_enc, the width of the encoder states.
        lm_size: d_lm, the width of the LM's input embeddings.
        hidden_size: inner width of "ffn" (default 2 * encoder_size); unused for "linear".
        begin: learn a vector put before the soft tokens.
        end: learn a vector put after them.
    """

    def __init__(
        self,
        kind: str,
        encoder_size: int,
        lm_size: int,
        hidden_size: int | None = None,
        begin: bool = True,
        end: bool = True,
    ) -> None:
        super().__init__()
        if kind not in KINDS:
            raise ValueError(f"alignment kind must be one of {KINDS}, got {kind!r}")
        self.kind = kind
        if kind == "linear":
            self.proj = nn.Linear(encoder_size, lm_size)
        else:
            hidden_size = hidden_size or 2 * encoder_size
            self.proj = nn.Sequential(
                nn.Linear(encoder_size, hidden_size), nn.GELU(), nn.Linear(hidden_size, lm_size)
            )
        # Shape [1, d_lm] so that they concatenate with [n, d_lm] soft tokens as they are.
        self.begin = nn.Parameter(torch.zeros(1, lm_size)) if begin else None
        self.end = nn.Parameter(torch.zeros(1, lm_size)) if end else None
        self.reset_parameters()

    @property
    def output_layer(self) -> nn.Linear:
        """The last Linear (the one least squares fits)."""
        return self.proj if self.kind == "linear" else self.proj[2]

    def reset_parameters(self, boundary_std: float = 1.0) -> None:
        """torch's default Linear init; boundary vectors ~ N(0, boundary_std^2) (the released code: randn), or
        zeros with boundary_std 0 (the dev repo's insert variant and MindMerger start them at zero)."""
        for module in self.modules():
            if isinstance(module, nn.Linear):
                module.reset_parameters()
        for vector in (self.begin, self.end):
            if vector is not None:
                if boundary_std == 0:
                    nn.init.zeros_(vector)
                else:
                    nn.init.normal_(vector, std=boundary_std)

    def forward(self, states: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Project encoder states [B, L, d_enc] -> ([B, L, d_lm] soft tokens, begin [0|1, d_lm], end [0|1, d_lm])."""
        projected = self.proj(states)
        width, like = projected.shape[-1], projected
        none = like.new_zeros(0, width)
        begin = self.begin.to(like.dtype) if self.begin is not None else none
        end = self.end.to(like.dtype) if self.end is not None else none
        return projected, begin, end


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
