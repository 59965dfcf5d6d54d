"""Benchmarks and dictionaries one command away: fetch catalogued datasets into the cache, verified file by file.

    crosslift data download mmwp mgsm          # into $CROSSLIFT_CACHE/data (default ~/.cache/crosslift/data)
    crosslift data download muse --to DIR      # somewhere else
    crosslift data download mmwp --from DIR    # files fetched elsewhere (no network), verified the same way
    crosslift data download mmwp --urls        # the upstream URLs, e.g. for `wget -i -` on another machine
    crosslift data download --list            # the catalogue: licenses, sizes, what is downloaded

What the catalogue holds (licenses, pinned URLs, sha256) is `crosslift.catalogue`. A dataset arrives in steps:

1. its license line is printed, and non-commercial, share-alike or unlicensed data is flagged before any byte moves;
2. files already in place are hashed again and kept when they match;
3. every missing upstream file is streamed into ``<root>/.partial/<name>/``: a partial file left by an earlier
   run is resumed with an HTTP Range request, and a connection cut mid-file is retried from where it stopped.
   With ``--from DIR`` the file is taken from DIR instead (the file as the cache holds it, or as upstream
   publishes it);
4. its sha256 must equal the catalogue's. Otherwise the error names the file and the expected and actual hashes,
   and the partial file is deleted so that the next run starts clean;
5. a file published as it is moves into ``<root>/<name>/`` by rename. Any other file is made by its transform
   (e.g. MUSE's line format from the hunalign copy) and must hash to the catalogue's value too;
6. ``.crosslift-dataset.json`` (license, revision, every file's hash) is written last, so a folder without it is
   never taken for a complete dataset (`dataset_dir`).

Offline (``CROSSLIFT_OFFLINE=1`` or ``HF_HUB_OFFLINE=1``) or unreachable: the error lists the URLs to fetch
elsewhere and the ``--from DIR`` command that places them.
"""

from __future__ import annotations

import ast
import contextlib
import hashlib
import http.client
import json
import os
import random
import shutil
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.error import HTTPError, URLError
from urllib.parse import quote
from urllib.request import Request, urlopen

from rich.console import Console

from crosslift.catalogue import (
    MARKER,
    CatalogueFile,
    Dataset,
    SourceFile,
    data_cache_dir,
    find_dataset,
    get_dataset,
    load_catalogue,
)
from crosslift.console import stderr_console
from crosslift.errors import CrossliftError, DataError
from crosslift.io import atomic_write_json, sha256_file
from crosslift.version import __version__

OFFLINE_ENV = ("CROSSLIFT_OFFLINE", "HF_HUB_OFFLINE")
CHUNK = 1 << 16
USER_AGENT = f"crosslift/{__version__} (+data download)"
URLS_SHOWN = 20  # an error lists this many URLs, then points at --urls


class DownloadError(CrossliftError):
    """A dataset could not be fetched (offline, unreachable, HTTP error); names the URLs and the --from way."""


class NotDownloaded(CrossliftError):
    """A catalogued dataset is not (completely) in the cache; `command` is the one command that gets it."""

    def __init__(self, dataset: Dataset, directory: Path, command: str) -> None:
        self.dataset, self.directory, self.command = dataset, directory, command
        super().__init__(
            f"dataset '{dataset.name}' is not downloaded (looked in {directory}); get it with:  {command}"
        )


# ---------------------------------------------------------------------------------------------------- transforms
# Each makes one cache file from the bytes of its upstream files. Their outputs are checked against the
# catalogue's sha256, so a transform that drifted by one byte is an error, never a silently different benchmark.


def _json_bytes(obj: Any) -> bytes:
    return json.dumps(obj, ensure_ascii=False, indent=1).encode("utf-8")


def mgsm_exemplars(inputs: list[bytes], **_: Any) -> bytes:
    """MGSM's ``exemplars.py`` -> JSON of its top-level literals (read with ast.literal_eval: no code runs)."""
    values = {}
    for node in ast.parse(inputs[0].decode("utf-8")).body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            values[node.targets[0].id] = ast.literal_eval(node.value)
    return _json_bytes(values)


SEAEVAL_LANGUAGES = ("English", "Chinese", "Indonesian", "Vietnamese", "Spanish", "Malay", "Filipino")


