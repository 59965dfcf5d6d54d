"""The data catalogue (resources/datasets.yaml): pinned, complete, consistent with ../shared/data's MANIFEST.csv files
and with the tasks that read it; licenses travel into run provenance."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pytest

from crosslift.catalogue import data_licenses, get_dataset, hub_dataset, load_catalogue
from crosslift.data.download import TRANSFORMS
from crosslift.eval.results.summary import language_name
from crosslift.eval.tasks.registry import TaskRegistry
from crosslift.runs import provenance

# Files of a ../shared/data folder that no crosslift code reads, so the catalogue leaves them out.
NOT_READ = {"mmwp": {"langmapping.txt"}, "gatitos": {"languages.tsv"}}
EXPECTED = {
    "mmwp",
    "mgsm",
    "msvamp",
    "xquad",
    "seaeval",
    "gsm8k",
    "alpaca_eval",
    "muse",
    "wechsel",
    "gatitos",
    "ntrex",
}
HUB = {
    "afrimgsm",
    "xcsqa",
    "xnli",
}  # Hugging Face hub datasets: no files here, read through the datasets cache


@pytest.fixture(autouse=True)
def bundled_only(monkeypatch):
    monkeypatch.delenv("CROSSLIFT_CATALOGUE", raising=False)


def test_every_source_is_catalogued_pinned_and_licensed():
    catalogue = load_catalogue()
    assert set(catalogue) == EXPECTED | HUB
    for name in HUB:
        dataset = catalogue[name]
        assert dataset.hub and dataset.subsets and dataset.rows and not dataset.files and dataset.license
        # its revision cannot be read from here: the entry says so, and runs record the one they read
        assert dataset.revision is None and "revision" in dataset.note and "provenance" in dataset.note
    for name, dataset in catalogue.items():
        if name in HUB:
            continue
        assert re.fullmatch(r"[0-9a-f]{40}", dataset.revision or ""), name
        assert dataset.revision in dataset.base_url and dataset.base_url.startswith("https://"), name
        assert dataset.license and dataset.origin, name
        if "NC" in dataset.license:
            assert "non-commercial" in dataset.restrictions, name
        if "SA" in dataset.license:
            assert "share-alike" in dataset.restrictions, name
        for f in dataset.files:
            assert f.transform is None or f.transform in TRANSFORMS, (name, f.name)
        assert all(u.startswith(dataset.base_url) for u in dataset.urls())
    assert get_dataset("muse_dictionaries").name == "muse" and get_dataset("MMWP").name == "mmwp"


def _shared_folder(shared_data: Path, name: str) -> Path:
    dataset = get_dataset(name)
    folders = [shared_data / n for n in (dataset.name, *dataset.aliases) if (shared_data / n).is_dir()]
    assert folders, f"no folder for {name} in {shared_data}"
    return folders[0]


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_the_catalogue_matches_the_shared_manifests(shared_data, name):
    dataset = get_dataset(name)
    folder = _shared_folder(shared_data, name)
    with open(folder / "MANIFEST.csv", encoding="utf-8", newline="") as f:
        manifest = {row["file"]: row for row in csv.DictReader(f)}
    catalogued = {f.name: f for f in dataset.files}
    assert set(catalogued) == set(manifest) - NOT_READ.get(name, set())
    for file_name, entry in catalogued.items():
        assert (entry.sha256, entry.bytes) == (
            manifest[file_name]["sha256"],
            int(manifest[file_name]["bytes"]),
        ), file_name


def test_tasks_name_catalogued_datasets_that_hold_their_files():
    registry = TaskRegistry()
    with_source = [t for t in registry.tasks.values() if t.dataset.source]
    assert {t.dataset.source for t in with_source} == {
        "mmwp",
        "mgsm",
        "msvamp",
        "seaeval",
        "xquad",
        "alpaca_eval",
    }
    assert {t.name for t in registry.tasks.values() if t.name.startswith(("mmwp_", "mgsm_"))} <= {
        t.name for t in with_source
    }
    for task in with_source:
        dataset = get_dataset(task.dataset.source)
        wanted = task.dataset.path.replace("{lang_name}", language_name(task.language))
        wanted = wanted.replace("{lang}", task.language)
        if dataset.name == "alpaca_eval" and task.language != "en":
            assert dataset.file(wanted) is None  # X-AlpacaEval's translations: Hugging Face only, --data-dir
            continue
        assert dataset.file(wanted) is not None, task.name
        if task.fewshot is not None:
            assert dataset.file(task.fewshot.path) is not None, task.name


def test_provenance_records_the_license_of_catalogued_files(shared_data, tmp_path):
    mmwp = _shared_folder(shared_data, "mmwp") / "test_sw.json"
    mine = tmp_path / "mine.json"
    mine.write_text("[]")
    record = provenance(data_files=[mmwp, mine, _shared_folder(shared_data, "wechsel")])
    licenses = record["data_licenses"]
    assert set(licenses) == {"mmwp", "wechsel"}
    assert licenses["mmwp"]["files"] == [str(mmwp)] and licenses["mmwp"]["restrictions"] == [
        "no-license",
        "non-commercial",
    ]
    assert licenses["wechsel"]["restrictions"] == ["share-alike"] and len(licenses["wechsel"]["files"]) == 14
    assert data_licenses({str(mine): "0" * 64}) == {}
    assert "data_licenses" not in provenance(data_files=[mine])


def test_hub_tasks_read_catalogued_hub_datasets_and_subsets():
    registry = TaskRegistry()
    hub_tasks = [t for t in registry.tasks.values() if t.dataset.path.startswith("hf:")]
    assert {t.name.rsplit("_", 1)[0] for t in hub_tasks} >= {
        "afrimgsm",
        "xcsqa",
        "xcsqa_ll",
        "xnli",
        "xnli_ll",
    }
    for task in hub_tasks:
        dataset = hub_dataset(task.dataset.path.removeprefix("hf:"))
        assert dataset is not None, task.name
        subset = (task.dataset.subset or "").replace("{lang}", task.language)
        assert subset in dataset.subsets and task.dataset.split in dataset.rows, task.name


def test_provenance_records_the_license_of_a_hub_dataset():
    source = "hf:facebook/xnli subset=sw split=test"
    assert data_licenses({source: "0" * 64 + " (revision abc, as read)"})["xnli"] == get_dataset(
        "xnli"
    ).record() | {"files": [source]}
