"""One generation interface for every backend: local Hugging Face models (plain or with a LoRA adapter), the
LinguaLIFT bridge, an OpenAI-compatible HTTP endpoint, and vLLM when it is installed.

Evaluation (and anything else that turns prompts into text) asks for a `Generator` with `load_generator` and
calls ``generate(prompts, settings)``; it never needs to know which backend answers:

    gen = load_generator("runs/sft_tiny/model")          # or "tiny:llama", "http://host:8000/v1", "vllm:/models/x"
    outputs = gen.generate(["Question: 2+3?\\nAnswer:"], GenerationSettings(max_new_tokens=64, stop=["Question:"]))

Every backend returns only the newly generated text, cut at the first stop string, in the order of the prompts.
Backends that can render a chat conversation also implement `ChatGenerator.generate_chat`.

The local backend batches for throughput: prompts are sorted by token length (so each batch pads little), padded
on the left (so every sequence's next token sits in the last column), and decoded with the KV cache; results go
back to input order. Greedy batched output equals one-at-a-time output (tested).
"""

from __future__ import annotations

import copy
import json
import logging
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from crosslift.errors import ConfigError, CrossliftError

if TYPE_CHECKING:
    from transformers import PreTrainedModel, PreTrainedTokenizerBase

logger = logging.getLogger(__name__)

BACKENDS = ("auto", "hf", "endpoint", "vllm")
VLLM_PREFIX = "vllm:"


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
        if problems:
            raise ConfigError("invalid generation settings: " + "; ".join(problems))

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


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


def cut_at_stop(text: str, stop: list[str]) -> str:
    """`text` up to (not including) the earliest occurrence of any stop string."""
    end = len(text)
    for s in stop:
        i = text.find(s)
        if 0 <= i < end:
            end = i
    return text[:end]


# ------------------------------------------------------------------------------------------------ local HF


