import json
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crosslift.data.codeswitch import CodeSwitcher, codeswitch_example, parallel_table
from crosslift.data.lexicon import Lexicon, load_lexicons, read_lexicon_file
from crosslift.errors import ConfigError, DataError


def lexicon(lang, pairs):
    """A Lexicon from {english: translation(s)} without touching disk."""
    from crosslift.data.lexicon import _index_phrases

    lex = Lexicon(lang=lang, entries={k: (v,) if isinstance(v, str) else tuple(v) for k, v in pairs.items()})
    _index_phrases(lex)
    return lex


DE = lexicon(
    "de",
    {
        "apple": "Apfel",
        "red": "rot",
        "she": "sie",
        "buys": "kauft",
        "may": "Mai",
        "mark": "Marke",
        "the": "der",
        "every": "jeden",
        "day": "Tag",
        "price": "Preis",
        "cat": "Katze",
    },
)
ZH = lexicon("zh", {"she": "她", "buys": "买", "red": "红", "apple": "苹果", "every": "每", "day": "天"})
SW = lexicon(
    "sw",
    {
        "a lot of": "mengi",
        "a lot": "sana",
        "a": "moja",
        "how many": "ngapi",
        "how": "vipi",
        "many": "nyingi",
        "apples": "matofaa",
        "cat": "paka",
    },
)


def test_ratio_one_switches_every_covered_word_and_keeps_the_rest():
    cs = CodeSwitcher({"de": DE}, ratio=1.0, seed=0)
    out = cs.switch("She buys 3 red apples, every day!", 0)
    assert (
        out.text == "Sie kauft 3 rot apples, jeden Tag!"
    )  # "apples" is not in the lexicon; capitals carried over
    assert (out.covered_units, out.switched_units) == (5, 5)
    assert out.replacements[0] == (0, 3, "She", "Sie")


def test_translation_pick():
    lex = {"de": lexicon("de", {"the": ["der", "die", "das"]})}
    picked = {CodeSwitcher(lex, ratio=1.0, seed=s).switch("the", 0).text for s in range(60)}
    assert picked == {"der", "die", "das"}
    assert {CodeSwitcher(lex, ratio=1.0, seed=s, pick="first").switch("the", 0).text for s in range(20)} == {
        "der"
    }


def test_ratio_zero_is_identity():
    text = "She buys 3 red apples every day."
    assert CodeSwitcher({"de": DE}, ratio=0.0).switch(text, 0).text == text


def test_longest_phrase_first():
    out = CodeSwitcher({"sw": SW}, ratio=1.0).switch("How many cats ate a lot of apples, a lot or a bit?", 0)
    assert out.text == "Ngapi cats ate mengi matofaa, sana or moja bit?"
    assert [(r[2], r[3]) for r in out.replacements][:2] == [("How many", "Ngapi"), ("a lot of", "mengi")]
    assert out.covered_words == 9 and out.covered_units == 5


def test_phrases_do_not_run_over_punctuation():
    out = CodeSwitcher({"sw": SW}, ratio=1.0).switch("Give a, lot of love", 0)
    assert out.text == "Give moja, lot of love"


def test_names_are_protected_unless_starting_a_sentence():
    cs = CodeSwitcher({"de": DE}, ratio=1.0)
    # "May" inside a sentence is a name (month); "Mark" starts a sentence but is also used as a name later.
    out = cs.switch("Mark saw the cat in May. The cat saw Mark.", 0)
    assert out.text == "Mark saw der Katze in May. Der Katze saw Mark."
    loose = CodeSwitcher({"de": DE}, ratio=1.0, protect_names=False).switch("The cat saw Mark in May.", 0)
    assert loose.text == "Der Katze saw Marke in Mai."


def test_protect_patterns_and_numbers():
    cs = CodeSwitcher({"de": DE}, ratio=1.0, protect=(r"<<[^<>]*>>", r"https?://\S+", r"\{[^}]*\}"))
    text = "the price is <<the price>> at http://the.price/apple and {apple} the 2nd red5 apple"
    out = cs.switch(text, 0)
    assert out.text == "der Preis is <<the price>> at http://the.price/apple and {apple} der 2nd red5 Apfel"
    with pytest.raises(ConfigError, match="bad protect pattern"):
        CodeSwitcher({"de": DE}, protect=("(",))


def test_possessive_keeps_its_s():
    out = CodeSwitcher({"de": DE}, ratio=1.0).switch("the cat's apple", 0)
    assert out.text == "der Katze's Apfel"
    assert out.replacements[1] == (4, 7, "cat", "Katze")


