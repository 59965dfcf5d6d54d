"""XQuAD as multiple choice (our construction): deterministic, parallel across languages, distinct options from
the same paragraph, and located errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from crosslift.errors import DataError
from crosslift.eval.tasks.xquad_mc import option_sources, read_xquad_mc

LANGUAGES = "ar de el en es hi ro ru th tr vi zh".split()


def squad(path: Path, paragraphs: list[list[tuple[str, str]]]) -> Path:
    """A SQuAD-format file: one article whose paragraphs hold (question id, answer) pairs."""
    data = {
        "data": [
            {
                "title": "t",
                "paragraphs": [
                    {
                        "context": f"Context {p}.",
                        "qas": [
                            {
                                "id": qid,
                                "question": f"Question {qid}?",
                                "answers": [{"text": a, "answer_start": 0}],
                            }
                            for qid, a in qas
                        ],
                    }
                    for p, qas in enumerate(paragraphs)
                ],
            }
        ]
    }
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return path


def test_options_come_from_the_same_paragraph_first_and_are_distinct(tmp_path):
    english = squad(
        tmp_path / "xquad.en.json",
        [
            [("q1", "Paris"), ("q2", "1999"), ("q3", "paris."), ("q4", "Rome"), ("q5", "blue")],
            [("q6", "seven"), ("q7", "Nile")],
        ],
    )
    items = read_xquad_mc(english, reference=english)
    assert [i.id for i in items] == ["q1", "q2", "q3", "q4", "q5", "q6", "q7"]
    q1 = items[0]
    assert q1.choices[ord(q1.answer) - 65] == "Paris" and "paris." not in q1.choices  # "paris." says the same
    assert set(q1.choices) - {"Paris"} <= {"1999", "Rome", "blue"} and len(set(q1.choices)) == 4
    q6 = items[5]  # its paragraph has one other answer: the article lends the rest
    assert "Nile" in q6.choices and q6.context == "Context 1." and q6.question == "Question q6?"
    assert read_xquad_mc(english, reference=english) == items  # deterministic
    assert read_xquad_mc(english, reference=english, seed=1) != items


def test_a_translation_gets_the_same_options_in_the_same_order(tmp_path):
    pairs = [[("q1", "Paris"), ("q2", "1999"), ("q3", "Rome"), ("q4", "blue"), ("q5", "seven")]]
    english = squad(tmp_path / "xquad.en.json", pairs)
    german = squad(
        tmp_path / "xquad.de.json",
        [[(q, {"Paris": "Paris", "blue": "blau", "seven": "sieben"}.get(a, a)) for q, a in pairs[0]]],
    )
    assert option_sources(german, reference=english) == option_sources(english, reference=english)
    # where the translation makes two answers identical, the next candidate replaces the clash there
    clash = squad(
        tmp_path / "xquad.xx.json", [[(q, "Rom" if a in ("Rome", "blue") else a) for q, a in pairs[0]]]
    )
    items = read_xquad_mc(clash, reference=english)
    assert all(len(set(i.choices)) == len(i.choices) for i in items)


def test_errors(tmp_path):
    english = squad(tmp_path / "xquad.en.json", [[("q1", "a"), ("q2", "b"), ("q3", "c"), ("q4", "d")]])
    other = squad(tmp_path / "xquad.de.json", [[("q1", "a"), ("q2", "b"), ("q9", "c"), ("q4", "d")]])
    with pytest.raises(DataError, match="not parallel to the reference file"):
        read_xquad_mc(other, reference=english)
    with pytest.raises(
        DataError, match="question q1: its article has only 4 distinct answers, 5 options asked for"
    ):
        read_xquad_mc(english, reference=english, options=5)
    with pytest.raises(DataError, match="file not found"):
        read_xquad_mc(tmp_path / "xquad.fr.json", reference=english)
    bad = tmp_path / "bad.json"
    bad.write_text(
        '{"data": [{"paragraphs": [{"context": "c", "qas": [{"id": "q", "question": "?", "answers": []}]}]}]}'
    )
    with pytest.raises(DataError, match="a question without an answer text"):
        read_xquad_mc(bad, reference=bad)


def test_the_real_xquad_is_parallel_in_all_12_languages(shared_data):
    folder = shared_data / "xquad"
    reference = option_sources(folder / "xquad.en.json", reference=folder / "xquad.en.json")
    assert len(reference) == 1190
    for lang in LANGUAGES:
        sources = option_sources(folder / f"xquad.{lang}.json", reference=folder / "xquad.en.json")
        differing = sum(a != b for a, b in zip(reference, sources, strict=True))
        assert differing <= 2, (
            lang
        )  # a translation that makes two answers identical (see the module docstring)
        items = read_xquad_mc(folder / f"xquad.{lang}.json", reference=folder / "xquad.en.json")
        assert all(len(set(i.choices)) == 4 for i in items)
        golds = [i.answer for i in items]
        assert set(golds) == set("ABCD") and max(golds.count(x) for x in "ABCD") < 0.3 * len(golds)
    assert (
        sum(
            a != b
            for lang in ("de", "el", "es", "ru")
            for a, b in zip(
                reference,
                option_sources(folder / f"xquad.{lang}.json", reference=folder / "xquad.en.json"),
                strict=True,
            )
        )
        == 0
    )