class HFGenerator:
    """Batched generation with a local Hugging Face causal LM (plain, or with a LoRA adapter merged in).

    Args:
        model: a causal LM.
        tokenizer: its tokenizer (padding is switched to the left here).
        model_id: the name recorded in results.
    """

    def __init__(self, model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase, model_id: str) -> None:
        self.model = model.eval()
        self.tokenizer = tokenizer
        self.tokenizer.padding_side = "left"
        self.model_id = model_id
        self.tokens_generated = (
            0  # new (non-padding) tokens over this object's lifetime, for throughput figures
        )

    @classmethod
    def from_pretrained(
        cls,
        name_or_path: str,
        *,
        trust_remote_code: bool = False,
        dtype: str = "auto",
        device: str = "auto",
        attn_implementation: str | None = None,
    ) -> HFGenerator:
        """Load a model directory, hub id or ``tiny:<kind>`` through `crosslift.models.build`."""
        from crosslift.models.build import load_causal_lm, load_tokenizer

        tokenizer = load_tokenizer(name_or_path, trust_remote_code=trust_remote_code, padding_side="left")
        model = load_causal_lm(
            name_or_path,
            dtype=dtype,
            trust_remote_code=trust_remote_code,
            attn_implementation=attn_implementation,
        )
        return cls(model.to(_device(device)), tokenizer, name_or_path)

    @classmethod
    def from_adapter(
        cls,
        adapter_dir: str | Path,
        *,
        base_model: str | None = None,
        trust_remote_code: bool = False,
        dtype: str = "auto",
        device: str = "auto",
        attn_implementation: str | None = None,
        merge: bool = True,
    ) -> HFGenerator:
        """Load a LoRA adapter directory (peft) on top of its base model.

        Args:
            adapter_dir: holds ``adapter_config.json`` and ``adapter_model.safetensors``.
            base_model: the base model; default: ``base_model_name_or_path`` from the adapter config.
            merge: fold the adapter into the base weights (faster generation, same outputs).
        """
        from peft import PeftModel

        from crosslift.models.build import load_causal_lm, load_tokenizer

        adapter_dir = Path(adapter_dir)
        config = json.loads((adapter_dir / "adapter_config.json").read_text(encoding="utf-8"))
        base = base_model or config.get("base_model_name_or_path")
        if not base:
            raise CrossliftError(
                f"{adapter_dir / 'adapter_config.json'}: no base_model_name_or_path; pass the base model explicitly"
            )
        if not (adapter_dir / "adapter_model.safetensors").is_file():
            raise CrossliftError(
                f"{adapter_dir} has no adapter_model.safetensors (pickled adapters are not loaded: unpickling can "
                "run arbitrary code)"
            )
        has_tokenizer = any((adapter_dir / f).is_file() for f in ("tokenizer.json", "tokenizer_config.json"))
        tokenizer = load_tokenizer(
            str(adapter_dir) if has_tokenizer else base,
            trust_remote_code=trust_remote_code,
            padding_side="left",
        )
        model = load_causal_lm(base, dtype=dtype, trust_remote_code=trust_remote_code,
                               attn_implementation=attn_implementation)  # fmt: skip
        if len(tokenizer) > model.get_input_embeddings().weight.shape[0]:
            model.resize_token_embeddings(len(tokenizer))  # the adapter was trained with added tokens
        model = PeftModel.from_pretrained(model, str(adapter_dir))
        if merge:
            model = model.merge_and_unload()
        return cls(model.to(_device(device)), tokenizer, f"{base}+lora:{adapter_dir}")

    # -- generation

    def render_chat(self, messages: list[dict[str, str]]) -> str:
        """A conversation rendered by the tokenizer's chat template, ending with the assistant's turn opened."""
        if not getattr(self.tokenizer, "chat_template", None):
            raise ConfigError(
                f"the tokenizer of {self.model_id} has no chat template; evaluate with chat off, or use a model "
                "(or tokenizer_config.json) that defines one"
            )
        return self.tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)

    def generate_chat(
        self, conversations: list[list[dict[str, str]]], settings: GenerationSettings
    ) -> list[str]:
        return self.generate([self.render_chat(c) for c in conversations], settings)

    def generate(self, prompts: list[str], settings: GenerationSettings) -> list[str]:
        import torch

        if not prompts:
            return []
        encoded = [self._encode(p) for p in prompts]
        # Longest first: similar lengths share a batch (little padding), and an out-of-memory shows up at once.
        order = sorted(range(len(prompts)), key=lambda i: -len(encoded[i]))
        config = self._generation_config(settings)
        if settings.do_sample:
            torch.manual_seed(settings.seed)
        outputs: list[str] = [""] * len(prompts)
        for start in range(0, len(order), settings.batch_size):
            batch = order[start : start + settings.batch_size]
            texts = self._generate_batch([encoded[i] for i in batch], config, settings.stop)
            for i, text in zip(batch, texts, strict=True):
                outputs[i] = text
        return outputs

    def _encode(self, prompt: str) -> list[int]:
        # A prompt rendered by a chat template already starts with BOS; adding another would change the input.
        bos = self.tokenizer.bos_token
        add_special = not (bos and prompt.startswith(bos))
        return self.tokenizer(prompt, add_special_tokens=add_special)["input_ids"]

    def _generation_config(self, settings: GenerationSettings) -> Any:
        # Start from the model's own config (it knows every EOS id, e.g. Llama 3's two) and make ours authoritative
        # for everything we record, so a checkpoint's sampling defaults never change a greedy evaluation.
        config = copy.deepcopy(self.model.generation_config)
        config.update(
            max_new_tokens=settings.max_new_tokens,
            min_new_tokens=settings.min_new_tokens or None,
            do_sample=settings.do_sample,
            temperature=settings.temperature if settings.do_sample else 1.0,
            top_p=settings.top_p if settings.do_sample else 1.0,
            top_k=None,
            repetition_penalty=settings.repetition_penalty,
            stop_strings=list(settings.stop) or None,
            pad_token_id=self.tokenizer.pad_token_id,
            use_cache=True,
            num_beams=1,
        )
        return config

    def _generate_batch(self, ids: list[list[int]], config: Any, stop: list[str]) -> list[str]:
        import torch

        batch = self.tokenizer.pad({"input_ids": ids}, padding=True, return_tensors="pt").to(
            self.model.device
        )
        try:
            with torch.inference_mode():
                out = self.model.generate(**batch, generation_config=config, tokenizer=self.tokenizer)
        except torch.cuda.OutOfMemoryError:
            if len(ids) == 1:
                raise
            torch.cuda.empty_cache()
            half = len(ids) // 2
            logger.warning("out of GPU memory at batch size %d; retrying in halves", len(ids))
            return self._generate_batch(ids[:half], config, stop) + self._generate_batch(
                ids[half:], config, stop
            )
        new = out[:, batch["input_ids"].shape[1] :]
        pad = self.tokenizer.pad_token_id
        self.tokens_generated += int((new != pad).sum()) if pad is not None else new.numel()
        texts = self.tokenizer.batch_decode(new, skip_special_tokens=True)
        return [cut_at_stop(t, stop) for t in texts]