def test_scripts_without_spaces_join_adjacent_switches():
    out = CodeSwitcher({"zh": ZH}, ratio=1.0).switch("she buys red apple every day.", 0)
    assert out.text == "她买红苹果每天."
    mixed = CodeSwitcher({"zh": ZH}, ratio=1.0).switch("she often buys red apple", 0)
    assert mixed.text == "她 often 买红苹果"  # spaces next to English stay


def test_exact_ratio_per_sentence_and_stochastic_rounding():
    cs = CodeSwitcher({"de": DE}, ratio=0.5, seed=3)
    text = "She buys the red apple every day"  # 7 covered units -> 3 or 4 switched
    counts = [cs.switch(text, i).switched_units for i in range(400)]
    assert set(counts) == {3, 4}
    assert abs(sum(counts) / len(counts) - 3.5) < 0.15


def test_deterministic_per_seed_and_record():
    cs = CodeSwitcher({"de": DE, "zh": ZH}, ratio=0.5, seed=7)
    text = "She buys the red apple every day"
    first = [cs.switch(text, i).text for i in range(50)]
    again = CodeSwitcher({"de": DE, "zh": ZH}, ratio=0.5, seed=7)
    assert [again.switch(text, i).text for i in reversed(range(50))][::-1] == first  # order does not matter
    other = CodeSwitcher({"de": DE, "zh": ZH}, ratio=0.5, seed=8)
    assert [other.switch(text, i).text for i in range(50)] != first


def test_language_weights():
    cs = CodeSwitcher({"de": DE, "zh": ZH}, ratio=0.5, weights={"de": 3, "zh": 1}, seed=1)
    langs = [cs.switch("she buys", i).lang for i in range(2000)]
    assert 0.71 < langs.count("de") / len(langs) < 0.79
    only_zh = CodeSwitcher({"de": DE, "zh": ZH}, weights={"de": 0, "zh": 1})
    assert {only_zh.switch("she", i).lang for i in range(50)} == {"zh"}
    with pytest.raises(ConfigError, match="weights given for languages not switched into: sw"):
        CodeSwitcher({"de": DE}, weights={"sw": 1})
    with pytest.raises(DataError, match="no lexicon loaded for sw"):
        CodeSwitcher({"de": DE}, languages=["sw"])


def test_sentence_level_switching():
    table = parallel_table(
        {"en": ["It rains.", "She buys the red apple every day"], "de": ["Es regnet.", "Sie kauft..."]}
    )
    cs = CodeSwitcher({"de": DE}, ratio=1.0, parallel=table, sentence_ratio=1.0)
    whole = cs.switch(
        "She  buys the red apple every day", 0
    )  # whitespace-insensitive lookup of the whole text
    assert (whole.text, whole.mode, whole.covered_units) == ("Sie kauft...", "sentence", 0)
    mixed = cs.switch("It rains. She buys the cat!", 1)
    assert mixed.text == "Es regnet. Sie kauft der Katze!" and mixed.mode == "mixed" and mixed.sentences == 1
    assert mixed.replacements[0] == (0, 9, "It rains.", "Es regnet.")
    never = CodeSwitcher({"de": DE}, ratio=0.0, parallel=table, sentence_ratio=0.0).switch("It rains.", 0)
    assert never.text == "It rains."


def test_example_styles_and_kept_fields():
    from crosslift.languages import get_language

    cs = CodeSwitcher({"de": DE}, ratio=1.0)
    record = {"id": 12, "question": "She buys the apple", "answer": "#### 3", "output": "x"}
    plain = codeswitch_example(record, 0, field="question", switcher=cs)
    assert (plain.id, plain.instruction, plain.input, plain.output) == (
        "12",
        "Sie kauft der Apfel",
        "",
        "She buys the apple",
    )
    assert (
        plain.meta["answer"] == "#### 3" and plain.meta["orig_output"] == "x" and "question" not in plain.meta
    )
    assert plain.meta["codeswitch"]["replacements"][0] == [0, 3, "She", "Sie"]
    assert (plain.instruction_lang, plain.output_lang) == ("de", "en")
    instruct = codeswitch_example(record, 0, field="question", switcher=cs, style="instruct")
    assert (
        instruct.instruction
        == f"Translate the following code-switched {get_language('de').name} sentence to pure English:"
    )
    assert instruct.input == "Sie kauft der Apfel"


