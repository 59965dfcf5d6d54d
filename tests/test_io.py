import json

import pytest

from crosslift.errors import DataError
from crosslift.io import (
    append_jsonl,
    atomic_write_json,
    read_jsonl_tolerant,
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
