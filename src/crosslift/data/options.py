"""How to read a file of records (`ReadOptions`), declared once: a training config's data sources, the data
verbs' specs (`crosslift.data.specs`), the example readers and the record reader, and evaluation's benchmark
reader all take it.

A list or mapping option has two spellings: YAML's (`columns: [instruction, output]`,
`fields: {instruction: question}`) and the command line's (`--columns instruction,output`,
`--fields instruction=question`); the types here accept both. `ONE_ARGUMENT` marks the ones that the command
line gives as one argument; any other list or mapping is a repeated option (`--parallel en=a.tsv --parallel
de=b.tsv`).
"""

from __future__ import annotations

import typing
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, field_validator

from crosslift.config import Section
from crosslift.io import codec_name

Format = Literal["auto", "json", "jsonl", "csv", "tsv", "parquet", "arrow", "hf-disk", "hf", "txt"]
FORMATS: tuple[str, ...] = typing.get_args(Format)


class OneArgument:
    """Annotation marker: on the command line, this list or mapping is one argument (`--languages sw,de`)."""


ONE_ARGUMENT = OneArgument()


def split_names(value: Any) -> Any:
    """'a,b' -> ['a', 'b'] (blank items dropped); a list is left as it is."""
    if isinstance(value, str):
        return [item.strip() for item in value.split(",") if item.strip()]
    return value


def split_pairs(value: Any) -> Any:
    """'a=1,b=2' -> {'a': '1', 'b': '2'}; a mapping is left as it is.

    Raises:
        ValueError: an item that is not KEY=VALUE.
    """
    if not isinstance(value, str):
        return value
    pairs = {}
    for item in value.split(","):
        key, sep, text = item.partition("=")
        if not sep or not key.strip() or not text.strip():
            raise ValueError(f"KEY=VALUE,... (got {item!r})")
        pairs[key.strip()] = text.strip()
    return pairs


def split_language_files(value: Any) -> Any:
    """['en=a.json', 'zh=b.json'] (or one such string) -> {'en': 'a.json', 'zh': 'b.json'}; a mapping is left as
    it is. Language codes are normalized where the files are read.

    Raises:
        ValueError: an item that is not LANG=FILE, or a language given twice.
    """
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list):
        return value
    files: dict[str, str] = {}
    for item in value:
        lang, sep, path = str(item).partition("=")
        if not sep or not lang or not path:
            raise ValueError(f"LANG=FILE (got {item!r})")
        if lang in files:
            raise ValueError(f"one file per language (got {lang} twice)")
        files[lang] = path
    return files


# A list given as 'a,b' on the command line.
Names = Annotated[list[str], BeforeValidator(split_names), ONE_ARGUMENT]
# A mapping of strings given as 'a=1,b=2' on the command line.
Pairs = Annotated[dict[str, str], BeforeValidator(split_pairs), ONE_ARGUMENT]
# A mapping of numbers given as 'a=1,b=2' on the command line.
Weights = Annotated[dict[str, float], BeforeValidator(split_pairs), ONE_ARGUMENT]
# Language -> file, given as a repeated LANG=FILE option on the command line.
LanguageFiles = Annotated[dict[str, Path], BeforeValidator(split_language_files)]


class ReadOptions(Section):
    """How to read a file of records (`crosslift.data.records` has the formats and rules).

    The record reader uses the format, CSV/TSV, encoding and hub options; `fields`, `coerce_types` and `limit`
    apply to the records as examples (`crosslift.data.examples.read_examples`).
    """

    format: Format = Field("auto", description="format of the input (auto: by extension)")
    encoding: str = Field("utf-8", description="text encoding of the input, e.g. latin-1 (default: utf-8)")
    coerce_types: bool = Field(
        False,
        description="read numbers in text fields of the input as text (counted) instead of refusing them",
    )
    fields: Pairs = Field(
        default_factory=dict,
        description="map Example fields to the input's keys, e.g. instruction=question,output=answer",
    )
    columns: Names | None = Field(None, description="CSV/TSV input without a header row: its column names")
    quoting: Literal["none", "csv"] | None = Field(
        None,
        description='CSV/TSV quoting: none (a " is a plain character; TSV default) or csv (RFC 4180; CSV default)',
    )
    limit: int | None = Field(None, gt=0, description="read only the first N records of the input")
    subset: str | None = Field(None, description="hub datasets: the subset (config) name")
    split: str | None = Field(
        None, description="hub datasets (default train) and saved DatasetDict folders: the split"
    )
    revision: str | None = Field(None, description="hub datasets: a branch, tag or commit")

    @field_validator("encoding")
    @classmethod
    def _known_encoding(cls, value: str) -> str:
        codec_name(value)
        return value
