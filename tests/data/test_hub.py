"""Hugging Face datasets as sources, with no network: hub ids read from a locally written datasets cache (offline),
parquet and Arrow files, and save_to_disk folders; for training sources and for evaluation tasks, and sft_tiny
trained and evaluated on each form."""

from __future__ import annotations

import json
import re
import shutil
import textwrap
from pathlib import Path

import pytest

from crosslift.data.examples import read_examples
from crosslift.data.hub import HubSource, read_table_rows
from crosslift.data.options import ReadOptions
from crosslift.errors import ConfigError, DataError
from crosslift.io import known_digest

SFT_TINY = Path(__file__).resolve().parents[2] / "src" / "crosslift" / "configs" / "sft_tiny.yaml"
LANGS = {"en": ("English", "What is {a} plus {b}?"), "sw": ("Swahili", "Ni kiasi gani {a} jumlisha {b}?")}
PROBLEMS = [(2, 3), (10, 7), (4, 4), (6, 9)]


def rows(lang: str) -> list[dict]:
    return [
        {
            "question": LANGS[lang][1].format(a=a, b=b),
            "answer": f"{a} + {b} = {a + b}. The answer is {a + b}.",
            "gold": str(a + b),
        }
        for a, b in PROBLEMS
    ]


def cache_hub_dataset(
    cache: Path,
    repo: str,
    configs: dict[str, dict[str, list[dict]]],
    work: Path,
    commit: str = "0123456789abcdef",
) -> None:
    """Write `repo` into a datasets cache as `load_dataset(repo, config)` leaves it after an online load:
    <cache>/<org>___<name>/<config>/0.0.0/<commit>/{<name>-<split>.arrow, dataset_info.json}."""
    import pyarrow as pa
    import pyarrow.parquet as pq
    from datasets.packaged_modules.parquet.parquet import Parquet

    org, name = repo.split("/")
    for config, splits in configs.items():
        files = {}
        for split, records in splits.items():
            files[split] = str(work / f"{config}-{split}.parquet")
            pq.write_table(pa.Table.from_pylist(records), files[split])
        builder = Parquet(
            config_name=config,
            config_id=config,
            dataset_name=name,
            cache_dir=str(work / "build"),
            hash=commit,
            data_files=files,
        )
        builder.download_and_prepare()
        shutil.copytree(work / "build" / name / config, cache / f"{org}___{name}" / config)


@pytest.fixture
def hub(tmp_path, monkeypatch) -> Path:
    """A datasets cache holding acme/mini_math (subsets en and sw, splits train and test), read offline."""
    import datasets

    cache = tmp_path / "hf_datasets"
    monkeypatch.setenv("HF_DATASETS_CACHE", str(cache))
    monkeypatch.setattr(datasets.config, "HF_DATASETS_CACHE", cache)
    work = tmp_path / "hub_work"
    work.mkdir()
    cache_hub_dataset(
        cache, "acme/mini_math", {lang: {"train": rows(lang), "test": rows(lang)[:3]} for lang in LANGS}, work
    )
    return cache


def test_a_cached_hub_dataset_reads_offline_by_subset_and_split(hub):
    examples, report = read_examples(
        "hf:acme/mini_math", ReadOptions(subset="sw", fields={"instruction": "question", "output": "answer"})
    )
    assert len(examples) == 4 and examples[0].instruction == "Ni kiasi gani 2 jumlisha 3?"
    assert report.read == 4 and examples[0].meta == {"gold": "5"}
    test, _ = read_examples(
        "hf:acme/mini_math",
        ReadOptions(subset="en", split="test", fields={"instruction": "question", "output": "answer"}),
    )
    assert len(test) == 3
    # a hub dataset has no file: its records' hash is what provenance reports under its id, with the revision
    # read (this cache's folder is not named by a commit, so it says so)
    digest = known_digest(str(HubSource("acme/mini_math", "test", "en")))
    assert known_digest("hf:acme/mini_math") and re.fullmatch(r"[0-9a-f]{64}", digest[:64])
    assert digest[64:] == " (revision unknown: not read from the cache)"


