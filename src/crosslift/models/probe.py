"""Cross-lingual retrieval with a model's own hidden states: does it place a sentence and its translation close?

Before a bridge is trained on an encoder, the evidence that the encoder has something to give is that it
already represents parallel text alike. For parallel pairs (x_i, y_i), each x_i and y_i is read on its own, its
hidden states at one layer are mean-pooled over its tokens (special tokens left out), and P@1 is the share of
x_i whose most cosine-similar y_j is y_i. Chance is 1 / number of candidates. The same measure serves any model
that returns hidden states (an encoder, a causal LM, the bridge's soft tokens), so an encoder and an LLM can be
compared on the same pairs and layer.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch


def precision_at_1(queries: torch.Tensor, keys: torch.Tensor, center: bool = False) -> float:
    """Share of queries i whose most cosine-similar key is key i.

    Args:
        center: subtract each side's mean vector first. Every sentence of one language shares a component that
            says which language it is, and it dominates cosine similarity across languages; without it what is
            left is what the sentences say (Libovický et al., 2020, "On the language neutrality of pre-trained
            multilingual representations").
    """
    if center:
        queries, keys = queries - queries.mean(0), keys - keys.mean(0)
    sims = torch.nn.functional.normalize(queries, dim=-1) @ torch.nn.functional.normalize(keys, dim=-1).T
    return float((sims.argmax(-1) == torch.arange(len(queries), device=sims.device)).float().mean())


@torch.no_grad()
def mean_hidden_states(
    model: Any, tokenizer: Any, texts: Sequence[str], layer: int, batch_size: int = 32
) -> torch.Tensor:
    """[N, d] mean over each text's tokens of the hidden states at `layer` (-1: the last; 0: the embeddings)."""
    special = torch.tensor(sorted(set(tokenizer.all_special_ids)) or [-1])
    device = next(model.parameters()).device
    out = []
    for start in range(0, len(texts), batch_size):
        batch = tokenizer(list(texts[start : start + batch_size]), padding=True, return_tensors="pt")
        hidden = model(
            input_ids=batch["input_ids"].to(device),
            attention_mask=batch["attention_mask"].to(device),
            output_hidden_states=True,
        ).hidden_states[layer]
        keep = batch["attention_mask"].bool() & ~torch.isin(batch["input_ids"], special)
        keep = keep.to(device).unsqueeze(-1)
        out.append((hidden.float() * keep).sum(1) / keep.sum(1).clamp(min=1))
    return torch.cat(out)


def retrieval(
    model: Any,
    tokenizer: Any,
    pairs: Sequence[tuple[str, str]],
    layer: int,
    batch_size: int = 32,
    center: bool = True,
) -> dict[str, float | int]:
    """P@1 of retrieving each pair's second text from its first among all second texts (each side's mean vector
    subtracted: `precision_at_1`), with chance."""
    if len(pairs) < 2:
        raise ValueError(f"retrieval needs at least 2 pairs, got {len(pairs)}")
    queries = mean_hidden_states(model, tokenizer, [x for x, _ in pairs], layer, batch_size)
    keys = mean_hidden_states(model, tokenizer, [y for _, y in pairs], layer, batch_size)
    return {"p_at_1": precision_at_1(queries, keys, center), "chance": 1 / len(pairs), "pairs": len(pairs)}