def seaeval_items(inputs: list[bytes], **_: Any) -> bytes:
    """A SeaEval evaluation log -> its test items: the model's input and prediction dropped, languages in order."""
    items = []
    for entry in json.loads(inputs[0]):
        item = {"id": entry["id"]}
        for lang in SEAEVAL_LANGUAGES:
            item[lang] = {
                k: v for k, v in entry[lang].items() if k not in ("model_input", "model_prediction")
            }
        items.append(item)
    return _json_bytes(items)


def alpaca_eval_instructions(inputs: list[bytes], **_: Any) -> bytes:
    """AlpacaEval's example outputs -> X-AlpacaEval's layout: 1-based id, dataset, instruction."""
    rows = json.loads(inputs[0])
    return _json_bytes(
        [{"id": i, "dataset": r["dataset"], "instruction": r["instruction"]} for i, r in enumerate(rows, 1)]
    )


def alpaca_eval_outputs(inputs: list[bytes], **_: Any) -> bytes:
    """A model's AlpacaEval outputs -> the same rows with X-AlpacaEval's 1-based id first."""
    rows = json.loads(inputs[0])
    keys = ("dataset", "instruction", "output", "generator")
    return _json_bytes([{"id": i} | {k: r[k] for k in keys} for i, r in enumerate(rows, 1)])


def muse_from_hunalign(inputs: list[bytes], **_: Any) -> bytes:
    """hunalign's ``foreign @ english`` lines -> MUSE's ``english foreign`` lines (order kept)."""
    out = []
    for lineno, line in enumerate(inputs[0].decode("utf-8").split("\n"), start=1):
        if not line:
            continue
        foreign, sep, english = line.partition(" @ ")
        if not sep:
            raise ValueError(f"line {lineno}: expected 'foreign @ english', got {line[:80]!r}")
        out.append(f"{english} {foreign}\n")
    return "".join(out).encode("utf-8")


def _sample_lines(seed: int, lines: int, sample: int) -> list[int]:
    return sorted(random.Random(seed).sample(range(lines), sample))


def ntrex_sample(inputs: list[bytes], *, seed: int, lines: int, sample: int, **_: Any) -> bytes:
    """A whole NTREX-128 file -> the seeded sample of its lines (the same indices in every file: still parallel)."""
    rows = inputs[0].split(b"\n")
    if rows and rows[-1] == b"":
        rows.pop()
    if len(rows) != lines:
        raise ValueError(f"expected {lines} lines, got {len(rows)}")
    return b"".join(rows[i] + b"\n" for i in _sample_lines(seed, lines, sample))


def ntrex_index(inputs: list[bytes], *, seed: int, lines: int, sample: int, **_: Any) -> bytes:
    """NTREX's DOCUMENT_IDS.tsv -> the sample's index: sample row, original 0-based line, document id."""
    documents = inputs[0].decode("utf-8").split("\n")
    rows = [
        f"{row}\t{line}\t{documents[line]}\n" for row, line in enumerate(_sample_lines(seed, lines, sample))
    ]
    return ("sample_row\toriginal_line_0based\tdocument_id\n" + "".join(rows)).encode("utf-8")


TRANSFORMS: dict[str, Callable[..., bytes]] = {
    f.__name__: f
    for f in (
        mgsm_exemplars,
        seaeval_items,
        alpaca_eval_instructions,
        alpaca_eval_outputs,
        muse_from_hunalign,
        ntrex_sample,
        ntrex_index,
    )
}


# ---------------------------------------------------------------------------------------------------- the cache


def _root(root: str | Path | None) -> Path:
    return Path(root).expanduser() if root is not None else data_cache_dir()


def _command(dataset: Dataset, root: str | Path | None) -> str:
    return f"crosslift data download {dataset.name}" + (f" --to {root}" if root is not None else "")


