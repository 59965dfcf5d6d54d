"""Prompts longer than the model's context: measured before generation, then cut from the left or refused.

A prompt and its answer must fit the model's context window. `context_window` reads the window of a loaded local
Hugging Face model (its config's ``max_position_embeddings``) and its tokenizer, and keeps ``max_new_tokens`` of
the window for the answer. Under ``generation.max_length`` (prompt and answer together, as Hugging Face's
``max_length``) the answer has instead what the prompt leaves of the smaller of the window and ``max_length``
(`ContextWindow.length`), so a prompt may take all of it but one token. A prompt longer than what is left is
handled as the eval config's ``generation.long_prompts`` says:

    cut      (the default; lm-evaluation-harness does the same) its first tokens are dropped until it fits: the
             model reads the end of the prompt, where the question ends and the answer cue stands. What is sent is
             a suffix of the prompt text that starts at a token boundary. A chat conversation is cut as the text
             its chat template renders.
    refuse   it is not generated: its output is empty, so it is scored as unanswered.

Either way the item's record says so (``long_prompt``: the prompt's tokens, the limit, ``cut`` or ``refused``) and
the summary counts both per language (`crosslift.eval.results.summary.build_summary`).

Why before generation: given a prompt of millions of tokens (a 5 MB question), a local model builds an attention
mask of n² entries, 7 TB for 2.7 M tokens, and then either fails on the allocation or thrashes for hours without a
word. Tokenizing that prompt takes seconds.

Backends that expose no tokenizer and window here (an endpoint, vLLM, the LinguaLIFT bridge) are not measured:
their own limits apply (a server refuses an over-long prompt with an error that names it).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from crosslift.errors import ConfigError
from crosslift.eval.tasks.prompts import Prompt
from crosslift.models.generate import HFGenerator
from crosslift.models.generation import Generator

# Where a model config states its context window (Llama, Qwen2, Mistral...; GPT-2; BLOOM-like; ChatGLM).
_WINDOW_KEYS = ("max_position_embeddings", "n_positions", "max_sequence_length", "seq_length")
# What a tokenizer says when it does not know its model's window (transformers' VERY_LARGE_INTEGER is 1e30).
_UNKNOWN_LENGTH = 10**9


@dataclass(frozen=True)
class Fitted:
    """What goes to the model for one prompt.

    Attributes:
        prompt: the prompt to generate from (the cut text of a cut prompt); None when it is refused.
        tokens: its tokens as the model reads them; None when it was not measured (or is refused).
        long_prompt: for a prompt that did not fit, the note its record keeps: ``tokens``, ``limit``, ``action``
            ("cut" or "refused") and, when cut, ``chars_cut`` (characters dropped from its start).
    """

    prompt: Prompt | None
    long_prompt: dict[str, Any] | None = None
    tokens: int | None = None  # the prompt's tokens as the model reads them (None: not measured)


class ContextWindow:
    """The prompt tokens a model can take with room left for its answer, counted as the model encodes them.

    Args:
        generator: the local model (its `encode`, its chat template, and its tokenizer, a fast one: cutting needs
            character offsets).
        context_length: the model's context window in tokens (None: not stated; only with `max_length`).
        max_new_tokens: the room kept for the answer.
        max_length: prompt and answer together (`GenerationSettings.max_length`): the answer has what the prompt
            leaves, and `max_new_tokens` keeps no room of its own.

    Attributes:
        limit: the most tokens a prompt may have.
        length: the tokens a prompt and its answer may take together: the window, or the smaller of the window
            and `max_length` (the max_length generation runs under).

    Raises:
        ConfigError: `max_new_tokens` leaves no room for a prompt.
    """

    def __init__(
        self,
        generator: HFGenerator,
        context_length: int | None,
        max_new_tokens: int,
        max_length: int | None = None,
    ) -> None:
        if max_length is not None:
            self.length = max_length if context_length is None else min(context_length, max_length)
            self.limit = self.length - 1
        else:
            if context_length is None:
                raise ConfigError(f"the context window of {generator.model_id} is not known")
            self.length, self.limit = context_length, context_length - max_new_tokens
        if self.limit < 1:
            raise ConfigError(
                f"generation.max_new_tokens {max_new_tokens} leaves no room for a prompt in the "
                f"{context_length}-token context of {generator.model_id}; lower it, or set generation.max_length "
                "(prompt and answer together) instead"
            )
        self.generator, self.tokenizer, self.render_chat = (
            generator,
            generator.tokenizer,
            generator.render_chat,
        )

    def count(self, text: str) -> int:
        """The tokens the model reads for `text`."""
        return len(self.generator.encode(text))

    def fit(self, prompt: Prompt, policy: str) -> Fitted:
        """`prompt` as it is sent under `policy` ("cut" or "refuse")."""
        text = prompt.text if prompt.text is not None else self.render_chat(prompt.messages)
        tokens = self.count(text)
        if tokens <= self.limit:
            return Fitted(prompt, tokens=tokens)
        note = {"tokens": tokens, "limit": self.limit}
        if policy == "refuse":
            return Fitted(None, note | {"action": "refused"})
        cut = self._cut(text)
        note |= {"action": "cut", "chars_cut": len(text) - len(cut)}
        return Fitted(Prompt(text=cut), note, tokens=self.count(cut))

    def _cut(self, text: str) -> str:
        """The longest suffix of `text` that starts at a token boundary and fits the limit."""
        keep, span = (
            self.limit,
            4 * self.limit,
        )  # about 4 characters a token: only the tail is tokenized again
        while keep > 0:
            tail = max(0, len(text) - span)
            encoded = self.tokenizer(text[tail:], add_special_tokens=False, return_offsets_mapping=True)
            offsets = encoded["offset_mapping"]
            if len(offsets) <= keep and tail > 0:
                span *= 2  # long tokens: look further back
                continue
            if not offsets:
                break
            cut = text[tail + offsets[-min(keep, len(offsets))][0] :]
            over = (
                self.count(cut) - self.limit
            )  # special tokens, and tokens that merge differently at the new start
            if over <= 0:
                return cut
            keep -= over
        return ""


def context_length(config: Any, tokenizer: Any) -> int | None:
    """A model's context window in tokens: from its config, else from its tokenizer; None when neither says."""
    for key in _WINDOW_KEYS:
        value = getattr(config, key, None)
        if isinstance(value, int) and value > 0:
            return value
    length = getattr(tokenizer, "model_max_length", None)
    return length if isinstance(length, int) and 0 < length < _UNKNOWN_LENGTH else None


def context_window(
    generator: Generator, max_new_tokens: int, max_length: int | None = None
) -> ContextWindow | None:
    """The context window of a local Hugging Face model (`HFGenerator`); None for backends that do not expose
    their tokenizer and window, or a model whose window is not stated (and no `max_length` bounds it)."""
    if not isinstance(generator, HFGenerator):
        return None
    length = context_length(generator.model.config, generator.tokenizer)
    if length is None and max_length is None:
        return None
    return ContextWindow(generator, length, max_new_tokens, max_length)


def fit_prompt(window: ContextWindow | None, prompt: Prompt, policy: str) -> Fitted:
    """`prompt` as sent under `policy`; unchanged where the window is not known."""
    return window.fit(prompt, policy) if window is not None else Fitted(prompt)
