"""The data sources of a training config: read them all (validated, counted), building missing ones first.

A source may say how its file is made, so that a bundled config such as configs/crossin/tiny.yaml runs with one
command: `build:` is the spec of a `crosslift data` verb that writes data (`crosslift.data.specs`), as a mapping
that `verb:` names, with the source's `path` as its output. The file is written once, atomically, and reused;
the verb runs in this process (`crosslift.data.commands.build`), as `crosslift data` would run it.

    - path: runs/data/plug_tiny.jsonl
      build:
        verb: plug
        pivot: {en: ../shared/data/mgsm/mgsm_en.tsv}
        target: {zh: ../shared/data/mgsm/mgsm_zh.tsv}
        align: index
        columns: [instruction, output]

The old form, the verb's command line as a list (`build: [plug, --pivot, en=..., ...]`), is still read: it is
converted to the spec (`crosslift.data.specs.spec_from_argv`), and reading the source prints a note with the
mapping to write instead.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import yaml
from pydantic import Field, field_validator, model_validator

from crosslift.console import stderr_console
from crosslift.data.commands import build
from crosslift.data.examples import Example, read_examples
from crosslift.data.hub import is_hub_id
from crosslift.data.options import ReadOptions
from crosslift.data.specs import BuildSpec, spec_from_argv
from crosslift.errors import ConfigError, CrossliftError, DataError
from crosslift.runs import is_main_process

BUILD_WAIT_S = 3600  # how long a non-main process waits for the main one to build a source


class DataSourceConfig(ReadOptions):
    """One source of instruction data: a file, a saved `datasets` folder, or a hub dataset (hf:ORG/NAME), how to
    read it, and how to build it when it is missing."""

    path: str = Field(
        description="a file (json, jsonl, csv, tsv, parquet, arrow), a save_to_disk folder, or "
        "hf:ORG/NAME (datasets.load_dataset, from its cache when offline)"
    )
    build: BuildSpec | None = Field(
        None,
        discriminator="verb",
        description="how to write `path` when it does not exist yet: a `crosslift data` verb's spec, e.g. "
        "{verb: codeswitch, input: gsm8k.jsonl, field: question, ...} (its output is `path`)",
    )

    @model_validator(mode="after")
    def _hub_datasets_are_read_not_built(self) -> DataSourceConfig:
        # A build would write its output to a local folder named after the hub id ("hf:org/name") and read that.
        if self.build is not None and is_hub_id(self.path):
            raise ValueError(
                f"path {self.path!r} is a hub dataset, which is read, not built: drop `build:` (e.g. the override "
                "data.train.N.build=null) or give a file path for the build to write"
            )
        return self

    @field_validator("build", mode="before")
    @classmethod
    def _build_from_command_line(cls, value: Any) -> Any:
        if not isinstance(value, list):
            return value
        try:
            return spec_from_argv([str(item) for item in value])
        except ConfigError as e:
            raise ValueError(str(e)) from None


def ensure_built(source: DataSourceConfig) -> None:
    """Run the source's `build` spec when its file is missing (only on the main process under torchrun).

    Raises:
        DataError: the verb failed (its own error is part of the message), or, on another process, the main
            one did not build the file within BUILD_WAIT_S.
    """
    path = Path(source.path)
    if path.exists() or source.build is None:
        return
    if not is_main_process():
        deadline = time.monotonic() + BUILD_WAIT_S
        while not path.exists():  # the builder writes atomically: once it exists, it is complete
            if time.monotonic() > deadline:
                raise DataError("waited too long for the main process to build this data source", path=path)
            time.sleep(1)
        return
    stderr_console.print(f"data: building {path} (crosslift data {source.build.verb})")
    try:
        build(source.build, path)
    except CrossliftError as e:
        raise DataError(
            f"building this data source failed: crosslift data {source.build.verb} ({e})", path=path
        ) from e


def build_mapping(spec: BuildSpec) -> dict[str, Any]:
    """A build spec as the `build:` mapping to write in a config: its verb, then what differs from the defaults
    (its reading options last)."""
    values = spec.model_dump(mode="json", exclude_defaults=True, exclude={"verb"})
    reading = {key: values.pop(key) for key in list(values) if key in ReadOptions.model_fields}
    return {"verb": spec.verb, **values, **reading}


def old_form_note(source: DataSourceConfig) -> str:
    """What reading a source whose `build:` is a command line prints: that it is the old form, and the mapping
    to write instead."""
    mapping = yaml.safe_dump(
        {"build": build_mapping(source.build)},
        sort_keys=False,
        default_flow_style=None,
        allow_unicode=True,
        width=110,
    )
    lines = "\n".join(f"    {line}" for line in mapping.splitlines())
    return (
        f"data: note: {source.path}: `build:` as a list of command-line arguments is the old form, read as the "
        f"mapping below; write it so:\n{lines}"
    )


def read_sources(
    sources: list[DataSourceConfig], *, skip_invalid: bool = False
) -> tuple[list[Example], list[tuple[str, int]], list[str]]:
    """All examples of all sources, in order; where each came from (file, record index); a summary per source."""
    examples: list[Example] = []
    origins: list[tuple[str, int]] = []
    summaries: list[str] = []
    for source in sources:
        if source.build is not None and source.build.argv is not None and is_main_process():
            stderr_console.print(old_form_note(source))
        ensure_built(source)
        got, report = read_examples(source.path, source, skip_invalid=skip_invalid)
        examples += got
        origins += [(source.path, i) for i in range(len(got))]
        summaries.append(report.summary())
    return examples, origins, summaries
