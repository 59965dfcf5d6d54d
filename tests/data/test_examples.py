import json

import pytest

from crosslift.data.examples import read_examples
from crosslift.errors import DataError


def write_jsonl(path, records):
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


def test_reads_alpaca_jsonl_and_json_array(tmp_path):
    recs = [{"instruction": "Add 2 and 3.", "input": "", "output": "5"}, {"instruction": "Hi", "output": "Hello"}]
    exs, report = read_examples(write_jsonl(tmp_path / "a.jsonl", recs))
    assert [e.output for e in exs] == ["5", "Hello"] and exs[1].input == ""
    (tmp_path / "a.json").write_text(json.dumps(recs))
    exs2, _ = read_examples(tmp_path / "a.json")
    assert [e.instruction for e in exs2] == ["Add 2 and 3.", "Hi"]
    assert report.summary().endswith("2 records")


def test_field_mapping_keeps_other_fields_in_meta(tmp_path):
    p = write_jsonl(tmp_path / "g.jsonl", [{"question": "q?", "answer": "#### 4", "level": 2}])
    (ex,), _ = read_examples(p, fields={"instruction": "question", "output": "answer"})
    assert (ex.instruction, ex.output, ex.meta) == ("q?", "#### 4", {"level": 2})


@pytest.mark.parametrize(
    "content, expected",
    [
        ("", "file is empty"),
        ('{"instruction": "a", "output": "b"}\n{"instruction": "a", "output": \n', r"line 2: not valid JSON"),
        ('{"instruction": "a", "output": "b"}\n{"instruction": "a"}\n', r"line 2, field 'output': missing field"),
        ('{"instruction": ["a"], "output": "b"}\n', r"line 1, field 'instruction': expected a string, got list"),
        ('{"instruction": "a", "output": "  "}\n', r"line 1, field 'output': empty value"),
        ('["a"]\n', r"line 1: expected an object"),
    ],
)
def test_bad_jsonl_errors_name_file_line_field(tmp_path, content, expected):
    p = tmp_path / "bad.jsonl"
    p.write_text(content)
    with pytest.raises(DataError, match=expected) as e:
        read_examples(p)
    assert str(p) in str(e.value)


def test_json_array_errors_name_the_record(tmp_path):
    p = tmp_path / "bad.json"
    p.write_text(json.dumps([{"instruction": "a", "output": "b"}, {"instruction": "c"}]))
    with pytest.raises(DataError, match=r"record 1, field 'output': missing field"):
        read_examples(p)


def test_missing_file(tmp_path):
    with pytest.raises(DataError, match="file not found"):
        read_examples(tmp_path / "nope.jsonl")


def test_skip_invalid_counts_reasons(tmp_path):
    p = write_jsonl(tmp_path / "m.jsonl", [{"instruction": "a", "output": "b"}, {"instruction": "c"}, {"output": "x"}])
    exs, report = read_examples(p, skip_invalid=True)
    assert len(exs) == 1
    assert report.skipped == {"missing field (output)": 1, "missing field (instruction)": 1}
    assert "skipped 2" in report.summary()
