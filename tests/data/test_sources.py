import json

import pytest

from crosslift.config import DataSourceConfig
from crosslift.data.sources import read_sources
from crosslift.errors import DataError


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
    source = DataSourceConfig(
        path=str(tmp_path / "x.jsonl"), build=["codeswitch", "--input", str(tmp_path / "nope.jsonl")]
    )
    with pytest.raises(DataError, match="building this data source failed"):
        read_sources([source])
