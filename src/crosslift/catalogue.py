"""The data catalogue: where every benchmark and lexicon crosslift reads comes from, under which license, pinned
to a source revision, with the sha256 of every file (``resources/datasets.yaml``).

    from crosslift.catalogue import get_dataset
    mmwp = get_dataset("mmwp")
    mmwp.license_line(), [f.name for f in mmwp.files], mmwp.urls()

`crosslift data download NAME` (crosslift.data.download) fetches a dataset into ``data_cache_dir() / NAME``;
tasks and lexicons named by dataset find their files there. Extra catalogue files (a lab mirror, a private
benchmark) are named by ``$CROSSLIFT_CATALOGUE`` (several joined with ``os.pathsep``); their datasets replace bundled
ones of the same name. Runs record the license of every catalogued file they read (`data_licenses`), matched by
sha256, so a result made from non-commercial or share-alike data says so wherever the files were found.
"""

from __future__ import annotations

import difflib
import functools
import os
from importlib import resources
from pathlib import Path
from typing import Any, Literal
from urllib.parse import quote

import yaml
from pydantic import Field, model_validator

from crosslift.config import ConfigSource, Section, validate_config
from crosslift.errors import ConfigError

CATALOGUE_ENV = "CROSSLIFT_CATALOGUE"
MARKER = ".crosslift-dataset.json"  # written last into a dataset's cache folder: every file there is verified
RESTRICTION_NOTES = {
    "non-commercial": "non-commercial use only",
    "share-alike": "share-alike: adaptations you distribute must carry the same license",
    "no-license": "no license stated by the origin: research use, do not redistribute",
}
_SHA256 = r"^[0-9a-f]{64}$"
_FILE_NAME = r"^[^/\\]+$"


class SourceFile(Section):
    """A file as the origin publishes it (the input of a transform)."""

    source: str = Field(description="path relative to the dataset's base_url")
    bytes: int = Field(ge=0)
    sha256: str = Field(pattern=_SHA256)


class CatalogueFile(Section):
    """A file crosslift reads, as it lands in the cache."""

    name: str = Field(pattern=_FILE_NAME)
    bytes: int = Field(ge=0)
    sha256: str = Field(pattern=_SHA256)
    source: str | None = Field(
        None, description="path relative to base_url when the file is published as is (default: name)"
    )
    transform: str | None = Field(
        None, description="a function of crosslift.data.download that makes it from `inputs`"
    )
    inputs: list[SourceFile] = Field(default_factory=list)

    @model_validator(mode="after")
    def _one_way_to_make_it(self) -> CatalogueFile:
        if (self.transform is None) != (not self.inputs):
            raise ValueError("a file has both `transform` and `inputs`, or neither")
        if self.transform is not None and self.source is not None:
            raise ValueError("a transformed file names its upstream files in `inputs`, not `source`")
        return self

    def sources(self) -> list[SourceFile]:
        """The upstream files it is made from (itself, when published as is)."""
        if self.inputs:
            return list(self.inputs)
        return [SourceFile(source=self.source or self.name, bytes=self.bytes, sha256=self.sha256)]


class Dataset(Section):
    """One catalogue entry (see the header of resources/datasets.yaml)."""

    name: str = ""
    title: str
    kind: Literal["benchmark", "lexicon", "training", "parallel"]
    aliases: list[str] = Field(default_factory=list)
    license: str
    restrictions: list[Literal["non-commercial", "share-alike", "no-license"]] = Field(default_factory=list)
    citation: str | None = None
    origin: str | None = None
    revision: str | None = None
    note: str | None = None
    base_url: str | None = Field(None, pattern=r"^(https?|file)://.+/$")
    transform_args: dict[str, Any] = Field(default_factory=dict)
    files: list[CatalogueFile] = Field(default_factory=list)
    hub: str | None = Field(
        None,
        pattern=r"^[\w.-]+/[\w.-]+$",
        description="ORG/NAME of a Hugging Face hub dataset, read through the datasets cache (hf:ORG/NAME)",
    )
    subsets: list[str] = Field(default_factory=list, description="hub: its subsets (configs)")
    rows: dict[str, int] = Field(
        default_factory=dict, description="hub: the rows of each split, in every subset (checked on loading)"
    )

    @model_validator(mode="after")
    def _files_or_hub(self) -> Dataset:
        if self.hub is None and (self.base_url is None or not self.files):
            raise ValueError("a dataset has base_url and files, or is a hub dataset (hub: ORG/NAME)")
        if self.hub is not None and (self.base_url is not None or self.files):
            raise ValueError("a hub dataset is read through the datasets cache: no base_url or files")
        if self.hub is not None and self.revision is None and not self.note:
            raise ValueError("a hub dataset without a pinned revision says why in `note`")
        names = [f.name for f in self.files]
        if len(set(names)) != len(names):
            raise ValueError(f"file names repeat: {sorted({n for n in names if names.count(n) > 1})}")
        return self

    def url(self, source: str) -> str:
        return str(self.base_url) + quote(source)

    def urls(self) -> list[str]:
        """Every upstream URL the dataset is made from, in catalogue order, without repeats."""
        return list(dict.fromkeys(self.url(s.source) for f in self.files for s in f.sources()))

    def file(self, name: str) -> CatalogueFile | None:
        return next((f for f in self.files if f.name == name), None)

    def license_line(self) -> str:
        origin = (
            f" ({self.origin}{f' @ {self.revision[:12]}' if self.revision else ''})" if self.origin else ""
        )
        return f"{self.name}: license {self.license}{origin}"

    def notice(self) -> str | None:
        """The restrictions in words, or None for a permissive license."""
        return "; ".join(RESTRICTION_NOTES[r] for r in self.restrictions) or None

    def record(self) -> dict[str, Any]:
        """What a run's provenance says about the dataset."""
        return {
            "license": self.license,
            "restrictions": list(self.restrictions),
            "origin": self.origin,
            "revision": self.revision,
        }


