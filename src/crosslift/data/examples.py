"""The one typed training/evaluation example, readers that validate every record they load, and a JSONL writer.

A reader either returns every record of a file as an `Example` or raises a `DataError` naming the file, the
line (JSONL, CSV/TSV, text) or record index (JSON array, parquet, saved `datasets`) and the field. Nothing is
dropped silently: with `skip_invalid=True` bad records (lines that do not decode or parse included) are
skipped, and counted with their reasons in the returned `ReadReport`.

Text fields (instruction, input, output, chat turns, parallel text) take strings only: a number there is
usually a column mix-up, and would train on the text "12345". `coerce_types=True` (`--coerce-types`) reads
finite numbers as their text instead, and counts them in the report per field. How a file is read (format,
field mapping, CSV/TSV rules, limit, ...) is one `ReadOptions` (`crosslift.data.options`).

Formats, CSV/TSV quoting and record locations: `crosslift.data.records`, the reader every file goes through.

Record shapes: Alpaca-style (instruction, input, output — names remappable with `fields=`, LLaMA-Factory's
optional `system` and `history` [[user, assistant], ...] go to `meta`), and chat records with a `messages`
([{"role", "content"}]) or ShareGPT `conversations` ([{"from", "value"}]) list: the last user turn is the
instruction, the last assistant turn the output, earlier turns `meta["history"]`, a system turn `meta["system"]`.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from crosslift.data.options import ReadOptions
from crosslift.data.records import iter_records
from crosslift.errors import DataError
from crosslift.io import atomic_write_jsonl

# Fields of an Example that a source file may provide (under these or mapped names).
TEXT_FIELDS = ("instruction", "input", "output")
# Example fields stored at the top level of a written record; everything else in a record is `meta`.
EXAMPLE_KEYS = ("id", "instruction", "input", "output", "instruction_lang", "output_lang", "source")
# Chat roles as they are spelled in the wild -> ours.
_ROLES = {
    "system": "system",
    "user": "user",
    "human": "user",
    "assistant": "assistant",
    "gpt": "assistant",
    "bot": "assistant",
    "model": "assistant",
    "chatgpt": "assistant",
}


@dataclass
class Example:
    """One instruction example. `input` is the optional context of Alpaca-style data ("" when absent).

    `meta` holds every other field of the source record (e.g. GSM8K's `answer`), plus `system` (a system
    prompt) and `history` (earlier [user, assistant] turns) for chat data.
    """

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

    def to_record(self) -> dict[str, Any]:
        """The flat form written to JSONL: Example fields at the top level, then the meta fields.

        `read_examples` reads such a record back into an equal Example.
        """
        clash = [k for k in self.meta if k in EXAMPLE_KEYS]
        if clash:
            raise ValueError(f"example {self.id}: meta keys {clash} collide with Example fields")
        return {k: getattr(self, k) for k in EXAMPLE_KEYS} | self.meta


@dataclass
class ReadReport:
    """What a reader did: how many records it read and, with skip_invalid, how many it skipped and why."""

    path: str
    read: int = 0
    skipped: Counter = field(default_factory=Counter)
    coerced: Counter = field(default_factory=Counter)

    def summary(self) -> str:
        text = f"{self.path}: {self.read} records"
        if self.skipped:
            reasons = ", ".join(f"{n} {why}" for why, n in self.skipped.most_common())
            text += f", skipped {sum(self.skipped.values())} ({reasons})"
        if self.coerced:
            fields = ", ".join(f"{n} in {key}" for key, n in self.coerced.most_common())
            text += f", read {sum(self.coerced.values())} numbers as text ({fields})"
        return text

    def skip(self, error: DataError) -> None:
        """Count one skipped record under its reason (and field)."""
        self.skipped[f"{error.reason} ({error.field})" if error.field else error.reason] += 1


# ---------------------------------------------------------------------------------------------- examples


def text_field(
    value: Any, *, where: dict[str, Any], key: str, allow_empty: bool = False, coerced: Counter | None = None
) -> str:
    """The value of a text field, which must be a string (see the module docstring).

    Args:
        where: the record's location (named in errors, with `key`).
        coerced: given (`coerce_types`), a finite number is read as its text and counted here under `key`.

    Raises:
        DataError: not a string (nor, with `coerced`, a finite number), or empty unless `allow_empty`.
    """
    number = isinstance(value, int | float) and not isinstance(value, bool)
    if number and coerced is not None and math.isfinite(value):
        coerced[key] += 1
        value = str(value)
    if not isinstance(value, str):
        hint = " (numbers are read as text only with --coerce-types, or a source's coerce_types: true)"
        raise DataError(
            f"expected a string, got {type(value).__name__}{hint if number else ''}", field=key, **where
        )
    if not allow_empty and not value.strip():
        raise DataError("empty value", field=key, **where)
    return value


def _chat_turns(
    turns: Any, *, key: str, where: dict[str, Any], coerced: Counter | None
) -> tuple[str | None, list[list[str]], str, str]:
    """(system, history, last user message, last assistant message) of a messages/conversations list."""
    if not isinstance(turns, list) or not turns:
        raise DataError("expected a non-empty list of turns", field=key, **where)
    system, pairs, expected = None, [], "user"
    for i, turn in enumerate(turns):
        turn_key = f"{key}[{i}]"
        if not isinstance(turn, dict):
            raise DataError(f"expected an object, got {type(turn).__name__}", field=turn_key, **where)
        role_key, text_key = ("role", "content") if "role" in turn else ("from", "value")
        role = _ROLES.get(str(turn.get(role_key, "")).lower())
        if role is None:
            raise DataError(
                f"unknown role {turn.get(role_key)!r} (expected one of {', '.join(sorted(_ROLES))})",
                field=f"{turn_key}.{role_key}",
                **where,
            )
        content = text_field(turn.get(text_key), where=where, key=f"{turn_key}.{text_key}", coerced=coerced)
        if role == "system":
            if i != 0:
                raise DataError("a system turn must come first", field=turn_key, **where)
            system = content
            continue
        if role != expected:
            raise DataError(f"expected a {expected} turn, got {role}", field=turn_key, **where)
        if role == "user":
            pairs.append([content])
        else:
            pairs[-1].append(content)
        expected = "assistant" if role == "user" else "user"
    if not pairs or len(pairs[-1]) != 2:
        raise DataError("the conversation must end with an assistant turn", field=key, **where)
    *history, (user, assistant) = pairs
    return system, history, user, assistant


def record_to_example(
    record: Any,
    *,
    path: str | Path,
    location: dict[str, Any],
    fields: dict[str, str] | None = None,
    index: int = 0,
    source: str | None = None,
    instruction_lang: str | None = None,
    output_lang: str | None = None,
    coerced: Counter | None = None,
) -> Example:
    """Validate one record and turn it into an Example.

    Args:
        path: the file, named in errors (and the default `source`).
        location: where the record is in the file (from `iter_records`), named in errors.
        fields: map Example field -> record key (e.g. {"instruction": "question", "output": "answer"}); unmapped
            fields are read under their own names. An "id" mapping picks the id field; else the record's `id`,
            else the record index. A "messages" mapping names the chat-turn list of chat records.
        instruction_lang, output_lang, source: used when the record does not carry its own.
        coerced: given, numbers in text fields are read as text and counted here by field (`text_field`).
    """
    fields = fields or {}
    where = {**location, "path": path}
    if not isinstance(record, dict):
        raise DataError(f"expected an object, got {type(record).__name__}", **where)
    chat_key = next(
        (k for k in (fields.get("messages"), "messages", "conversations") if k and k in record), None
    )
    used = {fields.get(n, n) for n in (*EXAMPLE_KEYS, "messages")}
    meta = {k: v for k, v in record.items() if k not in used}
    if chat_key is not None and fields.get("instruction", "instruction") not in record:
        system, history, instruction, output = _chat_turns(
            record[chat_key], key=chat_key, where=where, coerced=coerced
        )
        values = {"instruction": instruction, "input": "", "output": output}
        meta.pop(chat_key, None)
        if system is not None:
            meta["system"] = system
        if history:
            meta["history"] = history
    else:
        values = {}
        for name in TEXT_FIELDS:
            key = fields.get(name, name)
            value = record.get(key)
            if value is None:
                if name == "input":
                    values[name] = ""
                    continue
                raise DataError("missing field", field=key, **where)
            values[name] = text_field(
                value, where=where, key=key, allow_empty=name == "input", coerced=coerced
            )
        _check_history(meta.get("history"), where=where)
    ex_id = record.get(fields.get("id", "id"))
    langs = {}
    for name, default in (
        ("instruction_lang", instruction_lang),
        ("output_lang", output_lang),
        ("source", source),
    ):
        value = record.get(fields.get(name, name))
        langs[name] = str(value) if value is not None else default
    return Example(
        id=str(ex_id) if ex_id is not None else str(index),
        instruction_lang=langs["instruction_lang"],
        output_lang=langs["output_lang"],
        source=langs["source"] or str(path),
        meta=meta,
        **values,
    )


def _check_history(history: Any, *, where: dict[str, Any]) -> None:
    if history is None:
        return
    if not isinstance(history, list) or not all(
        isinstance(turn, list | tuple) and len(turn) == 2 and all(isinstance(t, str) for t in turn)
        for turn in history
    ):
        raise DataError("expected a list of [user, assistant] string pairs", field="history", **where)


def read_examples(
    path: str | Path,
    options: ReadOptions | None = None,
    *,
    skip_invalid: bool = False,
    instruction_lang: str | None = None,
    output_lang: str | None = None,
) -> tuple[list[Example], ReadReport]:
    """Read instruction data (Alpaca-style or chat records) from any format of the module docstring.

    Args:
        options: how to read the file (`crosslift.data.records.iter_records`), which fields to map
            (`record_to_example`), whether numbers in text fields are read as text (counted in the report), and
            `limit`: stop after this many valid examples.
        skip_invalid: skip (and count in the report) records that fail validation instead of raising.
        instruction_lang, output_lang: for records that do not carry their own.

    Raises:
        DataError: missing or empty file, malformed content, a record without a required field, or with a
            non-string field; with skip_invalid=True record-level problems are skipped and counted instead.
    """
    options = options or ReadOptions()
    report = ReadReport(path=str(path))
    examples: list[Example] = []
    records = iter_records(path, options, on_error=report.skip if skip_invalid else None)
    for location, record in records:
        if options.limit is not None and len(examples) >= options.limit:
            break
        index = len(examples) + sum(report.skipped.values())  # its place in the file, skipped ones included
        try:
            examples.append(
                record_to_example(
                    record,
                    path=path,
                    location=location,
                    fields=options.fields,
                    index=index,
                    instruction_lang=instruction_lang,
                    output_lang=output_lang,
                    coerced=report.coerced if options.coerce_types else None,
                )
            )
        except DataError as e:
            if not skip_invalid:
                raise
            report.skip(e)
    report.read = len(examples)
    if not examples:
        raise DataError("no valid records", path=path)
    return examples, report


def write_examples(path: str | Path, examples: Iterable[Example]) -> Path:
    """Write examples as flat JSONL records (see `Example.to_record`), atomically."""
    return atomic_write_jsonl(path, (ex.to_record() for ex in examples))


# ---------------------------------------------------------------------------------------------- parallel data


@dataclass
class ParallelSet:
    """The same items in several languages: `items[id][lang]` is item `id` in language `lang`.

    `ids` keeps the order of the first language's file. Every id has every language (readers enforce it).
    `reports` says what reading each language's file did (`read_parallel`).
    """

    languages: list[str]
    ids: list[str]
    items: dict[str, dict[str, Example]]
    reports: list[ReadReport] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.ids)

    def get(self, item_id: str, lang: str) -> Example:
        return self.items[item_id][lang]

    def in_language(self, lang: str) -> list[Example]:
        """All items in one language, in `ids` order."""
        if lang not in self.languages:
            raise KeyError(f"language '{lang}' is not in this parallel set ({', '.join(self.languages)})")
        return [self.items[i][lang] for i in self.ids]


def read_parallel(
    sources: Mapping[str, str | Path], options: ReadOptions | None = None, *, align: str = "index"
) -> ParallelSet:
    """Read one file per language into a ParallelSet.

    Args:
        sources: language code -> file (codes are normalized through `crosslift.languages`).
        options: how to read each file, as for `read_examples`; but `limit` keeps only the first N items (of
            the first language's order), every file being read whole.
        align: "index" (record i of every file is the same item: MGSM, MMWP, NTREX) or "id" (the files share
            an `id` field, in any order).

    Raises:
        DataError: files of different length (index), an id missing from a language or repeated in a file (id).
    """
    from crosslift.languages import normalize_code

    options = options or ReadOptions()
    if not sources:
        raise DataError("a parallel set needs at least one file")
    if align not in ("index", "id"):
        raise DataError(f"align must be 'index' or 'id', got '{align}'")
    per_lang: dict[str, tuple[Path, list[Example]]] = {}
    reports = []
    for lang, path in sources.items():
        code = normalize_code(lang)
        if code in per_lang:
            raise DataError(f"language '{code}' given twice ({per_lang[code][0]} and {path})", path=path)
        whole = options.model_copy(update={"limit": None})
        examples, report = read_examples(path, whole, instruction_lang=code, output_lang=code)
        reports.append(report)
        if align == "index":
            for i, ex in enumerate(examples):
                ex.id = str(i)
        seen: set[str] = set()
        for i, ex in enumerate(examples):
            if ex.id in seen:
                raise DataError(f"id '{ex.id}' occurs more than once", path=path, record=i, field="id")
            seen.add(ex.id)
        per_lang[code] = (Path(path), examples)
    languages = list(per_lang)
    first_path, first = per_lang[languages[0]]
    ids = [ex.id for ex in first][: options.limit]
    items: dict[str, dict[str, Example]] = {i: {} for i in ids}
    for lang, (path, examples) in per_lang.items():
        if align == "index" and len(examples) != len(first):
            raise DataError(
                f"has {len(examples)} records but {first_path} has {len(first)}; index alignment "
                "needs files of equal length",
                path=path,
            )
        by_id = {ex.id: ex for ex in examples}
        missing = [i for i in ids if i not in by_id]
        if missing:
            raise DataError(f"lacks {len(missing)} ids of {first_path} (first: {missing[:5]})", path=path)
        for i in ids:
            items[i][lang] = by_id[i]
    return ParallelSet(languages=languages, ids=ids, items=items, reports=reports)


def read_parallel_text(
    sources: Mapping[str, str | Path], options: ReadOptions | None = None, *, field: str = "text"
) -> dict[str, list[str]]:
    """Line-aligned parallel text: language -> texts, where text i of every language is the same sentence.

    Text files (.txt) give one sentence per line; other formats give the `field` of each record. `options` say
    how to read the files (`crosslift.data.records.iter_records`).

    Raises:
        DataError: files of different length, or a record without the field.
    """
    from crosslift.languages import normalize_code

    options = options or ReadOptions()
    texts: dict[str, list[str]] = {}
    lengths: dict[str, tuple[Path, int]] = {}
    for lang, path in sources.items():
        values = []
        text_file = options.format == "txt" or (options.format == "auto" and Path(path).suffix == ".txt")
        key = "text" if text_file else field
        for location, record in iter_records(path, options):
            if not isinstance(record, dict) or key not in record:
                raise DataError("missing field", field=key, **location)
            values.append(text_field(record[key], where=location, key=key, allow_empty=True))
        code = normalize_code(lang)
        texts[code] = values
        lengths[code] = (Path(path), len(values))
    (first_path, n), *rest = lengths.values()
    for path, m in rest:
        if m != n:
            raise DataError(
                f"has {m} texts but {first_path} has {n}; parallel text must be line-aligned", path=path
            )
    return texts
