"""vLLM as a `Generator` backend, for fast evaluation on GPU machines.

vLLM is an optional, CUDA-only dependency: it is imported only when this backend is asked for
(``--model vllm:<dir>`` or ``model.backend: vllm``), and its absence is a clear error, never a failure elsewhere.
Install it yourself on a GPU machine: ``pip install "vllm>=0.32"``.
"""

from __future__ import annotations

from typing import Any

from crosslift.errors import CrossliftError
from crosslift.models.generate import GenerationSettings, cut_at_stop


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
        model: a local model directory, hub id or ``tiny:<kind>``.
        trust_remote_code: run code shipped with the checkpoint (off unless asked for).
        dtype: "auto", "float32", "bfloat16" or "float16".
        **llm_options: passed to ``vllm.LLM`` (e.g. ``tensor_parallel_size``, ``gpu_memory_utilization``).
    """

    def __init__(
        self, model: str, *, trust_remote_code: bool = False, dtype: str = "auto", **llm_options: Any
    ) -> None:
        try:
            import vllm
        except ImportError as e:
            raise CrossliftError(
                "the vLLM backend was requested but vLLM is not installed (it needs a CUDA GPU): "
                f"pip install 'vllm>=0.32', or evaluate with the default Hugging Face backend ({e})"
            ) from e
        from crosslift.models.tiny import resolve_model_path

        self._vllm = vllm
        self.model_id = f"vllm:{model}"
        llm_options.pop("device", None)  # vLLM places the model itself
        self.llm = vllm.LLM(model=resolve_model_path(model), trust_remote_code=trust_remote_code, dtype=dtype,
                            **llm_options)  # fmt: skip

    def _params(self, settings: GenerationSettings) -> Any:
        return self._vllm.SamplingParams(**sampling_fields(settings))

    def generate(self, prompts: list[str], settings: GenerationSettings) -> list[str]:
        outputs = self.llm.generate(prompts, self._params(settings), use_tqdm=False)
        return [cut_at_stop(o.outputs[0].text, settings.stop) for o in outputs]

    def generate_chat(
        self, conversations: list[list[dict[str, str]]], settings: GenerationSettings
    ) -> list[str]:
        outputs = self.llm.chat(conversations, self._params(settings), use_tqdm=False)
        return [cut_at_stop(o.outputs[0].text, settings.stop) for o in outputs]
