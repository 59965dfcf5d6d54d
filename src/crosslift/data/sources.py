"""The data sources of a training config: read them all (validated, counted), building missing ones first.

A source may say how its file is made (`build:` = arguments of `crosslift data ...`), so that a bundled config
such as configs/crossin/tiny.yaml runs with one command: the file is written once, atomically, and reused. The
command runs in this process, through `crosslift.data.commands`, as `crosslift data` would run it.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from crosslift.config import DataSourceConfig
from crosslift.console import stderr_console
from crosslift.data.commands import build, parse_command
from crosslift.data.examples import Example, read_examples
from crosslift.errors import CrossliftError, DataError

BUILD_WAIT_S = 3600  # how long a non-main process waits for the main one to build a source


def ensure_built(source: DataSourceConfig) -> None:
    """Run the source's `build` command when its file is missing (only on the main process under torchrun).

    Raises:
        DataError: the command failed (its own error is part of the message), or, on another process, the main
            one did not build the file within BUILD_WAIT_S.
    """
    path = Path(source.path)
    if path.exists() or source.build is None:
        return
    if int(os.environ.get("RANK", "0")) != 0:
        deadline = time.monotonic() + BUILD_WAIT_S
        while not path.exists():  # the builder writes atomically: once it exists, it is complete
            if time.monotonic() > deadline:
                raise DataError("waited too long for the main process to build this data source", path=path)
            time.sleep(1)
        return
    command = " ".join(source.build)
    stderr_console.print(f"data: building {path}: crosslift data {command} --out {path}")
    try:
        build(parse_command([*source.build, "--out", str(path)]))
    except CrossliftError as e:
        raise DataError(f"building this data source failed: crosslift data {command} ({e})", path=path) from e


def read_sources(
    sources: list[DataSourceConfig], *, skip_invalid: bool = False
) -> tuple[list[Example], list[tuple[str, int]], list[str]]:
    """All examples of all sources, in order; where each came from (file, record index); a summary per source."""
    examples: list[Example] = []
    origins: list[tuple[str, int]] = []
    summaries: list[str] = []
    for source in sources:
        ensure_built(source)
        got, report = read_examples(
            source.path,
            format=source.format,
            fields=source.fields,
            limit=source.limit,
            skip_invalid=skip_invalid,
            columns=source.columns,
            quoting=source.quoting,
            subset=source.subset,
            split=source.split,
            revision=source.revision,
            encoding=source.encoding,
            coerce_types=source.coerce_types,
        )
        examples += got
        origins += [(source.path, i) for i in range(len(got))]
        summaries.append(report.summary())
    return examples, origins, summaries