def is_complete(dataset: Dataset, directory: Path) -> bool:
    """Whether `directory` holds every file of the dataset as the catalogue lists it (by the marker and sizes)."""
    try:
        marker = json.loads((directory / MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    hashes = marker.get("files", {}) if isinstance(marker, dict) else {}
    for f in dataset.files:
        path = directory / f.name
        if hashes.get(f.name) != f.sha256 or not path.is_file() or path.stat().st_size != f.bytes:
            return False
    return True


def dataset_dir(name: str, *, root: str | Path | None = None, download: bool = False) -> Path:
    """The folder holding a downloaded dataset, downloading it first when `download` is set.

    Raises:
        NotDownloaded: the dataset is not (completely) there; the error carries the command that gets it.
        ConfigError: no dataset of that name.
    """
    dataset = get_dataset(name)
    directory = _root(root) / dataset.name
    if is_complete(dataset, directory):
        return directory
    if download:
        fetch_datasets([dataset.name], root=root)
        return directory
    raise NotDownloaded(dataset, directory, _command(dataset, root))


def lexicon_dir(name: str, *, download: bool = False) -> Path | None:
    """The cache folder of a lexicon named by its catalogue name (`--lexicon muse`), or None if no such lexicon.

    Raises:
        DataError: the name is a catalogued dataset that is not a lexicon, or it is not downloaded.
    """
    dataset = find_dataset(name)
    if dataset is None:
        return None
    if dataset.kind != "lexicon":
        lexicons = sorted(d.name for d in load_catalogue().values() if d.kind == "lexicon")
        raise DataError(
            f"'{name}' is a {dataset.kind} in the data catalogue, not a lexicon (lexicons: {', '.join(lexicons)})"
        )
    try:
        return dataset_dir(dataset.name, download=download)
    except NotDownloaded as e:
        raise DataError(
            f"lexicon '{name}' is not downloaded (looked in {e.directory}); get it with:  {e.command}"
            "  (or pass --download, or give the lexicon's folder as a path)"
        ) from None


# ---------------------------------------------------------------------------------------------------- downloading


@dataclass
class DatasetReport:
    """What one download did."""

    name: str
    directory: Path
    license: str
    restrictions: list[str]
    kept: int = 0  # files already in place and verified
    fetched: int = 0  # upstream files downloaded
    copied: int = 0  # upstream or cache files taken from --from DIR
    bytes_fetched: int = 0
    files: list[str] = field(default_factory=list)


def _offline() -> str | None:
    for var in OFFLINE_ENV:
        if os.environ.get(var, "").strip().lower() in ("1", "true", "yes", "on"):
            return var
    return None


def _url_list(dataset: Dataset, urls: list[str]) -> str:
    shown = "\n".join(f"  {u}" for u in urls[:URLS_SHOWN])
    more = f"\n  ... and {len(urls) - URLS_SHOWN} more" if len(urls) > URLS_SHOWN else ""
    return (
        f"Fetch these {len(urls)} file(s) where there is network access (`crosslift data download {dataset.name} "
        f"--urls` lists them all), put them in one folder, and place them with\n"
        f"  crosslift data download {dataset.name} --from DIR\n{shown}{more}"
    )


def _hash_mismatch(what: str, expected: str, actual: str, extra: str = "") -> DataError:
    return DataError(f"sha256 mismatch: expected {expected}, got {actual}{extra}", path=what)


class _Fetcher:
    """HTTP(S) downloads into partial files, resumed with Range requests; progress in bytes."""

    def __init__(
        self,
        dataset: Dataset,
        urls: list[str],
        progress: Callable[[int], None],
        *,
        timeout: float,
        retries: int,
    ) -> None:
        self.dataset, self.urls, self.progress = dataset, urls, progress
        self.timeout, self.retries = timeout, retries
        self.received = 0  # bytes over the wire, restarts included

    def fetch(self, source: SourceFile, part: Path) -> None:
        """Download `source` into `part` until it has all its bytes (or raise DownloadError)."""
        url = self.dataset.url(source.source)
        cuts = 0
        while True:
            have = part.stat().st_size if part.exists() else 0
            if have > source.bytes:  # not the file we want: start over
                part.unlink()
                self.progress(-have)
                have = 0
            if have == source.bytes:
                return
            headers = {"User-Agent": USER_AGENT, "Accept-Encoding": "identity"}
            if have:
                headers["Range"] = f"bytes={have}-"
            try:
                response = urlopen(Request(url, headers=headers), timeout=self.timeout)
            except HTTPError as e:
                if e.code == 416 and have:  # nothing left past `have`: let the hash decide
                    return
                raise DownloadError(
                    f"{self.dataset.name}: HTTP {e.code} {e.reason} for {url}\n"
                    + _url_list(self.dataset, self.urls)
                ) from None
            except (URLError, OSError, http.client.HTTPException) as e:
                reason = getattr(e, "reason", e)
                raise DownloadError(
                    f"{self.dataset.name}: cannot reach {url} ({reason})\n"
                    + _url_list(self.dataset, self.urls)
                ) from None
            try:
                with response:
                    # A server that ignores the range answers 200 with the whole file: start the file over.
                    if have and response.status != 206:
                        part.unlink()
                        self.progress(-have)
                    with open(part, "ab") as f:
                        while chunk := response.read(CHUNK):
                            f.write(chunk)
                            self.received += len(chunk)
                            self.progress(len(chunk))
                if part.stat().st_size < source.bytes:
                    raise http.client.IncompleteRead(b"", source.bytes - part.stat().st_size)
                return
            except (TimeoutError, OSError, http.client.HTTPException) as e:
                cuts += 1
                if cuts > self.retries:
                    size = part.stat().st_size if part.exists() else 0
                    raise DownloadError(
                        f"{self.dataset.name}: the connection to {url} broke {cuts} times ({e!r}); "
                        f"{size} of {source.bytes} bytes are kept in {part}: rerun the command to "
                        "resume"
                    ) from None


def _verified(path: Path, expected: SourceFile | CatalogueFile, *, what: str | None = None) -> None:
    actual = sha256_file(path)
    if actual != expected.sha256:
        raise _hash_mismatch(what or str(path), expected.sha256, actual)


def _place(data: bytes, target: Path) -> None:
    """Write bytes to `target` atomically (temp file in the same folder, fsync, rename)."""
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _from_folder(dataset: Dataset, from_dir: Path) -> Path:
    """The folder of `--from DIR` that holds this dataset: DIR/<name>, DIR/<alias> (../shared/data's layout) or DIR."""
    for candidate in (dataset.name, *dataset.aliases):
        if (from_dir / candidate).is_dir():
            return from_dir / candidate
    return from_dir


def _look_for(folder: Path, source: str) -> Path | None:
    for candidate in (folder / source, folder / Path(source).name):
        if candidate.is_file():
            return candidate
    return None


class _Job:
    """Bring one dataset into its folder: reuse verified files, fetch or copy the rest, transform, mark."""

    def __init__(
        self,
        dataset: Dataset,
        root: Path,
        from_dir: Path | None,
        console: Console,
        *,
        timeout: float,
        retries: int,
    ) -> None:
        self.dataset, self.console = dataset, console
        self.directory = root / dataset.name
        self.staging = root / ".partial" / dataset.name
        self.source_dir = _from_folder(dataset, from_dir) if from_dir is not None else None
        self.timeout, self.retries = timeout, retries
        self.report = DatasetReport(dataset.name, self.directory, dataset.license, list(dataset.restrictions))

    def missing(self) -> list[CatalogueFile]:
        """The files not yet in place; files in place are re-hashed (a corrupted one is fetched again)."""
        missing = []
        for f in self.dataset.files:
            path = self.directory / f.name
            if path.is_file():
                actual = sha256_file(path)
                if actual == f.sha256:
                    self.report.kept += 1
                    continue
                self.console.print(
                    f"  {path}: sha256 {actual} is not the catalogue's {f.sha256}; fetching it again"
                )
            missing.append(f)
        return missing

    def run(self) -> DatasetReport:
        todo = self.missing()
        if todo:
            self.directory.mkdir(parents=True, exist_ok=True)
            self.staging.mkdir(parents=True, exist_ok=True)
            if self.source_dir is not None:
                self._copy(todo)
            else:
                self._download(todo)
        atomic_write_json(
            self.directory / MARKER,
            {
                "dataset": self.dataset.name,
                "title": self.dataset.title,
                "license": self.dataset.license,
                "restrictions": self.dataset.restrictions,
                "origin": self.dataset.origin,
                "revision": self.dataset.revision,
                "files": {f.name: f.sha256 for f in self.dataset.files},
            },
        )
        shutil.rmtree(self.staging, ignore_errors=True)
        with contextlib.suppress(OSError):
            self.staging.parent.rmdir()  # only when no other dataset is half-way
        self.report.files = [f.name for f in self.dataset.files]
        return self.report

    # -- from --from DIR

    def _copy(self, todo: list[CatalogueFile]) -> None:
        """Take each file from the --from folder, as the cache holds it or as upstream publishes it."""
        assert self.source_dir is not None
        absent: list[str] = []
        plans: list[tuple[CatalogueFile, Path | None, list[Path]]] = []
        for f in todo:
            ready = self.source_dir / f.name
            if ready.is_file():
                plans.append((f, ready, []))
                continue
            found = [_look_for(self.source_dir, s.source) for s in f.sources()]
            if all(found):
                plans.append((f, None, found))  # type: ignore[arg-type]
            else:
                absent += [
                    self.dataset.url(s.source) for s, p in zip(f.sources(), found, strict=True) if p is None
                ]
        if absent:
            raise DataError(
                f"{len(absent)} file(s) of dataset '{self.dataset.name}' are not in the folder "
                f"(looked for the cache's file names and for the upstream file names):\n"
                + "\n".join(f"  {u}" for u in absent),
                path=self.source_dir,
            )
        for f, ready, inputs in plans:
            if ready is not None:
                _verified(ready, f)
                tmp = self.staging / quote(f.name, safe="")
                shutil.copyfile(ready, tmp)
                _verified(tmp, f, what=str(ready))  # the copy, as read back
                os.replace(tmp, self.directory / f.name)
            else:
                for path, source in zip(inputs, f.sources(), strict=True):
                    _verified(path, source)
                self._make(f, inputs)
            self.report.copied += 1

    # -- from the network

    def _download(self, todo: list[CatalogueFile]) -> None:
        from rich.progress import (
            BarColumn,
            DownloadColumn,
            Progress,
            TextColumn,
            TimeRemainingColumn,
            TransferSpeedColumn,
        )

        urls = list(dict.fromkeys(self.dataset.url(s.source) for f in todo for s in f.sources()))
        offline = _offline()
        if offline:
            raise DownloadError(
                f"{self.dataset.name}: offline ({offline}={os.environ[offline]}), nothing is "
                f"downloaded; unset {offline} to download here.\n" + _url_list(self.dataset, urls)
            )
        sources = list({s.source: s for f in todo for s in f.sources()}.values())
        parts = {s.source: self.staging / quote(s.source, safe="") for s in sources}
        total = sum(s.bytes for s in sources)
        columns = (
            TextColumn("{task.description}"),
            BarColumn(),
            DownloadColumn(),
            TransferSpeedColumn(),
            TimeRemainingColumn(),
        )
        with Progress(*columns, console=self.console, transient=False) as progress:
            bar = progress.add_task(self.dataset.name, total=total)
            done = sum(min(p.stat().st_size, s.bytes) for s in sources if (p := parts[s.source]).exists())
            progress.update(bar, completed=done)
            fetcher = _Fetcher(
                self.dataset,
                urls,
                lambda n: progress.advance(bar, n),
                timeout=self.timeout,
                retries=self.retries,
            )
            fetched: set[str] = set()
            for f in todo:
                progress.update(bar, description=f"{self.dataset.name}: {f.name}")
                paths = []
                for s in f.sources():
                    part = parts[s.source]
                    if s.source not in fetched:
                        fetcher.fetch(s, part)
                        self.report.bytes_fetched = fetcher.received
                        actual = sha256_file(part)
                        if actual != s.sha256:
                            part.unlink()
                            what = (
                                f.name
                                if f.transform is None
                                else f"{Path(s.source).name} (the input of {f.name})"
                            )
                            raise _hash_mismatch(
                                f"{self.dataset.name}/{what}",
                                s.sha256,
                                actual,
                                f" (downloaded from {self.dataset.url(s.source)}; the download was "
                                "discarded)",
                            )
                        fetched.add(s.source)
                        self.report.fetched += 1
                    paths.append(part)
                if f.transform is None:
                    os.replace(paths[0], self.directory / f.name)  # verified above: the file as published
                else:
                    self._make(f, paths)
            progress.update(bar, description=self.dataset.name)

    # -- transforms

    def _make(self, f: CatalogueFile, inputs: list[Path]) -> None:
        """Make a file from its verified upstream files and place it once its own hash matches."""
        if f.transform is None:  # published as is: a copy of the one input
            data = inputs[0].read_bytes()
        else:
            transform = TRANSFORMS.get(f.transform)
            if transform is None:
                raise DataError(
                    f"unknown transform '{f.transform}' (known: {', '.join(TRANSFORMS)})",
                    path=f"{self.dataset.name}/{f.name}",
                )
            try:
                data = transform([p.read_bytes() for p in inputs], **self.dataset.transform_args)
            except (ValueError, KeyError, TypeError, SyntaxError) as e:
                raise DataError(
                    f"transform {f.transform} failed on {', '.join(map(str, inputs))}: {e!r}",
                    path=f"{self.dataset.name}/{f.name}",
                ) from None
        actual = hashlib.sha256(data).hexdigest()
        if actual != f.sha256:
            raise _hash_mismatch(
                f"{self.dataset.name}/{f.name}",
                f.sha256,
                actual,
                f" (made by {f.transform} from {', '.join(map(str, inputs))}; not placed)",
            )
        _place(data, self.directory / f.name)


def fetch_datasets(
    names: Iterable[str],
    *,
    root: str | Path | None = None,
    from_dir: str | Path | None = None,
    console: Console | None = None,
    timeout: float = 30.0,
    retries: int = 3,
) -> list[DatasetReport]:
    """Download (or, with `from_dir`, copy) and verify catalogued datasets into ``root / NAME``.

    Args:
        names: catalogue names or aliases.
        root: the data folder (default: $CROSSLIFT_CACHE/data, else ~/.cache/crosslift/data).
        from_dir: take the files from this folder instead of the network (its NAME or alias subfolder when
            there is one); they are verified the same way.
        timeout: seconds a connection may stay silent.
        retries: how many times a connection cut mid-file is resumed before giving up.

    Raises:
        ConfigError: an unknown dataset name (before anything is fetched).
        DownloadError: offline, unreachable or an HTTP error; the message lists the URLs and the --from command.
        DataError: a sha256 mismatch (file, expected, actual), or a file missing from `from_dir`.
    """
    console = console or stderr_console
    datasets = list({d.name: d for d in (get_dataset(n) for n in names)}.values())
    base = _root(root)
    reports = []
    for dataset in datasets:
        console.print(dataset.license_line())
        if dataset.notice():
            console.print(
                f"  note: {dataset.notice()}. Runs that read it record this license in their provenance."
            )
        if dataset.hub is not None:
            reports.append(_fetch_hub(dataset, console))
            continue
        job = _Job(
            dataset,
            base,
            Path(from_dir).expanduser() if from_dir is not None else None,
            console,
            timeout=timeout,
            retries=retries,
        )
        report = job.run()
        console.print(
            f"  {dataset.name} -> {report.directory}: {len(report.files)} files verified "
            f"({report.kept} already there, {report.fetched} downloaded, {report.copied} from --from)"
        )
        reports.append(report)
    return reports


def _fetch_hub(dataset: Dataset, console: Console) -> DatasetReport:
    """A catalogued hub dataset lands in the datasets cache, where tasks read it (hf:ORG/NAME): every subset and
    split the catalogue lists is loaded once, and its row count checked (`crosslift.data.hub`)."""
    import datasets

    from crosslift.data.hub import HubSource, load_hub_rows

    loaded = []
    for subset in dataset.subsets or [None]:
        for split in dataset.rows or ["test"]:
            source = HubSource(str(dataset.hub), split, subset, dataset.revision)
            load_hub_rows(source)
            loaded.append(str(source))
    console.print(
        f"  {dataset.name} -> the datasets cache ({datasets.config.HF_DATASETS_CACHE}): {len(loaded)} splits "
        f"of hf:{dataset.hub} loaded and checked"
    )
    return DatasetReport(
        dataset.name,
        Path(datasets.config.HF_DATASETS_CACHE),
        dataset.license,
        list(dataset.restrictions),
        files=loaded,
    )


def dataset_urls(names: Iterable[str]) -> list[str]:
    """Every upstream URL of the named datasets (for fetching them elsewhere and placing them with --from)."""
    return [u for n in names for u in get_dataset(n).urls()]


@dataclass
class CatalogueRow:
    """One line of `crosslift data download --list`."""

    name: str
    kind: str
    files: int
    bytes: int
    license: str
    restrictions: list[str]
    downloaded: bool
    title: str


def catalogue_rows(root: str | Path | None = None) -> list[CatalogueRow]:
    base = _root(root)
    return [
        CatalogueRow(
            d.name,
            d.kind,
            len(d.files),
            sum(f.bytes for f in d.files),
            d.license,
            list(d.restrictions),
            is_complete(d, base / d.name),
            d.title,
        )
        for d in load_catalogue().values()
    ]
