import json

import pytest

from crosslift.data.examples import read_examples
from crosslift.data.options import ReadOptions
from crosslift.errors import DataError


def write_jsonl(path, records):
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


def test_reads_alpaca_jsonl_and_json_array(tmp_path):
    recs = [
        {"instruction": "Add 2 and 3.", "input": "", "output": "5"},
        {"instruction": "Hi", "output": "Hello"},
    ]
    exs, report = read_examples(write_jsonl(tmp_path / "a.jsonl", recs))
    assert [e.output for e in exs] == ["5", "Hello"] and exs[1].input == ""
    (tmp_path / "a.json").write_text(json.dumps(recs))
    exs2, _ = read_examples(tmp_path / "a.json")
    assert [e.instruction for e in exs2] == ["Add 2 and 3.", "Hi"]
    assert report.summary().endswith("2 records")


def test_field_mapping_keeps_other_fields_in_meta(tmp_path):
    p = write_jsonl(tmp_path / "g.jsonl", [{"question": "q?", "answer": "#### 4", "level": 2}])
    (ex,), _ = read_examples(p, ReadOptions(fields={"instruction": "question", "output": "answer"}))
    assert (ex.instruction, ex.output, ex.meta) == ("q?", "#### 4", {"level": 2})


@pytest.mark.parametrize(
    "content, expected",
    [
        ("", "file is empty"),
        ('{"instruction": "a", "output": "b"}\n{"instruction": "a", "output": \n', r"line 2: not valid JSON"),
        (
            '{"instruction": "a", "output": "b"}\n{"instruction": "a"}\n',
            r"line 2, field 'output': missing field",
        ),
        (
            '{"instruction": ["a"], "output": "b"}\n',
            r"line 1, field 'instruction': expected a string, got list",
        ),
        ('{"instruction": "a", "output": "  "}\n', r"line 1, field 'output': empty value"),
        ('["a"]\n', r"line 1: expected an object"),
    ],
)
def test_bad_jsonl_errors_name_file_line_field(tmp_path, content, expected):
    p = tmp_path / "bad.jsonl"
    p.write_text(content)
    with pytest.raises(DataError, match=expected) as e:
        read_examples(p)
    assert str(p) in str(e.value)


def test_json_array_errors_name_the_record(tmp_path):
    p = tmp_path / "bad.json"
    p.write_text(json.dumps([{"instruction": "a", "output": "b"}, {"instruction": "c"}]))
    with pytest.raises(DataError, match=r"record 1, field 'output': missing field"):
        read_examples(p)


def test_missing_file(tmp_path):
    with pytest.raises(DataError, match="file not found"):
        read_examples(tmp_path / "nope.jsonl")


def test_skip_invalid_counts_reasons(tmp_path):
    p = write_jsonl(
        tmp_path / "m.jsonl", [{"instruction": "a", "output": "b"}, {"instruction": "c"}, {"output": "x"}]
    )
    exs, report = read_examples(p, skip_invalid=True)
    assert len(exs) == 1
    assert report.skipped == {"missing field (output)": 1, "missing field (instruction)": 1}
    assert "skipped 2" in report.summary()


# ---------------------------------------------------------------------------------------------- CSV / TSV

from crosslift.data.examples import (  # noqa: E402
    Example,
    read_parallel,
    read_parallel_text,
    write_examples,
)
from crosslift.data.records import iter_records  # noqa: E402


def test_tsv_reads_quotes_literally_by_default(tmp_path):
    # An MGSM-style headerless TSV whose text holds a lone '"': CSV quoting would swallow the next rows.
    p = tmp_path / "q.tsv"
    p.write_text('He said "five apples.\t5\nThen "six" more.\t6\nDone.\t7\n')
    exs, _ = read_examples(p, ReadOptions(columns=["instruction", "output"]))
    assert [e.output for e in exs] == ["5", "6", "7"]
    assert exs[0].instruction == 'He said "five apples.'


def test_tsv_wrong_column_count_names_line_and_hints_quoting(tmp_path):
    p = tmp_path / "q.tsv"
    p.write_text("instruction\toutput\na\tb\nc\td\te\n")
    with pytest.raises(DataError, match=r"q.tsv, line 3: expected 2 columns \(instruction, output\), got 3"):
        read_examples(p)


