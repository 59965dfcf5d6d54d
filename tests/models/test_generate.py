"""Dispatch, and local batched generation on tiny models (batched greedy output equals one-at-a-time output,
input order, stop strings, LoRA adapters, chat templates)."""

from __future__ import annotations

import json
import sys
from types import SimpleNamespace

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


def test_vllm_sampling_fields_per_prompt_room_and_model_defaults():
    from crosslift.models.vllm_backend import sampling_fields

    settings = GenerationSettings(max_new_tokens=4096, max_length=4096, use_model_defaults=True, seed=42)
    assert sampling_fields(settings, max_tokens=3000) == {
        "n": 1,
        "max_tokens": 3000,
        "min_tokens": 0,
        "seed": 42,
        "stop": [],
    }  # temperature, top_p and repetition penalty: the model's (get_default_sampling_params)


class FakeParams(SimpleNamespace):
    def clone(self):
        return FakeParams(**vars(self))


class FakeLLM:
    """What VLLMGenerator uses of vllm.LLM: a tokenizer, the model's default sampling, generate."""

    def __init__(self, tokenizer):
        self.tokenizer, self.params = tokenizer, None

    def get_tokenizer(self):
        return self.tokenizer

    def get_default_sampling_params(self):
        return FakeParams(temperature=0.6, top_p=0.9, max_tokens=16)

    def generate(self, prompts, params, **kwargs):
        self.params = params
        return [SimpleNamespace(outputs=[SimpleNamespace(text="ok")]) for _ in prompts]


def test_vllm_gives_each_prompt_its_room_under_max_length_and_keeps_the_models_sampling(llama):
    from crosslift.models.vllm_backend import VLLMGenerator

    generator = object.__new__(VLLMGenerator)  # vLLM itself needs a GPU: its LLM is faked
    generator._vllm, generator.llm, generator.lora = (
        SimpleNamespace(SamplingParams=FakeParams),
        FakeLLM(llama.tokenizer),
        None,
    )
    prompts = PROMPTS[:2]
    tokens = [len(llama.tokenizer(p)["input_ids"]) for p in prompts]
    assert generator.generate(prompts, GenerationSettings(max_length=100, max_new_tokens=100)) == ["ok", "ok"]
    assert [params.max_tokens for params in generator.llm.params] == [100 - n for n in tokens]
    assert generator.llm.params[0].temperature == 0.0  # greedy: ours
    generator.generate(prompts, GenerationSettings(max_new_tokens=32, use_model_defaults=True, seed=42))
    own = generator.llm.params  # one SamplingParams for all prompts: the model's, with our length and seed
    assert (own.temperature, own.top_p, own.max_tokens, own.seed) == (0.6, 0.9, 32, 42)


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


def test_max_length_gives_each_prompt_of_a_batch_the_room_it_leaves(llama, monkeypatch):
    monkeypatch.setattr(llama.model.generation_config, "eos_token_id", None)  # every answer runs to its room
    prompts = [p for p in PROMPTS if len(llama.encode(p)) < 50]
    lengths = [len(llama.encode(p)) for p in prompts]
    settings = GenerationSettings(max_new_tokens=24, max_length=max(lengths) + 3, batch_size=len(prompts))
    rooms = [min(24, settings.max_length - n) for n in lengths]
    assert len(set(rooms)) > 2 and 24 in rooms  # one batch, several rooms, and max_new_tokens still caps
    before = llama.tokens_generated
    batched = llama.generate(prompts, settings)
    assert llama.tokens_generated - before == sum(rooms)  # prompt + answer never past max_length
    alone = [
        llama.generate([p], GenerationSettings(max_new_tokens=r))[0]
        for p, r in zip(prompts, rooms, strict=True)
    ]
    assert batched == alone
    with pytest.raises(ConfigError, match=f"a prompt of {max(lengths)} tokens leaves no room"):
        llama.generate(prompts, GenerationSettings(max_length=max(lengths)))


def test_the_models_own_decoding_keeps_its_generation_config(llama, monkeypatch):
    from crosslift.models.generate import _generation_config

    own = llama.model.generation_config
    for key, value in {"do_sample": True, "temperature": 0.6, "top_p": 0.9, "top_k": 0}.items():
        monkeypatch.setattr(own, key, value)  # Llama-2-7b-hf's generation_config.json
    model = _generation_config(own, GenerationSettings(max_new_tokens=128, use_model_defaults=True), 0)
    assert (model.do_sample, model.temperature, model.top_p, model.max_new_tokens) == (True, 0.6, 0.9, 128)
    ours = _generation_config(own, GenerationSettings(max_new_tokens=128), 0)
    assert (ours.do_sample, ours.temperature, ours.top_p) == (False, 1.0, 1.0)  # greedy: ours decide
    # generated: the model's own sampling, seeded, is sampling at its temperature and top_p
    settings = GenerationSettings(max_new_tokens=8, use_model_defaults=True, seed=42)
    sampled = llama.generate(PROMPTS[:2], settings)
    assert sampled == llama.generate(PROMPTS[:2], settings)
    explicit = GenerationSettings(max_new_tokens=8, do_sample=True, temperature=0.6, top_p=0.9, seed=42)
    assert sampled == llama.generate(PROMPTS[:2], explicit)
    assert sampled != llama.generate(PROMPTS[:2], GenerationSettings(max_new_tokens=8))


def test_a_bridge_refuses_max_length():
    from crosslift.models.generate import BridgeGenerator

    bridge = BridgeGenerator(SimpleNamespace(eval=lambda: None), processor=None, model_id="bridge")
    with pytest.raises(ConfigError, match="max_length is not supported for bridge"):
        bridge.generate(["x"], GenerationSettings(max_length=64))


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


def test_loglikelihood_of_continuations_against_one_forward_pass(llama):
    import torch

    from crosslift.models.generation import LoglikelihoodScorer

    assert isinstance(llama, LoglikelihoodScorer)
    requests = [(PROMPTS[0], " Paris"), (PROMPTS[1], " 5"), (PROMPTS[3], "七"), (PROMPTS[2], " Ariel is 5.")]
    batched = llama.loglikelihood(requests, GenerationSettings(batch_size=3))
    single = [llama.loglikelihood([r], GenerationSettings(batch_size=1))[0] for r in requests]
    for (a, greedy_a), (b, greedy_b) in zip(batched, single, strict=True):
        assert a == pytest.approx(b, abs=1e-4) and greedy_a == greedy_b  # padding changes nothing
    for (context, continuation), (value, greedy) in zip(requests, batched, strict=True):
        head = llama.encode(context)
        tail = llama.encode(context + continuation)[len(head) :]
        with torch.inference_mode():
            logits = llama.model(torch.tensor([head + tail])).logits[0, len(head) - 1 : -1].float()
        logprobs = logits.log_softmax(-1)
        target = torch.tensor(tail)
        assert value == pytest.approx(logprobs.gather(-1, target[:, None]).sum().item(), abs=1e-4)
        assert greedy == bool((logprobs.argmax(-1) == target).all())
    # a trailing space of the context belongs to the continuation, as lm-evaluation-harness encodes a pair
    moved = llama.loglikelihood([("Swali: 2 + 3? ", "5")], GenerationSettings())[0]
    assert moved[0] == pytest.approx(batched[1][0], abs=1e-4)
