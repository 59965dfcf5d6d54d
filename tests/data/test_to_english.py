"""QAlign's and MindMerger's data from a parallel set: the pairs, their languages, the verbs and their errors."""

from __future__ import annotations

import json

import pytest

from crosslift.cli import main
from crosslift.data.commands import build
from crosslift.data.examples import read_examples, write_examples
from crosslift.data.specs import MindmergerSpec, QalignSpec, spec_from_argv
from crosslift.data.to_english import mapping_pairs, query_translated, question_translation
from crosslift.data.toy import toy_parallel
from crosslift.errors import ConfigError, DataError


@pytest.fixture(scope="module")
def parallel():
    return toy_parallel(["sw", "bn"], 3, seed=1)


def test_qalign_question_translation(parallel):
    examples = question_translation(parallel)
    assert [e.id for e in examples] == [f"{i}-{lang}" for i in parallel.ids for lang in ("sw", "bn")]
    first = examples[0]
    en, sw = parallel.get(parallel.ids[0], "en"), parallel.get(parallel.ids[0], "sw")
    assert first.instruction == f"Translate the following sentences from Swahili to English. {sw.instruction}"
    assert first.output == en.instruction and first.input == ""
    assert (first.instruction_lang, first.output_lang, first.meta) == ("sw", "en", {"item": parallel.ids[0]})
    assert question_translation(parallel, languages=["bn"])[0].instruction.startswith(
        "Translate the following sentences from Bengali to English."
    )


def test_mindmerger_mapping_and_augmentation(parallel):
    item = parallel.ids[1]
    en, bn = parallel.get(item, "en"), parallel.get(item, "bn")
    pairs = {e.id: e for e in mapping_pairs(parallel)}
    assert (pairs[f"{item}-bn"].instruction, pairs[f"{item}-bn"].output) == (bn.instruction, en.instruction)
    queries = {e.id: e for e in query_translated(parallel)}
    assert len(queries) == 6 and f"{item}-en" not in queries
    assert (queries[f"{item}-bn"].instruction, queries[f"{item}-bn"].output) == (bn.instruction, en.output)
    with_pivot = query_translated(parallel, include_pivot=True)
    assert [e.instruction_lang for e in with_pivot[:3]] == ["en", "sw", "bn"]


def test_languages_must_be_in_the_set(parallel):
    with pytest.raises(DataError, match=r"languages \['zh'\] are not in the parallel set"):
        mapping_pairs(parallel, languages=["zh"])
    with pytest.raises(DataError, match="has no de \\(the pivot\\)"):
        mapping_pairs(parallel, pivot="de")


def test_the_verbs_read_parallel_files_by_id_as_translate_writes_them(tmp_path, parallel):
    # `crosslift data translate` output: the English input's ids, in any order, the text translated
    english = [parallel.get(i, "en") for i in parallel.ids]
    swahili = [parallel.get(i, "sw") for i in reversed(parallel.ids)]
    write_examples(tmp_path / "en.jsonl", english)
    write_examples(tmp_path / "sw.jsonl", swahili)
    argv = [
        "--parallel",
        f"en={tmp_path / 'en.jsonl'}",
        "--parallel",
        f"sw={tmp_path / 'sw.jsonl'}",
        "--align",
        "id",
    ]
    assert (
        main(["data", "mindmerger", "--stage", "augmentation", *argv, "--out", str(tmp_path / "m.jsonl")])
        == 0
    )
    built, _ = read_examples(tmp_path / "m.jsonl")
    assert [(e.instruction, e.output) for e in built] == [
        (parallel.get(i, "sw").instruction, parallel.get(i, "en").output) for i in parallel.ids
    ]
    manifest = json.loads((tmp_path / "m.manifest.json").read_text())
    assert manifest["items"] == 3 and manifest["languages"] == {"sw->en": 3}
    assert main(["data", "qalign", *argv, "--out", str(tmp_path / "q.jsonl")]) == 0
    assert len(read_examples(tmp_path / "q.jsonl")[0]) == 3


def test_line_aligned_text_files_serve_as_pairs(tmp_path):
    (tmp_path / "train.en").write_text("a red house\nthe river\n")
    (tmp_path / "train.sw").write_text("nyumba nyekundu\nmto\n")
    spec = QalignSpec(
        parallel={"en": tmp_path / "train.en", "sw": tmp_path / "train.sw"},
        format="txt",
        fields={"instruction": "text", "output": "text"},
    )
    build(spec, tmp_path / "q.jsonl")
    examples, _ = read_examples(tmp_path / "q.jsonl")
    assert [(e.instruction.split(". ")[-1], e.output) for e in examples] == [
        ("nyumba nyekundu", "a red house"),
        ("mto", "the river"),
    ]


def test_spec_errors_are_clear(tmp_path, capsys):
    with pytest.raises(ValueError, match="--toy-items needs --languages"):
        MindmergerSpec(stage="mapping", toy_items=4)
    with pytest.raises(ValueError, match="one of them"):
        MindmergerSpec(stage="mapping")
    with pytest.raises(ConfigError, match="applies to the augmentation stage"):
        build(
            MindmergerSpec(stage="mapping", toy_items=2, languages=["sw"], include_pivot=True), tmp_path / "x"
        )
    with pytest.raises(ConfigError, match=r"needs the pivot's file \(en=FILE\)"):
        build(QalignSpec(parallel={"sw": tmp_path / "sw.jsonl"}), tmp_path / "x")
    with pytest.raises(SystemExit) as exit_status:
        main(["data", "qalign", "--out", str(tmp_path / "x.jsonl")])
    assert exit_status.value.code == 2 and "--toy-items" in capsys.readouterr().err


def test_a_build_mapping_and_the_old_command_line_form_give_the_same_spec():
    argv = ["mindmerger", "--stage", "mapping", "--toy-items", "8", "--languages", "sw,zh"]
    spec = MindmergerSpec(stage="mapping", toy_items=8, languages=["sw", "zh"])
    assert spec_from_argv(argv).model_dump() == spec.model_dump()
