"""The one record reader: what training data and benchmarks both rely on (locations, BOM, wrappers, rows)."""

import json

import pytest

from crosslift.data.options import ReadOptions
from crosslift.data.records import StrictJSON, iter_records, read_json_file
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
    (tmp_path / "b.txt").write_text("\ufeffx\n", encoding="utf-8")
    assert [r for _, r in iter_records(tmp_path / "b.txt")] == [{"text": "x"}]


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
        list(iter_records(path, ReadOptions(columns=["q", "a"])))


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("e.jsonl", "", "e.jsonl: file is empty"),
        ("e.json", "  \n", "e.json: file is empty"),
        ("e.json", "[]", "e.json: file holds no records"),
        ("e.csv", "a,b\n1,2,3\n", "e.csv, line 2: expected 2 columns"),
    ],
)
def test_empty_files_and_ragged_rows_are_errors(tmp_path, name, content, message):
    path = tmp_path / name
    path.write_text(content)
    with pytest.raises(DataError, match=message):
        list(iter_records(path))


def test_strict_json_refuses_what_python_json_accepts():
    decoder = StrictJSON()
    value = decoder.loads('{"a": [1, {"b": "\\ud83d\\ude00"}], "NaN": "NaN"}')
    assert value == {"a": [1, {"b": "\U0001f600"}], "NaN": "NaN"}  # a surrogate pair, and "NaN" as text
    for text, field, reason in [
        ('{"a": [1, {"b": NaN}]}', "a[1].b", "NaN is not a JSON value"),
        ('{"a": -Infinity}', "a", "-Infinity is not a JSON value"),
        ('{"a": {"b": 1, "b": 2}}', "a.b", "this key occurs more than once in its object"),
        ('{"a": ["x", "\\udfff"]}', "a[1]", "a lone surrogate \\udfff (character 1) is not Unicode text"),
    ]:
        with pytest.raises(DataError) as e:
            decoder.loads(text)
        assert (e.value.field, e.value.reason.startswith(reason)) == (field, True), text


def test_record_problems_go_to_on_error_and_reading_goes_on(tmp_path):
    path = tmp_path / "r.jsonl"
    path.write_bytes(b'{"q": 1}\n{"q": NaN}\n{"q": "\xff"}\nnot json\n{"q": 2, "q": 3}\n{"q": 4}\n')
    problems = []
    assert [r for _, r in iter_records(path, on_error=problems.append)] == [{"q": 1}, {"q": 4}]
    assert [(e.line, e.field) for e in problems] == [(2, "q"), (3, None), (4, None), (5, "q")]
    with pytest.raises(DataError, match="line 2, field 'q': NaN"):
        list(iter_records(path))
    array = tmp_path / "r.json"
    array.write_text('[{"q": 1}, {"q": Infinity}, {"q": 2}]')
    problems = []
    assert [loc["record"] for loc, _ in iter_records(array, on_error=problems.append)] == [0, 2]
    assert [(e.record, e.field) for e in problems] == [(1, "q")]
    table = tmp_path / "r.csv"
    table.write_bytes(b"q,a\n1,2\n3\n4,\xe9\n5,6\n")
    problems = []
    assert [r["q"] for _, r in iter_records(table, on_error=problems.append)] == ["1", "5"]
    assert [(e.line, e.reason[:15]) for e in problems] == [(3, "expected 2 colu"), (4, "not valid UTF-8")]


def test_read_json_file_is_as_strict_as_records(tmp_path):
    path = tmp_path / "d.json"
    path.write_bytes(b'\xef\xbb\xbf{"a": {"b": 1}}')
    assert read_json_file(path) == {"a": {"b": 1}}
    path.write_bytes(b'{"a": {"b": 1, "b": 2}}')
    with pytest.raises(DataError, match=r"d.json, field 'a.b': this key occurs more than once"):
        read_json_file(path)
    path.write_bytes(b'{"a":\n "\xe9"}')
    with pytest.raises(DataError, match=r"d.json, line 2: not valid UTF-8 \(byte 0xe9 at column 3\)"):
        read_json_file(path)
    assert read_json_file(path, "latin-1") == {"a": "\u00e9"}
