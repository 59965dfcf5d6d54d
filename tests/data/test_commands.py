import json
import re

import pytest

from crosslift.data.commands import build, manifest_path
from crosslift.data.specs import CodeswitchSpec, CrossinSpec, PlugSpec, ValidateSpec
from crosslift.errors import ConfigError


def test_build_writes_the_examples_and_their_manifest(tmp_path):
    for lang, text in (("en", "Say hi."), ("zh", "打个招呼。")):
        (tmp_path / f"{lang}.json").write_text(json.dumps([{"id": "a", "instruction": text, "output": text}]))
    out = tmp_path / "plug.jsonl"
    manifest = build(PlugSpec(pivot={"en": tmp_path / "en.json"}, target={"zh": tmp_path / "zh.json"}), out)
    assert json.loads(manifest_path(out).read_text()) == json.loads(json.dumps(manifest, default=str))
    assert (manifest["records"], manifest["items"], manifest["languages"]) == (1, 1, {"zh->zh": 1})
    assert json.loads(out.read_text())["id"] == "a-zh"


def test_only_commands_that_write_data_build(tmp_path):
    with pytest.raises(ConfigError, match="writes no data file"):
        build(ValidateSpec(path=tmp_path / "x.jsonl"), tmp_path / "report.json")


def test_crossin_plug_and_codeswitch_take_the_toy_set_instead_of_files(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "crossin.jsonl"
    spec = CrossinSpec(toy_items=8, targets=["zh", "es"], base_toy_items=5, size=6, seed=0)
    manifest = build(spec, out)
    assert manifest["modes"] == {"base": 5, "en2x": 6, "x2en": 6, "trans": 6}
    assert manifest["parallel_read"] == ["toy parallel set: 8 items, seed 0"]
    records = [json.loads(line) for line in out.read_text().splitlines()]
    base = {r["id"] for r in records if r["crossin"]["mode"] == "base"}
    assert base == {f"toy-1-{i}" for i in range(5)}  # drawn with the next seed: not the parallel items
    assert {r["output_lang"] for r in records if r["crossin"]["mode"] == "en2x"} <= {"zh", "es"}

    manifest = build(PlugSpec(toy_items=4, targets=["zh"]), tmp_path / "plug.jsonl")
    assert (manifest["records"], manifest["items"], manifest["languages"]) == (4, 4, {"zh->zh": 4})

    spec = CodeswitchSpec(toy_items=20, field="question", lexicon=["toy"], languages=["sw", "te"], seed=1)
    manifest = build(spec, tmp_path / "cs.jsonl")
    records = [json.loads(line) for line in (tmp_path / "cs.jsonl").read_text().splitlines()]
    assert manifest["records"] == 20 and "data" not in manifest  # nothing read from disk
    assert manifest["codeswitch"]["all"]["switched_words"] > 0
    assert all(r["answer"].endswith(".") and r["output_lang"] == "en" for r in records)


@pytest.mark.parametrize(
    ("spec", "values", "message"),
    [
        (CrossinSpec, {"toy_items": 4}, "--toy-items needs --targets"),
        (CrossinSpec, {"toy_items": 4, "targets": ["zh"], "parallel": {"en": "a"}}, "not both"),
        (CrossinSpec, {"base": ["b.jsonl"], "base_toy_items": 3}, "--base-toy-items, not both"),
        (PlugSpec, {"toy_items": 4}, "--toy-items needs --targets"),
        (PlugSpec, {"toy_items": 4, "targets": ["zh"], "target": {"zh": "z"}}, "one of them"),
        (
            CodeswitchSpec,
            {"field": "q", "lexicon": ["toy"], "languages": ["sw"]},
            "--input FILE) or --toy-items",
        ),
    ],
)
def test_the_toy_set_or_files_one_of_them(spec, values, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        spec(**values)
