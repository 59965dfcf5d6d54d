"""vLLM as a `Generator` backend, for fast evaluation on GPU machines.

vLLM is an optional, CUDA-only dependency: it is imported only when this backend is asked for
(``--model vllm:<dir>`` or ``model.backend: vllm``), and its absence is a clear error, never a failure elsewhere.
Install it yourself on a GPU machine: ``pip install "vllm>=0.32"``.

Engine options come from the eval config's ``model.vllm`` section (``tensor_parallel_size``,
``gpu_memory_utilization``, ``max_model_len``, ``enable_lora``, ``max_lora_rank``, ``engine_args``). A LoRA adapter
directory (with ``adapter_config.json``) is served on its base model through vLLM's LoRA support, without merging.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from crosslift.errors import ConfigError, CrossliftError
from crosslift.models.generation import GenerationSettings, answer_room, cut_at_stop


def sampling_fields(settings: GenerationSettings, max_tokens: int | None = None) -> dict[str, Any]:
    """`vllm.SamplingParams` keyword arguments for our settings (greedy is temperature 0 in vLLM).

    `max_tokens`: this prompt's room under ``max_length`` (`answer_room`); default ``max_new_tokens``. Under
    ``use_model_defaults`` only the fields the model's own config does not decide (the model's come from
    ``vllm.LLM.get_default_sampling_params``).
    """
    fields: dict[str, Any] = {
        "n": 1,
        "max_tokens": settings.max_new_tokens if max_tokens is None else max_tokens,
        "min_tokens": settings.min_new_tokens,
        "seed": settings.seed,
        "stop": list(settings.stop),
    }
    if not settings.use_model_defaults:
        fields |= {
            "temperature": settings.temperature if settings.do_sample else 0.0,
            "top_p": settings.top_p if settings.do_sample else 1.0,
            "repetition_penalty": settings.repetition_penalty,
        }
    return fields


class VLLMGenerator:
    """Offline batched generation with ``vllm.LLM`` (it schedules its own batches; ``batch_size`` is unused).

    Args:
        model: a local model directory, hub id, ``tiny:<kind>``, or a LoRA adapter directory.
        trust_remote_code: run code shipped with the checkpoint (off unless asked for).
        dtype: "auto", "float32", "bfloat16" or "float16".
        base_model: an adapter's base model (default: ``base_model_name_or_path`` of its adapter_config.json).
        engine_args: more ``vllm.LLM`` keyword arguments.
        **llm_options: passed to ``vllm.LLM`` (``tensor_parallel_size``, ``gpu_memory_utilization``,
            ``max_model_len``, ``enable_lora``, ``max_lora_rank``, ...).
    """

    def __init__(
        self,
        model: str,
        *,
        trust_remote_code: bool = False,
        dtype: str = "auto",
        base_model: str | None = None,
        engine_args: dict[str, Any] | None = None,
        **llm_options: Any,
    ) -> None:
        try:
            import vllm
        except ImportError as e:
            raise CrossliftError(
                "the vLLM backend was requested but vLLM is not installed (it needs a CUDA GPU): "
                f"pip install 'vllm>=0.32', or evaluate with the default Hugging Face backend ({e})"
            ) from e
        from crosslift.models.build import resolve_model_path

        self._vllm = vllm
        self.model_id = f"vllm:{model}"
        llm_options.pop("device", None)  # vLLM places the model itself
        llm_options |= engine_args or {}
        self.lora = None
        adapter = Path(model).expanduser()
        if (adapter / "adapter_config.json").is_file():
            base, rank = adapter_base(adapter, base_model)
            if llm_options.get("enable_lora") is False:
                raise CrossliftError(f"{adapter} is a LoRA adapter, but model.vllm.enable_lora is false")
            llm_options["enable_lora"] = True
            llm_options["max_lora_rank"] = max(llm_options.get("max_lora_rank") or rank, rank)
            from vllm.lora.request import LoRARequest

            self.lora = LoRARequest(adapter.name, 1, str(adapter.resolve()))
            model = base
        self.llm = vllm.LLM(
            model=resolve_model_path(model), trust_remote_code=trust_remote_code, dtype=dtype, **llm_options
        )

    def _params(self, settings: GenerationSettings, prompt_tokens: list[int] | None = None) -> Any:
        """One SamplingParams for all prompts, or (under max_length) one per prompt with its own room."""
        rooms = [None] if prompt_tokens is None else [answer_room(settings, n) for n in prompt_tokens]
        if 0 in rooms:
            raise ConfigError(
                f"a prompt of {prompt_tokens[rooms.index(0)]} tokens leaves no room for an answer under "
                f"generation.max_length {settings.max_length}"
            )
        params = []
        for room in rooms:
            fields = sampling_fields(settings, room)
            if settings.use_model_defaults:
                default = self.llm.get_default_sampling_params().clone()  # the model's generation config
                for key, value in fields.items():
                    setattr(default, key, value)
                params.append(default)
            else:
                params.append(self._vllm.SamplingParams(**fields))
        return params if prompt_tokens is not None else params[0]

    def _lora(self) -> dict[str, Any]:
        return {"lora_request": self.lora} if self.lora is not None else {}

    def generate(self, prompts: list[str], settings: GenerationSettings) -> list[str]:
        tokens = None
        if settings.max_length is not None:
            tokenizer = self.llm.get_tokenizer()
            tokens = [len(tokenizer(p)["input_ids"]) for p in prompts]
        outputs = self.llm.generate(prompts, self._params(settings, tokens), use_tqdm=False, **self._lora())
        return [cut_at_stop(o.outputs[0].text, settings.stop) for o in outputs]

    def generate_chat(
        self, conversations: list[list[dict[str, str]]], settings: GenerationSettings
    ) -> list[str]:
        tokens = None
        if settings.max_length is not None:  # the prompt vLLM renders: the tokenizer's chat template
            tokenizer = self.llm.get_tokenizer()
            rendered = [
                tokenizer.apply_chat_template(c, add_generation_prompt=True, tokenize=False)
                for c in conversations
            ]
            tokens = [len(tokenizer(text, add_special_tokens=False)["input_ids"]) for text in rendered]
        outputs = self.llm.chat(conversations, self._params(settings, tokens), use_tqdm=False, **self._lora())
        return [cut_at_stop(o.outputs[0].text, settings.stop) for o in outputs]


def adapter_base(adapter: Path, base_model: str | None = None) -> tuple[str, int]:
    """(base model, rank) of a peft LoRA adapter directory."""
    path = adapter / "adapter_config.json"
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as e:
        raise CrossliftError(f"{path}: not a readable adapter config ({e})") from None
    base = base_model or config.get("base_model_name_or_path")
    if not base:
        raise CrossliftError(f"{path} names no base_model_name_or_path; set model.base_model")
    return base, int(config.get("r") or 8)
