"""Checking an example file: every record read as an `Example`, its language codes known to the registry, and
the target of a PLUG record extractable; every problem counted by reason, ids that repeat noted.

Unlike the readers, which stop at the first bad record (or skip bad ones), the check reads the whole file and
reports everything it finds, so one run lists what to fix: lines that are not UTF-8 (or not JSON, or hold NaN,
a repeated key or a lone surrogate) are problems of their record like a missing field.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

from crosslift.data.examples import Example, record_to_example
from crosslift.data.options import ReadOptions
from crosslift.data.plug import extract_target
from crosslift.data.records import iter_records
from crosslift.errors import DataError
from crosslift.languages import UnknownLanguageError, get_language


def validate_file(
    path: str | Path, options: ReadOptions | None = None, *, max_errors: int = 20
) -> dict[str, Any]:
    """Check every record of an example file.

    Args:
        options: how to read it (`crosslift.data.examples.read_examples`); `limit` checks only the first N
            records (unreadable ones included).
        max_errors: list at most this many problems (all of them are counted).

    Returns:
        {"path", "valid", "invalid", "reasons": {reason: count}, "problems": [message, ...], "duplicate_ids",
        "duplicate_id_sample", "languages": {"instruction_lang->output_lang": count},
        "coerced": {field: count}}.

    Raises:
        DataError: a file that cannot be read at all (missing, empty, a JSON array that does not decode or
            parse, malformed CSV).
    """
    options = options or ReadOptions()
    limit = options.limit
    problems: list[str] = []
    reasons: Counter = Counter()
    ids: Counter = Counter()
    langs: Counter = Counter()
    coerced: Counter = Counter()
    valid = 0

    def checked_all() -> bool:
        return limit is not None and valid + sum(reasons.values()) >= limit

    def problem(error: DataError) -> None:
        if checked_all():
            return
        reasons[f"{error.reason} ({error.field})" if error.field else error.reason] += 1
        if len(problems) < max_errors:
            problems.append(str(error))

    for location, record in iter_records(path, options, on_error=problem):
        if checked_all():
            break
        index = valid + sum(reasons.values())  # its place in the file, unreadable records included
        try:
            ex = record_to_example(
                record,
                path=path,
                location=location,
                fields=options.fields,
                index=index,
                coerced=coerced if options.coerce_types else None,
            )
            _check_example(ex, location)
        except DataError as e:
            problem(e)
            continue
        valid += 1
        ids[ex.id] += 1
        langs[f"{ex.instruction_lang}->{ex.output_lang}"] += 1
    duplicates = {i: n for i, n in ids.items() if n > 1}
    return {
        "path": str(path),
        "valid": valid,
        "invalid": sum(reasons.values()),
        "reasons": dict(reasons),
        "problems": problems,
        "duplicate_ids": len(duplicates),
        "duplicate_id_sample": list(duplicates)[:10],
        "languages": dict(sorted(langs.items())),
        "coerced": dict(coerced),
    }


def _check_example(ex: Example, location: dict[str, Any]) -> None:
    """What a readable record can still get wrong: an unknown language code, a PLUG target without markers."""
    for name in ("instruction_lang", "output_lang"):
        code = getattr(ex, name)
        if code is not None:
            try:
                get_language(code)
            except UnknownLanguageError as e:
                raise DataError(f"unknown language code ({e})", field=name, **location) from None
    plug = ex.meta.get("plug")
    if isinstance(plug, dict) and not plug.get("monolingual"):
        lang, pivot = plug.get("lang", ex.output_lang), plug.get("pivot", "en")
        status = extract_target(ex.output, lang, pivot=pivot).status
        if status != "ok":
            raise DataError(f"PLUG target does not extract ({status})", field="output", **location)