def _device(device: str) -> str:
    if device != "auto":
        return device
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


# ------------------------------------------------------------------------------------------------ dispatch


def _model_type(directory: Path) -> str | None:
    config = directory / "config.json"
    if not config.is_file():
        return None
    try:
        return json.loads(config.read_text(encoding="utf-8")).get("model_type")
    except (OSError, json.JSONDecodeError) as e:
        raise CrossliftError(f"{config}: not valid JSON ({e})") from None


def load_generator(
    model: str,
    *,
    trust_remote_code: bool = False,
    dtype: str = "auto",
    backend: str = "auto",
    **kw: Any,
) -> Generator:
    """The generator for a model name, directory or URL.

    Dispatch (with ``backend="auto"``):

    - ``http(s)://host:port/v1``: an OpenAI-compatible endpoint (`crosslift.models.endpoint.EndpointGenerator`;
      keyword options ``served_model``, ``api`` ("completions" or "chat"), ``api_key_env``, ``timeout_s``,
      ``max_retries``, ``concurrency``);
    - ``vllm:<dir>``: vLLM (only when installed);
    - a directory with ``adapter_config.json``: its base model + the LoRA adapter (peft);
    - a directory whose ``config.json`` has ``model_type: lingualift_bridge``: the LinguaLIFT bridge;
    - anything else (a directory, hub id, ``tiny:llama``): a local Hugging Face causal LM.

    Args:
        model: see above.
        trust_remote_code: run code shipped with a checkpoint (off unless asked for).
        dtype: "auto", "float32", "bfloat16" or "float16" (local backends).
        backend: "auto", or force "hf", "endpoint" or "vllm".
        **kw: backend options (``device``, ``attn_implementation``, ``base_model`` for adapters; endpoint options).

    Raises:
        CrossliftError: unknown backend, a backend that is not installed, or a model that cannot be loaded.
    """
    if backend not in BACKENDS:
        raise ConfigError(f"unknown backend '{backend}'; expected one of: {', '.join(BACKENDS)}")
    is_url = model.startswith(("http://", "https://"))
    if backend == "endpoint" or (backend == "auto" and is_url):
        if not is_url:
            raise ConfigError(f"the endpoint backend needs a URL like http://host:8000/v1, not '{model}'")
        from crosslift.models.endpoint import EndpointGenerator

        return EndpointGenerator(model, **kw)
    if backend == "vllm" or model.startswith(VLLM_PREFIX):
        from crosslift.models.vllm_backend import VLLMGenerator

        return VLLMGenerator(
            model.removeprefix(VLLM_PREFIX), trust_remote_code=trust_remote_code, dtype=dtype, **kw
        )
    if is_url:
        raise ConfigError(
            f"backend '{backend}' cannot load a URL ({model}); use backend 'endpoint' or 'auto'"
        )
    path = Path(model).expanduser()
    if path.is_dir() and (path / "adapter_config.json").is_file():
        return HFGenerator.from_adapter(path, trust_remote_code=trust_remote_code, dtype=dtype, **kw)
    if path.is_dir() and _model_type(path) == "lingualift_bridge":
        try:
            from crosslift.models.bridge import BridgeGenerator
        except ImportError as e:
            raise CrossliftError(
                f"{model} is a LinguaLIFT bridge checkpoint, but this crosslift has no bridge support "
                f"(crosslift.models.bridge could not be imported: {e})"
            ) from e
        return BridgeGenerator.from_pretrained(
            str(path), trust_remote_code=trust_remote_code, dtype=dtype, **kw
        )
    kw.pop("base_model", None)
    return HFGenerator.from_pretrained(model, trust_remote_code=trust_remote_code, dtype=dtype, **kw)
