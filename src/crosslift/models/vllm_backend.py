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

from crosslift.errors import CrossliftError
from crosslift.models.generation import GenerationSettings, cut_at_stop


def sampling_fields(settings: GenerationSettings) -> dict[str, Any]:
    """`vllm.SamplingParams` keyword arguments for our settings (greedy is temperature 0 in vLLM)."""
    return {
        "n": 1,
        "max_tokens": settings.max_new_tokens,
        "min_tokens": settings.min_new_tokens,
        "temperature": settings.temperature if settings.do_sample else 0.0,
        "top_p": settings.top_p if settings.do_sample else 1.0,
        "seed": settings.seed,
        "stop": list(settings.stop),
        "repetition_penalty": settings.repetition_penalty,
    }


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

    def _params(self, settings: GenerationSettings) -> Any:
        return self._vllm.SamplingParams(**sampling_fields(settings))

    def _lora(self) -> dict[str, Any]:
        return {"lora_request": self.lora} if self.lora is not None else {}

    def generate(self, prompts: list[str], settings: GenerationSettings) -> list[str]:
        outputs = self.llm.generate(prompts, self._params(settings), use_tqdm=False, **self._lora())
        return [cut_at_stop(o.outputs[0].text, settings.stop) for o in outputs]

    def generate_chat(
        self, conversations: list[list[dict[str, str]]], settings: GenerationSettings
    ) -> list[str]:
        outputs = self.llm.chat(conversations, self._params(settings), use_tqdm=False, **self._lora())
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
