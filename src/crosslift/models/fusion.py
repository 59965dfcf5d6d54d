"""LayAlign's layer-wise fusion: every encoder layer, mixed per LM layer, read by the LM through gated
cross-attention inside its own attention layers (the bridge's `fusion` family; LayAlign, NAACL 2025).

The soft tokens of the other families come from one encoder layer. Here the encoder's hidden states of several
layers h_0 .. h_{E-1} ([B, L, d_enc] each) are also mixed, separately for every adapted LM layer n, and read
there by cross-attention:

    mix        Linear(E -> 2N) over the layer axis, then ReLU: a key state and a value state per LM layer n
    project    Linear(d_enc -> d_lm)                           (structure "mlp": + ReLU + Linear(d_lm -> d_lm))
    in layer n attention output += gate_n * o_proj(softmax(q k^T / sqrt(d_head)) v)
               q = the layer's own query of its tokens (its q_proj, rotary positions as for its own keys),
               k = k_proj(key state), v = v_proj(value state): the layer's own frozen projections

`gate_n` starts at zero, so an untrained fusion adds exactly nothing: the LM computes what it computed without
it (tested). Padding positions of the encoder are masked out of the softmax (the released code attends to them).

The LM is not modified: its attention modules get a forward hook that adds the gated term, and the parameters
(mix, projection, gates) live in this module, so the LM's weights keep their names and the bridge saves and
loads them as usual. Every parameter is used inside its own module's call (the projection in `forward`, a gate
in its `FusionGate` call), as DeepSpeed ZeRO-3 needs to gather it.

The encoder states of a batch are handed over by `BridgeModel.embed` (`attend_to`) before the LM runs and stay
until the next batch replaces them, so that a layer recomputed in the backward pass (gradient checkpointing)
reads them again; generation clears them when it is done (`clear`), and keeps each layer's projected keys and
values between its decoding steps. A batch whose size differs from theirs is an error rather than a silent
broadcast.

Supported LMs: attention modules with q_proj, k_proj, v_proj and o_proj (Llama, Qwen2, Mistral, Gemma, ...), as
the released code (which supports Llama and Mistral).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from crosslift.errors import ConfigError, CrossliftError

STRUCTURES = ("linear", "mlp")
PROJECTIONS = ("q_proj", "k_proj", "v_proj", "o_proj")


def attention_modules(lm: nn.Module) -> list[nn.Module]:
    """The LM's self-attention modules, in layer order (modules holding q_proj, k_proj, v_proj and o_proj).

    Raises:
        ConfigError: the LM has none, or not one per layer.
    """
    found = [m for m in lm.modules() if all(isinstance(getattr(m, p, None), nn.Module) for p in PROJECTIONS)]
    layers = lm.config.get_text_config().num_hidden_layers
    if len(found) != layers:
        raise ConfigError(
            f"the fusion family reads the encoder inside the LM's attention layers and needs one attention "
            f"module with {', '.join(PROJECTIONS)} per layer; this {lm.config.model_type} LM has {len(found)} "
            f"such modules for {layers} layers (Llama, Qwen2, Mistral and Gemma have them)"
        )
    return found


def _rotate_half(x: torch.Tensor) -> torch.Tensor:
    half = x.shape[-1] // 2
    return torch.cat((-x[..., half:], x[..., :half]), dim=-1)


class FusionGate(nn.Module):
    """The gated cross-attention of one LM layer: its own query against the layer's key and value states.

    `heads`, `kv_heads` and `head_dim` are the LM's (`LayerFusion.attach` sets them).
    """

    def __init__(self) -> None:
        super().__init__()
        self.gate = nn.Parameter(torch.zeros(1))
        self.heads = self.kv_heads = self.head_dim = 0

    def forward(
        self,
        attention: nn.Module,
        hidden_states: torch.Tensor,
        position_embeddings: tuple[torch.Tensor, torch.Tensor] | None,
        keys: torch.Tensor,
        values: torch.Tensor,
        encoder_mask: torch.Tensor,
        memo: dict[str, torch.Tensor] | None = None,
    ) -> torch.Tensor:
        """gate * o_proj(attention of the layer's queries over the encoder states): [B, T, d_lm].

        `memo` (generation, no gradients) keeps the projected keys and values between decoding steps.
        """
        heads, kv_heads, head_dim = self.heads, self.kv_heads, self.head_dim
        batch, length = hidden_states.shape[:2]
        dtype = hidden_states.dtype
        query = attention.q_proj(hidden_states).view(batch, length, heads, head_dim).transpose(1, 2)
        if position_embeddings is not None:  # the layer's rotary positions, as its own queries get them
            cos, sin = (t.unsqueeze(1) for t in position_embeddings)
            query = query * cos + _rotate_half(query) * sin
        if memo:
            key, value = memo["key"], memo["value"]
        else:
            enc = keys.shape[1]
            key = attention.k_proj(keys.to(dtype)).view(batch, enc, kv_heads, head_dim).transpose(1, 2)
            value = attention.v_proj(values.to(dtype)).view(batch, enc, kv_heads, head_dim).transpose(1, 2)
            if kv_heads != heads:
                key = key.repeat_interleave(heads // kv_heads, dim=1)
                value = value.repeat_interleave(heads // kv_heads, dim=1)
            if memo is not None:
                memo.update(key=key, value=value)
        mask = encoder_mask.bool()[:, None, None, :]
        read = F.scaled_dot_product_attention(query, key, value, attn_mask=mask)
        read = attention.o_proj(read.transpose(1, 2).reshape(batch, length, heads * head_dim))
        return self.gate.to(read.dtype) * read


class LayerFusion(nn.Module):
    """Layer mix + projection of the encoder states, and one gate per adapted LM layer (module docstring).

    Args:
        encoder_layers: how many encoder hidden states are mixed (E).
        lm_layers: the indices of the LM layers that read them (N of them).
        encoder_size, lm_size: d_enc and d_lm.
        structure: "linear" (released default) or "mlp".
    """

    def __init__(
        self,
        encoder_layers: int,
        lm_layers: Sequence[int],
        encoder_size: int,
        lm_size: int,
        structure: str = "linear",
    ) -> None:
        super().__init__()
        if structure not in STRUCTURES:
            raise ValueError(f"fusion structure must be one of {STRUCTURES}, got {structure!r}")
        self.lm_layers = list(lm_layers)
        self.mix = nn.Linear(encoder_layers, 2 * len(self.lm_layers))
        if structure == "linear":
            self.project = nn.Linear(encoder_size, lm_size)
        else:
            self.project = nn.Sequential(
                nn.Linear(encoder_size, lm_size), nn.ReLU(), nn.Linear(lm_size, lm_size)
            )
        self.gates = nn.ModuleList(FusionGate() for _ in self.lm_layers)
        self._states: tuple[torch.Tensor, torch.Tensor] | None = None
        self._memos: list[dict[str, torch.Tensor]] = [{} for _ in self.lm_layers]
        self._hooks: list[Any] = []
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """torch's default Linear init; every gate at zero (the untrained fusion adds nothing)."""
        for module in self.modules():
            if isinstance(module, nn.Linear):
                module.reset_parameters()
        for gate in self.gates:
            nn.init.zeros_(gate.gate)

    def forward(self, hidden_states: Sequence[torch.Tensor]) -> torch.Tensor:
        """Encoder states E x [B, L, d_enc] -> key and value states of every adapted layer [B, L, 2N, d_lm]."""
        stacked = torch.stack(list(hidden_states), dim=-1).to(self.mix.weight.dtype)  # [B, L, d_enc, E]
        mixed = F.relu(self.mix(stacked)).transpose(-1, -2)  # [B, L, 2N, d_enc]
        return self.project(mixed)

    # -- the LM's side

    def attach(self, lm: nn.Module) -> None:
        """Hook the gated cross-attention into the chosen attention layers of `lm`."""
        self.detach()
        modules = attention_modules(lm)
        config = lm.config.get_text_config()
        heads = config.num_attention_heads
        kv_heads = getattr(config, "num_key_value_heads", None) or heads
        head_dim = getattr(config, "head_dim", None) or config.hidden_size // heads
        for gate in self.gates:
            gate.heads, gate.kv_heads, gate.head_dim = heads, kv_heads, head_dim
        for slot, index in enumerate(self.lm_layers):
            if not -len(modules) <= index < len(modules):
                raise ConfigError(f"fusion LM layer {index} does not exist: the LM has {len(modules)} layers")
            self._hooks.append(modules[index].register_forward_hook(self._hook(slot), with_kwargs=True))

    def detach(self) -> None:
        for handle in self._hooks:
            handle.remove()
        self._hooks = []

    def attend_to(self, states: torch.Tensor, encoder_mask: torch.Tensor) -> None:
        """The key/value states of this batch ([B, L, 2N, d_lm], from `forward`) and the encoder's mask [B, L]."""
        self._states = (states, encoder_mask)
        self._memos = [{} for _ in self.lm_layers]

    def clear(self) -> None:
        self._states = None
        self._memos = [{} for _ in self.lm_layers]

    def _hook(self, slot: int):
        def add_fusion(module: nn.Module, args: tuple, kwargs: dict[str, Any], output: Any) -> Any:
            if self._states is None:
                return output
            states, encoder_mask = self._states
            hidden = kwargs["hidden_states"] if "hidden_states" in kwargs else args[0]
            if hidden.shape[0] != states.shape[0]:
                raise CrossliftError(
                    f"the LM runs a batch of {hidden.shape[0]} rows but the fusion holds encoder states of "
                    f"{states.shape[0]}: the encoder states of one batch are read by that batch only"
                )
            extra = self.gates[slot](
                module,
                hidden,
                kwargs.get("position_embeddings"),
                states[:, :, 2 * slot],
                states[:, :, 2 * slot + 1],
                encoder_mask,
                None if torch.is_grad_enabled() else self._memos[slot],
            )
            if isinstance(output, tuple):
                return (output[0] + extra.to(output[0].dtype), *output[1:])
            return output + extra.to(output.dtype)

        return add_fusion
