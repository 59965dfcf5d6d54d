"""The one reader of record files: training data (`crosslift.data.examples`) and benchmarks
(`crosslift.eval.tasks.data`) read through it, so a file reads the same wherever it is used.

Formats (`format=`; "auto" picks by extension, a directory is a saved `datasets` dataset, ``hf:`` a hub
dataset):

    json      a JSON array of records, or one wrapped as {"train": [...]} (one key) or {"data": [...]}   .json
    jsonl     one JSON record per line                                           .jsonl .ndjson
    csv       comma-separated, first row is the header; RFC-4180 quoting       .csv
    tsv       tab-separated, first row is the header; NO quoting by default     .tsv .tab
    parquet   a parquet file (via pyarrow)                                       .parquet
    arrow     an Arrow IPC stream or file (what `datasets` caches)               .arrow .feather
    hf-disk   a directory written by `save_to_disk` (a DatasetDict: `split=`)   directory
    hf        a Hugging Face hub dataset, `subset=`, `split=` (default train),   hf:ORG/NAME
              `revision=`, through `datasets.load_dataset` (cache and offline rules: `crosslift.data.hub`)
    txt       one text per line, as {"text": line} (parallel sentence files)    .txt

Quoting rules for CSV/TSV: `quoting="none"` splits every line on the delimiter and keeps `"` as an ordinary
character (MGSM-style TSVs contain `"` and the default CSV quoting would merge their rows); `quoting="csv"`
applies RFC-4180 quotes (quoted fields may hold delimiters, `""` and newlines). The default is "csv" for .csv
and "none" for .tsv. Headerless files get their column names from `columns=` (e.g. ["question", "answer"]),
or, with `header=False`, are read as lists of cells (benchmark tasks address their columns by number).

Every record comes with its location, {"path": file, "line": n} (JSONL, CSV/TSV, text: 1-based) or
{"path": file, "record": i} (JSON arrays, tables: 0-based), so `DataError(..., **location)` names both. An
empty file, malformed JSON or CSV, and a CSV/TSV row whose number of cells differs from the header's are
errors naming the file and the line.

Strictness, the same for every text file (`crosslift.io.read_text`): the bytes are decoded as `encoding`
(default UTF-8; nothing is guessed), and a byte that is not is an error naming the line and column ("not valid
UTF-8 (byte 0xe9 at column 31)"); a UTF-8 byte-order mark (spreadsheet tools write one) is accepted and
stripped. JSON is read as the standard (RFC 8259) has it, not as Python's `json` allows: `NaN`, `Infinity`
and `-Infinity` are refused (they are not JSON, and would become the text "nan"), so is a key repeated in one
object (the last one would win silently), and so is a lone surrogate escape such as "\\ud800" (no Unicode text
holds one, and a tokenizer fails on it); each error names the field.

A problem of one record (a line that does not decode, is not JSON, or breaks these rules) is raised, or, given
`on_error`, passed to it while reading goes on, so `crosslift data validate` can list every such line.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from crosslift.data.hub import TABLE_FORMATS, HubSource, is_hub_id, read_table_rows
from crosslift.data.options import FORMATS, ReadOptions
from crosslift.errors import DataError
from crosslift.io import BAD_BYTE, bad_byte_in, read_text

EXTENSIONS = {
    ".json": "json",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".csv": "csv",
    ".tsv": "tsv",
    ".tab": "tsv",
    ".parquet": "parquet",
    ".arrow": "arrow",
    ".feather": "arrow",
    ".txt": "txt",
}


class _NonFinite(str):
    """Where a JSON text said NaN, Infinity or -Infinity (kept only until `StrictJSON.check` refuses it)."""


class _RepeatedKeys(dict):
    """An object in which a key occurs more than once (kept only until `StrictJSON.check` refuses it)."""

    def __init__(self, pairs: list[tuple[str, Any]]) -> None:
        super().__init__(pairs)
        counts = Counter(key for key, _ in pairs)
        self.repeated = next(key for key, _ in pairs if counts[key] > 1)


# A \uD800-\uDFFF escape: a surrogate, lone unless its pair follows (json joins pairs into one character).
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


class StrictJSON:
    """JSON as RFC 8259 has it, which Python's `json` is not: NaN and Infinity, a key repeated in one object
    and a lone surrogate ("\\ud800") are errors naming their field, not silently a float, the last value, or
    text no UTF-8 file nor tokenizer can hold.

    `loads` parses and checks one text; `parse` + `check` check the parts of a document (its records) one by
    one. The checks cost nothing for a text without NaN, Infinity, surrogate escapes or repeated keys.
    """

    def __init__(self) -> None:
        self._decoder = json.JSONDecoder(object_pairs_hook=self._object, parse_constant=self._constant)
        self._marked = False

    def _object(self, pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        obj = dict(pairs)
        if len(obj) == len(pairs):
            return obj
        self._marked = True
        return _RepeatedKeys(pairs)

    def _constant(self, name: str) -> _NonFinite:
        self._marked = True
        return _NonFinite(name)

    def parse(self, text: str) -> Any:
        """The value of a JSON text, unchecked.

        Raises:
            json.JSONDecodeError: not JSON at all.
        """
        self._marked = _SURROGATE_ESCAPE.search(text) is not None
        return self._decoder.decode(text)

    def check(self, value: Any, field: str | None = None, *, deep: bool = True) -> None:
        """Refuse what `parse` let through in `value` (a part of the last text parsed); `deep=False` checks an
        object's own keys only.

        Raises:
            DataError: naming the field (e.g. ``messages[1].content``), without the file: the caller knows it.
        """
        if not self._marked:
            return
        if isinstance(value, _NonFinite):
            raise DataError(f"{value} is not a JSON value (write null, or the number as text)", field=field)
        if isinstance(value, str):
            try:
                value.encode("utf-8")
            except UnicodeEncodeError as e:
                surrogate = f"\\u{ord(value[e.start]):04x} (character {e.start + 1})"
                raise DataError(
                    f"a lone surrogate {surrogate} is not Unicode text (no tokenizer reads it)", field=field
                ) from None
        elif isinstance(value, dict):
            if isinstance(value, _RepeatedKeys):
                repeated = value.repeated.encode("utf-8", "backslashreplace").decode("utf-8")
                key = f"{field}.{repeated}" if field else repeated
                raise DataError(
                    "this key occurs more than once in its object (JSON keys must be unique)", field=key
                )
            for key, item in value.items() if deep else ():
                printable = key.encode("utf-8", "backslashreplace").decode("utf-8")  # a key may hold one
                name = f"{field}.{printable}" if field else printable
                self.check(key, name)
                self.check(item, name)
        elif isinstance(value, list) and deep:
            for i, item in enumerate(value):
                self.check(item, f"{field or ''}[{i}]")

    def loads(self, text: str) -> Any:
        """`parse` and `check` a whole text.

        Raises:
            json.JSONDecodeError: not JSON at all.
            DataError: what `check` refuses (with its field, without the file).
        """
        value = self.parse(text)
        self.check(value)
        return value


def read_json_file(path: str | Path, encoding: str = "utf-8") -> Any:
    """A whole JSON file (a config-like document, e.g. few-shot exemplars), read as strictly as records are.

    Raises:
        DataError: a missing file, a byte that does not decode, not JSON, or what `StrictJSON` refuses.
    """
    if not Path(path).is_file():
        raise DataError("file not found", path=path)
    try:
        return StrictJSON().loads(read_text(path, encoding))
    except json.JSONDecodeError as e:
        raise DataError(f"not valid JSON ({e.msg} at column {e.colno})", path=path, line=e.lineno) from None
    except DataError as e:
        if e.path is not None:
            raise
        raise DataError(e.reason, path=path, field=e.field) from None


def detect_format(path: str | Path | HubSource) -> str:
    """The format a path's extension (or being a directory, or a hub dataset) implies."""
    if is_hub_id(path):
        return "hf"
    path = Path(path)
    if path.is_dir():
        return "hf-disk"
    fmt = EXTENSIONS.get(path.suffix.lower())
    if fmt is None:
        raise DataError(
            f"cannot tell the format from the extension '{path.suffix}'; set it explicitly "
            f"(one of {', '.join(FORMATS[1:])})",
            path=path,
        )
    return fmt