def test_hub_errors_name_the_dataset(hub):
    with pytest.raises(
        DataError,
        match=r"hf:acme/absent.*cannot load the Hugging Face dataset 'acme/absent'.*"
        r"HF_DATASETS_OFFLINE=1 is set, so only the local cache",
    ):
        read_examples("hf:acme/absent")
    with pytest.raises(DataError, match=r"acme/mini_math.*Unknown split \"validation\""):
        read_examples("hf:acme/mini_math", ReadOptions(subset="sw", split="validation"))
    with pytest.raises(
        DataError, match=r"acme/mini_math.*config 'de'.*Available configs in the cache: \['en', 'sw'\]"
    ):
        read_examples("hf:acme/mini_math", ReadOptions(subset="de"))
    with pytest.raises(DataError, match="not a hub dataset id"):
        read_examples("hf:")
    with pytest.raises(DataError, match="subset/revision apply to hub datasets"):
        read_examples(Path(__file__), ReadOptions(format="json", subset="sw"))


def test_parquet_arrow_and_saved_folders(tmp_path):
    import pyarrow as pa
    from datasets import Dataset, DatasetDict

    ds = Dataset.from_list(rows("sw"))
    ds.to_parquet(str(tmp_path / "sw.parquet"))
    table = pa.Table.from_pylist(rows("sw"))
    with (
        pa.OSFile(str(tmp_path / "stream.arrow"), "wb") as sink,
        pa.ipc.new_stream(sink, table.schema) as writer,
    ):
        writer.write_table(table)  # what datasets caches
    with (
        pa.OSFile(str(tmp_path / "file.feather"), "wb") as sink,
        pa.ipc.new_file(sink, table.schema) as writer,
    ):
        writer.write_table(table)
    DatasetDict({"train": ds, "test": ds.select(range(2))}).save_to_disk(str(tmp_path / "dict"))
    fields = {"instruction": "question", "output": "answer"}
    for path in ("sw.parquet", "stream.arrow", "file.feather"):
        examples, _ = read_examples(tmp_path / path, ReadOptions(fields=fields))
        assert [e.instruction for e in examples] == [r["question"] for r in rows("sw")], path
    assert len(read_examples(tmp_path / "dict", ReadOptions(fields=fields, split="test"))[0]) == 2
    with pytest.raises(DataError, match="DatasetDict with splits train, test; choose one with split"):
        read_examples(tmp_path / "dict", ReadOptions(fields=fields))
    with pytest.raises(DataError, match="has no split 'dev'"):
        read_table_rows(tmp_path / "dict", "hf-disk", split="dev")
    (tmp_path / "bad.arrow").write_bytes(b"not arrow")
    with pytest.raises(DataError, match=r"bad.arrow: not a readable Arrow file"):
        read_examples(tmp_path / "bad.arrow")


# ---------------------------------------------------------------------------------------------------- end to end


def _forms(tmp_path: Path, hub: Path) -> dict[str, tuple[list[str], str]]:
    """Each form of the same data: (training source overrides, the eval task's dataset block)."""
    from datasets import Dataset, DatasetDict

    data = tmp_path / "forms"
    data.mkdir()
    for lang, (name, _) in LANGS.items():
        Dataset.from_list(rows(lang)).to_parquet(str(data / f"train_{name}.parquet"))
        DatasetDict(
            {"train": Dataset.from_list(rows(lang)), "test": Dataset.from_list(rows(lang)[:3])}
        ).save_to_disk(str(data / f"saved_{lang}"))
    return {
        "parquet": (
            [f"data.train.0.path={data / 'train_English.parquet'}"],
            f"{{path: '{data}/train_{{lang_name}}.parquet', question_field: question, answer_field: gold}}",
        ),
        "save_to_disk": (
            [f"data.train.0.path={data / 'saved_en'}", "data.train.0.split=train"],
            f"{{path: '{data}/saved_{{lang}}', split: test, question_field: question, answer_field: gold}}",
        ),
        "hub": (
            ["data.train.0.path=hf:acme/mini_math", "data.train.0.subset=en"],
            "{path: 'hf:acme/mini_math', subset: '{lang}', question_field: question, answer_field: gold}",
        ),
    }


