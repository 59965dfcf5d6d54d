"""Small file utilities every layer needs: atomic writes, JSONL appends that survive a kill, content hashes.

A result file is either the old version or the new one, never half of each: we write to a temporary file in
the same directory and `os.replace` it over the target (atomic on POSIX).
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml

_UMASK = os.umask(0)
os.umask(_UMASK)


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
            from crosslift.errors import DataError

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
