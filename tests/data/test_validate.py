import json

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