def test_csv_quoting_rfc4180(tmp_path):
    p = tmp_path / "q.csv"
    p.write_text('question,answer\n"Is 1,000 big? He said ""yes""",yes\n"two\nlines",ok\nplain,x\n')
    exs, _ = read_examples(p, ReadOptions(fields={"instruction": "question", "output": "answer"}))
    assert [e.instruction for e in exs] == ['Is 1,000 big? He said "yes"', "two\nlines", "plain"]
    # the record after a two-line record is located at its own first line
    p.write_text('question,answer\n"two\nlines",ok\n,empty\n')
    with pytest.raises(DataError, match=r"line 4, field 'question': empty value"):
        read_examples(p, ReadOptions(fields={"instruction": "question", "output": "answer"}))


def test_csv_unterminated_quote_is_an_error(tmp_path):
    p = tmp_path / "q.csv"
    p.write_text('instruction,output\n"open,x\n')
    with pytest.raises(DataError, match="malformed CSV|expected 2 columns"):
        read_examples(p)


def test_csv_header_problems(tmp_path):
    p = tmp_path / "q.csv"
    p.write_text("instruction,instruction\na,b\n")
    with pytest.raises(DataError, match="line 1: header has empty or repeated column names"):
        read_examples(p)


def test_unknown_extension_and_misplaced_options(tmp_path):
    p = tmp_path / "data.xml"
    p.write_text("<x/>")
    with pytest.raises(DataError, match="cannot tell the format"):
        read_examples(p)
    j = write_jsonl(tmp_path / "a.jsonl", [{"instruction": "a", "output": "b"}])
    with pytest.raises(DataError, match="columns/quoting apply to csv and tsv"):
        read_examples(j, ReadOptions(columns=["x"]))


def test_mgsm_tsv_reads_every_row(shared_data):
    exs, report = read_examples(
        shared_data / "mgsm" / "mgsm_es.tsv", ReadOptions(columns=["instruction", "output"])
    )
    assert len(exs) == 250 and report.read == 250  # mgsm_es has a '"' that CSV quoting would choke on
    assert exs[146].output == "2,125"


# ---------------------------------------------------------------------------------------------- parquet, datasets


def test_parquet_and_saved_datasets(tmp_path):
    from datasets import Dataset, DatasetDict

    rows = {"question": ["q1", "q2"], "answer": ["a1", "a2"], "level": [1, 2]}
    ds = Dataset.from_dict(rows)
    ds.to_parquet(str(tmp_path / "d.parquet"))
    ds.save_to_disk(str(tmp_path / "saved"))
    DatasetDict({"train": ds, "test": ds}).save_to_disk(str(tmp_path / "dict"))
    fields = {"instruction": "question", "output": "answer"}
    for path in (tmp_path / "d.parquet", tmp_path / "saved", tmp_path / "dict" / "train"):
        exs, _ = read_examples(path, ReadOptions(fields=fields))
        assert [(e.instruction, e.output, e.meta) for e in exs] == [
            ("q1", "a1", {"level": 1}),
            ("q2", "a2", {"level": 2}),
        ]
    with pytest.raises(DataError, match="DatasetDict with splits train, test"):
        read_examples(tmp_path / "dict", ReadOptions(fields=fields))
    bad = Dataset.from_dict({"question": ["q", None], "answer": ["a", "b"]})
    bad.to_parquet(str(tmp_path / "bad.parquet"))
    with pytest.raises(DataError, match=r"bad.parquet, record 1, field 'question': missing field"):
        read_examples(tmp_path / "bad.parquet", ReadOptions(fields=fields))


# ---------------------------------------------------------------------------------------------- chat records


def test_sharegpt_and_messages(tmp_path):
    sharegpt = {
        "conversations": [
            {"from": "system", "value": "Be brief."},
            {"from": "human", "value": "Hi"},
            {"from": "gpt", "value": "Hello"},
            {"from": "human", "value": "2+2?"},
            {"from": "gpt", "value": "4"},
        ],
        "source": "demo",
    }
    messages = {
        "id": "m1",
        "messages": [
            {"role": "user", "content": "Name a colour."},
            {"role": "assistant", "content": "Blue."},
        ],
    }
    exs, _ = read_examples(write_jsonl(tmp_path / "c.jsonl", [sharegpt, messages]))
    a, b = exs
    assert (a.instruction, a.output, a.meta) == (
        "2+2?",
        "4",
        {"system": "Be brief.", "history": [["Hi", "Hello"]]},
    )
    assert a.source == "demo"
    assert (b.id, b.instruction, b.output, b.meta) == ("m1", "Name a colour.", "Blue.", {})


