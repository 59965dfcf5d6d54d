"""User-facing errors: what went wrong, where (file, line or record, field), and what was expected.

The CLI prints a `CrossliftError` as one message and exits with status 2; anything else is a bug and keeps
its traceback.
"""

from __future__ import annotations

from pathlib import Path


class CrossliftError(Exception):
    """An error the user can fix: bad input, bad config, missing file."""


class ConfigError(CrossliftError):
    """A config file or override is invalid."""


class DataError(CrossliftError):
    """A data file is missing, empty or has a bad record.

    Args:
        message: what is wrong, e.g. "missing field" or "not valid JSON".
        path: the file.
        line: 1-based line number (JSONL, TSV) when the format has lines.
        record: 0-based record index (JSON arrays, datasets) when it has no lines.
        field: the field that is wrong or missing.
    """

    def __init__(
        self,
        message: str,
        *,
        path: str | Path | None = None,
        line: int | None = None,
        record: int | None = None,
        field: str | None = None,
    ) -> None:
        self.reason, self.path, self.line, self.record, self.field = message, path, line, record, field
        where = []
        if path is not None:
            where.append(str(path))
        if line is not None:
            where.append(f"line {line}")
        if record is not None:
            where.append(f"record {record}")
        if field is not None:
            where.append(f"field '{field}'")
        super().__init__(f"{', '.join(where)}: {message}" if where else message)
