"""The evaluation config: one YAML file (or the command-line shorthand) is one evaluation run.

    crosslift eval configs/eval/mmwp_tiny.yaml generation.batch_size=8 tasks.0.limit=20
    crosslift eval --task mmwp --data-dir ../shared/data/mmwp --model MODEL_DIR_OR_URL --languages en,sw,te --limit 20 --out DIR

Settings are layered: built-in defaults < the task's YAML < the config's top-level ``prompt`` / ``generation``
< the task entry's own ``prompt`` (and ``until``, its stop strings).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from crosslift.config import Section
from crosslift.eval.tasks.registry import FewshotSpec, PromptSpec
from crosslift.models.generation import MODEL_DECIDES


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
    """Decoding settings (greedy by default); the task supplies the answer's length and the stop strings unless set
    here.

    The answer's length is max_new_tokens, or max_length (prompt and answer together, as Hugging Face's
    max_length: the answer has what its prompt leaves), or both (the tighter applies); set here, they replace the
    task's. Local models and vLLM support max_length; an endpoint refuses it (it does not count prompt tokens
    before answering), and so does a LinguaLIFT bridge (its LM reads soft tokens).
    """

    max_new_tokens: int | None = Field(None, gt=0, description="default: the task's")
    max_length: int | None = Field(
        None,
        gt=1,
        description="prompt + answer tokens (Hugging Face's max_length): each answer has what its prompt leaves; "
        "default: the task's",
    )
    min_new_tokens: int = Field(0, ge=0)
    do_sample: bool = False
    temperature: float = Field(1.0, gt=0)
    top_p: float = Field(1.0, gt=0, le=1)
    repetition_penalty: float = Field(1.0, gt=0)
    use_model_defaults: bool = Field(
        False,
        description="decode with the model's own generation config (its sampling, temperature, top_p, top_k, "
        "repetition penalty); do_sample, temperature, top_p and repetition_penalty may then not be set",
    )
    stop: list[str] = Field(default_factory=list, description="added to the task's stop strings")
    until: list[str] | None = Field(
        None,
        description="replace the task's stop strings ({question_word}: the prompt's question word); [] for none "
        "(the model's end of sequence only); `stop` is added to them",
    )
    batch_size: int = Field(16, ge=1)
    long_prompts: Literal["cut", "refuse"] = Field(
        "cut",
        description="a prompt longer than the model's context less max_new_tokens: cut from the left, or "
        "refuse it (not generated, scored as unanswered); counted per language either way (crosslift.eval.runner.context)",
    )

    @model_validator(mode="after")
    def _model_defaults_alone(self) -> EvalGenerationConfig:
        given = sorted(set(MODEL_DECIDES) & self.model_fields_set)
        if self.use_model_defaults and given:
            raise ValueError(
                f"use_model_defaults decodes as the model's generation config says, so {', '.join(given)} would be "
                "ignored: leave them out, or set use_model_defaults: false"
            )
        return self


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
    until: list[str] | None = Field(
        None,
        description="replace the task's stop strings for this entry (over generation.until); [] for none",
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