@pytest.mark.parametrize(
    "turns, expected",
    [
        ([{"role": "user", "content": "a"}], "must end with an assistant turn"),
        ([{"role": "assistant", "content": "a"}], r"field 'messages\[0\]': expected a user turn"),
        (
            [{"role": "user", "content": "a"}, {"role": "tool", "content": "x"}],
            r"messages\[1\].role': unknown role 'tool'",
        ),
        (
            [{"role": "user", "content": ["a"]}, {"role": "assistant", "content": "b"}],
            r"messages\[0\].content': expected a string",
        ),
        (
            [{"role": "user", "content": "a"}, {"role": "system", "content": "b"}],
            "a system turn must come first",
        ),
    ],
)
def test_bad_chat_records_name_the_turn(tmp_path, turns, expected):
    p = write_jsonl(tmp_path / "c.jsonl", [{"messages": turns}])
    with pytest.raises(DataError, match=expected):
        read_examples(p)


def test_alpaca_history_is_validated(tmp_path):
    p = write_jsonl(tmp_path / "h.jsonl", [{"instruction": "a", "output": "b", "history": [["only one"]]}])
    with pytest.raises(DataError, match="field 'history': expected a list of"):
        read_examples(p)


# ---------------------------------------------------------------------------------------------- writer


def test_write_then_read_gives_equal_examples(tmp_path):
    exs = [
        Example(
            id="7",
            instruction="Sema jambo",
            output="Jambo",
            input="",
            instruction_lang="sw",
            output_lang="sw",
            source="x.json",
            meta={"answer": 3, "codeswitch": {"lang": "sw"}},
        ),
        Example(
            id="8", instruction="q", output="a", meta={"system": "s", "history": [["u", "v"]]}, source="y"
        ),
    ]
    path = write_examples(tmp_path / "out" / "ex.jsonl", exs)
    back, _ = read_examples(path)
    assert back == exs
    assert not list((tmp_path / "out").glob(".*tmp"))  # the temporary file was renamed away
    with pytest.raises(ValueError, match="collide"):
        Example(id="1", instruction="a", output="b", meta={"output": "x"}).to_record()


# ---------------------------------------------------------------------------------------------- parallel sets


def test_parallel_by_index_and_by_id(tmp_path):
    write_jsonl(
        tmp_path / "en.jsonl",
        [
            {"id": "a", "instruction": "Hi", "output": "Hello"},
            {"id": "b", "instruction": "Bye", "output": "Goodbye"},
        ],
    )
    write_jsonl(
        tmp_path / "sw.jsonl",
        [
            {"id": "b", "instruction": "Kwaheri", "output": "Kwaheri sana"},
            {"id": "a", "instruction": "Jambo", "output": "Hujambo"},
        ],
    )
    by_id = read_parallel({"en": tmp_path / "en.jsonl", "swh": tmp_path / "sw.jsonl"}, align="id")
    assert by_id.languages == ["en", "sw"] and by_id.ids == ["a", "b"]
    assert by_id.get("a", "sw").instruction == "Jambo" and by_id.get("a", "sw").instruction_lang == "sw"
    by_index = read_parallel({"en": tmp_path / "en.jsonl", "sw": tmp_path / "sw.jsonl"})
    assert by_index.get("0", "sw").instruction == "Kwaheri"
    assert [e.output for e in by_index.in_language("en")] == ["Hello", "Goodbye"]


def test_parallel_errors_name_the_file(tmp_path):
    write_jsonl(
        tmp_path / "en.jsonl",
        [
            {"id": "a", "instruction": "Hi", "output": "Hello"},
            {"id": "b", "instruction": "Bye", "output": "Goodbye"},
        ],
    )
    write_jsonl(tmp_path / "zh.jsonl", [{"id": "a", "instruction": "你好", "output": "你好"}])
    write_jsonl(tmp_path / "dup.jsonl", [{"id": "a", "instruction": "x", "output": "y"}] * 2)
    with pytest.raises(DataError, match=r"zh.jsonl: has 1 records but .*en.jsonl has 2"):
        read_parallel({"en": tmp_path / "en.jsonl", "zh": tmp_path / "zh.jsonl"})
    with pytest.raises(DataError, match=r"zh.jsonl: lacks 1 ids of .*en.jsonl \(first: \['b'\]\)"):
        read_parallel({"en": tmp_path / "en.jsonl", "zh": tmp_path / "zh.jsonl"}, align="id")
    with pytest.raises(DataError, match=r"dup.jsonl, record 1, field 'id': id 'a' occurs more than once"):
        read_parallel({"en": tmp_path / "dup.jsonl"}, align="id")


