"""Shared fixtures. Tests never reach the network: the hub is switched off before transformers is imported."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

for _var in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE", "TRANSFORMERS_OFFLINE"):
    os.environ[_var] = "1"
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("CROSSLIFT_SHARED_DATA", REPO_ROOT.parent / "shared" / "data"))


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The read-only data folder beside the checkout (../shared/data); skips the test when it is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"shared data not found at {SHARED_DATA}")
    return SHARED_DATA


@pytest.fixture
def register_language(tmp_path, monkeypatch):
    """Register a one-language table (code qxa) with the given script; the registry is restored afterwards."""
    from crosslift import languages

    monkeypatch.setenv(languages.LANGUAGES_ENV, "")
    monkeypatch.setattr(languages, "_registered_files", [])

    def register(script: str) -> Path:
        table = tmp_path / "synthetic.tsv"
        table.write_text(
            "code\tiso639_1\tiso639_3\tname\tscript\taliases\tother_names\n"
            f"qxa\t\tqxa\tSynthetic X-A\t{script}\t\t\n"
        )
        languages.register_languages(table)
        return table

    yield register
    languages._registered_files.clear()
    languages._registry.cache_clear()