def iter_records(
    path: str | Path | HubSource,
    options: ReadOptions | None = None,
    *,
    header: bool = True,
    on_error: Callable[[DataError], None] | None = None,
) -> Iterator[tuple[dict[str, Any], Any]]:
    """Yield (location, record) for every record of a source (see the module docstring).

    Args:
        path: a file, a saved `datasets` folder, a hub dataset id ``hf:ORG/NAME``, or a HubSource (which
            carries its own subset, split and revision).
        options: how to read it; this reader uses the format, `columns` and `quoting` (CSV/TSV only; see the
            module docstring), `encoding` (text files), and `subset`, `split` and `revision` (hub datasets, split
            "train" unless given; `split` also picks one split of a saved DatasetDict). Their `fields`,
            `coerce_types` and `limit` are for the readers of examples.
        header: CSV/TSV only: whether the first row names the columns; without one (and without `columns`)
            each record is the list of its row's cells.
        on_error: called with the problem of one record (see the module docstring) instead of raising it; the
            record is not yielded and reading goes on.

    Raises:
        DataError: missing or empty file, a byte that does not decode, malformed JSON/CSV, NaN, a repeated key
            or a lone surrogate in JSON, a row with the wrong number of columns, a hub dataset that is neither
            reachable nor cached.
    """
    options = options or ReadOptions()
    fmt = detect_format(path) if options.format == "auto" else options.format
    _check_options(path, fmt, options)
    if fmt == "hf" or is_hub_id(path):
        yield from _hub_records(path, fmt, options)
        return
    path = Path(path)
    if not path.exists():
        raise DataError("file not found", path=path)
    if fmt in TABLE_FORMATS:
        for i, row in enumerate(read_table_rows(path, fmt, split=options.split)):
            yield {"path": str(path), "record": i}, row
        return
    if path.is_dir():
        raise DataError(f"is a directory, not a {fmt} file", path=path)

    def refuse(error: DataError) -> None:
        if on_error is None:
            raise error
        on_error(error)

    # Line formats report an undecodable byte per line (validate lists them all); a JSON document as a whole.
    text = read_text(path, options.encoding, keep_bad_bytes=fmt != "json")
    if not text.strip():
        raise DataError("file is empty", path=path)
    lines = _TextLines(path, text, options.encoding)
    if fmt == "jsonl":
        yield from _jsonl_records(lines, refuse)
    elif fmt == "json":
        yield from _json_records(path, text, refuse)
    elif fmt == "txt":
        yield from _text_records(lines, refuse)
    else:
        yield from _iter_delimited(
            path,
            text,
            fmt,
            header=header,
            columns=options.columns,
            quoting=options.quoting,
            bad_lines=lines.bad_lines(),
            refuse=refuse,
        )


