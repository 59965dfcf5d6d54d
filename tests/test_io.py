import errno
import json
import os
import shutil
import tempfile
import threading
from types import SimpleNamespace

import pytest

from crosslift.errors import DataError
from crosslift.io import (
    BAD_BYTE,
    DiskError,
    append_jsonl,
    atomic_folder,
    atomic_output,
    atomic_write_json,
    atomic_write_text,
    bad_byte_in,
    bad_byte_message,
    check_writable,
    codec_name,
    disk_error,
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


def test_writers_of_one_file_at_once_each_rename_a_file_of_their_own(tmp_path):
    """Two processes of a sharded evaluation wrote one plot through the same temporary name: the second rename
    found it gone (issue 21). A barrier holds both writers until both have written, so their writes overlap."""
    target = tmp_path / "accuracy_by_language.png"
    both_written = threading.Barrier(2)
    failed = []

    def write(content: bytes) -> None:
        try:
            with atomic_output(target) as tmp:
                assert (
                    tmp.suffix == ".png"
                )  # a writer that goes by the suffix (savefig) writes the target's format
                tmp.write_bytes(content)
                both_written.wait(timeout=10)
        except Exception as e:
            failed.append(e)

    writers = [threading.Thread(target=write, args=(content,)) for content in (b"rank 0", b"rank 1")]
    for writer in writers:
        writer.start()
    for writer in writers:
        writer.join()
    assert failed == []
    assert target.read_bytes() in (b"rank 0", b"rank 1")
    assert [p.name for p in tmp_path.iterdir()] == [target.name]


def test_a_failed_write_leaves_the_old_file_and_no_temporary_one(tmp_path):
    target = atomic_write_text(tmp_path / "report.md", "old")
    with pytest.raises(RuntimeError), atomic_output(target) as tmp:
        tmp.write_text("half")
        raise RuntimeError("the plot failed")
    folder = tmp_path / "model"
    with pytest.raises(RuntimeError), atomic_folder(folder) as tmp:
        (tmp / "weights").write_text("half")
        raise RuntimeError("the save failed")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["report.md"]
    with atomic_folder(folder) as tmp:
        (tmp / "weights").write_text("new")
    assert [p.name for p in folder.iterdir()] == ["weights"] and oct(folder.stat().st_mode & 0o777) != "0o700"


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
        None,
        "not valid UTF-8 (byte 0xe9 at column 10); re-save the file as UTF-8",
        None,
    ]
    path.write_bytes(b"\xef\xbb\xbfbom\n")
    assert read_text(path) == "bom\n"


def test_codec_name_refuses_unknown_encodings():
    assert codec_name("latin-1") == "iso8859-1" and codec_name("UTF8") == "utf-8"
    with pytest.raises(ValueError, match="unknown encoding 'klingon'"):
        codec_name("klingon")
    assert bad_byte_message(0x81, 3, "cp1252").startswith("not valid cp1252 (byte 0x81 at column 3)")


# ---------------------------------------------------------------------------------------------- disk faults


def fail_with(monkeypatch, number: int, name: str = "fsync") -> None:
    """`os.<name>` fails with errno `number` (io's writers sync what they write; mkstemp creates the file)."""

    def fail(*args, **kwargs):
        raise OSError(number, os.strerror(number))

    monkeypatch.setattr(os if name == "fsync" else tempfile, name, fail)


def test_a_full_disk_keeps_the_old_file_and_leaves_no_temp_file(tmp_path, monkeypatch):
    target = atomic_write_json(tmp_path / "summary.json", {"old": True})
    fail_with(monkeypatch, errno.ENOSPC)
    with pytest.raises(DiskError) as e:
        atomic_write_json(target, {"new": True})
    assert str(e.value).startswith(f"{target}: the disk is full (")
    assert str(e.value).endswith(
        "free some space or write the output to another disk, then rerun the same command"
    )
    assert e.value.errno == errno.ENOSPC and e.value.path == target
    assert isinstance(e.value.__cause__, OSError)  # the original, for a debugger
    assert json.loads(target.read_text()) == {"old": True}
    assert [p.name for p in tmp_path.iterdir()] == ["summary.json"]


