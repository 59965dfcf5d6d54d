"""Mapping multiple-choice outputs to options: each rule, localised answer words, and no guessing."""

import pytest

from crosslift.eval.scoring.choices import map_choice

OPTIONS = ("responsible", "funny", "sociable", "followers")


@pytest.mark.parametrize(
    ("output", "language", "letter", "status"),
    [
        ("(B) funny", "en", "B", "label"),
        ("B", "en", "B", "label"),
        ("b)", "en", "B", "label"),
        ("  [C] sociable", "en", "C", "label"),
        ("D.\nBecause followers follow.", "en", "D", "label"),
        ("（Ｂ）有趣的", "zh", "B", "label"),  # full-width brackets and letter
        ("**(A)** responsible", "en", "A", "label"),
        ("The correct answer is (C).", "en", "C", "answer_phrase"),
        ("I think the answer is D", "en", "D", "answer_phrase"),
        ("答案是C", "zh", "C", "answer_phrase"),
        ("根据阿德勒的理论，答案：A", "zh", "A", "answer_phrase"),
        ("Jawaban: B. lucu", "id", "B", "answer_phrase"),
        ("Đáp án đúng là (D)", "vi", "D", "answer_phrase"),
        ("La respuesta es: sociable", "es", "C", "answer_phrase"),
        ("Ang tamang sagot ay A", "fil", "A", "answer_phrase"),
        ("Answer: funny", "en", "B", "answer_phrase"),
        ("I pick (c) here, since (C) fits.", "en", "C", "labels"),
        ("Firstborns tend to be responsible.", "en", "A", "option_text"),
    ],
)
def test_each_rule_reads_the_option(output, language, letter, status):
    match = map_choice(output, OPTIONS, language)
    assert (match.letter, match.status) == (letter, status)


@pytest.mark.parametrize(
    ("output", "status"),
    [
        ("", "unmappable"),
        ("I do not know.", "unmappable"),
        ("The answer is a bit unclear", "unmappable"),  # "a" the article is not option A
        ("A person who is first born...", "unmappable"),
        ("It could be (A) or (B).", "ambiguous"),
        ("Both funny and sociable fit.", "ambiguous"),
    ],
)
def test_no_guessing(output, status):
    match = map_choice(output, OPTIONS, "en")
    assert (match.letter, match.status) == (None, status)


def test_the_last_answer_phrase_wins_and_a_leading_label_first():
    assert map_choice("The answer is (A)... no wait, the answer is (B).", OPTIONS).letter == "B"
    assert map_choice("(D) followers. (A) would be wrong.", OPTIONS).letter == "D"


def test_option_texts_whole_words_and_containment():
    # "fun" must not match inside "funny"; a longer option that contains a shorter one wins
    assert map_choice("It is fun", ("fun run", "sun", "funny", "moon")).letter is None
    assert (
        map_choice("The great wall of china", ("wall", "great wall of china", "china", "sea")).letter == "B"
    )
    # scripts without spaces match inside text
    assert (
        map_choice("我认为是有趣的选项", ("负责任的", "有趣的", "善于交际的", "追随者"), "zh").letter == "B"
    )


def test_letters_beyond_the_options_are_not_labels():
    assert map_choice("(E)", OPTIONS).letter is None
    assert map_choice("(E)", (*OPTIONS, "fifth")).letter == "E"
