"""Benchmark readers: formats, verbatim questions, located errors, and every MMWP and MGSM file."""

import json

import pytest

from crosslift.errors import DataError
from crosslift.eval.data import read_items
from crosslift.eval.extract import parse_number

MMWP_LANGUAGES = ("af ar be bg bn ca cs da de en es eu fi fr gu ha hi hr hu hy id is it ja kn ko lb mk ml mr nb ne "
                  "nl pl pt ro ru sk sl sr sv sw ta te th uk vi zh").split()  # fmt: skip
MGSM_LANGUAGES = "bn de en es fr ja ru sw te th zh".split()


def test_json_array_keeps_questions_verbatim(tmp_path):
    path = tmp_path / "test_sw.json"
    path.write_text(json.dumps([{"question": "  Swali  lenye nafasi ", "answer": "5 "}, {"question": "B", "answer": 2}]))
    items = read_items(path, format="json")
    assert [(i.index, i.question, i.answer) for i in items] == [(0, "  Swali  lenye nafasi ", "5 "), (1, "B", "2")]


def test_tsv_without_header_is_read_without_quoting(tmp_path):
    path = tmp_path / "mgsm_en.tsv"
    path.write_text('She said "buy 3" and "sell 2".\t1\nA "quoted\t2,125\n', encoding="utf-8")
    items = read_items(path, format="tsv", question_field=0, answer_field=1)
    assert [i.question for i in items] == ['She said "buy 3" and "sell 2".', 'A "quoted']
    assert parse_number(items[1].answer) == 2125


def test_jsonl_csv_and_answer_regex(tmp_path):
    jsonl = tmp_path / "x.jsonl"
    jsonl.write_text('{"q": "Q1", "sol": "steps... #### 72"}\n\n{"q": "Q2", "sol": "#### 1,000"}\n')
    items = read_items(jsonl, format="jsonl", question_field="q", answer_field="sol", answer_regex=r"#### (.+)$")
    assert [i.answer for i in items] == ["72", "1,000"]
    csv_path = tmp_path / "x.csv"
    csv_path.write_text('question,answer\n"Q, with comma",3.5\n')
    assert read_items(csv_path, format="csv", header=True)[0].question == "Q, with comma"


@pytest.mark.parametrize(
    ("content", "kwargs", "message"),
    [
        ('[{"question": "Q"}]', {"format": "json"}, "record 0, field 'answer': missing field"),
        ('[{"question": "", "answer": "1"}]', {"format": "json"}, "record 0, field 'question': empty"),
        ('[{"question": "Q", "answer": "five"}]', {"format": "json"}, "record 0, field 'answer': the answer 'five' is not a number"),
        ('{"question": "Q", "answer": "1"}\n{bad', {"format": "jsonl"}, "line 2: not valid JSON"),
        ("Q\t1\nQ2\n", {"format": "tsv", "question_field": 0, "answer_field": 1}, "line 2, field '1': no column 1"),
        ("[]", {"format": "json"}, "no records"),
        ('{"a": 1}', {"format": "json"}, "expected a JSON array"),
    ],
)  # fmt: skip
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
        items = read_items(shared_data / "mgsm" / f"mgsm_{lang}.tsv", format="tsv", question_field=0, answer_field=1)
        assert len(items) == 250, lang
        assert all('"' not in i.answer for i in items)
        gold = [parse_number(i.answer) for i in items]
        english = english or gold
        assert gold == english, lang
    # the four answers written with a thousands separator (lines 147, 202, 231 and 250 of each file)
    assert [english[i] for i in (146, 201, 230, 249)] == [2125, 114200, 276000, 5600]
