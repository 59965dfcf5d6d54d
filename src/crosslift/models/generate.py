"""The local generation backends, `choose_backend` (the one decision of which backend serves a model) and
`load_generator`, which loads a model by it.

Backends: a Hugging Face causal LM (plain, or with a LoRA adapter merged in: `HFGenerator`), a LinguaLIFT
bridge (`BridgeGenerator`), an OpenAI-compatible HTTP endpoint (`crosslift.models.endpoint`), and vLLM when it
is installed (`crosslift.models.vllm_backend`). All implement the interface of `crosslift.models.generation`:

    gen = load_generator("runs/sft_tiny/model")          # or "tiny:llama", "http://host:8000/v1", "vllm:/models/x"
    outputs = gen.generate(["Question: 2+3?\\nAnswer:"], GenerationSettings(max_new_tokens=64, stop=["Question:"]))

The local backends batch for throughput (`generation.generate_in_batches`): prompts are sorted by length
(so each batch pads little), padded on the left (so every sequence's next token sits in the last column), and
decoded with the KV cache; results go back to input order. Greedy batched output equals one-at-a-time output
(tested).
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from crosslift.errors import ConfigError, CrossliftError
from crosslift.models.generation import (
    GenerationSettings,
    Generator,
    answer_room,
    cut_at_stop,
    generate_in_batches,
)
from crosslift.models.model_types import BRIDGE_MODEL_TYPE, saved_model_type

if TYPE_CHECKING:
    import torch
    from transformers import GenerationConfig, PreTrainedModel, PreTrainedTokenizerBase

    from crosslift.models.bridge import BridgeModel, BridgeProcessor

BACKENDS = ("auto", "hf", "endpoint", "vllm")  # what a config's model.backend may say
Backend = Literal["endpoint", "vllm", "lora", "bridge", "hf"]  # what serves a model (`choose_backend`)
VLLM_PREFIX = "vllm:"


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
        model = load_causal_lm(
            base, dtype=dtype, trust_remote_code=trust_remote_code, attn_implementation=attn_implementation
        )
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
        """The answers; under ``settings.max_length`` each prompt's answer has the room its prompt leaves.

        Raises:
            ConfigError: a prompt that leaves no room for an answer under ``settings.max_length``.
        """
        import torch

        encoded = [self.encode(p) for p in prompts]
        rooms = [answer_room(settings, len(ids)) for ids in encoded]
        if 0 in rooms:
            tokens = len(encoded[rooms.index(0)])
            raise ConfigError(
                f"a prompt of {tokens} tokens leaves no room for an answer under generation.max_length "
                f"{settings.max_length}; shorten it (crosslift eval cuts or refuses such prompts first)"
            )
        config = _generation_config(self.model.generation_config, settings, self.tokenizer.pad_token_id)

        def generate_batch(indices: list[int]) -> list[str]:
            ids = [encoded[i] for i in indices]
            batch = self.tokenizer.pad({"input_ids": ids}, padding=True, return_tensors="pt").to(
                self.model.device
            )
            budgets = [rooms[i] for i in indices]
            config.max_new_tokens = max(budgets)
            with torch.inference_mode():
                out = self.model.generate(**batch, generation_config=config, tokenizer=self.tokenizer)
            new = out[:, batch["input_ids"].shape[1] :]
            texts, generated = _new_texts(new, self.tokenizer, settings.stop, budgets)
            self.tokens_generated += generated
            return texts

        return generate_in_batches([len(ids) for ids in encoded], settings, generate_batch)

    def loglikelihood(
        self, requests: list[tuple[str, str]], settings: GenerationSettings
    ) -> list[tuple[float, bool]]:
        """lm-evaluation-harness's loglikelihood requests: for each (context, continuation), the summed
        log-probability of the continuation's tokens after the context, and whether they are the greedy ones.

        As lm-eval encodes a pair: trailing spaces of the context move to the continuation, the continuation's
        tokens are those that encoding context + continuation adds after the context's tokens, and a sequence
        longer than the model's window keeps its last tokens. The context is encoded as prompts are (`encode`:
        the tokenizer's special tokens). Batches of ``settings.batch_size``, longest first, halved on out of
        memory (`generation.generate_in_batches`).
        """
        import torch

        sequences: list[tuple[list[int], int]] = []
        for context, continuation in requests:
            spaces = len(context) - len(context.rstrip())
            if spaces:
                context, continuation = context[:-spaces], context[-spaces:] + continuation
            whole, head = self.encode(context + continuation), self.encode(context)
            tail = whole[len(head) :]
            if not head:  # an empty context: the model still needs a first token to predict from
                head = [self.tokenizer.bos_token_id or self.tokenizer.eos_token_id]
            if not tail:
                raise ConfigError(f"an option scored after {context[-40:]!r} encodes to no tokens")
            sequences.append((head + tail, len(tail)))
        window = getattr(self.model.config, "max_position_embeddings", None)
        pad = self.tokenizer.pad_token_id if self.tokenizer.pad_token_id is not None else 0

        def score_batch(indices: list[int]) -> list[tuple[float, bool]]:
            rows = [sequences[i][0][-(window + 1) :] if window else sequences[i][0] for i in indices]
            inputs = [row[:-1] for row in rows]
            width = max(len(r) for r in inputs)
            ids = torch.full((len(inputs), width), pad, dtype=torch.long)
            mask = torch.zeros((len(inputs), width), dtype=torch.long)
            for k, row in enumerate(inputs):  # right padding: each row's positions start at 0
                ids[k, : len(row)] = torch.tensor(row)
                mask[k, : len(row)] = 1
            with torch.inference_mode():
                logits = self.model(
                    input_ids=ids.to(self.model.device), attention_mask=mask.to(self.model.device)
                ).logits
            out = []
            for k, i in enumerate(indices):
                n, end = sequences[i][1], len(inputs[k])
                logprobs = logits[k, end - n : end].float().log_softmax(-1)
                target = torch.tensor(rows[k][-n:], device=logprobs.device)
                total = logprobs.gather(-1, target[:, None]).sum().item()
                out.append((float(total), bool((logprobs.argmax(-1) == target).all().item())))
            return out

        return generate_in_batches([len(s) for s, _ in sequences], settings, score_batch)

    def encode(self, prompt: str) -> list[int]:
        """The token ids the model reads for `prompt` (evaluation counts prompts against the context with it)."""
        # A prompt rendered by a chat template already starts with BOS; adding another would change the input.
        bos = self.tokenizer.bos_token
        add_special = not (bos and prompt.startswith(bos))
        return self.tokenizer(prompt, add_special_tokens=add_special)["input_ids"]


# ------------------------------------------------------------------------------------------------ bridge


class BridgeGenerator:
    """Batched generation through a LinguaLIFT bridge (`crosslift.models.bridge`).

    The LM sees left-padded soft prompts (`inputs_embeds`) and decodes with its KV cache, greedy or sampling,
    up to stop strings; batching, ordering and out-of-memory halving are those of the plain LM's.
    """

    def __init__(self, model: BridgeModel, processor: BridgeProcessor, model_id: str) -> None:
        self.model = model.eval()
        self.processor = processor
        self.model_id = model_id
        self.tokens_generated = 0  # new (non-padding) tokens over this object's lifetime

    @classmethod
    def from_pretrained(
        cls,
        name_or_path: str,
        *,
        trust_remote_code: bool = False,
        dtype: str = "auto",
        device: str = "auto",
        attn_implementation: str | None = None,
        base_model: str | None = None,
    ) -> BridgeGenerator:
        """Load a saved bridge directory (`crosslift.models.build.load_bridge`); `base_model` is for LoRA
        adapters and must be None."""
        from crosslift.models.build import load_bridge

        if base_model is not None:
            raise ConfigError(
                f"base_model applies to LoRA adapter directories; {name_or_path} is a LinguaLIFT bridge, which "
                "carries its own LM"
            )
        model, processor = load_bridge(
            name_or_path,
            dtype=dtype,
            trust_remote_code=trust_remote_code,
            attn_implementation=attn_implementation,
        )
        return cls(model.to(_device(device)), processor, name_or_path)

    def generate(self, prompts: list[str], settings: GenerationSettings) -> list[str]:
        if settings.max_length is not None:
            raise ConfigError(
                f"generation.max_length is not supported for {self.model_id}, a LinguaLIFT bridge: its LM reads "
                "soft tokens made from the prompt, not the prompt's tokens; set generation.max_new_tokens"
            )
        tokenizer = self.processor.lm_tokenizer
        features = [self.processor.encode(p) for p in prompts]
        config = _generation_config(self.model.lm.generation_config, settings, tokenizer.pad_token_id)
        device = self.model.lm.device

        def generate_batch(indices: list[int]) -> list[str]:
            collated = self.processor.collate([features[i] for i in indices])
            batch = {k: v.to(device) for k, v in collated.items()}
            new = self.model.generate_tokens(batch, config, tokenizer)
            texts, generated = _new_texts(new, tokenizer, settings.stop)
            self.tokens_generated += generated
            return texts

        sizes = [len(f["input_ids"]) + self.processor.soft_length(f) for f in features]
        return generate_in_batches(sizes, settings, generate_batch)


# ------------------------------------------------------------------------------------------------ shared


def _generation_config(
    model_config: GenerationConfig, settings: GenerationSettings, pad_token_id: int | None
) -> GenerationConfig:
    # Start from the model's own config (it knows every EOS id, e.g. Llama 3's two) and make ours
    # authoritative for everything we record, so a checkpoint's sampling defaults never change a greedy
    # evaluation; unless the settings ask for the model's own decoding (use_model_defaults), which then keeps
    # its sampling, temperature, top_p, top_k, repetition penalty and beams.
    config = copy.deepcopy(model_config)
    config.update(
        max_new_tokens=settings.max_new_tokens,
        min_new_tokens=settings.min_new_tokens or None,
        stop_strings=list(settings.stop) or None,
        pad_token_id=pad_token_id,
        use_cache=True,
    )
    if not settings.use_model_defaults:
        config.update(
            do_sample=settings.do_sample,
            temperature=settings.temperature if settings.do_sample else 1.0,
            top_p=settings.top_p if settings.do_sample else 1.0,
            top_k=None,
            repetition_penalty=settings.repetition_penalty,
            num_beams=1,
        )
    return config


def _new_texts(
    new: torch.Tensor, tokenizer: PreTrainedTokenizerBase, stop: list[str], budgets: list[int] | None = None
) -> tuple[list[str], int]:
    """The texts of generated ids, each cut at its first stop string, and how many of the ids were generated
    (rows that stopped early are padded to the longest, and padding is not generated text).

    `budgets`: each row's own answer length (rows of one batch share max_new_tokens, the largest budget, but not
    their room under max_length): a row's ids past its budget are not part of its answer.
    """
    rows = [row[:budget] for row, budget in zip(new, budgets, strict=True)] if budgets else list(new)
    pad = tokenizer.pad_token_id
    generated = sum(int((row != pad).sum()) if pad is not None else row.numel() for row in rows)
    return [cut_at_stop(t, stop) for t in tokenizer.batch_decode(rows, skip_special_tokens=True)], generated


def _device(device: str) -> str:
    if device != "auto":
        return device
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


# ------------------------------------------------------------------------------------------------ dispatch


def choose_backend(model: str, backend: str = "auto") -> Backend:
    """The backend that serves `model`: the one place that decides it (`load_generator` loads by it, and the
    evaluation runner picks the options it passes by it).

    With ``backend="auto"``:

    - ``http(s)://host:port/v1``: ``"endpoint"``, an OpenAI-compatible endpoint;
    - ``vllm:<dir>``: ``"vllm"`` (also with ``backend="hf"``);
    - a directory with ``adapter_config.json``: ``"lora"``, its base model + the LoRA adapter (peft);
    - a directory whose ``config.json`` has ``model_type: lingualift_bridge``: ``"bridge"``, the LinguaLIFT bridge;
    - anything else (a directory, hub id, ``tiny:llama``): ``"hf"``, a local Hugging Face causal LM.

    ``backend`` "endpoint" or "vllm" forces that backend; "hf" forces a local one (plain, LoRA or bridge).

    Raises:
        ConfigError: an unknown backend, the endpoint backend without a URL, or a URL for a local backend.
    """
    if backend not in BACKENDS:
        raise ConfigError(f"unknown backend '{backend}'; expected one of: {', '.join(BACKENDS)}")
    is_url = model.startswith(("http://", "https://"))
    if backend == "endpoint" or (backend == "auto" and is_url):
        if not is_url:
            raise ConfigError(f"the endpoint backend needs a URL like http://host:8000/v1, not '{model}'")
        return "endpoint"
    if backend == "vllm" or model.startswith(VLLM_PREFIX):
        return "vllm"
    if is_url:
        raise ConfigError(
            f"backend '{backend}' cannot load a URL ({model}); use backend 'endpoint' or 'auto'"
        )
    path = Path(model).expanduser()
    if path.is_dir() and (path / "adapter_config.json").is_file():
        return "lora"
    if path.is_dir() and saved_model_type(path) == BRIDGE_MODEL_TYPE:
        return "bridge"
    return "hf"


def load_generator(
    model: str,
    *,
    trust_remote_code: bool = False,
    dtype: str = "auto",
    backend: str = "auto",
    **kw: Any,
) -> Generator:
    """The generator for a model name, directory or URL, loaded by the backend `choose_backend` picks.

    Args:
        model: ``http(s)://host:port/v1`` (keyword options ``served_model``, ``api`` ("completions" or "chat"),
            ``api_key_env``, ``timeout_s``, ``max_retries``, ``concurrency``; see
            `crosslift.models.endpoint.EndpointGenerator`), ``vllm:<dir>`` (only when vLLM is installed), a LoRA
            adapter directory, a saved bridge, a model directory, hub id or ``tiny:llama``.
        trust_remote_code: run code shipped with a checkpoint (off unless asked for).
        dtype: "auto", "float32", "bfloat16" or "float16" (local backends).
        backend: "auto", or force "hf", "endpoint" or "vllm".
        **kw: backend options (``device``, ``attn_implementation``, ``base_model`` for adapters; endpoint options).

    Raises:
        CrossliftError: unknown backend, a backend that is not installed, or a model that cannot be loaded.
    """
    chosen = choose_backend(model, backend)
    if chosen == "endpoint":
        from crosslift.models.endpoint import EndpointGenerator

        return EndpointGenerator(model, **kw)
    if chosen == "vllm":
        from crosslift.models.vllm_backend import VLLMGenerator

        return VLLMGenerator(
            model.removeprefix(VLLM_PREFIX), trust_remote_code=trust_remote_code, dtype=dtype, **kw
        )
    if chosen == "lora":
        return HFGenerator.from_adapter(
            Path(model).expanduser(), trust_remote_code=trust_remote_code, dtype=dtype, **kw
        )
    if chosen == "bridge":
        return BridgeGenerator.from_pretrained(
            str(Path(model).expanduser()), trust_remote_code=trust_remote_code, dtype=dtype, **kw
        )
    kw.pop("base_model", None)
    return HFGenerator.from_pretrained(model, trust_remote_code=trust_remote_code, dtype=dtype, **kw)
