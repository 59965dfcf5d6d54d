import pytest

from crosslift.data.examples import Example
from crosslift.data.templates import AlpacaTemplate, answer_word, get_template, question_word
from crosslift.data.tokenize import encode_prompt_target
from crosslift.errors import ConfigError, CrossliftError, DataError
from crosslift.models.labels import IGNORE_INDEX

EX = Example(id="1", instruction="Add 2 and 3.", output="5")


def test_alpaca_is_unchanged():
    r = get_template("alpaca").render(EX)
    assert r.prompt == AlpacaTemplate.without_input.format(instruction="Add 2 and 3.") and r.target == "5"
    with_input = get_template("alpaca").render(
        Example(id="2", instruction="Add.", input="2 and 3", output="5")
    )
    assert "### Input:\n2 and 3\n\n### Response:\n" in with_input.prompt


def test_single_turn_templates_refuse_chat_extras():
    chat = Example(id="3", instruction="q", output="a", meta={"system": "Be brief."})
    for name in ("alpaca", "metamath", "qa"):
        with pytest.raises(DataError, match=f"example 3 has system, which the {name} template cannot show"):
            get_template(name).render(chat)


def test_metamath_uses_the_examples_language():
    sw = Example(id="1", instruction="Ni ngapi?", output="5", instruction_lang="sw")
    r = get_template("metamath").render(sw)
    assert r.prompt == (
        "Below is an instruction that describes a task. Write a response that appropriately completes the request.\n\n"
        "### Instruction:\nSwali: Ni ngapi?\n\n### Response: Let's think step by step."
    )
    assert "Question: Add 2 and 3." in get_template("metamath").render(EX).prompt  # no language: English
    assert "Frage: Ni ngapi?" in get_template("metamath", lang="de").render(sw).prompt
    assert "问题： Ni ngapi?" in get_template("metamath", lang="zh", source="mgsm").render(sw).prompt


def test_qa_trains_on_the_prompt_evaluation_shows():
    from crosslift.eval.tasks.prompts import PromptSettings, build_prompt, instruction_words

    r = get_template("qa").render(EX)
    assert (r.prompt, r.target) == ("Question: Add 2 and 3.\nAnswer:", "5")
    settings = PromptSettings(template="qa", cot=False, instruction_language="en")
    assert build_prompt(EX.instruction, settings, instruction_words("sw", settings)).text == r.prompt
    zh = get_template("qa", question_word="问题：", answer_word="答案：").render(EX)
    assert zh.prompt == "问题：Add 2 and 3.\n答案："  # no space after a full-width colon, as MGSM writes it


def test_question_and_answer_words():
    assert (
        question_word("sw") == "Swali:" and question_word("sv") == "Fråga:"
    )  # the source's sw/sv swap, fixed
    assert question_word("swh") == "Swali:" and question_word("nb") == "Spørsmål:"
    assert question_word("ja") == "質問:" and question_word("ja", source="mgsm") == "問題："
    assert answer_word("sw") == "Jibu la Hatua kwa Hatua:" and answer_word("en") == "Step-by-Step Answer:"
    with pytest.raises(CrossliftError, match="no mgsm question word for language 'ko'; known for: bn, de"):
        question_word("ko", source="mgsm")
    with pytest.raises(CrossliftError, match="no MGSM answer word"):
        answer_word("hy")


def test_every_mmwp_language_has_a_question_word(shared_data):
    import csv

    with open(shared_data / "language_tiers" / "mmwp_tiers_llama2.tsv", encoding="utf-8") as f:
        rows = [r for r in csv.reader(f, delimiter="\t") if r and not r[0].startswith("#")]
    codes = [r[0] for r in rows[1:]]
    assert len(codes) == 48
    assert all(question_word(code).endswith((":", "：")) for code in codes)


def test_tulu_format_is_plugs():
    ex = Example(
        id="1",
        instruction="Hi",
        input="there",
        output="Hello!",
        meta={"system": "Be kind.", "history": [["Q1", "A1"]]},
    )
    r = get_template("tulu").render(ex)
    assert (
        r.prompt
        == "<|system|>\nBe kind.\n<|user|>\nQ1\n<|assistant|>\nA1</s>\n<|user|>\nHi\n\nthere\n<|assistant|>\n"
    )
    assert r.target == "Hello!"
    assert get_template("tulu").render(EX).prompt == "<|user|>\nAdd 2 and 3.\n<|assistant|>\n"


def test_unknown_template():
    with pytest.raises(
        ConfigError,
        match="unknown template 'vicuna'; available: alpaca, chat, metamath, metamath_en, qa, tulu",
    ):
        get_template("vicuna")


# ---------------------------------------------------------------------------------------------- with tokenizers


@pytest.fixture(scope="module")
def qwen():
    from crosslift.models.build import load_tokenizer

    return load_tokenizer("tiny:qwen2")


