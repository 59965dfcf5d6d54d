"""Prompt building: metamath as training renders it, MGSM few-shot format, chat, localised words and fallbacks."""

import json

import pytest

from crosslift.data.examples import Example
from crosslift.data.templates import get_template
from crosslift.errors import ConfigError, DataError
from crosslift.eval.prompts import Exemplar, PromptSettings, build_prompt, instruction_words, read_exemplars

QUESTION = "  Baada ya miaka 15, Ariel atakuwa na umri mara nne?  "  # odd spacing must survive


def test_metamath_prompt_is_the_training_template_with_the_question_verbatim():
    settings = PromptSettings()
    words = instruction_words("sw", settings)
    prompt = build_prompt(QUESTION, settings, words)
    expected = get_template("metamath", lang="sw").render(Example(id="x", instruction=QUESTION, output="")).prompt
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
    assert build_prompt("2+3?", cot, instruction_words("sw", cot)).text == "Swali: 2+3?\nJibu la Hatua kwa Hatua:"


def test_chat_prompt_has_shots_as_turns():
    settings = PromptSettings(chat=True, system="Be brief.", shots=1)
    prompt = build_prompt("2+3?", settings, instruction_words("en", settings), [Exemplar("1+1?", "2. The answer is 2.")])
    assert prompt.text is None
    assert prompt.messages == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Question: 1+1?"},
        {"role": "assistant", "content": "2. The answer is 2."},
        {"role": "user", "content": "Question: 2+3?\nLet's think step by step."},
    ]


@pytest.mark.parametrize("bad", [{"shots": 2}, {"cot": False}, {"template": "alpaca"}, {"words": "xx"}, {"shots": -1}])
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
    assert read_exemplars(tmp_path / "shots_{lang}.jsonl", format="jsonl", language="sw") == [Exemplar("1+1?", "2")]
