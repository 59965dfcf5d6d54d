import json
import textwrap

import pytest
import yaml

from crosslift.data.sources import DataSourceConfig, read_sources
from crosslift.data.specs import PlugSpec
from crosslift.errors import ConfigError, DataError
from crosslift.train import load_run_config


def test_reads_sources_in_order_with_origins(tmp_path):
    a, b = tmp_path / "a.jsonl", tmp_path / "b.tsv"
    a.write_text(json.dumps({"instruction": "i1", "output": "o1"}) + "\n")
    b.write_text('Say "hi"\t"hi"\nSay "yo"\tyo\n')  # MGSM-style: quotes are plain characters
    examples, origins, summaries = read_sources(
        [
            DataSourceConfig(path=str(a)),
            DataSourceConfig(path=str(b), columns=["instruction", "output"], quoting="none"),
        ]
    )
    assert [e.instruction for e in examples] == ["i1", 'Say "hi"', 'Say "yo"']
    assert examples[1].output == '"hi"'
    assert origins == [(str(a), 0), (str(b), 0), (str(b), 1)]
    assert len(summaries) == 2


@pytest.mark.slow
def test_missing_source_is_built_once_by_its_command(tmp_path, shared_data):
    out = tmp_path / "cs.jsonl"
    source = DataSourceConfig(
        path=str(out),
        build=[
            "codeswitch",
            "--input",
            str(shared_data / "gsm8k" / "train.jsonl"),
            "--field",
            "question",
            "--lexicon",
            str(shared_data / "muse_dictionaries" / "en-de.txt"),
            "--languages",
            "de",
            "--ratio",
            "0.5",
            "--seed",
            "1",
            "--limit",
            "5",
        ],
    )
    examples, _, _ = read_sources([source])
    assert len(examples) == 5 and out.exists()
    stamp = out.stat().st_mtime_ns
    read_sources([source])
    assert out.stat().st_mtime_ns == stamp  # an existing file is reused, not rebuilt


def test_failing_build_is_a_data_error(tmp_path):
    nope = str(tmp_path / "nope.jsonl")
    build = {"verb": "codeswitch", "input": nope, "field": "q", "lexicon": [nope], "languages": ["de"]}
    source = DataSourceConfig(path=str(tmp_path / "x.jsonl"), build=build)
    with pytest.raises(DataError, match="building this data source failed"):
        read_sources([source])


def test_a_hub_dataset_with_a_build_is_refused_before_anything_is_written(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    en, zh = _plug_files(tmp_path)
    config = _config(
        tmp_path, f"        verb: plug\n        pivot: {{en: {en}}}\n        target: {{zh: {zh}}}\n"
    )
    with pytest.raises(ConfigError, match=r"data\.train\.0.*hub dataset, which is read, not built"):
        load_run_config(config, ["data.train.0.path=hf:acme/mini_math"])
    assert not (tmp_path / "hf:acme").exists()
    _, cfg = load_run_config(config, ["data.train.0.path=hf:acme/mini_math", "data.train.0.build=null"])
    assert cfg.data.train[0].build is None


def _plug_files(tmp_path):
    """An English and a Chinese file of one item each: the inputs of a small `plug` build."""
    for lang, text in (("en", "Say hi."), ("zh", "打个招呼。")):
        (tmp_path / f"{lang}.json").write_text(json.dumps([{"id": "a", "instruction": text, "output": text}]))
    return tmp_path / "en.json", tmp_path / "zh.json"


def _config(tmp_path, build: str):
    config = tmp_path / "c.yaml"
    config.write_text(
        f"recipe: sft\nname: c\noutput_dir: {tmp_path / 'run'}\nmodel: {{name_or_path: tiny:llama}}\n"
        f"data:\n  train:\n    - path: {tmp_path / 'plug.jsonl'}\n      build:\n{build}",
        encoding="utf-8",
    )
    return config


def test_a_build_mapping_in_a_training_config_builds_its_data(tmp_path, capsys):
    en, zh = _plug_files(tmp_path)
    config = _config(
        tmp_path, f"        verb: plug\n        pivot: {{en: {en}}}\n        target: {{zh: {zh}}}\n"
    )
    _, cfg = load_run_config(config)
    assert cfg.data.train[0].build == PlugSpec(pivot={"en": en}, target={"zh": zh})
    examples, _, _ = read_sources(cfg.data.train)
    assert [e.id for e in examples] == ["a-zh"] and (tmp_path / "plug.jsonl").exists()
    assert "old form" not in capsys.readouterr().err


def test_the_old_command_line_form_still_builds_and_says_what_to_write(tmp_path, capsys):
    en, zh = _plug_files(tmp_path)
    config = _config(
        tmp_path, f"        [plug, --pivot, en={en}, --target, zh={zh}, --no-pivot-instruction]\n"
    )
    _, cfg = load_run_config(config)
    expected = PlugSpec(pivot={"en": en}, target={"zh": zh}, pivot_instruction=False)
    assert cfg.data.train[0].build.model_dump() == expected.model_dump()
    examples, _, _ = read_sources(cfg.data.train)
    assert [e.id for e in examples] == ["a-zh"] and "English instruction" not in examples[0].output
    err = capsys.readouterr().err
    assert err.count("old form") == 1 and str(tmp_path / "plug.jsonl") in err
    mapping = err.split("write it so:\n")[1].split("data: building")[0]
    written = yaml.safe_load(textwrap.dedent(mapping))["build"]
    assert written == {
        "verb": "plug",
        "pivot": {"en": str(en)},
        "target": {"zh": str(zh)},
        "pivot_instruction": False,
    }


@pytest.mark.parametrize(
    ("build", "line", "message"),
    [
        (
            "        verb: plug\n        target: {zh: b.json}\n        pivott: {en: a.json}\n",
            11,
            "unknown key 'data.train.0.build.pivott' (did you mean 'data.train.0.build.pivot'?)",
        ),
        ("        verb: crossin\n        size: many\n", 10, "key 'data.train.0.build.size': got 'many'"),
        (
            "        verb: crossin\n        base_options: {limit: 0}\n",
            10,
            "key 'data.train.0.build.base_options.limit': got 0; expected: Input should be greater than 0",
        ),
        (
            "        verb: plug\n        target: {zh: b.json}\n",
            8,
            "; expected: the files need --pivot too",
        ),
        ("        verb: mix\n        size: 3\n", 8, "missing required key 'data.train.0.build.source'"),
        ("        verb: nope\n", 8, "key 'data.train.0.build': got {'verb': 'nope'}"),
        (
            "        [plug, --target, zh=b.json]\n",
            8,
            "key 'data.train.0.build': got ['plug', '--target', 'zh=b.json']; expected: crosslift data plug: the "
            "files need --pivot too",
        ),
    ],
)
def test_a_bad_build_names_the_file_line_and_key(tmp_path, build, line, message):
    config = _config(tmp_path, build)
    with pytest.raises(ConfigError) as e:
        load_run_config(config)
    assert f"{config}, line {line}" in str(e.value) and message in str(e.value)
