"""Benchmark files -> items: a question (kept verbatim) and a gold answer, read from a JSON array, JSONL, TSV, CSV,
a parquet or Arrow file, a ``save_to_disk`` folder or a Hugging Face hub dataset (`crosslift.data.hub`).

Field names, the file pattern and the format are task configuration (see `crosslift.eval.tasks.registry`), so a new
parallel math set needs a YAML file, not code. Every bad record is an error naming the file, the line (JSONL,
TSV, CSV) or record (JSON array) and the field; nothing is dropped silently.

TSV is read without any quoting: MGSM's questions contain ``"`` characters, and CSV-style quoting would merge rows.

Three kinds of gold answer (``answer_type``): a number (math), a choice among options (multiple choice: the gold
is stored as the option's letter, "A", "B", ...), or none (instruction following: only the instruction is read).
Two formats hold one benchmark for several languages: ``seaeval_cross`` (SeaEval's Cross-MMLU / Cross-LogiQA
JSON, languages keyed by English name) and ``xquad_mc`` (XQuAD turned into multiple choice, `crosslift.eval.tasks.xquad_mc`).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from crosslift.data.hub import TABLE_FORMATS, HubSource
from crosslift.data.options import ReadOptions
from crosslift.data.records import detect_format, iter_records
from crosslift.errors import DataError
from crosslift.eval.items import LETTERS, Item
from crosslift.eval.scoring.extract import parse_number
from crosslift.eval.tasks.xquad_mc import read_xquad_mc

FORMATS = ("auto", "json", "jsonl", "tsv", "csv", "parquet", "arrow", "hf-disk", "hf")


# "(A) text": SeaEval writes each option with its letter; we keep the text and add letters when prompting.
_LABELLED = re.compile(r"^\(([A-Z])\)\s?")


def get_field(record: Any, field: str | int, where: dict[str, Any]) -> Any:
    """``record[field]``, or a DataError at `where` (a location from `iter_records`) naming the field.

    A name with dots reads a nested field when the record has no key of that name: ``question.stem`` is
    ``record["question"]["stem"]`` (X-CSQA's records)."""
    if isinstance(field, str) and "." in field and isinstance(record, dict) and field not in record:
        value = record
        for depth, part in enumerate(field.split(".")):
            if not isinstance(value, dict) or part not in value:
                parent = ".".join(field.split(".")[:depth]) or "the record"
                fields = ", ".join(map(str, value)) if isinstance(value, dict) else type(value).__name__
                raise DataError(f"missing field ({parent} has: {fields})", field=field, **where)
            value = value[part]
        return value
    try:
        return record[field]
    except (KeyError, IndexError, TypeError):
        if isinstance(record, dict):
            raise DataError(
                f"missing field (fields here: {', '.join(map(str, record))})", field=str(field), **where
            ) from None
        raise DataError(
            f"no column {field} (the row has {len(record)} columns)", field=str(field), **where
        ) from None


def read_items(
    path: str | Path,
    *,
    format: str,
    question_field: str | int = "question",
    answer_field: str | int = "answer",
    header: bool = False,
    answer_regex: str | None = None,
    answer_type: str = "number",
    id_field: str | int | None = None,
    choices_field: str | int | None = None,
    context_field: str | int | None = None,
    split: str | None = None,
    choices: list[str] | None = None,
    level: str | None = None,
    level_field: str | int | None = None,
    levels: list[str] | None = None,
    language: str | None = None,
    language_field: str | int | None = None,
) -> list[Item]:
    """Read a benchmark file.

    Args:
        path: the file or folder, or a HubSource (a hub dataset's subset and split).
        format: "json" (an array of objects), "jsonl", "tsv" (no quoting), "csv", "parquet", "arrow", "hf-disk"
            (a save_to_disk folder of one split), "hf" (a hub dataset), or "auto" (by the path).
        question_field: the question's key, or its 0-based column for TSV/CSV without a header.
        answer_field: the gold answer's key or column.
        header: TSV/CSV only: the first row names the columns.
        answer_regex: take the gold answer from group 1 of this regex (e.g. ``"#### (.+)$"`` for GSM8K solutions).
        answer_type: "number" (the gold must be a number), "math" (any mathematical answer, LaTeX or plain: a
            fraction, root, interval or set; compared by equivalence), "choice" (a letter "B" / "(B)", a 0-based
            index, or the text of one of the options in `choices_field`), or "none" (no gold; `answer_field` is
            not read).
        id_field: an item id (the same in every language of a parallel set); ids must be unique in the file.
        choices_field: the list of options (answer_type "choice").
        context_field: a passage the question is about.
        split: the split of a saved DatasetDict folder.
        choices: the same options for every item, instead of `choices_field` (XNLI's three labels).
        level: the difficulty level of every item of the file (a file per level).
        level_field: the field holding each item's difficulty level.
        levels: the levels `level_field` may hold (any, when None).
        language, language_field: a file holding several languages: only the records whose `language_field`
            names `language` (a code or name the language registry resolves to it) are read.

    Returns:
        The items in file order, indexed from 0.

    Raises:
        DataError: missing file, bad JSON, a missing field, an empty question, an answer that is not a number
            (or not one of the options), or a repeated id.
    """
    path = path if isinstance(path, HubSource) else Path(path)
    if format not in FORMATS:
        raise DataError(f"unknown format '{format}'; expected one of: {', '.join(FORMATS)}", path=path)
    if answer_type not in ANSWER_TYPES:
        raise DataError(
            f"unknown answer_type '{answer_type}'; expected one of: {', '.join(ANSWER_TYPES)}", path=path
        )
    if answer_type == "choice" and (choices_field is None) == (choices is None):
        raise DataError(
            "answer_type 'choice' needs the options: choices_field (each record's list) or choices (the same "
            "for every item), one of them",
            path=path,
        )
    if isinstance(path, HubSource) and format not in ("hf", "auto"):
        raise DataError(
            f"a hub dataset is read as a table, not as {format}: leave dataset.format unset", path=path
        )
    if not isinstance(path, HubSource) and not path.exists():
        raise DataError("file not found", path=path)
    if format == "auto":
        format = detect_format(path)
    if format not in TABLE_FORMATS and not path.is_file():
        raise DataError(f"not a {format} file", path=path)
    pattern = re.compile(answer_regex, re.MULTILINE) if answer_regex else None
    items: list[Item] = []
    wanted = None
    if language_field is not None:
        from crosslift.languages import normalize_code

        wanted = normalize_code(language or "")
    for where, record in iter_records(path, ReadOptions(format=format, split=split), header=header):
        if wanted is not None and not _is_language(get_field(record, language_field, where), wanted):
            continue
        question = _text(get_field(record, question_field, where), question_field, where, "question")
        context = None
        if context_field is not None:
            context = _text(get_field(record, context_field, where), context_field, where, "context")
        options: tuple[str, ...] = ()
        if answer_type == "none":
            answer = None
        else:
            answer = get_field(record, answer_field, where)
            if isinstance(answer, bool) or not isinstance(answer, str | int | float):
                raise DataError(
                    f"the answer must be a number or a string, got {answer!r}",
                    field=str(answer_field),
                    **where,
                )
            answer = str(answer)
            if pattern is not None:
                m = pattern.search(answer)
                if not m:
                    raise DataError(
                        f"answer_regex {pattern.pattern!r} does not match {answer[-80:]!r}",
                        field=str(answer_field),
                        **where,
                    )
                answer = m.group(1)
            if answer_type == "choice":
                options = (
                    tuple(choices)
                    if choices is not None
                    else parse_choices(
                        get_field(record, choices_field, where), {**where, "field": str(choices_field)}
                    )
                )
                answer = gold_letter(answer, options, {**where, "field": str(answer_field)})
            elif answer_type == "math":
                if not answer.strip():
                    raise DataError("empty answer", field=str(answer_field), **where)
            elif parse_number(answer) is None:
                raise DataError(f"the answer {answer!r} is not a number", field=str(answer_field), **where)
        item_id = None
        if id_field is not None:
            item_id = str(get_field(record, id_field, where))
        item_level = level
        if level_field is not None:
            item_level = str(get_field(record, level_field, where))
            if levels is not None and item_level not in levels:
                raise DataError(
                    f"level {item_level!r} is not one of dataset.levels ({', '.join(levels)})",
                    field=str(level_field),
                    **where,
                )
        items.append(
            Item(
                index=len(items),
                question=question,
                answer=answer,
                id=item_id,
                choices=options,
                context=context,
                level=item_level,
            )
        )
    if not items:
        raise DataError(
            f"no records of language {language} (field {language_field})" if language_field else "no records",
            path=path,
        )
    _check_unique_ids(items, path)
    return items


ANSWER_TYPES = ("number", "math", "choice", "none")


def _is_language(value: Any, code: str) -> bool:
    """Whether a record's language field names the language `code` (through the language registry)."""
    from crosslift.languages import UnknownLanguageError, normalize_code

    if not isinstance(value, str):
        return False
    try:
        return value == code or normalize_code(value) == code
    except UnknownLanguageError:
        return False


def _text(value: Any, field: str | int, where: dict[str, Any], what: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise DataError(f"empty or non-text {what}: {value!r}", field=str(field), **where)
    return value


def _check_unique_ids(items: list[Item], path: Path) -> None:
    seen: dict[str, int] = {}
    for item in items:
        if item.id is not None and seen.setdefault(item.id, item.index) != item.index:
            raise DataError(f"id {item.id!r} repeats item {seen[item.id]}", path=path, record=item.index)


def parse_choices(value: Any, where: dict[str, Any]) -> tuple[str, ...]:
    """Options as texts: a list of strings; SeaEval's "(A) text" labels are removed when every option has its own."""
    if (
        not isinstance(value, list)
        or len(value) < 2
        or not all(isinstance(c, str) and c.strip() for c in value)
    ):
        raise DataError(
            f"expected a list of at least two non-empty option texts, got {value!r}"[:300], **where
        )
    if len(value) > len(LETTERS):
        raise DataError(f"{len(value)} options; at most {len(LETTERS)} are supported", **where)
    labels = [_LABELLED.match(c) for c in value]
    if all(m and m.group(1) == LETTERS[i] for i, m in enumerate(labels)):
        return tuple(c[m.end() :] for c, m in zip(value, labels, strict=True))
    return tuple(value)


def gold_letter(answer: str, choices: tuple[str, ...], where: dict[str, Any]) -> str:
    """The gold option's letter from a letter ("B", "(B)"), a 0-based index ("1"), or an option's text."""
    text = answer.strip()
    letters = LETTERS[: len(choices)]
    m = re.fullmatch(r"\(?([A-Z])\)?", text)
    if m and m.group(1) in letters:
        return m.group(1)
    if text.isdigit() and int(text) < len(choices):
        return letters[int(text)]
    labelled = _LABELLED.match(text)
    if (
        labelled
        and labelled.group(1) in letters
        and (text[labelled.end() :].strip() == choices[letters.index(labelled.group(1))].strip())
    ):
        return labelled.group(1)
    matches = [i for i, c in enumerate(choices) if c.strip() == text]
    if len(matches) == 1:
        return letters[matches[0]]
    raise DataError(
        f"the answer {answer!r} is not one of the {len(choices)} options (a letter, index or option text)",
        **where,
    )


# ---------------------------------------------------------------------------------------------------- cross sets


def read_seaeval_cross(path: str | Path, language: str) -> list[Item]:
    """One language of a SeaEval cross-lingual set (Cross-MMLU, Cross-LogiQA, Cross-XQuAD).

    The file is a JSON array of ``{"id", "English": {"question", "choices", "answer", "context"?}, "Chinese": ...}``;
    languages are keyed by English name, resolved through the language registry ("Filipino" is ``fil``).

    Raises:
        DataError: bad JSON, a language the file lacks, or a bad record (naming the record and field).
    """
    from crosslift.languages import UnknownLanguageError, get_language

    path = Path(path)
    if not path.is_file():
        raise DataError("file not found", path=path)
    wanted = get_language(language).code
    items: list[Item] = []
    for where, record in iter_records(path, ReadOptions(format="json")):
        if not isinstance(record, dict):
            raise DataError("expected an object with 'id' and one object per language", **where)
        key = None
        for name in record:
            try:
                if name != "id" and get_language(name).code == wanted:
                    key = name
                    break
            except UnknownLanguageError:
                continue
        if key is None:
            names = ", ".join(k for k in record if k != "id")
            raise DataError(f"no '{language}' entry (it has: {names})", **where)
        entry = get_field(record, key, where)
        if not isinstance(entry, dict):
            raise DataError("expected an object with question, choices and answer", **where, field=key)
        missing = [k for k in ("question", "choices", "answer") if k not in entry]
        if missing:
            raise DataError(
                f"missing field (fields here: {', '.join(entry)})", **where, field=f"{key}.{missing[0]}"
            )
        fields = {k: entry[k] for k in ("question", "choices", "answer")}
        question = _text(fields["question"], f"{key}.question", where, "question")
        choices = parse_choices(fields["choices"], {**where, "field": f"{key}.choices"})
        if not isinstance(fields["answer"], str):
            raise DataError(
                f"expected the answer text, got {fields['answer']!r}", **where, field=f"{key}.answer"
            )
        answer = gold_letter(fields["answer"], choices, {**where, "field": f"{key}.answer"})
        context = entry.get("context")
        if context is not None:
            context = _text(context, f"{key}.context", where, "context")
        items.append(
            Item(
                index=len(items),
                question=question,
                answer=answer,
                id=str(get_field(record, "id", where)),
                choices=choices,
                context=context,
            )
        )
    if not items:
        raise DataError("no records", path=path)
    _check_unique_ids(items, path)
    return items


def load_items(
    dataset: Any, language: str, path_of: Callable[..., Path | HubSource]
) -> tuple[list[Item], list[Path | HubSource]]:
    """The items of one language of a task, read according to its ``dataset`` spec (`crosslift.eval.tasks.DatasetSpec`).

    Args:
        dataset: the task's dataset spec.
        language: the language code.
        path_of: the data file of a language (and of a level: ``path_of(code, level)``), the spec's path pattern
            resolved against the data folder.

    Returns:
        The items, and the files they were read from (for provenance). With a file per difficulty level
        (``{level}`` in the path), the levels' items in the order of ``dataset.levels``, indexed from 0 across them.
    """
    path = path_of(language)
    if isinstance(path, HubSource) and dataset.format in ("seaeval_cross", "xquad_mc"):
        raise DataError(
            f"format {dataset.format} reads its JSON file; a hub dataset cannot be read as it", path=path
        )
    if dataset.format == "seaeval_cross":
        return read_seaeval_cross(path, language), [path]
    if dataset.format == "xquad_mc":
        reference = path_of(dataset.reference_language)
        items = read_xquad_mc(path, reference=reference, options=dataset.options, seed=dataset.seed)
        return items, list(dict.fromkeys([path, reference]))
    per_level = dataset.levels is not None and dataset.level_field is None
    sources = [(path_of(language, level), level) for level in dataset.levels] if per_level else [(path, None)]
    items: list[Item] = []
    for source, level in sources:
        read = read_items(
            source,
            format=dataset.format,
            question_field=dataset.question_field,
            answer_field=dataset.answer_field,
            header=dataset.header,
            answer_regex=dataset.answer_regex,
            answer_type=dataset.answer_type,
            id_field=dataset.id_field,
            choices_field=dataset.choices_field,
            context_field=dataset.context_field,
            # the split names a hub split or a saved folder's, unless the file pattern already consumed it
            split=None if isinstance(source, HubSource) or "{split}" in dataset.path else dataset.split,
            choices=dataset.choices,
            level=level,
            level_field=dataset.level_field,
            levels=dataset.levels,
            language=language,
            language_field=dataset.language_field,
        )
        items += [replace(item, index=len(items) + i) for i, item in enumerate(read)]
    if per_level:
        _check_unique_ids(items, Path(str(path)))
    return items, [source for source, _ in sources]
