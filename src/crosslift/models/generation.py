"""The generation interface every backend implements, and the batching the local backends share.

Evaluation (and anything else that turns prompts into text) gets a `Generator` from
`crosslift.models.generate.load_generator` and calls ``generate(prompts, settings)``; it never needs to know
which backend answers. Every backend returns only the newly generated text, cut at the first stop string, in
the order of the prompts. Backends that can render a chat conversation also implement
`ChatGenerator.generate_chat`.

Kept free of heavy imports: the endpoint backend and the evaluation runner use it without torch.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol, runtime_checkable

from crosslift.errors import ConfigError

logger = logging.getLogger(__name__)


@dataclass
class GenerationSettings:
    """Decoding settings; all of them are recorded with every result.

    Attributes:
        max_new_tokens: most tokens generated per prompt.
        do_sample: sample (True) or decode greedily (False).
        temperature: sampling temperature (used only when sampling).
        top_p: nucleus-sampling mass (used only when sampling).
        stop: generation stops at the first of these strings; the returned text ends before it.
        batch_size: prompts per forward batch (local backends) or per group of concurrent requests (endpoint).
        seed: random seed for sampling.
        repetition_penalty: 1.0 means none.
        min_new_tokens: force at least this many tokens (benchmarks use it to time equal token counts).
        max_length: prompt and answer together, in tokens (Hugging Face's ``max_length``): each prompt's answer
            gets what its prompt leaves, and never more than ``max_new_tokens`` (`answer_room`). None: only
            ``max_new_tokens`` limits the answer.
        use_model_defaults: decode as the model's own generation config says (sampling or not, temperature,
            top_p, top_k, repetition penalty); ``do_sample``, ``temperature``, ``top_p`` and
            ``repetition_penalty`` are then not used (nor recorded). The answer's length, the stop strings and the
            seed are still these settings'.
    """

    max_new_tokens: int = 512
    do_sample: bool = False
    temperature: float = 1.0
    top_p: float = 1.0
    stop: list[str] = field(default_factory=list)
    batch_size: int = 16
    seed: int = 0
    repetition_penalty: float = 1.0
    min_new_tokens: int = 0
    max_length: int | None = None
    use_model_defaults: bool = False

    def __post_init__(self) -> None:
        problems = []
        if self.max_new_tokens < 1:
            problems.append(f"max_new_tokens must be >= 1 (got {self.max_new_tokens})")
        if not 0 <= self.min_new_tokens <= self.max_new_tokens:
            problems.append(f"min_new_tokens must be in [0, max_new_tokens] (got {self.min_new_tokens})")
        if self.batch_size < 1:
            problems.append(f"batch_size must be >= 1 (got {self.batch_size})")
        if self.do_sample and self.temperature <= 0:
            problems.append(f"temperature must be > 0 when sampling (got {self.temperature})")
        if not 0 < self.top_p <= 1:
            problems.append(f"top_p must be in (0, 1] (got {self.top_p})")
        if self.repetition_penalty <= 0:
            problems.append(f"repetition_penalty must be > 0 (got {self.repetition_penalty})")
        if any(not s for s in self.stop):
            problems.append("stop strings must not be empty")
        if self.max_length is not None and self.max_length < 2:
            problems.append(
                f"max_length must be >= 2: a prompt token and an answer token (got {self.max_length})"
            )
        if problems:
            raise ConfigError("invalid generation settings: " + "; ".join(problems))

    def to_dict(self) -> dict[str, Any]:
        """The settings as recorded: with the model's own decoding, the sampling fields it does not use are left
        out (and ``use_model_defaults`` is recorded only when on)."""
        record = asdict(self)
        if self.use_model_defaults:
            for unused in MODEL_DECIDES:
                del record[unused]
        else:
            del record["use_model_defaults"]
        return record


# What the model's own generation config decides under `GenerationSettings.use_model_defaults`.
MODEL_DECIDES = ("do_sample", "temperature", "top_p", "repetition_penalty")


def answer_room(settings: GenerationSettings, prompt_tokens: int) -> int:
    """The most tokens an answer to a prompt of `prompt_tokens` tokens may have: ``max_new_tokens``, and under
    ``max_length`` what the prompt leaves of it (0 when the prompt alone reaches it)."""
    if settings.max_length is None:
        return settings.max_new_tokens
    return max(0, min(settings.max_new_tokens, settings.max_length - prompt_tokens))


@runtime_checkable
class Generator(Protocol):
    """What every backend implements."""

    model_id: str

    def generate(self, prompts: list[str], settings: GenerationSettings) -> list[str]:
        """The new text for each prompt (prompt not included), cut at the first stop string, in input order."""
        ...


@runtime_checkable
class ChatGenerator(Generator, Protocol):
    """A backend that can also answer chat conversations (a tokenizer chat template, or a chat API)."""

    def generate_chat(
        self, conversations: list[list[dict[str, str]]], settings: GenerationSettings
    ) -> list[str]:
        """Like `generate`, for conversations of ``{"role": ..., "content": ...}`` messages."""
        ...


@runtime_checkable
class LoglikelihoodScorer(Protocol):
    """A backend that can score given continuations (a local model): lm-evaluation-harness's loglikelihood
    requests, which multiple-choice tasks score their options with."""

    model_id: str

    def loglikelihood(
        self, requests: list[tuple[str, str]], settings: GenerationSettings
    ) -> list[tuple[float, bool]]:
        """For each (context, continuation): the summed log-probability of the continuation's tokens after the
        context, and whether greedy decoding would produce exactly those tokens; in input order."""
        ...


def cut_at_stop(text: str, stop: list[str]) -> str:
    """`text` up to (not including) the earliest occurrence of any stop string."""
    end = len(text)
    for s in stop:
        i = text.find(s)
        if 0 <= i < end:
            end = i
    return text[:end]


def generate_in_batches(
    sizes: Sequence[int], settings: GenerationSettings, generate_batch: Callable[[list[int]], list[str]]
) -> list[str]:
    """Generate for every prompt in batches of ``settings.batch_size`` and return the texts in input order.

    Prompts are batched longest first: similar lengths share a batch (little padding), and an out-of-memory
    shows up at once. A batch that runs out of GPU memory is retried in halves, down to single prompts.
    Sampling is seeded with ``settings.seed`` first, so the same settings give the same samples.

    Args:
        sizes: the input length of each prompt (tokens the model reads).
        settings: decoding settings (batch size, sampling, seed).
        generate_batch: fn(prompt indices) -> their texts, in the order given.
    """
    import torch

    if not sizes:
        return []
    order = sorted(range(len(sizes)), key=lambda i: -sizes[i])
    if settings.do_sample or settings.use_model_defaults:  # the model's own config may sample
        torch.manual_seed(settings.seed)
    outputs = [""] * len(sizes)
    for start in range(0, len(order), settings.batch_size):
        batch = order[start : start + settings.batch_size]
        for i, text in zip(batch, _halving_on_oom(generate_batch, batch), strict=True):
            outputs[i] = text
    return outputs


def _halving_on_oom(generate_batch: Callable[[list[int]], list[str]], batch: list[int]) -> list[str]:
    import torch

    try:
        return generate_batch(batch)
    except torch.cuda.OutOfMemoryError:
        if len(batch) == 1:
            raise
        torch.cuda.empty_cache()
        half = len(batch) // 2
        logger.warning("out of GPU memory at batch size %d; retrying in halves", len(batch))
        return _halving_on_oom(generate_batch, batch[:half]) + _halving_on_oom(generate_batch, batch[half:])
