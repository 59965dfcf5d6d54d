"""`crosslift data ...` end to end, in process, on the shared data (skips cleanly without it)."""

import json
from collections import Counter

import pytest

from crosslift.cli import build_parser, main
from crosslift.data.commands import manifest_path
from crosslift.data.specs import spec_from_argv

LANGS = "sw,te,bn,th,zh,de"


def read_jsonl(path):
    return [json.loads(line) for line in path.read_text(encoding="utf-8").split("\n") if line]


def codeswitch_args(shared, out, *extra):
    return [
        "data",
        "codeswitch",
        "--input",
        str(shared / "gsm8k" / "train.jsonl"),
        "--field",
        "question",
        "--lexicon",
        str(shared / "muse_dictionaries"),
        "--lexicon",
        str(shared / "wechsel_dicts"),
        "--languages",
        LANGS,
        "--ratio",
        "0.4",
        "--seed",
        "1",
        "--out",
        str(out),
        *extra,
    ]


@pytest.fixture(scope="module")
def gsm8k_cs(shared_data, tmp_path_factory):
    out = tmp_path_factory.mktemp("cs") / "cs.jsonl"
    assert main(codeswitch_args(shared_data, out)) == 0
    return out


def test_codeswitch_gsm8k_the_issue_command(shared_data, gsm8k_cs):
    records = read_jsonl(gsm8k_cs)
    source = read_jsonl(shared_data / "gsm8k" / "train.jsonl")
    assert len(records) == len(source) == 7473  # one output record per input record
    assert [r["output"] for r in records] == [s["question"] for s in source]
    assert [r["answer"] for r in records] == [s["answer"] for s in source]  # other fields kept
    covered, switched = Counter(), Counter()
    for r in records:
        cs = r["codeswitch"]
        covered[cs["lang"]] += cs["covered_words"]
        switched[cs["lang"]] += cs["switched_words"]
    assert set(covered) == set(LANGS.split(","))
    for lang in covered:
        assert abs(switched[lang] / covered[lang] - 0.4) <= 0.05, lang
    manifest = json.loads(manifest_path(gsm8k_cs).read_text())
    assert manifest["records"] == 7473 and manifest["seed"] == 1
    assert str(shared_data / "gsm8k" / "train.jsonl") in manifest["data"]
    assert any(k.endswith("en-sw.tsv") for k in manifest["data"])
    assert abs(manifest["codeswitch"]["all"]["switched_fraction"] - 0.4) < 0.01


def test_codeswitch_same_seed_same_output(shared_data, gsm8k_cs, tmp_path):
    again = tmp_path / "again.jsonl"
    assert main(codeswitch_args(shared_data, again, "--limit", "1500")) == 0
    first = gsm8k_cs.read_text(encoding="utf-8").split("\n")[:1500]
    assert again.read_text(encoding="utf-8").split("\n")[:-1] == first
    other = tmp_path / "other.jsonl"
    assert (
        main(
            [
                *codeswitch_args(shared_data, other, "--limit", "200")[:-6],
                "--seed",
                "2",
                "--out",
                str(other),
                "--limit",
                "200",
            ]
        )
        == 0
    )
    assert other.read_text(encoding="utf-8").split("\n")[:200] != first[:200]


def test_codeswitch_bad_input_names_line_and_field(shared_data, tmp_path, capsys):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"question": "She buys apples."}\n{"q": "x"}\n{"question": ""}\n')
    args = [
        "data",
        "codeswitch",
        "--input",
        str(bad),
        "--field",
        "question",
        "--lexicon",
        str(shared_data / "muse_dictionaries"),
        "--languages",
        "de",
        "--out",
        str(tmp_path / "o.jsonl"),
    ]
    assert main(args) == 2
    assert f"{bad}, line 2, field 'question': missing field" in capsys.readouterr().err
    assert main([*args, "--skip-invalid"]) == 0
    manifest = json.loads(manifest_path(tmp_path / "o.jsonl").read_text())
    assert manifest["records"] == 1
    assert manifest["skipped"] == {"missing field (question)": 1, "expected a non-empty string (question)": 1}


def test_codeswitch_bad_lexicon_line(tmp_path, capsys):
    (tmp_path / "lex").mkdir()
    (tmp_path / "lex" / "en-de.txt").write_text("apple Apfel\nbroken line here\n")
    (tmp_path / "in.jsonl").write_text('{"text": "an apple"}\n')
    args = [
        "data",
        "codeswitch",
        "--input",
        str(tmp_path / "in.jsonl"),
        "--field",
        "text",
        "--lexicon",
        str(tmp_path / "lex"),
        "--languages",
        "de",
        "--out",
        str(tmp_path / "o.jsonl"),
    ]
    assert main(args) == 2
    assert "en-de.txt, line 2: expected 'english translation'" in capsys.readouterr().err
    assert main([*args, "--lexicon-skip-invalid", "--ratio", "1"]) == 0
    assert read_jsonl(tmp_path / "o.jsonl")[0]["instruction"] == "an Apfel"


