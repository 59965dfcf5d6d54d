"""Turn (prompt, target) text into token ids and a loss mask, by character offsets.

The loss covers exactly the target tokens. We tokenize prompt + target as *one* string (so the tokens are the
ones the model will see at inference) and assign each token to the target when its character span ends inside
the target. Re-tokenizing a "### Response:" marker to find the boundary breaks whenever the tokenizer merges
across it; offsets do not. Spans of the prompt can be learned too (the earlier assistant turns of a
conversation): a token is learned when its characters overlap one of them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from transformers import PreTrainedTokenizerBase

from crosslift.models.labels import IGNORE_INDEX


@dataclass
class EncodedExample:
    input_ids: list[int]
    labels: list[int]
    truncated: bool


def encode_prompt_target(
    tokenizer: PreTrainedTokenizerBase,
    prompt: str,
    target: str,
    *,
    max_length: int,
    add_special_tokens: bool = True,
    append_eos: bool = True,
    learned_prompt_spans: Sequence[tuple[int, int]] = (),
) -> EncodedExample:
    """Tokenize prompt + target; labels are IGNORE_INDEX on the prompt (and on special tokens it adds).

    Args:
        add_special_tokens: let the tokenizer add its BOS etc. (False for chat-templated text that has them).
        append_eos: end the target with the tokenizer's EOS so the model learns to stop.
        learned_prompt_spans: (start, end) character spans of `prompt` that are learned as well (earlier
            assistant replies, `crosslift.data.templates.Rendered.earlier_replies`).
    """
    text = prompt + target
    enc = tokenizer(text, add_special_tokens=add_special_tokens, return_offsets_mapping=True)
    ids: list[int] = list(enc["input_ids"])
    boundary = len(prompt)
    # A token belongs to the target when it ends after the boundary; special tokens have (0, 0) offsets and
    # fall on the prompt side. A token straddling the boundary is learned (it produces target characters).
    labels = [
        tok if end > boundary or any(start < e and end > s for s, e in learned_prompt_spans) else IGNORE_INDEX
        for tok, (start, end) in zip(ids, enc["offset_mapping"], strict=True)
    ]
    eos = tokenizer.eos_token_id
    if append_eos and eos is not None:
        if ids and ids[-1] == eos:
            labels[-1] = eos  # the tokenizer added EOS itself (offsets (0, 0)): it is still the target's end
        else:
            ids.append(eos)
            labels.append(eos)
    truncated = len(ids) > max_length
    return EncodedExample(input_ids=ids[:max_length], labels=labels[:max_length], truncated=truncated)
