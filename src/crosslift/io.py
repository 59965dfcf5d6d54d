"""Small file utilities every layer needs: strict text reading, atomic writes, JSONL appends that survive a
kill, content hashes.

A result file is either the old version or the new one, never half of each: we write to a temporary file in
the same directory and `os.replace` it over the target (atomic on POSIX).

Every reader of a user's file (data, lexicons, configs, task files, exemplars) decodes it with `read_text`:
strictly, so a byte that is not UTF-8 (a Latin-1 "é" is 0xe9) is an error naming the file, the line and the
column, never a silent replacement character nor a bare `UnicodeDecodeError`; a byte-order mark is dropped.
"""

from __future__ import annotations

import codecs
import contextlib
import hashlib
import json
import os
import re
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml

from crosslift.errors import DataError

_UMASK = os.umask(0)
os.umask(_UMASK)


# A byte the codec could not decode, kept by `read_text(..., keep_bad_bytes=True)` as U+DC80..U+DCFF.
BAD_BYTE = re.compile("[\udc80-\udcff]")


def codec_name(encoding: str) -> str:
    """The canonical name of a text encoding ("latin-1" -> "iso8859-1").

    Raises:
        ValueError: an encoding Python does not know.
    """
    try:
        return codecs.lookup(encoding).name
    except LookupError:
        raise ValueError(f"unknown encoding '{encoding}' (e.g. utf-8, latin-1, cp1252)") from None


def bad_byte_message(byte: int, column: int, encoding: str = "utf-8") -> str:
    """What `read_text` says about a byte it cannot decode, at a 1-based character column of its line."""
    name = "UTF-8" if codec_name(encoding) == "utf-8" else encoding
    return f"not valid {name} (byte 0x{byte:02x} at column {column}); re-save the file as UTF-8"


def bad_byte_in(line: str, encoding: str = "utf-8") -> str | None:
    """The `bad_byte_message` of the first byte `read_text(..., keep_bad_bytes=True)` kept in `line`, or
    None."""
    m = BAD_BYTE.search(line)
    return None if m is None else bad_byte_message(ord(m.group()) - 0xDC00, m.start() + 1, encoding)


def read_text(path: str | Path, encoding: str = "utf-8", *, keep_bad_bytes: bool = False) -> str:
    """A text file's contents, decoded strictly; a leading byte-order mark is dropped.

    Args:
        encoding: the file's encoding (a user with Latin-1 files says so; nothing is guessed).
        keep_bad_bytes: keep undecodable bytes as U+DC80..U+DCFF (Python's "surrogateescape"), for readers
            that report them per line (`bad_byte_in`) and go on with the other lines.

    Raises:
        DataError: "FILE, line N: not valid UTF-8 (byte 0xe9 at column 31); re-save the file as UTF-8".
        ValueError: an unknown encoding.
    """
    data = Path(path).read_bytes()
    codec = encoding
    if codec_name(encoding) == "utf-8":  # not "utf-8-sig": its error offsets do not count the BOM it skipped
        codec, data = "utf-8", data.removeprefix(codecs.BOM_UTF8)
    try:
        return data.decode(codec).removeprefix("\ufeff")
    except UnicodeDecodeError as e:
        error = e
    if keep_bad_bytes:
        with contextlib.suppress(UnicodeDecodeError):  # "surrogateescape" keeps bytes >= 0x80 only (UTF-16)
            return data.decode(codec, errors="surrogateescape").removeprefix("\ufeff")
    line_start = data.rfind(b"\n", 0, error.start) + 1
    before = data[line_start : error.start].decode(codec, errors="replace")
    raise DataError(
        bad_byte_message(data[error.start], len(before) + 1, encoding),
        path=path,
        line=data.count(b"\n", 0, error.start) + 1,
    )