@pytest.fixture(scope="module")
def llama():
    from crosslift.models.build import load_tokenizer

    return load_tokenizer("tiny:llama")


def test_chat_template_splits_exactly(qwen):
    template = get_template("chat", tokenizer=qwen)
    ex = Example(id="1", instruction="Add 2 and 3.", output="5", meta={"system": "Be brief."})
    r = template.render(ex)
    assert (
        r.prompt
        == "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nAdd 2 and 3.<|im_end|>\n<|im_start|>assistant\n"
    )
    assert r.target == "5<|im_end|>\n"
    enc = encode_prompt_target(
        qwen,
        r.prompt,
        r.target,
        max_length=128,
        add_special_tokens=template.add_special_tokens,
        append_eos=template.append_eos,
    )
    learned = [t for t, label in zip(enc.input_ids, enc.labels, strict=True) if label != IGNORE_INDEX]
    assert qwen.decode(learned) == "5<|im_end|>\n"
    assert enc.input_ids.count(qwen.convert_tokens_to_ids("<|im_end|>")) == 3  # no extra EOS appended


def test_chat_template_needs_one(llama):
    with pytest.raises(ConfigError, match="has no chat_template"):
        get_template("chat", tokenizer=llama)
    with pytest.raises(ConfigError, match="needs a tokenizer"):
        get_template("chat")


def test_tulu_with_tokenizer_masks_the_prompt(llama):
    template = get_template("tulu", tokenizer=llama)
    ex = Example(
        id="1", instruction="Hi", output="Hello there", meta={"system": "Be kind.", "history": [["a", "b"]]}
    )
    r = template.render(ex)
    assert "b</s>\n<|user|>" in r.prompt
    enc = encode_prompt_target(llama, r.prompt, r.target, max_length=256)
    learned = [t for t, label in zip(enc.input_ids, enc.labels, strict=True) if label != IGNORE_INDEX]
    assert llama.decode(learned, skip_special_tokens=True).strip() == "Hello there"


def test_metamath_en_shows_the_english_question_word_for_every_language():
    example = Example(id="1", instruction="Swali langu", output="x", instruction_lang="sw")
    assert "Swali:" in get_template("metamath").render(example).prompt
    english = get_template("metamath_en").render(example).prompt
    assert "### Instruction:\nQuestion: Swali langu" in english
    assert english == get_template("metamath", lang="en").render(example).prompt


def test_multi_turn_templates_locate_every_earlier_reply(qwen, llama):
    """A 3-turn conversation: the earlier replies' spans (with their end-of-turn text) inside the prompt."""
    ex = Example(
        id="1",
        instruction="Q three",
        output="A three",
        meta={"system": "Be brief.", "history": [["Q one", "A one"], ["Q two", "A two"]]},
    )
    chat = get_template("chat", tokenizer=qwen).render(ex)
    assert [chat.prompt[a:b] for a, b in chat.earlier_replies] == ["A one<|im_end|>\n", "A two<|im_end|>\n"]
    tulu = get_template("tulu", tokenizer=llama).render(ex)
    assert [tulu.prompt[a:b] for a, b in tulu.earlier_replies] == ["A one</s>", "A two</s>"]
    enc = encode_prompt_target(
        llama, tulu.prompt, tulu.target, max_length=256, learned_prompt_spans=tulu.earlier_replies
    )
    runs, current = [], []
    for token, label in [*zip(enc.input_ids, enc.labels, strict=True), (None, IGNORE_INDEX)]:
        if label != IGNORE_INDEX:
            current.append(token)
        elif current:
            runs, current = [*runs, llama.decode(current).strip()], []
    assert runs == ["A one</s>", "A two</s>", "A three</s>"]
    assert get_template("alpaca").render(EX).earlier_replies == ()


def test_a_chat_template_that_rewrites_earlier_turns_cannot_learn_them(qwen):
    class DropsEarlierReplies:
        """Shortens replies that a later user turn follows (as templates that strip earlier reasoning do)."""

        chat_template = "x"

        def apply_chat_template(self, messages, tokenize=False, add_generation_prompt=False):
            last_user = max(i for i, m in enumerate(messages) if m["role"] == "user")
            text = "".join(
                f"<{m['role']}>{'...' if m['role'] == 'assistant' and i < last_user else m['content']}\n"
                for i, m in enumerate(messages)
            )
            return text + ("<assistant>" if add_generation_prompt else "")

    ex = Example(id="1", instruction="Q2", output="A2", meta={"history": [["Q1", "A1"]]}, source="chat.jsonl")
    assert get_template("chat", tokenizer=DropsEarlierReplies()).render(ex).earlier_replies is None
    from crosslift.train.sft import SFTDataConfig, tokenize_examples

    data = SFTDataConfig(train=[{"path": "chat.jsonl"}], template="chat")
    with pytest.raises(DataError, match=r"chat.jsonl: example 1: .*set data.assistant_turns: last"):
        tokenize_examples([ex], DropsEarlierReplies(), data)
