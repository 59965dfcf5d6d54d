import json

from crosslift.data.options import ReadOptions
from crosslift.data.validate import validate_file


def test_every_problem_is_counted_and_the_first_ones_listed(tmp_path):
    p = tmp_path / "x.jsonl"
    records = [
        {"instruction": "a", "output": "b", "instruction_lang": "xx-nope"},
        {"instruction": "a"},
        {"id": "7", "instruction": "c", "output": "d"},
        {"id": "7", "instruction": "e", "output": "f"},
        {"instruction": "g", "output": "English response: h", "plug": {"lang": "zh", "pivot": "en"}},
    ]
    p.write_text("".join(json.dumps(r) + "\n" for r in records))
    report = validate_file(p, max_errors=2)
    assert (report["valid"], report["invalid"], report["duplicate_ids"]) == (2, 3, 1)
    plug_problem = "PLUG target does not extract (marker_missing) (output)"
    assert {"missing field (output)", plug_problem} < set(report["reasons"])
    assert any(r.startswith("unknown language code") for r in report["reasons"])
    assert len(report["problems"]) == 2
    assert f"{p}, line 2, field 'output': missing field" in report["problems"][1]
    assert report["languages"] == {"None->None": 2}


def test_unreadable_lines_are_problems_like_the_others(tmp_path):
    p = tmp_path / "x.jsonl"
    p.write_bytes(
        b'{"instruction": "a", "output": 1}\n{"instruction": "caf\xe9", "output": "b"}\n'
        b'{"instruction": "c", "output": NaN}\n{"instruction": "d", "output": "e"}\n'
    )
    report = validate_file(p)
    assert (report["valid"], report["invalid"]) == (1, 3)
    assert report["problems"] == [
        f"{p}, line 1, field 'output': expected a string, got int (numbers are read as text only with "
        "--coerce-types, or a source's coerce_types: true)",
        f"{p}, line 2: not valid UTF-8 (byte 0xe9 at column 21); re-save the file as UTF-8",
        f"{p}, line 3, field 'output': NaN is not a JSON value (write null, or the number as text)",
    ]
    report = validate_file(p, ReadOptions(coerce_types=True, limit=2))
    assert (report["valid"], report["invalid"], report["coerced"]) == (1, 1, {"output": 1})
    latin = validate_file(p, ReadOptions(encoding="latin-1", coerce_types=True))
    assert latin["invalid"] == 1  # only the NaN is left
