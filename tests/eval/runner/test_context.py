"""Prompts longer than the model's context, on the tiny models' real tokenizers: what fits is untouched, a cut
prompt is a suffix of the original that fits, a refused one is not sent, and the window comes from the model."""

from __future__ import annotations

import types

import pytest

from crosslift.errors import ConfigError
from crosslift.eval.runner.context import ContextWindow, context_length, context_window, fit_prompt
from crosslift.eval.tasks.prompts import Prompt
from crosslift.models.generate import load_generator


@pytest.fixture(scope="module")
def llama():
    return load_generator("tiny:llama", dtype="float32", device="cpu")


@pytest.fixture(scope="module")
def qwen():
    return load_generator("tiny:qwen2", dtype="float32", device="cpu")


def window(generator, context: int, answer: int) -> ContextWindow:
    return ContextWindow(generator, context, answer)


def test_the_window_is_the_models_context_less_the_answer(llama):
    found = context_window(llama, max_new_tokens=48)
    assert found.limit == llama.model.config.max_position_embeddings - 48 == 2000
    assert context_window(object(), 48) is None  # a backend that shows no tokenizer and window (an endpoint)
    with pytest.raises(
        ConfigError, match="max_new_tokens 2048 leaves no room for a prompt in the 2048-token context"
    ):
        context_window(llama, max_new_tokens=2048)


def test_under_max_length_a_prompt_may_take_all_but_one_token(llama):
    found = context_window(llama, max_new_tokens=4096, max_length=4096)  # PLUG's setting on a 2048 context
    assert (found.length, found.limit) == (2048, 2047)  # never past the model's own window
    found = context_window(llama, max_new_tokens=4096, max_length=1024)
    assert (found.length, found.limit) == (1024, 1023)
    unknown = ContextWindow(llama, None, 512, max_length=300)  # a window not stated: max_length bounds it
    assert (unknown.length, unknown.limit) == (300, 299)
    fitted = unknown.fit(Prompt(text="Question: What is 2 + 3?"), "cut")
    assert fitted.tokens == unknown.count("Question: What is 2 + 3?") and fitted.long_prompt is None


def test_context_length_from_the_config_else_the_tokenizer():
    config, tokenizer = types.SimpleNamespace(n_positions=1024), types.SimpleNamespace(model_max_length=512)
    assert context_length(config, tokenizer) == 1024
    assert context_length(types.SimpleNamespace(), tokenizer) == 512
    assert context_length(types.SimpleNamespace(), types.SimpleNamespace(model_max_length=int(1e30))) is None


def test_a_prompt_that_fits_is_sent_as_it_is(llama):
    prompt = Prompt(text="Question: What is 2 + 3?\nAnswer:")
    assert fit_prompt(window(llama, 64, 16), prompt, "cut").prompt is prompt
    assert fit_prompt(None, prompt, "refuse").prompt is prompt  # no window known: nothing is measured


@pytest.mark.parametrize("kind", ["llama", "qwen"])
def test_a_long_prompt_is_cut_from_the_left_to_a_suffix_that_fits(kind, llama, qwen):
    generator = {"llama": llama, "qwen": qwen}[kind]
    limits = window(generator, 96, 32)
    steps = "".join(f"Step {i}: añadir 日本語 {i * 7} to the total. " for i in range(200))
    text = steps + "Question: What is 2 + 3?"
    fitted = limits.fit(Prompt(text=text), "cut")
    cut = fitted.prompt.text
    assert text.endswith(cut) and cut.endswith("What is 2 + 3?")
    assert (
        limits.count(cut) <= limits.limit == 64 and limits.count(cut) >= limits.limit - 3
    )  # as much as fits
    note = fitted.long_prompt
    assert note == {
        "tokens": limits.count(text),
        "limit": 64,
        "action": "cut",
        "chars_cut": len(text) - len(cut),
    }
    offsets = generator.tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)[
        "offset_mapping"
    ]
    assert len(text) - len(cut) in {start for start, _ in offsets}  # cut at a token boundary


def test_a_refused_prompt_is_not_sent(llama):
    fitted = window(llama, 64, 16).fit(Prompt(text="many words " * 100), "refuse")
    assert (
        fitted.prompt is None
        and fitted.long_prompt["action"] == "refused"
        and fitted.long_prompt["limit"] == 48
    )


def test_a_conversation_is_measured_and_cut_as_its_chat_template_renders_it(qwen):
    limits = window(qwen, 80, 16)
    short = Prompt(messages=[{"role": "user", "content": "What is 2 + 3?"}])
    assert limits.fit(short, "cut").prompt is short
    long = Prompt(
        messages=[
            {"role": "system", "content": "Be brief. " * 60},
            {"role": "user", "content": "What is 2 + 3?"},
        ]
    )
    fitted = limits.fit(long, "cut")
    rendered = qwen.render_chat(long.messages)
    assert fitted.prompt.messages is None and rendered.endswith(fitted.prompt.text)
    assert fitted.prompt.text.endswith("What is 2 + 3?<|im_end|>\n<|im_start|>assistant\n")
    assert fitted.long_prompt["tokens"] == limits.count(rendered) > 64 >= limits.count(fitted.prompt.text)