def _check_options(path: str | Path | HubSource, fmt: str, options: ReadOptions) -> None:
    """Refuse options that do not apply to the format.

    Raises:
        DataError: naming the path.
    """
    if (options.columns is not None or options.quoting is not None) and fmt not in ("csv", "tsv"):
        raise DataError(f"columns/quoting apply to csv and tsv files, not {fmt}", path=path)
    if (options.subset is not None or options.revision is not None) and fmt != "hf":
        raise DataError(f"subset/revision apply to hub datasets (hf:ORG/NAME), not {fmt}", path=path)
    if options.split is not None and fmt not in ("hf", "hf-disk"):
        raise DataError(f"split applies to hub datasets and saved datasets folders, not {fmt}", path=path)
    if fmt != "hf" and is_hub_id(path):
        raise DataError(f"a hub dataset is read as a table, not as {fmt}: leave format unset", path=path)


def _hub_records(
    path: str | Path | HubSource, fmt: str, options: ReadOptions
) -> Iterator[tuple[dict[str, Any], Any]]:
    """The rows of a hub dataset, each with its record index."""
    if isinstance(path, HubSource):
        if (options.subset, options.split, options.revision) != (None, None, None):
            raise ValueError("a HubSource carries its own subset, split and revision")
        source = path
    else:
        source = HubSource.parse(
            str(path), subset=options.subset, split=options.split or "train", revision=options.revision
        )
    for i, row in enumerate(read_table_rows(source, fmt)):
        yield {"path": str(path), "record": i}, row


class _TextLines:
    """A decoded text file's lines, and which of them hold a byte that did not decode."""

    def __init__(self, path: Path, text: str, encoding: str) -> None:
        self.path, self.text, self.encoding = str(path), text, encoding
        self.has_bad_bytes = BAD_BYTE.search(text) is not None

    def bad_byte(self, line: str) -> str | None:
        """The message for an undecodable byte in `line`, if it has one."""
        return bad_byte_in(line, self.encoding) if self.has_bad_bytes else None

    def bad_lines(self) -> dict[int, str]:
        """1-based line -> message, for every line holding an undecodable byte."""
        if not self.has_bad_bytes:
            return {}
        lines = enumerate(self.text.split("\n"), start=1)
        return {n: message for n, line in lines if (message := bad_byte_in(line, self.encoding))}


