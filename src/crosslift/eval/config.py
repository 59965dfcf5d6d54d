"""The evaluation config: one YAML file (or the command-line shorthand) is one evaluation run.

    crosslift eval configs/eval/mmwp_tiny.yaml generation.batch_size=8 tasks.0.limit=20
    crosslift eval --task mmwp --data-dir ../shared/data/mmwp --model MODEL_DIR_OR_URL --languages en,sw,te --limit 20 --out DIR

Settings are layered: built-in defaults < the task's YAML < the config's top-level ``prompt`` / ``generation``
< the task entry's own ``prompt``.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, field_validator

from crosslift.config import Section
from crosslift.eval.tasks.registry import FewshotSpec, PromptSpec


class EndpointOptions(Section):
    """Options of an OpenAI-compatible endpoint (used when the model is an http(s) URL)."""

    served_model: str | None = Field(None, description="model name on the server; default: the one it lists")
    api: Literal["completions", "chat"] = Field(
        "completions", description="API for text prompts (chat prompts always use chat)"
    )
    api_key_env: str = Field("OPENAI_API_KEY", description="environment variable holding the API key")
    timeout_s: float = Field(120.0, gt=0)
    max_retries: int = Field(4, ge=0)
    concurrency: int = Field(8, ge=1)
    max_stop: int | None = Field(
        None, ge=0, description="send at most this many stop strings (OpenAI accepts 4)"
    )


class VLLMOptions(Section):
    """Engine options of the vLLM backend (`vllm.LLM`); they change speed and memory, not what is generated."""

    tensor_parallel_size: int = Field(1, ge=1, description="GPUs one model is split over")
    gpu_memory_utilization: float = Field(
        0.9, gt=0, le=1, description="share of each GPU's memory vLLM may take"
    )
    max_model_len: int | None = Field(
        None, gt=0, description="longest prompt + answer in tokens (default: the model's)"
    )
    enable_lora: bool | None = Field(
        None, description="serve LoRA adapters (default: on when the model is a LoRA adapter directory)"
    )
    max_lora_rank: int | None = Field(None, gt=0, description="largest adapter rank (default: the adapter's)")
    engine_args: dict[str, Any] = Field(
        default_factory=dict, description="any other vllm.LLM keyword argument"
    )


class EvalModelConfig(Section):
    """The model under evaluation."""

    name_or_path: str = Field(
        description="model directory, LoRA adapter directory, tiny:llama, vllm:<dir>, or http(s)://host:port/v1"
    )
    backend: Literal["auto", "hf", "endpoint", "vllm"] = "auto"
    trust_remote_code: bool = False
    dtype: Literal["auto", "float32", "bfloat16", "float16"] = "auto"
    device: str = Field("auto", description="local backends: cpu, cuda, cuda:1, or auto")
    attn_implementation: str | None = None
    base_model: str | None = Field(
        None, description="base model of a LoRA adapter (default: from adapter_config.json)"
    )
    endpoint: EndpointOptions = Field(default_factory=EndpointOptions)
    vllm: VLLMOptions = Field(default_factory=VLLMOptions)


class EvalGenerationConfig(Section):
    """Decoding settings (greedy by default); the task supplies max_new_tokens and stop strings unless set here."""

    max_new_tokens: int | None = Field(None, gt=0, description="default: the task's")
    min_new_tokens: int = Field(0, ge=0)
    do_sample: bool = False
    temperature: float = Field(1.0, gt=0)
    top_p: float = Field(1.0, gt=0, le=1)
    repetition_penalty: float = Field(1.0, gt=0)
    stop: list[str] = Field(default_factory=list, description="added to the task's stop strings")
    batch_size: int = Field(16, ge=1)
    long_prompts: Literal["cut", "refuse"] = Field(
        "cut",
        description="a prompt longer than the model's context less max_new_tokens: cut from the left, or "
        "refuse it (not generated, scored as unanswered); counted per language either way (crosslift.eval.runner.context)",
    )


def _codes(value: Any) -> Any:
    # YAML reads a bare `no` (Norwegian) as False; a language list never means a boolean.
    if isinstance(value, str):
        return [c.strip() for c in value.split(",") if c.strip()]
    if isinstance(value, list):
        return ["no" if v is False else v for v in value]
    return value


class EvalTaskConfig(Section):
    """One task (or group) to evaluate."""

    name: str = Field(description="task or group name (crosslift eval --list-tasks), or a task YAML path")
    data_dir: str | None = Field(
        None, description="folder holding the task's data files (default: the top-level data_dir)"
    )
    languages: list[str] | None = Field(None, description="evaluate only these languages")
    limit: int | None = Field(None, gt=0, description="the first N items per language")
    prompt: PromptSpec = Field(default_factory=PromptSpec)
    fewshot: FewshotSpec | None = Field(None, description="replace the task's few-shot exemplar source")
    label: str | None = Field(
        None,
        pattern=r"^[\w.-]+$",
        description="results folder and name of this entry (default: the task's name)",
    )
    prompt_variants: list[PromptSpec] | None = Field(
        None,
        min_length=2,
        description="evaluate once per prompt (each over this entry's prompt; results in <name>_p1, <name>_p2, ...) and "
        "report the median of every figure over them in <name>_median (SeaEval's protocol: its five wordings)",
    )

    @field_validator("languages", mode="before")
    @classmethod
    def _split_languages(cls, value: Any) -> Any:
        return _codes(value)


class EvalConfig(Section):
    """An evaluation run."""

    output_dir: str = Field(description="results go to <output_dir>/eval/<task>/; rerunning resumes")
    model: EvalModelConfig
    tasks: list[EvalTaskConfig] = Field(min_length=1)
    data_dir: str | None = Field(None, description="default data folder of every task")
    download: bool = Field(
        False,
        description="without a data_dir, download a task's catalogued dataset when the "
        "cache lacks it (otherwise the error names the command that does)",
    )
    prompt: PromptSpec = Field(default_factory=PromptSpec)
    generation: EvalGenerationConfig = Field(default_factory=EvalGenerationConfig)
    tier_rule: str | None = Field(
        None, description="tier rule name or mapping file (default: the task's, else mmwp-llama2)"
    )
    task_paths: list[str] = Field(default_factory=list, description="extra folders or files of task YAMLs")
    seed: int = 0
