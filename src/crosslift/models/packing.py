"""Padding-free packing: the examples of a batch share rows, each keeping its own positions and attending only
to itself.

    padded (the longest row sets the width)        packed (rows of at most `row_tokens`)
      [a a a a a . . .]                              [a a a a a c c c]   positions 0 1 2 3 4 0 1 2
      [b b . . . . . .]                              [b b d d d d . .]             0 1 0 1 2 3 0 1
      [c c c . . . . .]
      [d d d d . . . .]

The batch holds the same examples the sampler drew, so the optimisation is exactly the padded one (same loss,
same gradients, up to float rounding); only the compute spent on padding is gone. transformers does the
attention part: given `position_ids` and *no* attention mask, a model finds where each example starts (a position
that does not follow its neighbour's) and restricts attention to it — flash-attention kernels run variable-length
attention, SDPA and eager attention get a block-diagonal causal mask (`masking_utils.find_packed_sequence_indices`).
Two things make it exact:

- the label of each example's first token is -100, so no example is trained to predict the next one's start
  (`DataCollatorWithFlattening` does the same); that token is never predicted in the padded batch either;
- the KV cache is off: with a cache, transformers skips the boundary detection and examples attend across.

Why rows and not one long row (as `DataCollatorWithFlattening` builds): with SDPA or eager attention the mask is
dense, so a row's attention costs the square of its length — one row of 8 examples costs far more than 8 rows
(measured on CPU: one row 1.1x the padded speed, rows of max_length 1.8x). Examples are placed first-fit-decreasing
into rows of at most `row_tokens` (the recipe's max_length, so every example fits); a row shorter than the widest
gets a padding tail that is an example of its own (positions 0, 1, ..., labels -100), so it attends to nothing real.
With flash attention, pass `row_tokens=None`: one row, no padding at all.

    collator = PackingCollator(tokenizer.pad_token_id, row_tokens=512)   # SFT: lists of token ids -> packed batch
    packed = pack_batch(padded, lengths, row_tokens=512, pad_values={...})  # tensors (the bridge's input embeddings)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from crosslift.models.labels import IGNORE_INDEX

# A packed batch carries its number of real tokens under this key (the Trainer's token count cannot tell a
# packed row's padding tail apart without an attention mask); `crosslift.train.common.PackingTrainer` pops it.
PACKED_TOKENS = "packed_tokens"
FLASH_PREFIXES = ("flash", "kernels-community/flash", "kernels-community/vllm-flash")


def plan_rows(lengths: Sequence[int], row_tokens: int | None) -> list[list[int]]:
    """Example indices per row: first-fit decreasing into rows of at most `row_tokens` (None: one row).

    An example longer than `row_tokens` gets a row of its own (it is never cut).
    """
    order = sorted(range(len(lengths)), key=lambda i: (-lengths[i], i))
    if row_tokens is None:
        return [order]
    rows: list[list[int]] = []
    room: list[int] = []
    for i in order:
        for r, free in enumerate(room):
            if lengths[i] <= free:
                rows[r].append(i)
                room[r] -= lengths[i]
                break
        else:
            rows.append([i])
            room.append(row_tokens - lengths[i])
    return rows


def pack_batch(
    batch: dict[str, torch.Tensor],
    lengths: torch.Tensor | Sequence[int],
    *,
    row_tokens: int | None,
    pad_values: dict[str, float | int],
) -> dict[str, torch.Tensor]:
    """Re-lay a right-padded batch as packed rows.

    Args:
        batch: tensors [B, T, ...] whose first `lengths[i]` positions of row i are real (right padding), e.g.
            input_ids or inputs_embeds, and labels. An attention_mask, if present, is dropped.
        lengths: [B] real length of each row.
        row_tokens: the most positions per packed row (None: one row).
        pad_values: the fill of each key in the padding tail (labels get IGNORE_INDEX whatever is given).

    Returns:
        the same keys laid out [R, W, ...], plus position_ids [R, W]; labels at each example's first position are
        IGNORE_INDEX.
    """
    keys = [k for k in batch if k != "attention_mask"]
    lengths = [int(n) for n in (lengths.tolist() if isinstance(lengths, torch.Tensor) else lengths)]
    rows = plan_rows(lengths, row_tokens)
    width = max(sum(lengths[i] for i in row) for row in rows)
    device = next(iter(batch.values())).device
    out: dict[str, list[torch.Tensor]] = {k: [] for k in (*keys, "position_ids")}
    for row in rows:
        used = sum(lengths[i] for i in row)
        tail = width - used
        for k in keys:
            parts = [batch[k][i, : lengths[i]] for i in row]
            if k == "labels":
                parts = [torch.cat([p.new_full((1,), IGNORE_INDEX), p[1:]]) for p in parts]
            if tail:
                fill = IGNORE_INDEX if k == "labels" else pad_values[k]
                parts.append(batch[k].new_full((tail, *batch[k].shape[2:]), fill))
            out[k].append(torch.cat(parts))
        positions = [torch.arange(lengths[i], device=device) for i in row]
        if tail:
            positions.append(torch.arange(tail, device=device))  # the tail is an example of its own
        out["position_ids"].append(torch.cat(positions))
    return {k: torch.stack(v) for k, v in out.items()}


def row_tokens_for(attn_implementation: str | None, max_length: int) -> int | None:
    """One row per batch for flash-attention kernels (variable-length attention, no padding); rows of
    `max_length` otherwise (dense block masks cost the square of a row's length)."""
    if attn_implementation and attn_implementation.startswith(FLASH_PREFIXES):
        return None
    return max_length


@torch.no_grad()
def check_packing_support(model: torch.nn.Module, attn_implementation: str | None) -> None:
    """Raise when `model` lets packed examples attend to each other.

    Models whose attention masks come from transformers' masking utilities find the boundaries from position ids;
    an architecture that builds its own mask would silently mix examples. One forward pass of two short packed
    examples against the second one alone decides (skipped for weights not materialised, e.g. on the meta device).

    Args:
        attn_implementation: the attention the model runs, for the error message (the recipes read it with
            `crosslift.train.hf_compat.attn_implementation`).
    """
    weight = model.get_input_embeddings().weight
    if weight.device.type == "meta" or weight.numel() == 0:
        return
    device, vocab = weight.device, weight.shape[0]
    first, second = torch.arange(7, 13, device=device) % vocab, torch.arange(20, 25, device=device) % vocab
    positions = torch.cat([torch.arange(len(first)), torch.arange(len(second))]).to(device)
    was_training = model.training
    model.eval()  # no dropout in the comparison
    try:
        packed = model(
            input_ids=torch.cat([first, second])[None], position_ids=positions[None], use_cache=False
        )
        alone = model(input_ids=second[None], use_cache=False)
    finally:
        model.train(was_training)
    a, b = packed.logits[0, len(first) :].float(), alone.logits[0].float()
    tolerance = (1e-4 if weight.dtype == torch.float32 else 2e-2) * b.abs().max().clamp(min=1.0)
    if (a - b).abs().max() > tolerance:
        from crosslift.errors import ConfigError

        raise ConfigError(
            f"training.packing: {type(model).__name__} (attention: {attn_implementation}) "
            "lets packed examples attend to each other (its attention mask ignores position-id boundaries); "
            "set training.packing: false, or use a model whose attention transformers masks from position ids"
        )


class PackingCollator:
    """Token-id features (`input_ids`, `labels` lists) -> one packed batch; see the module docstring.

    Args:
        pad_token_id: the fill of a row's padding tail (its labels are -100 and it is its own example).
        row_tokens: the most tokens per row (`row_tokens_for`); None packs the whole batch into one row.
    """

    def __init__(self, pad_token_id: int, row_tokens: int | None) -> None:
        self.pad_token_id = pad_token_id
        self.row_tokens = row_tokens

    def __call__(self, features: list[dict[str, Any]]) -> dict[str, torch.Tensor]:
        lengths = [len(f["input_ids"]) for f in features]
        width = max(lengths)
        padded = {
            "input_ids": torch.tensor(
                [
                    list(f["input_ids"]) + [self.pad_token_id] * (width - n)
                    for f, n in zip(features, lengths, strict=True)
                ]
            ),
            "labels": torch.tensor(
                [
                    list(f["labels"]) + [IGNORE_INDEX] * (width - n)
                    for f, n in zip(features, lengths, strict=True)
                ]
            ),
        }
        batch = pack_batch(
            padded, lengths, row_tokens=self.row_tokens, pad_values={"input_ids": self.pad_token_id}
        )
        batch[PACKED_TOKENS] = torch.tensor(sum(lengths))
        return batch