def test_codeswitch_tier_weights_and_instruct_style(shared_data, tmp_path):
    out = tmp_path / "w.jsonl"
    args = [
        "data",
        "codeswitch",
        "--input",
        str(shared_data / "gsm8k" / "test.jsonl"),
        "--field",
        "question",
        "--lexicon",
        str(shared_data / "muse_dictionaries"),
        "--lexicon",
        str(shared_data / "wechsel_dicts"),
        "--languages",
        "sw,de",
        "--tier-weights",
        "low=3,high=1",
        "--style",
        "instruct",
        "--out",
        str(out),
    ]
    assert main(args) == 0
    records = read_jsonl(out)
    share = Counter(r["instruction_lang"] for r in records)["sw"] / len(records)
    assert 0.70 < share < 0.80  # sw is low-resource and de high-resource under the default rule (mmwp-llama2)
    assert records[0]["instruction"].startswith("Translate the following code-switched ")


def test_codeswitch_sentence_level_ntrex(shared_data, tmp_path):
    d = shared_data / "ntrex128_sample"
    out = tmp_path / "s.jsonl"
    args = [
        "data",
        "codeswitch",
        "--input",
        str(d / "newstest2019-src.eng.txt"),
        "--field",
        "text",
        "--lexicon",
        str(shared_data / "wechsel_dicts"),
        "--languages",
        "sw",
        "--parallel",
        f"en={d / 'newstest2019-src.eng.txt'}",
        "--parallel",
        f"sw={d / 'newstest2019-ref.swa.txt'}",
        "--sentence-ratio",
        "0.3",
        "--out",
        str(out),
    ]
    assert main(args) == 0
    modes = Counter(r["codeswitch"]["mode"] for r in read_jsonl(out))
    assert 100 < modes["sentence"] < 200 and modes["word"] > 300


def test_crossin_from_mgsm(shared_data, tmp_path):
    mgsm = shared_data / "mgsm"
    out = tmp_path / "crossin.jsonl"
    args = [
        "data",
        "crossin",
        "--parallel",
        f"en={mgsm / 'mgsm_en.tsv'}",
        "--parallel",
        f"zh={mgsm / 'mgsm_zh.tsv'}",
        "--parallel",
        f"es={mgsm / 'mgsm_es.tsv'}",
        "--columns",
        "instruction,output",
        "--base",
        str(shared_data / "gsm8k" / "train.jsonl"),
        "--base-fields",
        "instruction=question,output=answer",
        "--base-limit",
        "50",
        "--modes",
        "0-1-2-3-4",
        "--size",
        "64",
        "--seed",
        "0",
        "--out",
        str(out),
    ]
    assert main(args) == 0
    records = read_jsonl(out)
    assert Counter(r["crossin"]["mode"] for r in records) == {
        "base": 50,
        "en2x": 64,
        "x2en": 64,
        "trans": 64,
        "x2x": 64,
    }
    manifest = json.loads(manifest_path(out).read_text())
    assert manifest["modes"]["trans"] == 64 and manifest["parallel_items"] == 250
    assert main(["data", "validate", str(out)]) == 0


def test_plug_from_parallel_files(tmp_path, capsys):
    en = tmp_path / "en.json"
    zh = tmp_path / "zh.json"
    en.write_text(
        json.dumps(
            [
                {"id": "a", "instruction": "Say hi.", "output": "Hi!"},
                {"id": "b", "instruction": "Count to 2.", "output": "1, 2"},
            ]
        )
    )
    zh.write_text(
        json.dumps(
            [
                {"id": "b", "instruction": "数到2。", "output": "1，2"},
                {"id": "a", "instruction": "打个招呼。", "output": "你好！"},
            ]
        )
    )
    out = tmp_path / "plug.jsonl"
    assert main(["data", "plug", "--pivot", f"en={en}", "--target", f"zh={zh}", "--out", str(out)]) == 0
    records = {r["id"]: r for r in read_jsonl(out)}
    assert (
        records["a-zh"]["output"]
        == "English instruction: Say hi.\n\nEnglish response: Hi!\n\n中文回复：你好！"
    )
    assert records["a-zh"]["system"].startswith("Please interpret the instruction in English")
    assert main(["data", "validate", str(out)]) == 0
    # a PLUG record whose target lost its marker fails validation, naming the line
    broken = read_jsonl(out)
    broken[1]["output"] = "English response: Hi!"
    (tmp_path / "broken.jsonl").write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in broken))
    capsys.readouterr()
    assert main(["data", "validate", str(tmp_path / "broken.jsonl")]) == 2
    assert "line 2, field 'output': PLUG target does not extract (marker_missing)" in capsys.readouterr().err


def test_validate_reports_every_problem(tmp_path, capsys):
    p = tmp_path / "x.jsonl"
    p.write_text(
        '{"instruction": "a", "output": "b", "instruction_lang": "xx-nope"}\n{"instruction": "a"}\n'
        '{"instruction": "c", "output": "d"}\n{"id": "0", "instruction": "e", "output": "f"}\n'
    )
    assert main(["data", "validate", str(p), "--out", str(tmp_path / "r.json")]) == 2
    err = capsys.readouterr().err
    assert (
        "line 1, field 'instruction_lang': unknown language code" in err
        and "line 2, field 'output': missing field" in err
    )
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["valid"] == 2 and report["invalid"] == 2 and report["duplicate_ids"] == 0


