"""Small file utilities every layer needs: strict text reading, atomic writes, JSONL appends that survive a
kill, content hashes.

A result file is either the old version or the new one, never half of each: we write to a temporary file of our
own (a name unique to the writer) in the same directory and `os.replace` it over the target (atomic on POSIX).

Every reader of a user's file (data, lexicons, configs, task files, exemplars) decodes it with `read_text`:
strictly, so a byte that is not UTF-8 (a Latin-1 "é" is 0xe9) is an error naming the file, the line and the
column, never a silent replacement character nor a bare `UnicodeDecodeError`; a byte-order mark is dropped.

A write the disk refuses (read-only, full, over quota, no permission) is a `DiskError` naming the file and
what to do; `check_writable` finds that out before a command starts its work.
"""

from __future__ import annotations

import codecs
import contextlib
import errno
import hashlib
import json
import os
import re
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import yaml

from crosslift.errors import CrossliftError, DataError

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


class DiskError(CrossliftError):
    """An output could not be written because of the disk or its permissions, not because of a bug.

    Attributes:
        path: the file or folder that could not be written (None when nothing named it).
        errno: the OS error number, or None when the writer did not say (PyTorch's does not).
    """

    def __init__(self, message: str, *, path: str | Path | None = None, errno: int | None = None) -> None:
        self.path, self.errno = path, errno
        super().__init__(message)


_ELSEWHERE = "or write the output to another disk, then rerun the same command"
# errno -> (what happened, what to do about it)
_DISK_FAULTS = {
    errno.EROFS: ("the file system is read-only", "write the output to a folder on a writable disk"),
    errno.ENOSPC: ("the disk is full", f"free some space {_ELSEWHERE}"),
    errno.EDQUOT: ("the disk quota is used up", f"free some space {_ELSEWHERE}"),
    errno.EFBIG: (
        "the file is larger than the file system or the file-size limit (ulimit -f) allows",
        f"raise the limit {_ELSEWHERE}",
    ),
    errno.EACCES: ("permission denied", "give this user access to it, or use another folder"),
    errno.EPERM: ("operation not permitted", "give this user access to it, or use another folder"),
    errno.ENOTDIR: ("a part of this path is a file, not a folder", "choose another output path"),
    errno.EISDIR: ("this is a folder where a file was expected", "name a file"),
}
# Below this much free space, a write that failed without saying why (torch.save's) is put down to a full
# disk.
_NEARLY_FULL_BYTES = 256 << 20


def _size(n: int) -> str:
    return f"{n / 1e9:.1f} GB" if n >= 1e9 else f"{n / 1e6:.1f} MB"


def _free_bytes(path: Path) -> int | None:
    """Free space on the disk that holds `path` (or its nearest existing folder)."""
    for folder in (path, *path.parents):
        try:
            return shutil.disk_usage(folder).free
        except OSError:
            continue
    return None


def _error_number(error: BaseException) -> int | None:
    """The errno of a failed write: an OSError's own, or the "(os error N)" of safetensors' message."""
    if isinstance(error, OSError):
        return error.errno
    if type(error).__name__ == "SafetensorError" and (m := re.search(r"\(os error (\d+)\)", str(error))):
        return int(m.group(1))
    return None


def _is_torch_write_failure(error: BaseException) -> bool:
    # torch.save says only that its zip writer failed, e.g. "[enforce fail at inline_container.cc:672] .
    # unexpected pos 576 vs 534" (its readers' errors say PytorchStreamReader)
    text = str(error)
    return isinstance(error, RuntimeError) and (
        "PytorchStreamWriter" in text or ("inline_container.cc" in text and "unexpected pos" in text)
    )


