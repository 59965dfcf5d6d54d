import pytest

from crosslift.data.options import ReadOptions
from crosslift.data.specs import (
    BUILD_SPECS,
    CodeswitchSpec,
    CrossinSpec,
    MixSpec,
    command_line_flags,
    spec_from_argv,
)
from crosslift.errors import ConfigError


def test_a_command_line_mistake_is_a_config_error():
    with pytest.raises(
        ConfigError,
        match="crosslift data codeswitch: the following arguments are required: --field, --lexicon",
    ):
        spec_from_argv(["codeswitch", "--input", "en.jsonl"])
    with pytest.raises(ConfigError, match="crosslift data plug: the files need --pivot too"):
        spec_from_argv(["plug", "--target", "zh=zh.json"])
    with pytest.raises(ConfigError, match="invalid choice: 'nope'"):
        spec_from_argv(["nope"])
    with pytest.raises(ConfigError, match="crosslift data mix: unrecognized arguments: --out"):
        spec_from_argv(["mix", "--source", "a.jsonl", "--size", "3", "--out", "x.jsonl"])
    with pytest.raises(ConfigError, match="crosslift data mix: argument --size: expected one argument"):
        spec_from_argv(["mix", "--source", "a.jsonl", "--size"])
    with pytest.raises(
        ConfigError, match=r"argument --parallel: got \['en'\]; expected: LANG=FILE \(got 'en'\)"
    ):
        spec_from_argv(["crossin", "--parallel", "en"])


def test_a_command_line_and_a_mapping_give_the_same_spec():
    argv = [
        "crossin",
        "--parallel",
        "en=en.tsv",
        "--parallel=zh=zh.tsv",
        "--columns",
        "instruction,output",
        "--base",
        "gsm8k.jsonl",
        "--base-fields",
        "instruction=question,output=answer",
        "--base-limit",
        "256",
        "--modes",
        "0-1-3",
        "--size",
        "128",
    ]
    mapping = CrossinSpec(
        parallel={"en": "en.tsv", "zh": "zh.tsv"},
        columns=["instruction", "output"],
        base=["gsm8k.jsonl"],
        base_options=ReadOptions(fields={"instruction": "question", "output": "answer"}, limit=256),
        modes=["base", "en2x", "trans"],
        size=128,
    )
    spec = spec_from_argv(argv)
    assert spec.model_dump() == mapping.model_dump() and spec.argv == argv and mapping.argv is None
    switches = spec_from_argv(
        [
            "codeswitch",
            "--input",
            "a",
            "--field",
            "q",
            "--lexicon",
            "l",
            "--languages",
            "sw,de",
            "--no-protect-names",
            "--download",
            "--weights",
            "sw=3,de=1",
        ]
    )
    assert (switches.protect_names, switches.download, switches.languages, switches.weights) == (
        False,
        True,
        ["sw", "de"],
        {"sw": 3.0, "de": 1.0},
    )
    mix = spec_from_argv(["mix", "--source", "a.jsonl:2", "--source", "b:c.jsonl", "--size", "4"])
    assert mix.source == {"a.jsonl": 2.0, "b:c.jsonl": 1.0}


def test_every_field_has_one_option():
    for spec in (*BUILD_SPECS.values(),):
        flags = command_line_flags(spec)
        names = [f.name for f in flags]
        assert len(names) == len(set(names)), spec
        assert {f.keys[0] for f in flags} == set(spec.model_fields) - {"verb"}, spec
    assert [f.name for f in command_line_flags(CodeswitchSpec)][:2] == ["--input", "--field"]
    assert "--no-protect-names" in [f.name for f in command_line_flags(CodeswitchSpec)]
    assert {f.name: f.takes for f in command_line_flags(MixSpec)}["--source"] == "repeated"