def test_mix_and_lexicon_stats(shared_data, tmp_path, capsys):
    a, b = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    a.write_text("".join(json.dumps({"instruction": f"a{i}", "output": "x"}) + "\n" for i in range(5)))
    b.write_text("".join(json.dumps({"instruction": f"b{i}", "output": "y"}) + "\n" for i in range(50)))
    out = tmp_path / "mix.jsonl"
    assert (
        main(
            [
                "data",
                "mix",
                "--source",
                f"{a}:1",
                "--source",
                f"{b}:3",
                "--size",
                "20",
                "--epochs",
                "2",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    records = read_jsonl(out)
    assert len(records) == 40 and Counter(r["source"] for r in records) == {str(a): 10, str(b): 30}
    stats = tmp_path / "stats.json"
    assert (
        main(
            [
                "data",
                "lexicon-stats",
                "--lexicon",
                str(shared_data / "muse_dictionaries"),
                "--lexicon",
                str(shared_data / "wechsel_dicts"),
                "--languages",
                "sw,de",
                "--corpus",
                str(shared_data / "gsm8k" / "test.jsonl"),
                "--field",
                "question",
                "--out",
                str(stats),
            ]
        )
        == 0
    )
    figures = json.loads(stats.read_text())["lexicons"]
    assert (
        set(figures) == {"sw", "de"}
        and figures["de"]["coverage"]["token_coverage"] > figures["sw"]["coverage"]["token_coverage"]
    )
    assert "entries" in capsys.readouterr().err


def test_codeswitch_alpaca_instructions_keep_the_response(shared_data, tmp_path):
    out = tmp_path / "alpaca_cs.jsonl"
    args = [
        "data",
        "codeswitch",
        "--input",
        str(shared_data / "instruction_en_zh" / "alpaca_gpt4_en_demo.json"),
        "--field",
        "instruction",
        "--lexicon",
        str(shared_data / "muse_dictionaries"),
        "--languages",
        "zh",
        "--limit",
        "100",
        "--out",
        str(out),
    ]
    assert main(args) == 0
    source = json.loads((shared_data / "instruction_en_zh" / "alpaca_gpt4_en_demo.json").read_text())[:100]
    records = read_jsonl(out)
    assert [r["output"] for r in records] == [s["instruction"] for s in source]
    assert [r["orig_output"] for r in records] == [s["output"] for s in source]  # the answer, renamed
    assert sum(any("\u4e00" <= c <= "\u9fff" for c in r["instruction"]) for r in records) > 90


def test_codeswitch_holds_a_seeded_share_of_each_lexicon_out(gsm8k_cs):
    """The entries LinguaLIFT's alignment check tests word retrieval on are never switched."""
    from crosslift.data.lexicon import is_held_out

    manifest = json.loads(manifest_path(gsm8k_cs).read_text())
    held = manifest["held_out"]
    assert (held["share"], held["seed"]) == (0.05, 1) and set(held["entries"]) == set(LANGS.split(","))
    assert all(n > 100 for n in held["entries"].values())
    records = read_jsonl(gsm8k_cs)
    assert all(r["codeswitch"]["held_out"] == {"share": 0.05, "seed": 1} for r in records)
    switched = {
        (r["codeswitch"]["lang"], rep[2].lower()) for r in records for rep in r["codeswitch"]["replacements"]
    }
    assert switched and not any(is_held_out(" ".join(w.split()), lang, 0.05, 1) for lang, w in switched)


def test_a_verb_parses_into_its_spec(tmp_path):
    argv = ["crossin", "--parallel", "en=en.tsv", "--base-limit", "3", "--modes", "0-1"]
    args = build_parser().parse_args(["data", *argv, "--out", str(tmp_path / "o.jsonl")])
    assert args.spec.model_dump() == spec_from_argv(argv).model_dump()
    assert (args.spec.base_options.limit, args.spec.modes, args.out) == (
        3,
        ["base", "en2x"],
        tmp_path / "o.jsonl",
    )


def test_a_value_the_spec_refuses_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as e:
        build_parser().parse_args(["data", "mix", "--source", "a.jsonl", "--size", "0", "--out", "o.jsonl"])
    assert e.value.code == 2
    assert "crosslift data mix: error: argument --size: got '0'; expected: " in capsys.readouterr().err


def test_the_help_of_a_verb_lists_the_options_of_its_spec(capsys):
    with pytest.raises(SystemExit):
        build_parser().parse_args(["data", "lexicon-stats", "--help"])
    out = capsys.readouterr().out
    assert "--corpus CORPUS" in out and "format of the corpus" in out and "--lexicon PATH" in out
    assert "--coerce-types" not in out and "--subset" not in out  # options the verb does not take
