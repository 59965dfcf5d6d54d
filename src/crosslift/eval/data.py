"""Benchmark files -> items: a question (kept verbatim) and a gold answer, read from a JSON array, JSONL, TSV or CSV.

Field names, the file pattern and the format are task configuration (see `crosslift.eval.tasks`), so a new
parallel math set needs a YAML file, not code. Every bad record is an error naming the file, the line (JSONL,
TSV, CSV) or record (JSON array) and the field; nothing is dropped silently.

TSV is read without any quoting: MGSM's questions contain ``"`` characters, and CSV-style quoting would merge rows.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from crosslift.errors import DataError
from crosslift.eval.extract import parse_number

FORMATS = ("json", "jsonl", "tsv", "csv")


@dataclass(frozen=True)
class Item:
    """One benchmark problem in one language.

    Attributes:
        index: 0-based position in its file (the same problem has the same index in every language of a
            parallel set).
        question: the question text, exactly as in the file.
        answer: the gold answer as written in the file (e.g. "5 ", "2,125").
    """

    index: int
    question: str
    answer: str


def get_field(record: Any, field: str | int, where: dict[str, Any]) -> Any:
    """``record[field]``, or a DataError at `where` (a location from `iter_records`) naming the field."""
    try:
        return record[field]
    except (KeyError, IndexError, TypeError):
        if isinstance(record, dict):
            raise DataError(f"missing field (fields here: {', '.join(map(str, record))})", field=str(field),
                            **where) from None  # fmt: skip
        raise DataError(f"no column {field} (the row has {len(record)} columns)", field=str(field), **where) from None


def iter_records(path: Path, fmt: str, header: bool) -> Iterator[tuple[dict[str, Any], Any]]:
    """(location, record) pairs of a file; a location is {"path", "line"} or {"path", "record"} for DataError."""
    if fmt == "json":
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as e:
            raise DataError(f"not valid JSON ({e.msg})", path=path, line=e.lineno) from None
        if isinstance(data, dict) and isinstance(data.get("data"), list):
            data = data["data"]
        if not isinstance(data, list):
            raise DataError(f"expected a JSON array of records, got {type(data).__name__}", path=path)
        for i, record in enumerate(data):
            yield {"path": path, "record": i}, record
    elif fmt == "jsonl":
        with open(path, encoding="utf-8") as f:
            for number, line in enumerate(f, start=1):
                if not line.strip():
                    continue
                try:
                    yield {"path": path, "line": number}, json.loads(line)
                except json.JSONDecodeError as e:
                    raise DataError(f"not valid JSON ({e.msg})", path=path, line=number) from None
    else:
        with open(path, encoding="utf-8", newline="") as f:
            if fmt == "tsv":
                rows = csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE)
            else:
                rows = csv.reader(f)
            names: list[str] | None = None
            for row in rows:
                number = rows.line_num
                if not any(cell.strip() for cell in row):
                    continue
                if header and names is None:
                    names = row
                    continue
                yield {"path": path, "line": number}, dict(zip(names, row, strict=False)) if names else row


def read_items(
    path: str | Path,
    *,
    format: str,
    question_field: str | int = "question",
    answer_field: str | int = "answer",
    header: bool = False,
    answer_regex: str | None = None,
) -> list[Item]:
    """Read a benchmark file.

    Args:
        path: the file.
        format: "json" (an array of objects), "jsonl", "tsv" (no quoting) or "csv".
        question_field: the question's key, or its 0-based column for TSV/CSV without a header.
        answer_field: the gold answer's key or column.
        header: TSV/CSV only: the first row names the columns.
        answer_regex: take the gold answer from group 1 of this regex (e.g. ``"#### (.+)$"`` for GSM8K solutions).

    Returns:
        The items in file order, indexed from 0.

    Raises:
        DataError: missing file, bad JSON, a missing field, an empty question, or an answer that is not a number.
    """
    path = Path(path)
    if format not in FORMATS:
        raise DataError(f"unknown format '{format}'; expected one of: {', '.join(FORMATS)}", path=path)
    if not path.is_file():
        raise DataError("file not found", path=path)
    pattern = re.compile(answer_regex, re.MULTILINE) if answer_regex else None
    items: list[Item] = []
    for where, record in iter_records(path, format, header):
        question = get_field(record, question_field, where)
        answer = get_field(record, answer_field, where)
        if not isinstance(question, str) or not question.strip():
            raise DataError(f"empty or non-text question: {question!r}", field=str(question_field), **where)
        if isinstance(answer, bool) or not isinstance(answer, str | int | float):
            raise DataError(f"the answer must be a number or a string, got {answer!r}", field=str(answer_field),
                            **where)  # fmt: skip
        answer = str(answer)
        if pattern is not None:
            m = pattern.search(answer)
            if not m:
                raise DataError(f"answer_regex {pattern.pattern!r} does not match {answer[-80:]!r}",
                                field=str(answer_field), **where)  # fmt: skip
            answer = m.group(1)
        if parse_number(answer) is None:
            raise DataError(f"the answer {answer!r} is not a number", field=str(answer_field), **where)
        items.append(Item(index=len(items), question=question, answer=answer))
    if not items:
        raise DataError("no records", path=path)
    return items
