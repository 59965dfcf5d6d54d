import json

import pytest

from crosslift.data.commands import build, manifest_path
from crosslift.data.specs import PlugSpec, ValidateSpec
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