def atomic_write_text(path: str | Path, text: str) -> Path:
    """Write `text` to `path` atomically (temp file + fsync + rename); creates parent directories."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp creates 0600; results should be as readable as any new file
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def atomic_write_json(path: str | Path, obj: Any) -> Path:
    """Write `obj` as indented UTF-8 JSON, atomically."""
    return atomic_write_text(path, json.dumps(obj, indent=2, ensure_ascii=False, default=str) + "\n")


def atomic_write_yaml(path: str | Path, obj: Any) -> Path:
    """Write `obj` as block-style YAML (keys in insertion order), atomically."""
    return atomic_write_text(path, yaml.safe_dump(obj, sort_keys=False, allow_unicode=True))


def atomic_write_jsonl(path: str | Path, records: Iterable[dict[str, Any]]) -> Path:
    """Write records as JSON lines, atomically."""
    lines = (json.dumps(r, ensure_ascii=False, default=str) + "\n" for r in records)
    return atomic_write_text(path, "".join(lines))


def append_jsonl(path: str | Path, record: dict[str, Any]) -> None:
    """Append one record as a line and flush it to disk, so a kill loses at most the line being written.

    Readers of such files must tolerate a torn last line (see `read_jsonl_tolerant`).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a", encoding="utf-8") as f:
        f.write(json.dumps(record, ensure_ascii=False, default=str) + "\n")
        f.flush()
        os.fsync(f.fileno())


def read_jsonl_tolerant(path: str | Path) -> list[dict[str, Any]]:
    """Read an append-only JSONL log; a torn *last* line (the process was killed mid-write) is dropped.

    A bad line anywhere else means the file was damaged otherwise, and raises.
    """
    path = Path(path)
    if not path.exists():
        return []
    lines = path.read_text(encoding="utf-8").split("\n")
    records = []
    for i, line in enumerate(lines):
        if not line.strip():
            continue
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError:
            if i == len(lines) - 1 or all(not rest.strip() for rest in lines[i + 1 :]):
                break  # torn final write; the item will be redone
            raise DataError("not valid JSON (file damaged?)", path=path, line=i + 1) from None
    return records


def truncate_torn_tail(path: str | Path) -> bool:
    """Cut an append-only JSONL log back to its last complete line before appending to it again.

    Returns True when a torn tail (a line without its newline, left by a kill) was removed.
    """
    path = Path(path)
    if not path.exists():
        return False
    data = path.read_bytes()
    if not data or data.endswith(b"\n"):
        return False
    with open(path, "r+b") as f:
        f.truncate(data.rfind(b"\n") + 1)
    return True


def sha256_file(path: str | Path, chunk_size: int = 1 << 20) -> str:
    """Hex SHA-256 of a file's bytes."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(chunk_size):
            h.update(chunk)
    return h.hexdigest()


def sha256_path(path: str | Path) -> str:
    """Hex SHA-256 of a file, or of a directory's files (relative names and contents, in sorted order)."""
    path = Path(path)
    if path.is_file():
        return sha256_file(path)
    h = hashlib.sha256()
    for file in sorted(p for p in path.rglob("*") if p.is_file()):
        h.update(str(file.relative_to(path)).encode())
        h.update(sha256_file(file).encode())
    return h.hexdigest()


# Content hashes of data that is not a file: a Hugging Face hub dataset read from its cache is hashed by its records
# when it is loaded (crosslift.data.hub), and provenance (crosslift.runs.data_hashes) reports it under its id.
_DIGESTS: dict[str, list[str]] = {}


def remember_digest(name: str, digest: str) -> None:
    """Record the hash of data loaded under `name` (e.g. "hf:org/set") in this process."""
    known = _DIGESTS.setdefault(name, [])
    if digest not in known:
        known.append(digest)


def known_digest(name: str) -> str | None:
    """What `remember_digest` recorded under `name` ("; "-joined when several loads shared it), or None."""
    return "; ".join(_DIGESTS[name]) if name in _DIGESTS else None
