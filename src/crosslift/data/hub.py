"""Tables as data sources: Hugging Face hub datasets (``hf:ORG/NAME``), parquet and Arrow files, and folders
written by ``Dataset.save_to_disk``. Training sources (`crosslift.data.examples`) and evaluation tasks
(`crosslift.eval.tasks.data`) read them all through here, as lists of records.

    hf:ORG/NAME   ``datasets.load_dataset(ORG/NAME, subset, split=split, revision=revision)``: from the local
                  datasets cache when the hub cannot be reached or ``HF_DATASETS_OFFLINE=1`` / ``HF_HUB_OFFLINE=1``
                  is set (a dataset loaded once with network access stays usable offline)
    x.parquet     pyarrow
    x.arrow       an Arrow IPC stream (what ``datasets`` writes) or file
    folder/       ``datasets.load_from_disk``; a DatasetDict needs ``split``

A hub dataset has no file to hash, so each load records a SHA-256 of its records (`crosslift.io.remember_digest`),
which the run's provenance reports beside the hashes of its files, with the dataset repository's revision that was
read (the commit the datasets cache names its folder by) when the source does not pin one. A hub dataset in the data
catalogue (`crosslift.catalogue`, ``hub: ORG/NAME``) is checked against it on loading: each split's row count.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from crosslift.errors import DataError
from crosslift.io import remember_digest

HUB_PREFIX = "hf:"
TABLE_FORMATS = ("parquet", "arrow", "hf-disk", "hf")


def is_hub_id(path: Any) -> bool:
    """Whether a source path names a hub dataset (``hf:ORG/NAME``)."""
    return isinstance(path, HubSource) or (isinstance(path, str) and path.startswith(HUB_PREFIX))


@dataclass(frozen=True)
class HubSource:
    """One split of one subset (config) of a hub dataset.

    Attributes:
        repo: "ORG/NAME" (or "NAME").
        subset: the dataset's config name ("sw" for a dataset with one subset per language), or None.
        split: e.g. "train", "test".
        revision: a branch, tag or commit of the dataset repository, or None (the default branch).
    """

    repo: str
    split: str
    subset: str | None = None
    revision: str | None = None

    @classmethod
    def parse(
        cls, path: str, *, split: str, subset: str | None = None, revision: str | None = None
    ) -> HubSource:
        repo = path.removeprefix(HUB_PREFIX).strip()
        if not repo or repo.count("/") > 1 or any(not part for part in repo.split("/")):
            raise DataError(
                f"'{path}' is not a hub dataset id; expected {HUB_PREFIX}ORG/NAME (or {HUB_PREFIX}NAME)"
            )
        return cls(repo=repo, split=split, subset=subset or None, revision=revision or None)

    def __str__(self) -> str:
        subset = f" subset={self.subset}" if self.subset else ""
        revision = f"@{self.revision}" if self.revision else ""
        return f"{HUB_PREFIX}{self.repo}{revision}{subset} split={self.split}"


def _offline() -> str | None:
    return next(
        (
            v
            for v in ("HF_DATASETS_OFFLINE", "HF_HUB_OFFLINE")
            if os.environ.get(v, "").strip().lower() in ("1", "true", "yes", "on")
        ),
        None,
    )


def load_hub_rows(source: HubSource) -> list[dict[str, Any]]:
    """The records of a hub dataset split, through ``datasets.load_dataset`` (its cache, and its offline rules).

    Raises:
        DataError: the dataset is neither reachable nor cached, or has no such subset or split (the message names
            the id, and lists what the cache or the hub holds when datasets says so).
    """
    import datasets
    from datasets.exceptions import DatasetNotFoundError

    try:
        loaded = datasets.load_dataset(
            source.repo, source.subset, split=source.split, revision=source.revision
        )
    except (ConnectionError, DatasetNotFoundError, FileNotFoundError) as e:
        offline = _offline()
        why = (
            f"{offline}=1 is set, so only the local cache ({datasets.config.HF_DATASETS_CACHE}) is read, and it "
            "does not hold it"
            if offline
            else f"the hub cannot be reached or has no such dataset ({e})"
        )
        raise DataError(
            f"cannot load the Hugging Face dataset '{source.repo}': {why}. Load it once with network "
            "access (it is then cached), or copy its folder from another machine's datasets cache",
            path=str(source),
        ) from None
    except ValueError as e:  # unknown subset or split: datasets lists the available ones
        raise DataError(
            f"Hugging Face dataset '{source.repo}': {e}".replace("\n", " "), path=str(source)
        ) from None
    rows = loaded.to_list()
    if not rows:
        raise DataError("holds no records", path=str(source))
    _check_catalogued(source, len(rows))
    # under the full reference (as eval records its data) and the bare id (as a training source's path reads)
    digest = hashlib.sha256(
        json.dumps(rows, sort_keys=True, ensure_ascii=False, default=str).encode()
    ).hexdigest()
    if source.revision is None:
        read = revision_read(loaded)
        digest += f" (revision {read}, as read)" if read else " (revision unknown: not read from the cache)"
    remember_digest(str(source), digest)
    remember_digest(f"{HUB_PREFIX}{source.repo}", f"{digest} (records of {source})")
    return rows


_COMMIT = re.compile(r"^[0-9a-f]{40}$")


def revision_read(loaded: Any) -> str | None:
    """The dataset repository's commit a loaded hub dataset came from: datasets caches a hub dataset under
    ``<name>/<config>/<version>/<commit>/``, so its cache files' folder names it. None when it cannot be told."""
    for entry in getattr(loaded, "cache_files", None) or []:
        for part in reversed(Path(entry.get("filename", "")).parts[:-1]):
            if _COMMIT.match(part):
                return part
    return None


