"""Prompt building: metamath as training renders it, MGSM few-shot format, chat, localised words and fallbacks."""

import json

import pytest

from crosslift.data.examples import Example
from crosslift.data.templates import get_template
from crosslift.errors import ConfigError, DataError
from crosslift.eval.tasks.prompts import (
    Exemplar,
    PromptSettings,
    build_prompt,
    instruction_words,
    read_exemplars,
)

QUESTION = "  Baada ya miaka 15, Ariel atakuwa na umri mara nne?  "  # odd spacing must survive


def test_metamath_prompt_is_the_training_template_with_the_question_verbatim():
    settings = PromptSettings()
    words = instruction_words("sw", settings)
    prompt = build_prompt(QUESTION, settings, words)
    expected = (
        get_template("metamath", lang="sw").render(Example(id="x", instruction=QUESTION, output="")).prompt
    )
    assert prompt.text == expected
    assert f"Swali: {QUESTION}\n\n### Response: Let's think step by step." in prompt.text
    assert (words.question, words.localized) == ("Swali:", True)


def test_english_instruction_words_and_fallback_for_languages_without_words():
    assert instruction_words("sw", PromptSettings(instruction_language="en")).question == "Question:"
    words = instruction_words("zu", PromptSettings())  # isiZulu: in no table
    assert (words.question, words.language, words.localized) == ("Question:", "en", False)
    assert instruction_words("en", PromptSettings()).localized


def test_mgsm_words_fall_back_to_the_mmwp_table():
    words = instruction_words("ko", PromptSettings(words="mgsm"))  # Korean is not an MGSM language
    assert words.localized and words.table == "mmwp"


def test_qa_template_zero_shot_direct_and_cot():
    direct = PromptSettings(template="qa", cot=False)
    assert build_prompt("2+3?", direct, instruction_words("en", direct)).text == "Question: 2+3?\nAnswer:"
    cot = PromptSettings(template="qa", words="mgsm")
    assert (
        build_prompt("2+3?", cot, instruction_words("sw", cot)).text
        == "Swali: 2+3?\nJibu la Hatua kwa Hatua:"
    )


def test_chat_prompt_has_shots_as_turns():
    settings = PromptSettings(chat=True, system="Be brief.", shots=1)
    prompt = build_prompt(
        "2+3?", settings, instruction_words("en", settings), [Exemplar("1+1?", "2. The answer is 2.")]
    )
    assert prompt.text is None
    assert prompt.messages == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Question: 1+1?"},
        {"role": "assistant", "content": "2. The answer is 2."},
        {"role": "user", "content": "Question: 2+3?\nLet's think step by step."},
    ]


@pytest.mark.parametrize(
    "bad", [{"shots": 2}, {"cot": False}, {"template": "alpaca"}, {"words": "xx"}, {"shots": -1}]
)
def test_invalid_prompt_settings(bad):
    with pytest.raises(ConfigError):
        PromptSettings(**bad)


def test_mgsm_few_shot_reproduces_the_papers_exemplar_format(shared_data):
    """Our qa rendering of the exemplars is byte for byte MGSM's own 'q\\na' text, in every language."""
    path = shared_data / "mgsm" / "mgsm_exemplars.json"
    raw = json.loads(path.read_text(encoding="utf-8"))["MGSM_EXEMPLARS"]
    settings = PromptSettings(template="qa", shots=8, words="mgsm")
    for lang, exemplars in raw.items():
        parsed = read_exemplars(path, format="mgsm_exemplars", language=lang)
        assert len(parsed) == 8
        prompt = build_prompt("Q?", settings, instruction_words(lang, settings), parsed).text
        original = "".join(f"{exemplars[str(k)]['q']}\n{exemplars[str(k)]['a']}\n\n" for k in range(1, 9))
        assert prompt.startswith(original), lang


def test_exemplar_errors(tmp_path, shared_data):
    with pytest.raises(DataError, match="no exemplars for 'ko'"):
        read_exemplars(shared_data / "mgsm" / "mgsm_exemplars.json", format="mgsm_exemplars", language="ko")
    with pytest.raises(DataError, match="not found"):
        read_exemplars(tmp_path / "shots_{lang}.jsonl", format="jsonl", language="sw")
    (tmp_path / "shots_sw.jsonl").write_text('{"question": "1+1?", "answer": "2"}\n')
    assert read_exemplars(tmp_path / "shots_{lang}.jsonl", format="jsonl", language="sw") == [
        Exemplar("1+1?", "2")
    ]


# ---------------------------------------------------------------------------------------------------- zero-shot


def test_mcq_is_seaevals_prompt_with_lettered_options():
    settings = PromptSettings(template="mcq", cot=False)
    words = instruction_words("zh", settings)
    prompt = build_prompt("根据阿德勒的说法", settings, words, choices=("负责任的", "有趣的"), language="zh")
    assert prompt.text == (
        "Respond to the question by selecting the most appropriate answer. Simply select the answer, no "
        "explanations required.\n\nQuestion:\n根据阿德勒的说法\n\nChoices:\n(A) 负责任的\n(B) 有趣的\n\nAnswer:\n"
    )
    with_context = build_prompt("Q?", settings, words, choices=("a", "b"), context="Passage.").text
    assert "\n\nContext:\nPassage.\n\nQuestion:\nQ?\n\nChoices:\n(A) a\n(B) b\n\nAnswer:\n" in with_context
    own = PromptSettings(template="mcq", cot=False, mcq_format="{question}\n{choices}\nAnswer:")
    assert build_prompt("Q?", own, words, choices=("a", "b")).text == "Q?\n(A) a\n(B) b\nAnswer:"
    with pytest.raises(ConfigError, match="has no \\{context\\}"):
        build_prompt("Q?", own, words, choices=("a", "b"), context="Passage.")
    with pytest.raises(ConfigError, match="needs items with options"):
        build_prompt("Q?", settings, words)


def test_instruction_and_tulu_templates_with_a_system_prompt_in_the_items_language():
    system = (
        "Please interpret the instruction in English, and then respond both in English and in {language}."
    )
    chat = PromptSettings(template="instruction", chat=True, cot=False, system=system)
    prompt = build_prompt("  说出三种颜色。", chat, instruction_words("zh", chat), language="zh")
    assert prompt.messages == [
        {
            "role": "system",
            "content": "Please interpret the instruction in English, and then respond both in English and in Chinese.",
        },
        {"role": "user", "content": "  说出三种颜色。"},
    ]
    tulu = PromptSettings(template="tulu", cot=False, system=system)
    text = build_prompt("说出三种颜色。", tulu, instruction_words("zh", tulu), language="zh").text
    assert text == (
        "<|system|>\nPlease interpret the instruction in English, and then respond both in English and in "
        "Chinese.\n<|user|>\n说出三种颜色。\n<|assistant|>\n"
    )
    plain = PromptSettings(template="instruction", cot=False)
    assert build_prompt("Say hi.", plain, instruction_words("en", plain)).text == "Say hi."


@pytest.mark.parametrize(
    "bad",
    [
        {"template": "mcq", "shots": 2},
        {"template": "instruction", "system": "s"},
        {"template": "mcq", "mcq_format": "{question}"},
    ],
)
def test_invalid_zero_shot_settings(bad):
    with pytest.raises(ConfigError):
        PromptSettings(**bad)
