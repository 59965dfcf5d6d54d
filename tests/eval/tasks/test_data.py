"""Benchmark readers: formats, verbatim questions, located errors, every MMWP and MGSM file, multiple-choice
records, ids, SeaEval's cross-lingual files, and one file holding every language."""

import functools
import json
import re

import pytest

from crosslift.errors import DataError
from crosslift.eval.scoring.extract import parse_number
from crosslift.eval.tasks.data import read_items, read_seaeval_cross

MMWP_LANGUAGES = (
    "af ar be bg bn ca cs da de en es eu fi fr gu ha hi hr hu hy id is it ja kn ko lb mk ml mr nb ne "
    "nl pl pt ro ru sk sl sr sv sw ta te th uk vi zh"
).split()
MGSM_LANGUAGES = "bn de en es fr ja ru sw te th zh".split()


def test_json_array_keeps_questions_verbatim(tmp_path):
    path = tmp_path / "test_sw.json"
    path.write_text(
        json.dumps([{"question": "  Swali  lenye nafasi ", "answer": "5 "}, {"question": "B", "answer": 2}])
    )
    items = read_items(path, format="json")
    assert [(i.index, i.question, i.answer) for i in items] == [
        (0, "  Swali  lenye nafasi ", "5 "),
        (1, "B", "2"),
    ]


def test_tsv_without_header_is_read_without_quoting(tmp_path):
    path = tmp_path / "mgsm_en.tsv"
    path.write_text('She said "buy 3" and "sell 2".\t1\nA "quoted\t2,125\n', encoding="utf-8")
    items = read_items(path, format="tsv", question_field=0, answer_field=1)
    assert [i.question for i in items] == ['She said "buy 3" and "sell 2".', 'A "quoted']
    assert parse_number(items[1].answer) == 2125


def test_jsonl_csv_and_answer_regex(tmp_path):
    jsonl = tmp_path / "x.jsonl"
    jsonl.write_text('{"q": "Q1", "sol": "steps... #### 72"}\n\n{"q": "Q2", "sol": "#### 1,000"}\n')
    items = read_items(
        jsonl, format="jsonl", question_field="q", answer_field="sol", answer_regex=r"#### (.+)$"
    )
    assert [i.answer for i in items] == ["72", "1,000"]
    csv_path = tmp_path / "x.csv"
    csv_path.write_text('question,answer\n"Q, with comma",3.5\n')
    assert read_items(csv_path, format="csv", header=True)[0].question == "Q, with comma"


@pytest.mark.parametrize(
    ("content", "kwargs", "message"),
    [
        ('[{"question": "Q"}]', {"format": "json"}, "record 0, field 'answer': missing field"),
        ('[{"question": "", "answer": "1"}]', {"format": "json"}, "record 0, field 'question': empty"),
        (
            '[{"question": "Q", "answer": "five"}]',
            {"format": "json"},
            "record 0, field 'answer': the answer 'five' is not a number",
        ),
        ('{"question": "Q", "answer": "1"}\n{bad', {"format": "jsonl"}, "line 2: not valid JSON"),
        (
            "Q\t1\nQ2\n",
            {"format": "tsv", "question_field": 0, "answer_field": 1},
            "line 2, field '1': no column 1",
        ),
        ("[]", {"format": "json"}, "no records"),
        ('{"a": 1}', {"format": "json"}, "expected a JSON array"),
    ],
)
def test_bad_records_name_file_location_and_field(tmp_path, content, kwargs, message):
    path = tmp_path / "data.txt"
    path.write_text(content)
    with pytest.raises(DataError) as err:
        read_items(path, **kwargs)
    assert str(path) in str(err.value) and message in str(err.value)


def test_missing_file_and_unknown_format(tmp_path):
    with pytest.raises(DataError, match="file not found"):
        read_items(tmp_path / "nope.json", format="json")
    (tmp_path / "x").write_text("[]")
    with pytest.raises(DataError, match="unknown format 'xml'"):
        read_items(tmp_path / "x", format="xml")


