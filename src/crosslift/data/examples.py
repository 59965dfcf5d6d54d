"""The one typed training/evaluation example, and readers that validate every record they load.

A reader either returns every record of a file as an `Example` or raises a `DataError` naming the file, the
line (JSONL) or record index (JSON array) and the field. Nothing is dropped silently: with
`skip_invalid=True` bad records are skipped, and counted with their reasons in the returned `ReadReport`.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from crosslift.errors import DataError

# Fields of an Example that a source file may provide (under these or mapped names).
TEXT_FIELDS = ("instruction", "input", "output")


@dataclass
class Example:
    """One instruction example. `input` is the optional context of Alpaca-style data ("" when absent)."""

    id: str
    instruction: str
    output: str
    input: str = ""
    instruction_lang: str | None = None
    output_lang: str | None = None
    source: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class ReadReport:
    """What a reader did: how many records it read and, with skip_invalid, how many it skipped and why."""

    path: str
    read: int = 0
    skipped: Counter = field(default_factory=Counter)

    def summary(self) -> str:
        if not self.skipped:
            return f"{self.path}: {self.read} records"
        reasons = ", ".join(f"{n} {why}" for why, n in self.skipped.most_common())
        return f"{self.path}: {self.read} records, skipped {sum(self.skipped.values())} ({reasons})"


def _detect_format(path: Path) -> str:
    if path.is_dir():
        return "hf-disk"
    suffix = path.suffix.lower()
    if suffix in (".jsonl", ".ndjson"):
        return "jsonl"
    if suffix == ".json":
        return "json"
    raise DataError(f"cannot tell the format from the extension '{suffix}'; set format explicitly", path=path)


def iter_json_records(path: str | Path, format: str = "auto"):
    """Yield (location, record) pairs from a JSON array or JSONL file; location is {'line': n} or {'record': i}."""
    path = Path(path)
    if not path.exists():
        raise DataError("file not found", path=path)
    fmt = _detect_format(path) if format == "auto" else format
    text = path.read_text(encoding="utf-8")
    if not text.strip():
        raise DataError("file is empty", path=path)
    if fmt == "jsonl":
        for lineno, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as e:
                raise DataError(f"not valid JSON ({e.msg} at column {e.colno})", path=path, line=lineno) from None
            yield {"line": lineno}, record
    elif fmt == "json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as e:
            raise DataError(f"not valid JSON ({e.msg})", path=path, line=e.lineno) from None
        if isinstance(data, dict) and len(data) == 1 and isinstance(next(iter(data.values())), list):
            data = next(iter(data.values()))  # {"train": [...]}-style wrappers
        if not isinstance(data, list):
            raise DataError(f"expected a JSON array of records, got {type(data).__name__}", path=path)
        if not data:
            raise DataError("file holds no records", path=path)
        for i, record in enumerate(data):
            yield {"record": i}, record
    else:
        raise DataError(f"format '{fmt}' is not readable as JSON", path=path)


def record_to_example(
    record: Any,
    *,
    path: str | Path,
    location: dict[str, int],
    fields: dict[str, str] | None = None,
    index: int = 0,
    source: str | None = None,
    instruction_lang: str | None = None,
    output_lang: str | None = None,
) -> Example:
    """Validate one record and turn it into an Example.

    Args:
        fields: map Example field -> record key (e.g. {"instruction": "question", "output": "answer"}); unmapped
            fields are read under their own names. An "id" mapping picks the id field; else the record index.
    """
    fields = fields or {}
    if not isinstance(record, dict):
        raise DataError(f"expected an object, got {type(record).__name__}", path=path, **location)
    values: dict[str, str] = {}
    for name in TEXT_FIELDS:
        key = fields.get(name, name)
        value = record.get(key)
        if value is None:
            if name == "input":
                values[name] = ""
                continue
            raise DataError("missing field", path=path, field=key, **location)
        if isinstance(value, int | float) and not isinstance(value, bool):
            value = str(value)  # numeric answers (e.g. math gold values) are text to a language model
        if not isinstance(value, str):
            raise DataError(f"expected a string, got {type(value).__name__}", path=path, field=key, **location)
        if name != "input" and not value.strip():
            raise DataError("empty value", path=path, field=key, **location)
        values[name] = value
    id_key = fields.get("id", "id")
    ex_id = record.get(id_key)
    used = {fields.get(n, n) for n in (*TEXT_FIELDS, "id")}
    return Example(
        id=str(ex_id) if ex_id is not None else str(index),
        source=source or str(path),
        instruction_lang=instruction_lang,
        output_lang=output_lang,
        meta={k: v for k, v in record.items() if k not in used},
        **values,
    )


def read_examples(
    path: str | Path,
    *,
    format: str = "auto",
    fields: dict[str, str] | None = None,
    limit: int | None = None,
    skip_invalid: bool = False,
    instruction_lang: str | None = None,
    output_lang: str | None = None,
) -> tuple[list[Example], ReadReport]:
    """Read Alpaca-style instruction data (instruction, input, output) from a JSON array or JSONL file.

    Raises:
        DataError: missing or empty file, malformed JSON, a record without a required field, or with a
            non-string field; with skip_invalid=True record-level problems are skipped and counted instead.
    """
    report = ReadReport(path=str(path))
    examples: list[Example] = []
    for index, (location, record) in enumerate(iter_json_records(path, format)):
        if limit is not None and len(examples) >= limit:
            break
        try:
            examples.append(
                record_to_example(record, path=path, location=location, fields=fields, index=index,
                                  instruction_lang=instruction_lang, output_lang=output_lang)  # fmt: skip
            )
        except DataError as e:
            if not skip_invalid:
                raise
            report.skipped[f"{e.reason} ({e.field})" if e.field else e.reason] += 1
    report.read = len(examples)
    if not examples:
        raise DataError("no valid records", path=path)
    return examples, report