def _check_catalogued(source: HubSource, rows: int) -> None:
    """What can be verified of a catalogued hub dataset without a file to hash: the rows of its split."""
    from crosslift.catalogue import hub_dataset

    entry = hub_dataset(source.repo)
    expected = entry.rows.get(source.split) if entry is not None else None
    if expected is not None and rows != expected:
        raise DataError(
            f"holds {rows} records; the data catalogue's '{entry.name}' has {expected} in split {source.split} "
            "of every subset (another revision of the dataset, or a damaged cache)",
            path=str(source),
        )


def read_table_rows(
    path: str | Path | HubSource, fmt: str, *, split: str | None = None
) -> list[dict[str, Any]]:
    """Every record of a table source, in order.

    Args:
        path: a HubSource (fmt "hf"), a parquet / Arrow file, or a ``save_to_disk`` folder.
        fmt: one of TABLE_FORMATS.
        split: hf-disk only: the split of a saved DatasetDict.

    Raises:
        DataError: a missing or unreadable file, an empty table, a DatasetDict without `split`.
    """
    if fmt == "hf":
        if not isinstance(path, HubSource):
            raise DataError("format 'hf' reads hub datasets: give the path as hf:ORG/NAME", path=str(path))
        return load_hub_rows(path)
    path = Path(path)
    if not path.exists():
        raise DataError("file not found", path=path)
    if fmt == "parquet":
        import pyarrow.parquet as pq

        try:
            rows = pq.read_table(path).to_pylist()
        except Exception as e:  # pyarrow raises many types for a bad file
            raise DataError(f"not a readable parquet file ({e})", path=path) from None
    elif fmt == "arrow":
        rows = _read_arrow(path)
    elif fmt == "hf-disk":
        rows = _read_saved(path, split)
    else:
        raise DataError(f"unknown table format '{fmt}' (one of {', '.join(TABLE_FORMATS)})", path=path)
    if not rows:
        raise DataError("holds no records", path=path)
    return rows


def _read_arrow(path: Path) -> list[dict[str, Any]]:
    import pyarrow as pa

    errors = []
    # datasets writes IPC streams; feather v2 (and pyarrow's new_file) writes IPC files
    for open_reader in (pa.ipc.open_stream, pa.ipc.open_file):
        try:
            with pa.memory_map(str(path)) as source:
                return open_reader(source).read_all().to_pylist()
        except (pa.ArrowInvalid, OSError) as e:
            errors.append(str(e))
    raise DataError(f"not a readable Arrow file ({errors[-1]})", path=path)


def _read_saved(path: Path, split: str | None) -> list[dict[str, Any]]:
    from datasets import Dataset, DatasetDict, load_from_disk

    if not path.is_dir():
        raise DataError("a saved datasets dataset is a folder (written by save_to_disk)", path=path)
    try:
        loaded = load_from_disk(str(path))
    except FileNotFoundError as e:
        raise DataError(f"not a saved datasets directory ({e})", path=path) from None
    if isinstance(loaded, DatasetDict):
        if split is None:
            raise DataError(
                f"holds a DatasetDict with splits {', '.join(loaded)}; choose one with split "
                f"(e.g. split: {next(iter(loaded))})",
                path=path,
            )
        if split not in loaded:
            raise DataError(f"has no split '{split}' (it has {', '.join(loaded)})", path=path)
        loaded = loaded[split]
    elif split is not None and loaded.split is not None and str(loaded.split) != split:
        raise DataError(f"holds one split ({loaded.split}), not '{split}'", path=path)
    assert isinstance(loaded, Dataset)
    return loaded.to_list()
