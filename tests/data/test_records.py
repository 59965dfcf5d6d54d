"""The one record reader: what training data and benchmarks both rely on (locations, BOM, wrappers, rows)."""

import json

import pytest

from crosslift.data.records import iter_records
from crosslift.errors import DataError


def test_locations_name_the_file_and_the_line_or_record(tmp_path):
    jsonl = tmp_path / "a.jsonl"
    jsonl.write_text('{"q": 1}\n\n{"q": 2}\n')
    assert [loc for loc, _ in iter_records(jsonl)] == [{"path": str(jsonl), "line": n} for n in (1, 3)]
    array = tmp_path / "a.json"
    array.write_text(json.dumps([{"q": 1}, {"q": 2}]))
    assert [loc for loc, _ in iter_records(array)] == [{"path": str(array), "record": i} for i in (0, 1)]


def test_a_byte_order_mark_is_stripped_in_every_text_format(tmp_path):
    files = {"b.jsonl": '{"q": "x"}\n', "b.json": '[{"q": "x"}]', "b.tsv": "q\nx\n", "b.csv": "q\nx\n"}
    for name, text in files.items():
        path = tmp_path / name
        path.write_text("\ufeff" + text, encoding="utf-8")
        assert [r for _, r in iter_records(path)] == [{"q": "x"}], name


@pytest.mark.parametrize("wrapped", [{"train": [{"q": 1}]}, {"data": [{"q": 1}], "version": "1.0"}])
def test_json_wrappers_around_the_array(tmp_path, wrapped):
    path = tmp_path / "w.json"
    path.write_text(json.dumps(wrapped))
    assert [r for _, r in iter_records(path)] == [{"q": 1}]


def test_headerless_rows_are_lists_or_named_by_columns(tmp_path):
    path = tmp_path / "m.tsv"
    path.write_text('Q "one"\t1\nQ2\n')
    assert [r for _, r in iter_records(path, header=False)] == [['Q "one"', "1"], ["Q2"]]
    with pytest.raises(DataError, match=r"m.tsv, line 2: expected 2 columns \(q, a\), got 1"):
        list(iter_records(path, columns=["q", "a"]))


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [("e.jsonl", "", "e.jsonl: file is empty"), ("e.json", "  \n", "e.json: file is empty"),
     ("e.json", "[]", "e.json: file holds no records"),
     ("e.csv", "a,b\n1,2,3\n", "e.csv, line 2: expected 2 columns")],
)  # fmt: skip
def test_empty_files_and_ragged_rows_are_errors(tmp_path, name, content, message):
    path = tmp_path / name
    path.write_text(content)
    with pytest.raises(DataError, match=message):
        list(iter_records(path))
