"""Language tables, tier-rule files and XQuAD files a user points crosslift at are decoded as strictly as data
files: a byte that is not UTF-8 is one clear error naming the file and line; a byte-order mark is dropped."""

from __future__ import annotations

import json

import pytest

from crosslift import languages
from crosslift.errors import DataError
from crosslift.eval.tasks.xquad_mc import read_xquad_mc

TABLE = "code\tiso639_1\tiso639_3\tname\tscript\taliases\tother_names\nqxa\t\tqxa\tSynthetic X-A\tLatn\t\t\n"


@pytest.fixture
def clean_registry(monkeypatch):
    monkeypatch.setenv(languages.LANGUAGES_ENV, "")
    monkeypatch.setattr(languages, "_registered_files", [])


def test_a_latin1_language_table_names_file_and_line(tmp_path, clean_registry):
    table = tmp_path / "langs.tsv"
    table.write_bytes(TABLE.replace("Synthetic X-A", "Synth\xe9tic").encode("latin-1"))
    with pytest.raises(DataError, match=r"langs\.tsv, line 2: not valid UTF-8 \(byte 0xe9"):
        languages.register_languages(table)


def test_a_language_table_with_a_bom_reads(tmp_path, clean_registry):
    table = tmp_path / "langs.tsv"
    table.write_bytes(b"\xef\xbb\xbf" + TABLE.encode())
    languages.register_languages(table)
    assert languages.get_language("qxa").name == "Synthetic X-A"


def test_a_latin1_tier_rule_names_file_and_line(tmp_path):
    rule = tmp_path / "tiers.tsv"
    rule.write_bytes("code\ttier\nqxa\tlow\n# r\xe9sum\xe9\n".encode("latin-1"))
    with pytest.raises(DataError, match=r"tiers\.tsv, line 3: not valid UTF-8"):
        languages.load_tier_rule(rule)


def test_a_latin1_xquad_file_names_file_and_line(tmp_path):
    article = {"data": [{"title": "T", "paragraphs": [{"context": "Caf\xe9 ctx", "qas": []}]}]}
    path = tmp_path / "xquad.de.json"
    path.write_bytes(json.dumps(article, ensure_ascii=False).encode("latin-1"))
    with pytest.raises(DataError, match=r"xquad\.de\.json, line 1: not valid UTF-8"):
        read_xquad_mc(path, reference=path)