class Catalogue(Section):
    version: Literal[1]
    datasets: dict[str, Dataset]


def bundled_catalogue_path() -> Path:
    return Path(str(resources.files("crosslift").joinpath("resources", "datasets.yaml")))


def data_cache_dir() -> Path:
    """Where downloaded datasets live: ``$CROSSLIFT_CACHE/data`` (the root models.tiny caches under too)."""
    return (
        Path(os.environ.get("CROSSLIFT_CACHE") or Path.home() / ".cache" / "crosslift").expanduser() / "data"
    )


def _read(path: Path, *, bundled: bool) -> dict[str, Dataset]:
    if bundled:  # ours: the fast loader, no line bookkeeping (tests keep it valid)
        loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
        catalogue = Catalogue.model_validate(yaml.load(path.read_text(encoding="utf-8"), Loader=loader))
    else:
        if not path.is_file():
            raise ConfigError(f"data catalogue {path} (from ${CATALOGUE_ENV}) not found")
        try:
            catalogue = validate_config(Catalogue, ConfigSource(path))
        except ConfigError as e:
            raise ConfigError(f"data catalogue {path} (from ${CATALOGUE_ENV}): {e}") from None
    for name, dataset in catalogue.datasets.items():
        dataset.name = name
    return catalogue.datasets


def _extra_files() -> tuple[tuple[str, int], ...]:
    """The $CROSSLIFT_CATALOGUE files with their modification times (a changed file is read again)."""
    paths = [Path(p).expanduser() for p in os.environ.get(CATALOGUE_ENV, "").split(os.pathsep) if p]
    return tuple((str(p), p.stat().st_mtime_ns if p.is_file() else -1) for p in paths)


@functools.cache
def _load(extra: tuple[tuple[str, int], ...]) -> dict[str, Dataset]:
    datasets = _read(bundled_catalogue_path(), bundled=True)
    for path, _ in extra:
        datasets |= _read(Path(path), bundled=False)
    return datasets


def load_catalogue() -> dict[str, Dataset]:
    """Name -> Dataset: the bundled catalogue, then the files of $CROSSLIFT_CATALOGUE over it."""
    return _load(_extra_files())


def find_dataset(name: str) -> Dataset | None:
    """The dataset of that name or alias (case-insensitive), or None."""
    key = name.strip().lower()
    datasets = load_catalogue()
    if key in datasets:
        return datasets[key]
    return next((d for d in datasets.values() if key in (a.lower() for a in d.aliases)), None)


def hub_dataset(repo: str) -> Dataset | None:
    """The catalogued hub dataset of that ``ORG/NAME`` (case-insensitive), or None."""
    key = repo.strip().lower()
    return next((d for d in load_catalogue().values() if d.hub and d.hub.lower() == key), None)


def get_dataset(name: str) -> Dataset:
    """The dataset of that name or alias.

    Raises:
        ConfigError: an unknown name, with the closest known ones.
    """
    dataset = find_dataset(name)
    if dataset is None:
        known = sorted(load_catalogue())
        close = difflib.get_close_matches(name.lower(), known, n=3, cutoff=0.5)
        hint = f"did you mean {', '.join(close)}? " if close else ""
        raise ConfigError(f"no dataset '{name}' in the data catalogue; {hint}known: {', '.join(known)}")
    return dataset


@functools.cache
def _by_sha256(extra: tuple[tuple[str, int], ...]) -> tuple[dict[str, Dataset], frozenset[int]]:
    files = [(f, d) for d in _load(extra).values() for f in d.files]
    return {f.sha256: d for f, d in files}, frozenset(f.bytes for f, _ in files)


def data_licenses(hashes: dict[str, str]) -> dict[str, dict[str, Any]]:
    """The catalogued datasets among a run's input files, with their licenses and the files that matched.

    Args:
        hashes: path -> sha256 (`runs.data_hashes`). A directory (a lexicon folder) is matched file by file.
    """
    by_sha, sizes = _by_sha256(_extra_files())
    found: dict[str, dict[str, Any]] = {}

    def add(path: str, sha: str) -> None:
        dataset = by_sha.get(sha)
        if dataset is not None:
            found.setdefault(dataset.name, dataset.record() | {"files": []})["files"].append(path)

    from crosslift.io import sha256_file

    for path, sha in hashes.items():
        if path.startswith("hf:"):  # a hub dataset: "hf:ORG/NAME[@revision] subset=... split=..."
            dataset = hub_dataset(path.removeprefix("hf:").split()[0].split("@")[0])
            if dataset is not None:
                found.setdefault(dataset.name, dataset.record() | {"files": []})["files"].append(path)
            continue
        if Path(path).is_dir():
            for file in sorted(p for p in Path(path).iterdir() if p.is_file() and p.stat().st_size in sizes):
                add(str(file), sha256_file(file))
        else:
            add(path, sha)
    return found
