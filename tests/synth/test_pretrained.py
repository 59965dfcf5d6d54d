"""The demo's pretrained models: the shipped pair matches the default world and settings, is used from the package
when the key matches, and the key depends on what pretraining reads and nothing else."""

from __future__ import annotations

import json

import pytest

from crosslift.synth.config import load_demo_config
from crosslift.synth.pretrained import MANIFEST, prepare_pretraining, pretraining_key, shipped_root
from crosslift.synth.world import build_world, load_world_config

from .conftest import languages_registered


@pytest.fixture(scope="module")
def default_world(tmp_path_factory):
    world = build_world(load_world_config("default"), tmp_path_factory.mktemp("world"))
    with languages_registered(world):
        yield world


def test_the_shipped_models_are_the_default_worlds_at_pretraining_seed_0(
    default_world, tmp_path, monkeypatch
):
    """If this fails, the default world or its pretraining settings changed: `python tools/ship_demo_models.py`
    pretrains and ships the models again (else `make demo` would pretrain for half an hour first)."""
    monkeypatch.setenv("CROSSLIFT_CACHE", str(tmp_path / "cache"))
    cfg = load_demo_config("default")
    key = pretraining_key(default_world, cfg, 0)
    manifest = json.loads((shipped_root() / key[:16] / MANIFEST).read_text(encoding="utf-8"))
    assert manifest["key"] == key and manifest["dtype"] == "float16"
    size = sum(p.stat().st_size for p in (shipped_root() / key[:16]).rglob("*") if p.is_file())
    assert size <= 15 * 2**20
    pretraining = prepare_pretraining(default_world, cfg, 0)
    assert pretraining.source == "shipped" and not pretraining.jobs
    assert all((path / "model.safetensors").is_file() for path in pretraining.finish().values())
    assert prepare_pretraining(default_world, cfg, 0).source == "cache"  # copied once
    other = prepare_pretraining(default_world, cfg, 1)  # another seed is pretrained here
    assert other.source == "pretrained here" and [j.name for j in other.jobs] == [
        "pretrain1-llm",
        "pretrain1-encoder",
    ]


def test_the_key_is_what_pretraining_reads(tmp_path):
    cfg = load_demo_config("quick")
    world = build_world(load_world_config("quick"), tmp_path / "a")
    # another name and no translations for a language: other instructions, the same corpora
    same = build_world(
        load_world_config("quick", ["name=other", "languages.4.translated_items=0"]), tmp_path / "b"
    )
    assert same.hash != world.hash and pretraining_key(same, cfg, 0) == pretraining_key(world, cfg, 0)
    other_corpus = build_world(
        load_world_config("quick", ["languages.4.pretrain_share=0.01"]), tmp_path / "c"
    )
    assert pretraining_key(other_corpus, cfg, 0) != pretraining_key(world, cfg, 0)
    longer = load_demo_config("quick", ["pretrain.llm.max_steps=41"])
    assert (
        pretraining_key(world, longer, 0) != pretraining_key(world, cfg, 0) != pretraining_key(world, cfg, 1)
    )
