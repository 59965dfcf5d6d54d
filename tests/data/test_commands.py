import json

import pytest

from crosslift.data.commands import build, manifest_path, parse_command
from crosslift.errors import ConfigError


def test_a_command_line_mistake_is_a_config_error():
    with pytest.raises(ConfigError, match="crosslift data plug: the following arguments are required"):
        parse_command(["plug", "--out", "x.jsonl", "--target", "zh=zh.json"])
    with pytest.raises(ConfigError, match="invalid choice: 'nope'"):
        parse_command(["nope"])


def test_build_writes_the_examples_and_their_manifest(tmp_path):
    for lang, text in (("en", "Say hi."), ("zh", "打个招呼。")):
        (tmp_path / f"{lang}.json").write_text(json.dumps([{"id": "a", "instruction": text, "output": text}]))
    out = tmp_path / "plug.jsonl"
    manifest = build(
        parse_command(
            [
                "plug",
                "--pivot",
                f"en={tmp_path / 'en.json'}",
                "--target",
                f"zh={tmp_path / 'zh.json'}",
                "--out",
                str(out),
            ]
        )
    )
    assert json.loads(manifest_path(out).read_text()) == json.loads(json.dumps(manifest, default=str))
    assert (manifest["records"], manifest["items"], manifest["languages"]) == (1, 1, {"zh->zh": 1})
    assert json.loads(out.read_text())["id"] == "a-zh"


def test_only_commands_that_write_data_build(tmp_path):
    with pytest.raises(ConfigError, match="writes no data file"):
        build(parse_command(["validate", str(tmp_path / "x.jsonl")]))