def test_mgsm_is_a_parallel_set(shared_data):
    files = {lang: shared_data / "mgsm" / f"mgsm_{lang}.tsv" for lang in ("en", "sw", "zh")}
    ps = read_parallel(files, ReadOptions(columns=["instruction", "output"], limit=10))
    assert len(ps) == 10 and ps.languages == ["en", "sw", "zh"]
    assert ps.get("0", "sw").instruction.startswith("Bata wa Janet") and ps.get("0", "zh").output == "18"


def test_parallel_text_ntrex(shared_data):
    d = shared_data / "ntrex128_sample"
    texts = read_parallel_text({"en": d / "newstest2019-src.eng.txt", "swa": d / "newstest2019-ref.swa.txt"})
    assert list(texts) == ["en", "sw"] and len(texts["en"]) == len(texts["sw"]) == 500


def test_parallel_text_length_mismatch(tmp_path):
    (tmp_path / "en.txt").write_text("a\nb\n")
    (tmp_path / "de.txt").write_text("a\n\nb\n")  # a blank line is a record: alignment is by line
    with pytest.raises(DataError, match=r"de.txt: has 3 texts but .*en.txt has 2"):
        read_parallel_text({"en": tmp_path / "en.txt", "de": tmp_path / "de.txt"})
    assert [r for _, r in iter_records(tmp_path / "de.txt")] == [{"text": "a"}, {"text": ""}, {"text": "b"}]


def test_unicode_line_separators_inside_records(tmp_path):
    # GSM8K has a question with U+2028; written raw (ensure_ascii=False) it must still be one JSONL record.
    ex = Example(id="1", instruction="a\u2028b\x85c\x1cd", output="e\u2029f")
    back, _ = read_examples(write_examples(tmp_path / "u.jsonl", [ex]))
    assert back[0].instruction == ex.instruction and back[0].output == ex.output
    (tmp_path / "u.tsv").write_text("instruction\toutput\na\u2028b\tc\n", encoding="utf-8")
    assert read_examples(tmp_path / "u.tsv")[0][0].instruction == "a\u2028b"


def test_real_alpaca_demos_and_seed_tasks(shared_data):
    d = shared_data / "instruction_en_zh"
    en, _ = read_examples(d / "alpaca_gpt4_en_demo.json", instruction_lang="en", output_lang="en")
    zh, _ = read_examples(d / "alpaca_gpt4_zh_demo.json", instruction_lang="zh", output_lang="zh")
    assert len(en) == len(zh) == 1000 and en[0].id == "0" and zh[0].instruction_lang == "zh"
    assert sum(bool(e.input) for e in en) > 100  # some items carry an input
    # The Self-Instruct seed tasks nest their outputs in "instances": every record lacks a top-level output.
    with pytest.raises(
        DataError, match=r"stanford_alpaca_seed_tasks.jsonl, line 1, field 'output': missing field"
    ):
        read_examples(d / "stanford_alpaca_seed_tasks.jsonl")
    with pytest.raises(DataError, match="no valid records"):
        read_examples(d / "stanford_alpaca_seed_tasks.jsonl", skip_invalid=True)


# ---------------------------------------------------------------------------------------------- types

from collections import Counter  # noqa: E402

from crosslift.data.examples import text_field  # noqa: E402


def test_text_fields_take_strings_and_numbers_only_when_coerced(tmp_path):
    where = {"path": "f.jsonl", "line": 3}
    with pytest.raises(DataError, match=r"line 3, field 'output': expected a string, got int \(numbers are"):
        text_field(42, where=where, key="output")
    coerced = Counter()
    assert text_field(42, where=where, key="output", coerced=coerced) == "42"
    assert text_field(2.5, where=where, key="output", coerced=coerced) == "2.5" and coerced == {"output": 2}
    for value in (True, float("nan"), float("inf"), None, ["x"]):
        with pytest.raises(DataError, match="expected a string"):
            text_field(value, where=where, key="output", coerced=coerced)
    records = [{"instruction": 12345, "output": 5}, {"instruction": "a", "output": "b"}]
    p = write_jsonl(tmp_path / "n.jsonl", records)
    with pytest.raises(DataError, match=r"n.jsonl, line 1, field 'instruction': expected a string, got int"):
        read_examples(p)
    exs, report = read_examples(p, ReadOptions(coerce_types=True))
    assert [(e.instruction, e.output) for e in exs] == [("12345", "5"), ("a", "b")]
    assert report.coerced == {"instruction": 1, "output": 1}
    assert report.summary() == f"{p}: 2 records, read 2 numbers as text (1 in instruction, 1 in output)"