# ---------------------------------------------------------------------------------------------- properties

_DIGITS = re.compile(r"\d+")
words = st.sampled_from(
    [
        "she",
        "buys",
        "the",
        "red",
        "apple",
        "every",
        "day",
        "Mark",
        "May",
        "cat's",
        "price",
        "a",
        "lot",
        "of",
        "how",
        "many",
        "apples",
        "x",
    ]
)
tokens = st.one_of(
    words,
    st.integers(0, 10**6).map(str),
    st.sampled_from(["3rd", "5-year", "1,000", "2.5", "$12"]),
    st.sampled_from([" ", "  ", ", ", ". ", "! ", "\n", "-", "'"]),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(tokens, max_size=40).map("".join), st.integers(0, 2**31), st.floats(0, 1))
def test_codeswitching_never_changes_digits(text, seed, ratio):
    cs = CodeSwitcher({"de": DE, "zh": ZH, "sw": SW}, ratio=ratio, seed=seed)
    out = cs.switch(text, seed % 1000)
    assert _DIGITS.findall(out.text) == _DIGITS.findall(text)
    # and every replacement is a span of the English text
    for start, end, english, _ in out.replacements:
        assert text[start:end] == english


@settings(max_examples=200, deadline=None)
@given(st.lists(tokens, max_size=40).map("".join))
def test_unswitched_text_is_copied_byte_for_byte(text):
    out = CodeSwitcher({"de": DE}, ratio=1.0, protect_names=False).switch(text, 0)
    rebuilt, pos = [], 0
    for start, end, _, translation in out.replacements:
        rebuilt += [text[pos:start], translation]
        pos = end
    assert "".join(rebuilt) + text[pos:] == out.text


# ---------------------------------------------------------------------------------------------- real data


@pytest.fixture(scope="module")
def real_lexicons(shared_data):
    return load_lexicons(
        [shared_data / "muse_dictionaries", shared_data / "wechsel_dicts"], ["sw", "te", "zh", "de"]
    )


def test_gsm8k_ratio_on_covered_words(shared_data, real_lexicons):
    questions = [json.loads(line)["question"] for line in (shared_data / "gsm8k" / "test.jsonl").open()]
    cs = CodeSwitcher(real_lexicons, ratio=0.4, seed=1)
    outs = [cs.switch(q, i) for i, q in enumerate(questions)]
    for lang in real_lexicons:
        mine = [o for o in outs if o.lang == lang]
        covered = sum(o.covered_words for o in mine)
        switched = sum(o.switched_words for o in mine)
        assert len(mine) > 250 and abs(switched / covered - 0.4) < 0.05, lang
    assert all(_DIGITS.findall(o.text) == _DIGITS.findall(q) for o, q in zip(outs, questions, strict=True))


def test_real_zh_output_has_no_space_between_switched_words(real_lexicons):
    out = CodeSwitcher(real_lexicons, ratio=1.0, languages=["zh"]).switch("she buys red apples every day", 0)
    assert " " not in out.text.strip() or all(part.isascii() for part in out.text.split(" ")[1:-1])


def test_ntrex_sentence_level(shared_data, real_lexicons):
    from crosslift.data.examples import read_parallel_text

    d = shared_data / "ntrex128_sample"
    texts = read_parallel_text({"en": d / "newstest2019-src.eng.txt", "sw": d / "newstest2019-ref.swa.txt"})
    cs = CodeSwitcher(
        real_lexicons, languages=["sw"], parallel=parallel_table(texts), sentence_ratio=0.5, seed=2
    )
    outs = [cs.switch(t, i) for i, t in enumerate(texts["en"][:200])]
    whole = [i for i, o in enumerate(outs) if o.mode == "sentence"]
    assert 70 < len(whole) < 130
    assert all(outs[i].text == texts["sw"][i] for i in whole)


def test_lexicon_file_round_trip_through_switcher(tmp_path):
    path = tmp_path / "en-de.txt"
    path.write_text("apple Apfel\nthe der\n")
    out = CodeSwitcher({"de": read_lexicon_file(path, "de")}, ratio=1.0).switch("The apple.", 0)
    assert out.text == "Der Apfel."


def test_possessive_names_are_names_too():
    lex = {"de": lexicon("de", {"mark": "Marke", "bought": "kaufte", "car": "Auto"})}
    out = CodeSwitcher(lex, ratio=1.0).switch("Mark bought a car. It is Mark's car.", 0)
    assert out.text == "Mark kaufte a Auto. It is Mark's Auto."
