"""The language alignment layer of LinguaLIFT: encoder states in, LM input embeddings out.

A multilingual encoder reads the prompt; this layer maps each of its output vectors (width d_enc) into the
causal LM's input-embedding space (width d_lm), so that the LM can read them as if they were token
embeddings ("soft tokens"). Two kinds, chosen in YAML (methods.md §1.2):

    linear   Linear(d_enc -> d_lm)                                   LangBridge's default
    ffn      Linear(d_enc -> h) -> act -> Linear(h -> d_lm)           LinguaLIFT's released code (GELU),
             h = 2 * d_enc unless set (2048 -> 4096 -> 4096 for        MindMerger's and LayAlign's (ReLU)
             mT5-XL + Llama-2-7B)

plus learned *boundary* vectors that frame the soft tokens: `begin` before them and `end` after them (LangBridge
has only `end`; LinguaLIFT adds `begin`). They tell the LM where the encoder's part starts and stops; `end` is
also the position from which the LM predicts the first response token.

The boundary vectors are returned by `forward` instead of being read as attributes by the caller: under
DeepSpeed ZeRO-3 a parameter is only materialised inside its own module's forward.

The projection can also start from a least-squares fit instead of noise (`crosslift.models.least_squares`).
"""

from __future__ import annotations

import torch
from torch import nn

KINDS = ("linear", "ffn")
ACTIVATIONS = {"gelu": nn.GELU, "relu": nn.ReLU}


class AlignmentLayer(nn.Module):
    """Per-token projection from encoder space to LM embedding space, with optional begin/end vectors.

    Args:
        kind: "linear" or "ffn".
        encoder_size: d_enc, the width of the encoder states.
        lm_size: d_lm, the width of the LM's input embeddings.
        hidden_size: inner width of "ffn" (default 2 * encoder_size); unused for "linear".
        begin: learn a vector put before the soft tokens.
        end: learn a vector put after them.
        activation: the nonlinearity of "ffn" ("gelu" or "relu").
    """

    def __init__(
        self,
        kind: str,
        encoder_size: int,
        lm_size: int,
        hidden_size: int | None = None,
        begin: bool = True,
        end: bool = True,
        activation: str = "gelu",
    ) -> None:
        super().__init__()
        if kind not in KINDS:
            raise ValueError(f"alignment kind must be one of {KINDS}, got {kind!r}")
        if activation not in ACTIVATIONS:
            raise ValueError(f"activation must be one of {tuple(ACTIVATIONS)}, got {activation!r}")
        self.kind = kind
        if kind == "linear":
            self.proj = nn.Linear(encoder_size, lm_size)
        else:
            hidden_size = hidden_size or 2 * encoder_size
            self.proj = nn.Sequential(
                nn.Linear(encoder_size, hidden_size),
                ACTIVATIONS[activation](),
                nn.Linear(hidden_size, lm_size),
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
