import json

import pytest

from crosslift.errors import DataError
from crosslift.io import (
    BAD_BYTE,
    append_jsonl,
    atomic_write_json,
    bad_byte_in,
    bad_byte_message,
    codec_name,
    read_jsonl_tolerant,
    read_text,
    sha256_path,
    truncate_torn_tail,
)


def test_atomic_write_leaves_no_temp_files(tmp_path):
    target = tmp_path / "sub" / "x.json"
    atomic_write_json(target, {"a": 1})
    atomic_write_json(target, {"a": 2})
    assert json.loads(target.read_text()) == {"a": 2}
    assert [p.name for p in target.parent.iterdir()] == ["x.json"]


def test_torn_tail_is_dropped_and_truncated(tmp_path):
    log = tmp_path / "items.jsonl"
    append_jsonl(log, {"i": 0})
    append_jsonl(log, {"i": 1})
    with open(log, "a") as f:
        f.write('{"i": 2, "tru')  # a kill in the middle of a write
    assert [r["i"] for r in read_jsonl_tolerant(log)] == [0, 1]
    assert truncate_torn_tail(log) is True
    append_jsonl(log, {"i": 2})
    assert [r["i"] for r in read_jsonl_tolerant(log)] == [0, 1, 2]
    assert truncate_torn_tail(log) is False


def test_damage_in_the_middle_raises(tmp_path):
    log = tmp_path / "items.jsonl"
    log.write_text('{"i": 0}\nnot json\n{"i": 2}\n')
    with pytest.raises(DataError, match="line 2"):
        read_jsonl_tolerant(log)


def test_hash_of_directory_depends_on_names_and_contents(tmp_path):
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "a.txt").write_text("x")
    h1 = sha256_path(tmp_path / "d")
    (tmp_path / "d" / "a.txt").write_text("y")
    assert sha256_path(tmp_path / "d") != h1


def test_atomic_files_get_normal_permissions(tmp_path):
    import os

    target = atomic_write_json(tmp_path / "x.json", {})
    umask = os.umask(0)
    os.umask(umask)
    assert target.stat().st_mode & 0o777 == 0o666 & ~umask


def test_read_text_names_the_line_and_column_of_a_bad_byte(tmp_path):
    path = tmp_path / "t.txt"
    path.write_bytes(b"\xef\xbb\xbfok\nna\xc3\xafve caf\xe9\n")  # a BOM, a UTF-8 "\u00ef", a Latin-1 "\u00e9"
    with pytest.raises(DataError, match=r"t.txt, line 2: not valid UTF-8 \(byte 0xe9 at column 10\); re-"):
        read_text(path)
    assert read_text(path, "latin-1").startswith("\u00ef\u00bb\u00bfok")  # Latin-1 has no BOM: text
    kept = read_text(path, keep_bad_bytes=True)
    assert kept.startswith("ok\n") and BAD_BYTE.search(kept)
    assert [bad_byte_in(line) for line in kept.split("\n")] == [
        None, "not valid UTF-8 (byte 0xe9 at column 10); re-save the file as UTF-8", None
    ]  # fmt: skip
    path.write_bytes(b"\xef\xbb\xbfbom\n")
    assert read_text(path) == "bom\n"


def test_codec_name_refuses_unknown_encodings():
    assert codec_name("latin-1") == "iso8859-1" and codec_name("UTF8") == "utf-8"
    with pytest.raises(ValueError, match="unknown encoding 'klingon'"):
        codec_name("klingon")
    assert bad_byte_message(0x81, 3, "cp1252").startswith("not valid cp1252 (byte 0x81 at column 3)")