def test_all_48_mmwp_files_load_parallel(shared_data):
    answers = None
    for lang in MMWP_LANGUAGES:
        items = read_items(shared_data / "mmwp" / f"test_{lang}.json", format="json")
        assert len(items) == 811, lang
        gold = [parse_number(i.answer) for i in items]
        answers = answers or gold
        assert gold == answers, f"{lang} answers differ from the other languages'"
    assert parse_number("5 ") in answers and any(g != g.to_integral_value() for g in answers)


def test_all_mgsm_files_load(shared_data):
    english = None
    for lang in MGSM_LANGUAGES:
        items = read_items(
            shared_data / "mgsm" / f"mgsm_{lang}.tsv", format="tsv", question_field=0, answer_field=1
        )
        assert len(items) == 250, lang
        assert all('"' not in i.answer for i in items)
        gold = [parse_number(i.answer) for i in items]
        english = english or gold
        assert gold == english, lang
    # the four answers written with a thousands separator (lines 147, 202, 231 and 250 of each file)
    assert [english[i] for i in (146, 201, 230, 249)] == [2125, 114200, 276000, 5600]


# ---------------------------------------------------------------------------------------------------- choices, ids


def test_multiple_choice_records_gold_as_letter_index_or_text(tmp_path):
    path = tmp_path / "mc.jsonl"
    rows = [
        {"id": "a", "q": "Q1", "opts": ["red", "blue", "green"], "gold": "B"},
        {"id": "b", "q": "Q2", "opts": ["(A) one", "(B) two"], "gold": "(B) two"},  # SeaEval-style labels
        {"id": "c", "q": "Q3", "opts": ["x", "y", "z"], "gold": 2},
        {"id": "d", "q": "Q4", "opts": ["cat", "dog"], "gold": "dog", "ctx": "A passage."},
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    items = read_items(
        path,
        format="jsonl",
        question_field="q",
        answer_field="gold",
        answer_type="choice",
        choices_field="opts",
        id_field="id",
    )
    assert [(i.id, i.answer, i.choices) for i in items] == [
        ("a", "B", ("red", "blue", "green")),
        ("b", "B", ("one", "two")),
        ("c", "C", ("x", "y", "z")),
        ("d", "B", ("cat", "dog")),
    ]
    assert (
        read_items(path, format="jsonl", question_field="q", answer_type="none", id_field="id")[0].answer
        is None
    )


@pytest.mark.parametrize(
    ("row", "message"),
    [
        (
            {"q": "Q", "opts": ["a", "b"], "gold": "E"},
            "record 0, field 'gold': the answer 'E' is not one of the 2 options",
        ),
        ({"q": "Q", "opts": ["a"], "gold": "A"}, "field 'opts': expected a list of at least two"),
        ({"q": "Q", "opts": "a,b", "gold": "A"}, "field 'opts': expected a list"),
    ],
)
def test_bad_multiple_choice_records(tmp_path, row, message):
    path = tmp_path / "mc.json"
    path.write_text(json.dumps([row]))
    with pytest.raises(DataError, match=re.escape(message)):
        read_items(
            path,
            format="json",
            question_field="q",
            answer_field="gold",
            answer_type="choice",
            choices_field="opts",
        )


def test_repeated_ids_are_an_error(tmp_path):
    path = tmp_path / "i.json"
    path.write_text(json.dumps([{"id": 1, "instruction": "x"}, {"id": 1, "instruction": "y"}]))
    with pytest.raises(DataError, match="record 1: id '1' repeats item 0"):
        read_items(path, format="json", question_field="instruction", answer_type="none", id_field="id")


def test_seaeval_cross_files_load_parallel_in_all_seven_languages(shared_data):
    for name, size in (("cross_mmlu", 150), ("cross_logiqa", 176)):
        ids = None
        for code in ("en", "zh", "id", "vi", "es", "ms", "fil"):
            items = read_seaeval_cross(shared_data / "seaeval_cross" / f"{name}.json", code)
            assert len(items) == size and all(len(i.choices) == 4 and i.answer in "ABCD" for i in items)
            assert all(
                not c.startswith("(") or not c[1:2].isupper() or c[2:3] != ")"
                for i in items
                for c in i.choices
            )
            ids = ids or [i.id for i in items]
            assert [i.id for i in items] == ids
            assert (items[0].context is not None) == (name == "cross_logiqa")
    first = read_seaeval_cross(shared_data / "seaeval_cross" / "cross_mmlu.json", "Filipino")[0]
    assert (first.id, first.answer, first.choices[0]) == ("test_1", "A", "responsable")


def test_seaeval_cross_errors_name_the_record(tmp_path):
    path = tmp_path / "x.json"
    path.write_text(json.dumps([{"id": "t1", "English": {"question": "Q", "choices": ["(A) a", "(B) b"]}}]))
    with pytest.raises(DataError, match="record 0, field 'English.answer': missing field"):
        read_seaeval_cross(path, "en")
    with pytest.raises(DataError, match="record 0: no 'zh' entry"):
        read_seaeval_cross(path, "zh")


def test_nested_fields_fixed_options_math_answers_and_levels(tmp_path):
    path = tmp_path / "x.jsonl"
    rows = [
        {
            "question": {"stem": "Where?", "choices": {"text": ["home", "away"]}},
            "answerKey": "B",
            "d": "hard",
        },
        {"question": {"stem": "When?", "choices": {"text": ["now", "later"]}}, "answerKey": "A", "d": "easy"},
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    items = read_items(
        path,
        format="jsonl",
        question_field="question.stem",
        choices_field="question.choices.text",
        answer_field="answerKey",
        answer_type="choice",
        level_field="d",
        levels=["easy", "hard"],
    )
    assert [(i.question, i.choices, i.answer, i.level) for i in items] == [
        ("Where?", ("home", "away"), "B", "hard"),
        ("When?", ("now", "later"), "A", "easy"),
    ]
    with pytest.raises(
        DataError, match=r"line 1, field 'question.stem.text': missing field \(question.stem has"
    ):
        read_items(path, format="jsonl", question_field="question.stem.text", answer_field="answerKey")
    with pytest.raises(DataError, match="line 1, field 'd': level 'hard' is not one of dataset.levels"):
        read_items(path, format="jsonl", question_field="question.stem", answer_field="answerKey",
                   answer_type="choice", choices_field="question.choices.text", level_field="d", levels=["easy"])  # fmt: skip
    nli = tmp_path / "nli.jsonl"
    nli.write_text(json.dumps({"premise": "P", "hypothesis": "H", "label": 2}) + "\n")
    (item,) = read_items(
        nli,
        format="jsonl",
        question_field="hypothesis",
        context_field="premise",
        answer_field="label",
        answer_type="choice",
        choices=["entailment", "neutral", "contradiction"],
    )
    assert (item.context, item.question, item.answer, item.choices[2]) == ("P", "H", "C", "contradiction")
    latex = tmp_path / "l.jsonl"
    latex.write_text(json.dumps({"question": "Q", "answer": "\\frac{1}{2}"}) + "\n")
    assert read_items(latex, format="jsonl", answer_type="math")[0].answer == "\\frac{1}{2}"
    with pytest.raises(DataError, match="is not a number"):
        read_items(latex, format="jsonl")


def test_one_file_for_every_language_is_read_by_its_language_field(tmp_path):
    path = tmp_path / "all.jsonl"
    rows = [("en", "One?", 1), ("swa", "Moja?", 1), ("en", "Two?", 2), ("Swahili", "Mbili?", 2)]
    path.write_text("".join(json.dumps({"lang": lang, "q": q, "a": a}) + "\n" for lang, q, a in rows))
    read = functools.partial(read_items, path, format="jsonl", question_field="q", answer_field="a")
    sw = read(language="sw", language_field="lang")  # codes and names go through the language registry
    assert [(i.index, i.question, i.answer) for i in sw] == [(0, "Moja?", "1"), (1, "Mbili?", "2")]
    assert [i.question for i in read(language="en", language_field="lang")] == ["One?", "Two?"]
    assert len(read()) == 4  # without a language field: every record
    with pytest.raises(DataError, match="no records of language te"):
        read(language="te", language_field="lang")
    with pytest.raises(DataError, match="line 1, field 'language': missing field"):
        read(language="sw", language_field="language")
