"""Dispatch, and local batched generation on tiny models (batched greedy output equals one-at-a-time output,
input order, stop strings, LoRA adapters, chat templates)."""

from __future__ import annotations

import json
import sys

import pytest

from crosslift.errors import ConfigError, CrossliftError
from crosslift.models.generate import HFGenerator, load_generator
from crosslift.models.generation import ChatGenerator, GenerationSettings, Generator

PROMPTS = [
    "Question: Roger has 5 tennis balls. He buys 2 more cans of 3 balls each. How many balls now?\nAnswer:",
    "Swali: 2 + 3?",
    "Below is an instruction that describes a task.\n\n### Instruction:\nQuestion: Ariel is 5. In 15 years she "
    "will be four times as old as now. How old is she?\n\n### Response: Let's think step by step.",
    "数学：三加四等于多少？",
    "x",
]


def test_dispatch_errors(tmp_path):
    with pytest.raises(ConfigError, match="unknown backend"):
        load_generator("tiny:llama", backend="tpu")
    with pytest.raises(ConfigError, match="needs a URL"):
        load_generator("tiny:llama", backend="endpoint")
    with pytest.raises(ConfigError, match="cannot load a URL"):
        load_generator("http://127.0.0.1:1/v1", backend="hf")


def test_bridge_checkpoint_without_bridge_support_is_a_clear_error(tmp_path, monkeypatch):
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "lingualift_bridge"}))
    monkeypatch.setitem(sys.modules, "crosslift.models.bridge", None)  # as if the module did not exist
    with pytest.raises(CrossliftError, match="bridge checkpoint, but .* no bridge support"):
        load_generator(str(tmp_path))


def test_vllm_absent_is_a_clear_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "vllm", None)
    with pytest.raises(CrossliftError, match="vLLM is not installed"):
        load_generator("vllm:tiny:llama")


def test_vllm_sampling_fields_map_greedy_to_temperature_zero():
    from crosslift.models.vllm_backend import sampling_fields

    fields = sampling_fields(GenerationSettings(max_new_tokens=7, stop=["Q:"], seed=2))
    assert fields | {} == {
        "n": 1,
        "max_tokens": 7,
        "min_tokens": 0,
        "temperature": 0.0,
        "top_p": 1.0,
        "seed": 2,
        "stop": ["Q:"],
        "repetition_penalty": 1.0,
    }


@pytest.fixture(scope="module")
def llama() -> HFGenerator:
    generator = load_generator("tiny:llama", dtype="float32", device="cpu")
    assert isinstance(generator, HFGenerator) and isinstance(generator, Generator)
    return generator


def test_batched_greedy_equals_one_at_a_time_in_input_order(llama):
    settings = GenerationSettings(max_new_tokens=8, batch_size=4)
    batched = llama.generate(PROMPTS, settings)
    single = [llama.generate([p], GenerationSettings(max_new_tokens=8, batch_size=1))[0] for p in PROMPTS]
    assert batched == single
    assert len(set(batched)) > 1  # different prompts, different continuations: the order is really checked
    assert llama.generate(PROMPTS[::-1], settings) == batched[::-1]


def test_stop_strings_cut_the_output(llama):
    free = llama.generate([PROMPTS[0]], GenerationSettings(max_new_tokens=16))[0]
    stop = free[
        len(free) // 2 : len(free) // 2 + 2
    ]  # a piece from the middle of the model's own continuation
    assert stop.strip(), free
    cut = llama.generate([PROMPTS[0]], GenerationSettings(max_new_tokens=16, stop=[stop]))[0]
    assert cut == free[: free.index(stop)]


def test_min_new_tokens_and_token_count(llama):
    before = llama.tokens_generated
    llama.generate(PROMPTS[:3], GenerationSettings(max_new_tokens=6, min_new_tokens=6, batch_size=3))
    assert llama.tokens_generated - before == 18


def test_sampling_is_seeded(llama):
    settings = GenerationSettings(max_new_tokens=8, do_sample=True, temperature=1.5, seed=7)
    assert llama.generate(PROMPTS[:2], settings) == llama.generate(PROMPTS[:2], settings)


def test_a_tokenizer_without_chat_template_refuses_chat(llama):
    with pytest.raises(ConfigError, match="no chat template"):
        llama.generate_chat([[{"role": "user", "content": "hi"}]], GenerationSettings(max_new_tokens=2))


@pytest.mark.slow
def test_chat_template_generation_on_qwen2():
    qwen = load_generator("tiny:qwen2", dtype="float32", device="cpu")
    assert isinstance(qwen, ChatGenerator)
    conversation = [{"role": "user", "content": "2+3?"}]
    text = qwen.render_chat(conversation)
    assert text == "<|im_start|>user\n2+3?<|im_end|>\n<|im_start|>assistant\n"
    settings = GenerationSettings(max_new_tokens=6)
    assert qwen.generate_chat([conversation], settings) == qwen.generate([text], settings)


@pytest.mark.slow
def test_lora_adapter_directory_loads_on_its_base(tmp_path, llama):
    from crosslift.models.build import apply_lora, load_causal_lm

    base = load_causal_lm("tiny:llama", dtype="float32")
    peft_model = apply_lora(base, r=4, alpha=8, dropout=0.0, target_modules=["q_proj", "v_proj"])
    peft_model.save_pretrained(tmp_path)  # a fresh adapter is zero: outputs must equal the base model's
    config = json.loads((tmp_path / "adapter_config.json").read_text())
    assert config["base_model_name_or_path"]
    generator = load_generator(
        str(tmp_path), dtype="float32", device="cpu", base_model="tiny:llama", attn_implementation=None
    )  # the options `crosslift eval` passes
    assert "+lora:" in generator.model_id
    settings = GenerationSettings(max_new_tokens=8)
    assert generator.generate(PROMPTS[:2], settings) == llama.generate(PROMPTS[:2], settings)