def _jsonl_records(
    lines: _TextLines, refuse: Callable[[DataError], None]
) -> Iterator[tuple[dict[str, Any], Any]]:
    """One JSON record per non-blank line."""
    decoder = StrictJSON()
    # Split on "\n" only: JSON strings may hold U+2028 and friends, which str.splitlines() would break at.
    for lineno, line in enumerate(lines.text.split("\n"), start=1):
        if not line.strip():
            continue
        where = {"path": lines.path, "line": lineno}
        if message := lines.bad_byte(line):
            refuse(DataError(message, **where))
            continue
        try:
            record = decoder.loads(line)
        except json.JSONDecodeError as e:
            refuse(DataError(f"not valid JSON ({e.msg} at column {e.colno})", **where))
            continue
        except DataError as e:
            refuse(DataError(e.reason, field=e.field, **where))
            continue
        yield where, record


def _json_records(
    path: Path, text: str, refuse: Callable[[DataError], None]
) -> Iterator[tuple[dict[str, Any], Any]]:
    """The records of a JSON array, or of one wrapped as {"data": [...]} or {"train": [...]}."""
    decoder = StrictJSON()
    try:
        data = decoder.parse(text)
    except json.JSONDecodeError as e:
        raise DataError(f"not valid JSON ({e.msg})", path=path, line=e.lineno) from None
    document = data
    if isinstance(data, dict) and isinstance(data.get("data"), list):
        data = data["data"]  # {"data": [...], "version": ...}-style wrappers
    elif isinstance(data, dict) and len(data) == 1 and isinstance(next(iter(data.values())), list):
        data = next(iter(data.values()))  # {"train": [...]}-style wrappers
    try:
        decoder.check(document, deep=False)  # a wrapper's own keys; the records are checked one by one
    except DataError as e:
        raise DataError(e.reason, path=path, field=e.field) from None
    if not isinstance(data, list):
        raise DataError(f"expected a JSON array of records, got {type(data).__name__}", path=path)
    if not data:
        raise DataError("file holds no records", path=path)
    for i, record in enumerate(data):
        where = {"path": str(path), "record": i}
        try:
            decoder.check(record)
        except DataError as e:
            refuse(DataError(e.reason, field=e.field, **where))
            continue
        yield where, record


def _text_records(
    lines: _TextLines, refuse: Callable[[DataError], None]
) -> Iterator[tuple[dict[str, Any], Any]]:
    """Every line as {"text": line}, blank ones included: line i of parallel files is the same sentence."""
    texts = lines.text.split("\n")
    if texts[-1] == "":
        texts.pop()  # the final newline does not start another record
    for lineno, line in enumerate(texts, start=1):
        if message := lines.bad_byte(line):
            refuse(DataError(message, path=lines.path, line=lineno))
            continue
        yield {"path": lines.path, "line": lineno}, {"text": line.rstrip("\r")}


def _iter_delimited(
    path: Path,
    text: str,
    fmt: str,
    *,
    header: bool,
    columns: list[str] | None,
    quoting: str | None,
    bad_lines: dict[int, str],
    refuse: Callable[[DataError], None],
) -> Iterator[tuple[dict[str, Any], Any]]:
    """The rows of a CSV/TSV text; `bad_lines` (line -> message) are the lines holding an undecodable byte."""
    delimiter = "," if fmt == "csv" else "\t"
    quoting = quoting or ("csv" if fmt == "csv" else "none")
    if quoting not in ("none", "csv"):
        raise DataError(f"quoting must be 'none' or 'csv', got '{quoting}'", path=path)
    if quoting == "none":
        reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, quoting=csv.QUOTE_NONE)
    else:
        reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    names = list(columns) if columns is not None else None
    start = 1
    try:
        for row in reader:
            line, start = start, reader.line_num + 1  # a quoted record can span lines: report where it starts
            if not row or row == [""]:
                continue
            where = {"path": str(path), "line": line}
            bad = next((n for n in range(line, start) if n in bad_lines), None)
            if names is None and header:
                if bad is not None:
                    raise DataError(f"header: {bad_lines[bad]}", path=path, line=bad)
                names = [h.strip() for h in row]
                dupes = [h for h, n in Counter(names).items() if n > 1 or not h]
                if dupes:
                    raise DataError(f"header has empty or repeated column names: {dupes}", **where)
                continue
            if bad is not None:
                refuse(DataError(bad_lines[bad], path=str(path), line=bad))
                continue
            if names is None:
                yield where, row
                continue
            if len(row) != len(names):
                hint = (
                    " (a quoted field? try quoting='csv')"
                    if quoting == "none" and '"' in delimiter.join(row)
                    else ""
                )
                expected = f"expected {len(names)} columns ({', '.join(names)}), got {len(row)}{hint}"
                refuse(DataError(expected, **where))
                continue
            yield where, dict(zip(names, row, strict=True))
    except csv.Error as e:
        raise DataError(f"malformed {fmt.upper()} ({e})", path=path, line=reader.line_num) from None