def test_an_append_on_a_full_disk_names_the_log(tmp_path, monkeypatch):
    log = tmp_path / "items.jsonl"
    append_jsonl(log, {"i": 0})
    fail_with(monkeypatch, errno.ENOSPC)
    with pytest.raises(DiskError, match=f"^{log}: the disk is full"):
        append_jsonl(log, {"i": 1})


@pytest.mark.parametrize(
    ("number", "expected"),
    [
        (errno.EROFS, "the file system is read-only; write the output to a folder on a writable disk"),
        (errno.EACCES, "permission denied; give this user access to it, or use another folder"),
        (errno.EDQUOT, "the disk quota is used up ("),
        (
            errno.EFBIG,
            "the file is larger than the file system or the file-size limit (ulimit -f) allows; raise",
        ),
    ],
)
def test_a_writer_names_the_target_and_what_to_do(tmp_path, monkeypatch, number, expected):
    fail_with(monkeypatch, number, "mkstemp")
    with pytest.raises(DiskError) as e:
        atomic_write_text(tmp_path / "report.md", "x")
    assert str(e.value).startswith(f"{tmp_path / 'report.md'}: {expected}")


def test_other_errors_are_not_disk_errors(tmp_path, monkeypatch):
    fail_with(monkeypatch, errno.EIO)
    with pytest.raises(OSError) as e:
        atomic_write_text(tmp_path / "x.txt", "x")
    assert not isinstance(e.value, DiskError) and disk_error(e.value) is None
    assert disk_error(ValueError("no")) is None
    assert disk_error(RuntimeError("PytorchStreamReader failed reading zip archive")) is None  # a read


def test_torch_and_safetensors_write_failures(tmp_path, monkeypatch):
    """torch.save does not say why a write failed: with little space left it is a full disk, else the message
    says what to check; safetensors passes the OS error number on."""
    from safetensors import SafetensorError

    cut = RuntimeError("[enforce fail at inline_container.cc:672] . unexpected pos 576 vs 534")
    error = disk_error(cut, tmp_path / "checkpoint-4")
    assert str(error).startswith(f"{tmp_path / 'checkpoint-4'}: could not write it with ")
    assert "(ulimit -f)" in str(error) and error.errno is None
    monkeypatch.setattr(shutil, "disk_usage", lambda path: SimpleNamespace(free=10**6))
    assert str(disk_error(cut, tmp_path)).startswith(f"{tmp_path}: the disk is full (1.0 MB free); free some")
    written = SafetensorError("Error while serializing: I/O error: No space left on device (os error 28)")
    assert disk_error(written, tmp_path).errno == errno.ENOSPC


def test_check_writable(tmp_path, monkeypatch):
    assert check_writable(tmp_path / "new" / "run") == tmp_path / "new" / "run"
    assert list(tmp_path.iterdir()) == []  # nothing created, the probe removed
    (tmp_path / "file").write_text("")
    with pytest.raises(DiskError, match=f"^{tmp_path / 'file'}: a part of this path is a file, not a folder"):
        check_writable(tmp_path / "file" / "run")
    fail_with(monkeypatch, errno.EROFS, "mkstemp")
    with pytest.raises(DiskError, match=f"^{tmp_path}: the file system is read-only"):
        check_writable(tmp_path / "new")  # the folder it would be created in is named
    monkeypatch.undo()
    fail_with(monkeypatch, errno.ENOSPC)  # the probe's sync: a full disk is found before the work too
    with pytest.raises(DiskError, match=f"^{tmp_path}: the disk is full"):
        check_writable(tmp_path)
    assert [p.name for p in tmp_path.iterdir()] == ["file"]