def disk_error(error: BaseException, path: str | Path | None = None) -> DiskError | None:
    """The `DiskError` for a write that failed because of the disk, or None when `error` is something else.

    Recognises an OSError with errno EROFS, ENOSPC, EDQUOT, EFBIG, EACCES, EPERM, ENOTDIR or EISDIR, a
    safetensors error that carries one, and torch.save's failed writes, which carry none: with little free
    space left they are put down to a full disk.

    Args:
        path: the file or folder being written; default: the file the OSError names.
    """
    number = _error_number(error)
    torch_write = number is None and _is_torch_write_failure(error)
    if number not in _DISK_FAULTS and not torch_write:
        return None
    path = path if path is not None else getattr(error, "filename", None)
    where = f"{path}: " if path is not None else ""
    full = number in (None, errno.ENOSPC, errno.EDQUOT)
    free = _free_bytes(Path(path).absolute()) if full and path is not None else None
    if torch_write:
        if free is None or free >= _NEARLY_FULL_BYTES:
            space = f" with {_size(free)} free" if free is not None else ""
            message = (
                f"{where}could not write it{space} ({str(error).strip()}); check the disk and the "
                "file-size limit (ulimit -f), then rerun the same command"
            )
            return DiskError(message, path=path)
        number = errno.ENOSPC
    reason, remedy = _DISK_FAULTS[number]
    if free is not None:
        reason += f" ({_size(free)} free)"
    return DiskError(f"{where}{reason}; {remedy}", path=path, errno=number)


@contextlib.contextmanager
def disk_errors(path: str | Path) -> Iterator[None]:
    """Inside the block, an error the disk caused (`disk_error`) is raised as a `DiskError` naming `path`."""
    try:
        yield
    except Exception as e:
        if (error := disk_error(e, path)) is None:
            raise
        raise error from e


def check_writable(folder: str | Path) -> Path:
    """Make sure files can be written in `folder`, or in the folder it would be created in, before a command
    starts work whose results it could not keep.

    A small file is written, synced and removed: only a real write also finds a full disk, and a read-only
    mount for root, whom permissions do not stop.

    Returns:
        `folder`, as a Path.

    Raises:
        DiskError: the folder, or the nearest one that exists, cannot be written.
    """
    folder = Path(folder)
    existing = folder.absolute()
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    with disk_errors(existing):
        if not existing.is_dir():
            raise NotADirectoryError(errno.ENOTDIR, os.strerror(errno.ENOTDIR))
        fd, probe = tempfile.mkstemp(dir=existing, prefix=".crosslift-write-check-")
        try:
            os.write(fd, bytes(4096))
            os.fsync(fd)
        finally:
            os.close(fd)
            os.unlink(probe)
    return folder


@contextlib.contextmanager
def atomic_output(path: str | Path) -> Iterator[Path]:
    """A temporary file beside `path` for the block to write, renamed over `path` when the block ends (removed
    when it raises); creates parent directories. For writers that take a file name (matplotlib's `savefig`).

    The temporary file's name is unique to the call (``.NAME.<random>.tmp.SUFFIX``: the target's suffix last, for
    writers that choose a format by it), so processes writing one target at once each rename a file of their own:
    the target is one of their complete files, never a failed rename of a name another process took first.

    Raises:
        DiskError: the disk refused the file (`disk_error`), also when the block's own write failed for that.
    """
    path = Path(path)
    with disk_errors(path):
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=f".tmp{path.suffix}")
        os.close(fd)
        try:
            yield Path(tmp)
            os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp creates 0600; results are as readable as any new file
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise


@contextlib.contextmanager
def atomic_folder(path: str | Path) -> Iterator[Path]:
    """A temporary folder beside `path` for the block to fill, put in place of `path` (replacing an earlier one)
    when the block ends, removed when it raises. Its name is unique to the call (``.NAME.<random>.tmp``), like
    `atomic_output`'s; one a kill left behind is the run folder's to remove (`crosslift.runs.RunDir.prepare`)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp"))
    try:
        yield tmp
        tmp.chmod(0o777 & ~_UMASK)  # mkdtemp makes it private; the result is an ordinary folder
        if path.exists():
            shutil.rmtree(path)
        tmp.rename(path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def atomic_write_text(path: str | Path, text: str) -> Path:
    """Write `text` to `path` atomically (temp file + fsync + rename, `atomic_output`); creates parent
    directories."""
    with atomic_output(path) as tmp, open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    return Path(path)


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
    line = json.dumps(record, ensure_ascii=False, default=str) + "\n"
    with disk_errors(path):  # the part of the line that reached a full disk is a torn tail, cut on resume
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "a", encoding="utf-8") as f:
            f.write(line)
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
