"""Tiny models written to directories: by hand (`build_tiny_model`), or once into the cache that
``tiny:<kind>`` names resolve to (`cached_tiny_model`, through `crosslift.models.build.resolve_model_path`).

A build goes into a temporary directory beside its target and is renamed into place when complete, so a killed
build never leaves a half-written model and two processes racing to build the same model both end up with one
complete directory. Building is deterministic: the same corpus and seed give byte-identical files.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import shutil
import tempfile
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from crosslift.errors import CrossliftError
from crosslift.models.tiny import KIT_VERSION, TINY_KINDS, check_kind
from crosslift.models.tiny.architectures import random_tiny_model
from crosslift.models.tiny.tokenizers import build_tiny_tokenizer

logger = logging.getLogger(__name__)

# Written into every tiny-model directory: what built it (also marks the directory as safe to overwrite).
MANIFEST = "tiny_model.json"


def _file_sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@contextlib.contextmanager
def _quiet_progress_bars() -> Iterator[None]:
    from transformers.utils import logging as hf_logging

    was_enabled = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        if was_enabled:
            hf_logging.enable_progress_bar()


def _build_into(kind: str, directory: Path, seed: int, corpus: Sequence[Path]) -> dict[str, Any]:
    started = time.perf_counter()
    tok = build_tiny_tokenizer(kind, corpus)
    trained = time.perf_counter()
    model = random_tiny_model(kind, tok, seed)
    with _quiet_progress_bars():  # a one-shard "Writing model shards" bar per model is noise here
        model.save_pretrained(directory)
    tok.save_pretrained(directory)
    if kind == "qwen2":
        # transformers loads every qwen2 checkpoint with Qwen2Tokenizer, whose unk_token defaults to
        # <|endoftext|>; Qwen2's own tokenizer_config.json says null, and so does ours.
        config_file = directory / "tokenizer_config.json"
        tokenizer_config = json.loads(config_file.read_text(encoding="utf-8")) | {"unk_token": None}
        config_file.write_text(
            json.dumps(tokenizer_config, indent=2, sort_keys=True) + "\n", encoding="utf-8"
        )
    manifest = {
        "kind": kind,
        "kit_version": KIT_VERSION,
        "seed": seed,
        "corpus": [{"path": str(p), "sha256": _file_sha256(Path(p))} for p in corpus],
        "num_parameters": model.num_parameters(),
        "vocab_size": len(tok),
    }
    (directory / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    logger.info(
        "built tiny %s: %.2f M parameters, vocab %d (tokenizer %.1f s, model %.1f s)",
        kind,
        manifest["num_parameters"] / 1e6,
        len(tok),
        trained - started,
        time.perf_counter() - trained,
    )
    return manifest


def _refuse_foreign(target: Path) -> None:
    """Replacing a directory is only safe when it holds an earlier tiny-model build (or nothing)."""
    if target.exists() and any(target.iterdir()) and not (target / MANIFEST).is_file():
        raise CrossliftError(
            f"{target} exists and is not a tiny-model directory (no {MANIFEST}); refusing to overwrite it"
        )


def _temp_dir_beside(target: Path, purpose: str) -> Path:
    target.parent.mkdir(parents=True, exist_ok=True)
    temp = Path(tempfile.mkdtemp(prefix=f".{target.name}.{purpose}-", dir=target.parent))
    temp.chmod(0o755)  # mkdtemp makes it private; the finished model is an ordinary directory
    return temp


def build_tiny_model(kind: str, out_dir: str | Path, *, seed: int = 0, corpus: Sequence[Path] = ()) -> Path:
    """Train a tokenizer and build a randomly initialised tiny model of one kind into ``out_dir``.

    The directory is built beside ``out_dir`` and moved into place when complete, so a killed build never
    leaves a half-written model. An earlier tiny-model build in ``out_dir`` is replaced.

    Args:
        kind: one of ``TINY_KINDS`` ("llama", "qwen2", "mt5-encoder", "xlmr").
        out_dir: directory to write (created; parents too).
        seed: seed of the random weights (the tokenizer depends only on the corpus).
        corpus: extra UTF-8 text files to train the tokenizer on, besides the built-in corpus.

    Returns:
        ``out_dir``, loadable with ``from_pretrained`` (or ``crosslift.models.build`` loaders).

    Raises:
        CrossliftError: unknown kind, or ``out_dir`` holds something other than a tiny model.
        DataError: a corpus file is missing or not UTF-8.
    """
    check_kind(kind)
    target = Path(out_dir).expanduser()
    _refuse_foreign(target)
    building = _temp_dir_beside(target, "building")
    try:
        _build_into(kind, building, seed, [Path(p) for p in corpus])
        _refuse_foreign(target)  # checked again: the build took a while
        if target.exists() and any(target.iterdir()):
            old = _temp_dir_beside(target, "old")
            os.replace(target, old / target.name)
            os.replace(building, target)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(building, target)  # rename() may replace an empty directory
    finally:
        shutil.rmtree(building, ignore_errors=True)
    return target


def build_tiny_models(
    out_dir: str | Path, kinds: Sequence[str] = TINY_KINDS, *, seed: int = 0, corpus: Sequence[Path] = ()
) -> dict[str, Path]:
    """Build several tiny models into ``out_dir/<kind>/``, showing progress.

    Args:
        out_dir: parent directory.
        kinds: which kinds to build (default: all of ``TINY_KINDS``).
        seed: seed of the random weights.
        corpus: extra UTF-8 text files for the tokenizers.

    Returns:
        Kind → model directory.
    """
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    from crosslift.console import stderr_console

    for kind in kinds:
        check_kind(kind)
    built: dict[str, Path] = {}
    columns = (SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn())
    with Progress(*columns, console=stderr_console) as progress:
        task = progress.add_task("tiny models", total=len(kinds))
        for kind in kinds:
            progress.update(task, description=f"building tiny {kind}")
            built[kind] = build_tiny_model(kind, Path(out_dir) / kind, seed=seed, corpus=corpus)
            progress.advance(task)
        progress.update(task, description=f"built {', '.join(kinds)} in {Path(out_dir)}")
    return built


def cache_dir() -> Path:
    """Where crosslift caches things it builds: ``$CROSSLIFT_CACHE`` or ``~/.cache/crosslift``."""
    return Path(os.environ.get("CROSSLIFT_CACHE") or Path.home() / ".cache" / "crosslift").expanduser()


def cached_tiny_model(kind: str) -> Path:
    """The cached tiny model of `kind` (seed 0, built-in corpus), built on first use.

    It lives in ``<cache>/tiny-models/<kind>-v<KIT_VERSION>-seed0``: a new kit version builds anew instead of
    reusing a model the kit no longer makes.

    Raises:
        CrossliftError: an unknown kind, or a cache directory that cannot be written.
    """
    check_kind(kind)
    target = cache_dir() / "tiny-models" / f"{kind}-v{KIT_VERSION}-seed0"
    if (target / MANIFEST).is_file():
        return target
    logger.info("building tiny:%s once into %s", kind, target)
    building = _temp_dir_beside(target, "building")
    try:
        _build_into(kind, building, 0, ())
        try:
            os.replace(building, target)
        except OSError as e:
            # Another process finished first (rename onto a non-empty directory fails): use its build.
            if not (target / MANIFEST).is_file():
                raise CrossliftError(
                    f"cannot write the tiny model to {target} ({e}); delete that directory"
                ) from e
    finally:
        shutil.rmtree(building, ignore_errors=True)
    return target
