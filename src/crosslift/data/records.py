"""The one reader of record files: training data (`crosslift.data.examples`) and benchmarks
(`crosslift.eval.data`) read through it, so a file reads the same wherever it is used.

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
{"path": file, "record": i} (JSON arrays, tables: 0-based), so `DataError(..., **location)` names both. A
UTF-8 byte-order mark (spreadsheet tools write one) is stripped. An empty file, malformed JSON or CSV, and a
CSV/TSV row whose number of cells differs from the header's are errors naming the file and the line.
"""

from __future__ import annotations

import csv
import io
import json
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from crosslift.data.hub import TABLE_FORMATS, HubSource, is_hub_id, read_table_rows
from crosslift.errors import DataError

FORMATS = ("auto", "json", "jsonl", "csv", "tsv", "parquet", "arrow", "hf-disk", "hf", "txt")
EXTENSIONS = {
    ".json": "json", ".jsonl": "jsonl", ".ndjson": "jsonl", ".csv": "csv", ".tsv": "tsv", ".tab": "tsv",
    ".parquet": "parquet", ".arrow": "arrow", ".feather": "arrow", ".txt": "txt",
}  # fmt: skip


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
    format: str = "auto",
    *,
    header: bool = True,
    columns: list[str] | None = None,
    quoting: str | None = None,
    subset: str | None = None,
    split: str | None = None,
    revision: str | None = None,
) -> Iterator[tuple[dict[str, Any], Any]]:
    """Yield (location, record) for every record of a source (see the module docstring).

    Args:
        path: a file, a saved `datasets` folder, a hub dataset id ``hf:ORG/NAME``, or a HubSource (which
            carries its own subset, split and revision).
        format: one of FORMATS.
        header: CSV/TSV only: whether the first row names the columns; without one (and without `columns`)
            each record is the list of its row's cells.
        columns: CSV/TSV only: the file has no header row, and these are its column names.
        quoting: CSV/TSV only: "none" or "csv" (see the module docstring); default by format.
        subset, split, revision: hub datasets (split "train" unless given); `split` also picks one split of a
            saved DatasetDict.

    Raises:
        DataError: missing or empty file, malformed JSON/CSV, a row with the wrong number of columns, a hub
            dataset that is neither reachable nor cached.
    """
    fmt = detect_format(path) if format == "auto" else format
    if fmt not in FORMATS:
        raise DataError(f"unknown format '{fmt}' (one of {', '.join(FORMATS)})", path=path)
    if (columns is not None or quoting is not None) and fmt not in ("csv", "tsv"):
        raise DataError(f"columns/quoting apply to csv and tsv files, not {fmt}", path=path)
    if (subset is not None or revision is not None) and fmt != "hf":
        raise DataError(f"subset/revision apply to hub datasets (hf:ORG/NAME), not {fmt}", path=path)
    if split is not None and fmt not in ("hf", "hf-disk"):
        raise DataError(f"split applies to hub datasets and saved datasets folders, not {fmt}", path=path)
    where = str(path)
    if fmt == "hf" or is_hub_id(path):
        if fmt != "hf":
            raise DataError(f"a hub dataset is read as a table, not as {fmt}: leave format unset", path=path)
        if isinstance(path, HubSource):
            if (subset, split, revision) != (None, None, None):
                raise ValueError("a HubSource carries its own subset, split and revision")
            source = path
        else:
            source = HubSource.parse(str(path), subset=subset, split=split or "train", revision=revision)
        for i, row in enumerate(read_table_rows(source, "hf")):
            yield {"path": where, "record": i}, row
        return
    path = Path(path)
    if not path.exists():
        raise DataError("file not found", path=path)
    if fmt in TABLE_FORMATS:
        for i, row in enumerate(read_table_rows(path, fmt, split=split)):
            yield {"path": where, "record": i}, row
        return
    if path.is_dir():
        raise DataError(f"is a directory, not a {fmt} file", path=path)
    text = path.read_text(encoding="utf-8-sig")  # -sig: tolerate the BOM spreadsheet tools write
    if not text.strip():
        raise DataError("file is empty", path=path)
    if fmt == "jsonl":
        # Split on "\n" only: JSON strings may hold U+2028 and friends, which str.splitlines() would break at.
        for lineno, line in enumerate(text.split("\n"), start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as e:
                raise DataError(
                    f"not valid JSON ({e.msg} at column {e.colno})", path=path, line=lineno
                ) from None
            yield {"path": where, "line": lineno}, record
    elif fmt == "json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as e:
            raise DataError(f"not valid JSON ({e.msg})", path=path, line=e.lineno) from None
        if isinstance(data, dict) and isinstance(data.get("data"), list):
            data = data["data"]  # {"data": [...], "version": ...}-style wrappers
        elif isinstance(data, dict) and len(data) == 1 and isinstance(next(iter(data.values())), list):
            data = next(iter(data.values()))  # {"train": [...]}-style wrappers
        if not isinstance(data, list):
            raise DataError(f"expected a JSON array of records, got {type(data).__name__}", path=path)
        if not data:
            raise DataError("file holds no records", path=path)
        for i, record in enumerate(data):
            yield {"path": where, "record": i}, record
    elif fmt == "txt":
        # Every line is a record, blank ones included: line i of parallel files is the same sentence.
        lines = text.split("\n")
        if lines[-1] == "":
            lines.pop()  # the final newline does not start another record
        for lineno, line in enumerate(lines, start=1):
            yield {"path": where, "line": lineno}, {"text": line.rstrip("\r")}
    else:
        yield from _iter_delimited(path, text, fmt, header=header, columns=columns, quoting=quoting)


def _iter_delimited(
    path: Path, text: str, fmt: str, *, header: bool, columns: list[str] | None, quoting: str | None
) -> Iterator[tuple[dict[str, Any], Any]]:
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
            if names is None and header:
                names = [h.strip() for h in row]
                dupes = [h for h, n in Counter(names).items() if n > 1 or not h]
                if dupes:
                    raise DataError(f"header has empty or repeated column names: {dupes}", **where)
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
                raise DataError(
                    f"expected {len(names)} columns ({', '.join(names)}), got {len(row)}{hint}", **where
                )
            yield where, dict(zip(names, row, strict=True))
    except csv.Error as e:
        raise DataError(f"malformed {fmt.upper()} ({e})", path=path, line=reader.line_num) from None