@pytest.mark.slow
@pytest.mark.parametrize("form", ["parquet", "save_to_disk", "hub"])
def test_sft_tiny_trains_and_evaluates_on_each_form(form, hub, tmp_path):
    from crosslift.eval import evaluate, load_eval_config
    from crosslift.train import train

    overrides, dataset = _forms(tmp_path, hub)[form]
    run = train(
        SFT_TINY,
        [
            *overrides,
            "data.train.0.build=null",  # sft_tiny's own data is the toy set it builds; this source is given
            "data.train.0.fields={instruction: question, output: answer}",
            f"output_dir={tmp_path / 'run'}",
            "data.train.0.limit=4",
            "training.max_steps=2",
            "training.save_steps=2",
            "training.batch_size=2",
        ],
    )
    manifest = run.manifest()
    assert manifest["status"] == "completed" and manifest["data_stats"]["used"] == 4
    source = overrides[0].split("=", 1)[1]
    assert len(manifest["data"][source].split()[0]) == 64  # a file's, a folder's or the hub records' SHA-256
    tasks = tmp_path / "tasks"
    tasks.mkdir()
    (tasks / "mini_math.yaml").write_text(
        textwrap.dedent(f"""\
        include: parallel_math
        task: mini_math
        languages: [en, sw]
        dataset: {dataset}
        """)
    )
    config = load_eval_config(
        None,
        [
            f"output_dir={tmp_path / 'eval'}",
            f"model.name_or_path={run.model}",
            f"task_paths=[{tasks}]",
            "tasks=[{name: mini_math, limit: 2}]",
            "generation.max_new_tokens=4",
            "prompt.instruction_language=en",
        ],
    )
    summary = evaluate(config)["mini_math"]
    assert summary["n_items"] == 4 and set(summary["languages"]) == {"en", "sw"}
    items = [
        json.loads(line) for line in (tmp_path / "eval/eval/mini_math/items.jsonl").read_text().splitlines()
    ]
    assert {(r["language"], r["gold"]) for r in items} == {
        ("en", "5"),
        ("en", "17"),
        ("sw", "5"),
        ("sw", "17"),
    }
    data = summary["provenance"]["data"]
    assert len(data) == 2 and all(len(digest.split()[0]) == 64 for digest in data.values())
    if form == "hub":
        assert sorted(data) == [
            "hf:acme/mini_math subset=en split=test",
            "hf:acme/mini_math subset=sw split=test",
        ]


def test_eval_task_errors_for_hub_settings(tmp_path):
    from crosslift.eval.tasks.registry import TaskRegistry

    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "include: parallel_math\ntask: x\nlanguages: [en]\ndataset: {path: 'x_{lang}.json', subset: sw}\n"
    )
    with pytest.raises(ConfigError, match="dataset.subset and dataset.revision apply to hub datasets"):
        TaskRegistry([bad])
    bad.write_text(
        "include: parallel_math\ntask: x\nlanguages: [en]\ndataset: {path: 'hf:a/b', format: json}\n"
    )
    with pytest.raises(ConfigError, match="a hub dataset is read as a table; leave dataset.format unset"):
        TaskRegistry([bad])


def test_the_revision_read_is_recorded_and_catalogued_row_counts_are_checked(tmp_path, monkeypatch):
    import datasets

    from crosslift.data.hub import load_hub_rows

    cache = tmp_path / "hf_datasets"
    monkeypatch.setattr(datasets.config, "HF_DATASETS_CACHE", cache)
    commit = "89abcdef" * 5  # the hub repository's commit, which names the cache folder
    work = tmp_path / "work"
    work.mkdir()
    cache_hub_dataset(cache, "acme/rev_math", {"sw": {"test": rows("sw")}}, work, commit=commit)
    source = HubSource("acme/rev_math", "test", "sw")
    assert len(load_hub_rows(source)) == 4
    assert known_digest(str(source)).endswith(f" (revision {commit}, as read)")
    # a catalogued hub dataset: the loader checks what it can without a file, the rows of the split
    catalogue = tmp_path / "catalogue.yaml"
    catalogue.write_text(
        "version: 1\ndatasets:\n  rev_math:\n    title: t\n    kind: benchmark\n    hub: acme/rev_math\n"
        "    subsets: [sw]\n    rows: {test: 1000}\n    license: MIT\n    note: revision not pinned\n"
    )
    monkeypatch.setenv("CROSSLIFT_CATALOGUE", str(catalogue))
    with pytest.raises(
        DataError, match="holds 4 records; the data catalogue's 'rev_math' has 1000 in split test"
    ):
        load_hub_rows(source)
