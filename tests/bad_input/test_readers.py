"""Bad input through every verb that reads it (issue 11, items 1, 2 and 8): bytes that are not UTF-8, JSON
that Python's `json` accepts and the standard does not (NaN, repeated keys, lone surrogates), numbers where
text belongs, and what is accepted on purpose (a BOM, CRLF line ends, a Latin-1 file with --encoding).

The corpus is generated here, not committed: every case is one bad line between two good records. Each verb
gets the same file; the data verbs run in-process through `crosslift.cli.main` (exit status and the message
printed, as a user sees them), `train` fails before it loads a model or writes its run directory, and `eval`
reads a custom task's data file. An error names the file, the line and the field; an accepted file loses and
alters no record. test_cli.py runs a few of these cases as subprocesses.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import pytest

from crosslift.cli import main
from crosslift.data.examples import read_examples
from crosslift.data.lexicon import read_lexicon_file
from crosslift.data.records import iter_records
from crosslift.data.sources import DataSourceConfig, read_sources
from crosslift.data.validate import validate_file
from crosslift.errors import ConfigError, DataError
from crosslift.eval.tasks.data import load_items
from crosslift.eval.tasks.prompts import read_exemplars
from crosslift.eval.tasks.registry import TaskRegistry

GOOD = [
    {"id": "a", "instruction": "What is two plus three?", "output": "5"},
    {"id": "c", "instruction": "What is ten plus seven?", "output": "17"},
]
GOOD_TEXTS = [(g["instruction"], g["output"]) for g in GOOD]
VERBS = ("validate", "codeswitch", "crossin", "plug", "train", "eval")
BOM = b"\xef\xbb\xbf"


@dataclass(frozen=True)
class Case:
    """One bad line (line 2 of its file) and what every verb must say about it."""

    name: str
    line: bytes
    message: str  # a regex of the reason
    field: str | None = None


def _record(**fields: str) -> bytes:
    """A record's JSON with raw values (NaN, an escape), as a broken tool writes it."""
    return ("{" + ", ".join(f'"{k}": {v}' for k, v in {"id": '"b"', **fields}.items()) + "}").encode()


def _decoding(name: str, raw: bytes, byte: int) -> Case:
    """A line whose instruction holds `raw` bytes, the first bad one being `byte`."""
    line = b'{"id": "b", "instruction": "' + raw + b'", "output": "4"}'
    column = len(line[: line.index(bytes([byte]))].decode("utf-8")) + 1
    message = f"not valid UTF-8 (byte 0x{byte:02x} at column {column}); re-save the file as UTF-8"
    return Case(name, line, re.escape(message))


# Bytes that are not UTF-8: the usual ways a file in another encoding, or a cut one, ends up in a data folder.
DECODING = [
    _decoding("latin-1 e-acute", b"Caf\xe9 au lait?", 0xE9),
    _decoding("cp1252 quotes", b"\x93Hi\x94 there?", 0x93),
    _decoding("cut multi-byte character", b"Price: \xe2\x82", 0xE2),
    _decoding("overlong encoding", b"a\xc0\xafb", 0xC0),
    _decoding("encoded surrogate (CESU-8)", b"x\xed\xa0\x80y", 0xED),
    _decoding("lone continuation byte", b"ok \x80 no", 0x80),
]
# What Python's json accepts and the standard does not.
CHAT = '[{"role": "user", "content": "Hi \\udfff"}, {"role": "assistant", "content": "4"}]'
STRICT_JSON = [
    Case("NaN", _record(instruction='"Hi?"', output="NaN"), "NaN is not a JSON value", "output"),
    Case("Infinity", _record(instruction='"Hi?"', output="Infinity"), "Infinity is not a JSON", "output"),
    Case("-Infinity", _record(instruction="-Infinity", output='"4"'), "-Infinity is not", "instruction"),
    Case(
        "NaN nested in an extra field",
        _record(instruction='"Hi?"', output='"4"', scores='{"bleu": NaN}'),
        "NaN is not a JSON value",
        "scores.bleu",
    ),
    Case(
        "lone high surrogate",
        _record(instruction='"Hi \\ud800 there"', output='"4"'),
        r"a lone surrogate \\ud800 \(character 4\)",
        "instruction",
    ),
    Case(
        "lone low surrogate",
        _record(instruction='"Hi?"', output='"\\udc00"'),
        r"a lone surrogate \\udc00",
        "output",
    ),
    Case(
        "surrogates in the wrong order",
        _record(instruction='"\\udc00\\ud800"', output='"4"'),
        r"a lone surrogate \\udc00",
        "instruction",
    ),
    Case(
        "lone surrogate in a chat turn",
        _record(messages=CHAT),
        r"a lone surrogate \\udfff",
        "messages[0].content",
    ),
    Case(
        "lone surrogate in a key",
        _record(instruction='"Hi?"', output='"4"', **{"\\ud800": '"x"'}),
        r"a lone surrogate \\ud800",
        "\\ud800",
    ),
    Case(
        "repeated key",
        b'{"id": "b", "instruction": "Hi?", "output": "4", "output": "5"}',
        "this key occurs more than once in its object",
        "output",
    ),
    Case(
        "repeated key in a nested object",
        _record(instruction='"Hi?"', meta='{"a": 1, "a": 2}'),
        "this key occurs more than once",
        "meta.a",
    ),
]
# Non-text where text belongs: name -> (line, field, type, what --coerce-types reads a number as).
TYPES = {
    "int instruction": (_record(instruction="12345", output='"4"'), "instruction", "int", "12345"),
    "float output": (_record(instruction='"Hi?"', output="2.5"), "output", "float", "2.5"),
    "bool output": (_record(instruction='"Hi?"', output="true"), "output", "bool", None),
    "list instruction": (_record(instruction='["Hi?"]', output='"4"'), "instruction", "list", None),
    "object output": (_record(instruction='"Hi?"', output='{"text": "4"}'), "output", "dict", None),
}


def _type_case(name: str, verb: str) -> Case | None:
    """What `verb` says about a non-text value: None when it does not read that field as text."""
    line, field, kind, _ = TYPES[name]
    number = kind in ("int", "float")
    if verb == "codeswitch" and field != "instruction":
        return None  # only --field is switched; the rest of the record is kept as it is
    if verb == "eval":  # the question is text; a gold answer may be a number, as benchmarks write them
        if field == "instruction":
            return Case(name, line, "empty or non-text question", field)
        return None if number else Case(name, line, "the answer must be a number or a string", field)
    hint = r" \(numbers are read as text only with --coerce-types, or a source's coerce_types: true\)"
    hint = hint if number else ""
    return Case(name, line, f"expected a string, got {kind}{hint}$", field)


ERRORS = [(case, verb) for case in DECODING + STRICT_JSON for verb in VERBS] + [
    (case, verb) for name in TYPES for verb in VERBS if (case := _type_case(name, verb)) is not None
]


def _lines(*lines: bytes, newline: bytes = b"\n") -> bytes:
    return b"".join(line + newline for line in lines)


def _jsonl(path: Path, middle: bytes | None = None) -> Path:
    """GOOD[0], the `middle` line, GOOD[1]."""
    good = [json.dumps(g).encode() for g in GOOD]
    path.write_bytes(_lines(good[0], *([middle] if middle is not None else []), good[1]))
    return path


def _read_jsonl(path: Path) -> list[dict]:
    # "\n" only: str.splitlines() would also split at the U+2028 that a text may hold
    return [json.loads(line) for line in path.read_text(encoding="utf-8").split("\n") if line]


def _english(tmp_path: Path, data: Path) -> Path:
    """The English side of a parallel set whose other side is `data` (as many records as it has lines)."""
    rows = [GOOD[0], {"id": "b", "instruction": "What is one plus three?", "output": "4"}, GOOD[1]]
    if sum(1 for line in data.read_bytes().split(b"\n") if line.strip()) == 2:
        rows = GOOD
    path = tmp_path / "parallel_en.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def _lexicon(tmp_path: Path) -> Path:
    lexicon = tmp_path / "en-de.txt"
    lexicon.write_text("what was\nplus und\nthree drei\n", encoding="utf-8")
    return lexicon


def _task(tmp_path: Path, data: Path) -> Path:
    task = tmp_path / "custom_task.yaml"
    fields = "  format: jsonl\n  question_field: instruction\n  answer_field: output\n"
    task.write_text(
        f"include: parallel_math\ntask: custom_{tmp_path.name[-12:]}\nlanguage: en\ndataset:\n"
        f"  path: {data}\n{fields}",
        encoding="utf-8",
    )
    return task


def _run(verb: str, data: Path, tmp_path: Path, *options: str) -> tuple[int, Path]:
    """Run `verb` on a data file in-process, as the command line does: its exit status and output file."""
    out = tmp_path / f"{verb}-out.jsonl"
    if verb == "validate":
        argv = ["data", "validate", str(data)]
    elif verb == "codeswitch":
        argv = [
            "data",
            "codeswitch",
            "--input",
            str(data),
            "--field",
            "instruction",
            "--ratio",
            "1",
            "--lexicon",
            f"de={_lexicon(tmp_path)}",
            "--languages",
            "de",
            "--out",
            str(out),
        ]
    elif verb == "crossin":
        argv = [
            "data",
            "crossin",
            "--parallel",
            f"en={_english(tmp_path, data)}",
            "--parallel",
            f"de={data}",
            "--modes",
            "en2x",
            "--out",
            str(out),
        ]
    elif verb == "plug":
        argv = [
            "data",
            "plug",
            "--pivot",
            f"en={_english(tmp_path, data)}",
            "--target",
            f"de={data}",
            "--align",
            "index",
            "--out",
            str(out),
        ]
    elif verb == "train":
        config = tmp_path / "train.yaml"
        config.write_text(
            f"recipe: sft\nname: bad\noutput_dir: {tmp_path / 'run'}\n"
            f"model: {{name_or_path: tiny:llama}}\ndata:\n  train:\n    - path: {data}\n"
            "training: {max_steps: 1}\n",
            encoding="utf-8",
        )
        argv = ["train", str(config)]
    else:
        task = _task(tmp_path, data)
        argv = ["eval", "--task", str(task), "--model", "tiny:llama", "--out", str(tmp_path / "ev")]
    return main([*argv, *options]), out


@pytest.mark.parametrize(("case", "verb"), ERRORS, ids=[f"{c.name}-{v}" for c, v in ERRORS])
def test_a_bad_line_is_one_clear_error_naming_file_line_and_field(case, verb, tmp_path, capsys):
    data = _jsonl(tmp_path / "data.jsonl", case.line)
    status, out = _run(verb, data, tmp_path)
    err = capsys.readouterr().err
    field = f", field '{case.field}'" if case.field else ""
    assert status == 2, err
    assert re.search(f"{re.escape(f'{data}, line 2{field}: ')}{case.message}", err, re.MULTILINE), err
    assert "Traceback" not in err
    assert not out.exists() and not (tmp_path / "run").exists()  # nothing written: it failed while reading


@pytest.mark.parametrize("case", DECODING + STRICT_JSON, ids=lambda c: c.name)
def test_skip_invalid_drops_only_the_bad_line_and_counts_it(case, tmp_path, capsys):
    data = _jsonl(tmp_path / "data.jsonl", case.line)
    status, out = _run("codeswitch", data, tmp_path, "--skip-invalid")
    assert status == 0, capsys.readouterr().err
    records = _read_jsonl(out)
    assert [(r["id"], r["output"]) for r in records] == [(g["id"], g["instruction"]) for g in GOOD]
    manifest = json.loads(out.with_name("codeswitch-out.manifest.json").read_text(encoding="utf-8"))
    assert sum(manifest["skipped"].values()) == 1
    # the training reader skips it the same way, and the record after it keeps its place (its default id)
    no_ids = tmp_path / "no_ids.jsonl"
    no_ids.write_bytes(re.sub(rb'"id": "[abc]", ', b"", data.read_bytes()))
    examples, report = read_examples(no_ids, skip_invalid=True)
    assert [(e.id, e.instruction) for e in examples] == [
        ("0", GOOD[0]["instruction"]),
        ("2", GOOD[1]["instruction"]),
    ]
    assert sum(report.skipped.values()) == 1


def test_validate_lists_every_bad_line_with_the_other_problems(tmp_path, capsys):
    lines = [case.line for case in DECODING + STRICT_JSON] + [_record(instruction='"no output"')]
    data = tmp_path / "all.jsonl"
    data.write_bytes(_lines(json.dumps(GOOD[0]).encode(), *lines, json.dumps(GOOD[1]).encode()))
    report = validate_file(data, max_errors=100)
    assert (report["valid"], report["invalid"]) == (2, len(lines))
    assert [int(re.search(r"line (\d+)", p)[1]) for p in report["problems"]] == list(range(2, len(lines) + 2))
    assert main(["data", "validate", str(data), "--max-errors", "100"]) == 2
    err = capsys.readouterr().err
    assert f"{data}: 2 valid, {len(lines)} invalid record(s)" in err
    assert f"{data}, line 2: not valid UTF-8 (byte 0xe9" in err and "field 'output': missing field" in err


# ------------------------------------------------------------------------------------------ accepted input

_GOOD_LINES = [json.dumps(g).encode() for g in GOOD]
_SMILE = b'{"id": "b", "instruction": "Smile \\ud83d\\ude00, plus one?", "output": "4"}'
_SEPARATORS = json.dumps(
    {"id": "b", "instruction": "Line\u2028break\x85plus one?", "output": "4"}, ensure_ascii=False
).encode()
ACCEPTED = {  # name -> (the file, its (instruction, output) texts)
    "UTF-8 byte-order mark": (BOM + _lines(*_GOOD_LINES), GOOD_TEXTS),
    "CRLF line ends": (_lines(*_GOOD_LINES, newline=b"\r\n"), GOOD_TEXTS),
    "BOM and CRLF": (BOM + _lines(*_GOOD_LINES, newline=b"\r\n"), GOOD_TEXTS),
    "blank lines, no final newline": (_GOOD_LINES[0] + b"\n\n  \n" + _GOOD_LINES[1], GOOD_TEXTS),
    "escaped surrogate pair": (
        _lines(_GOOD_LINES[0], _SMILE, _GOOD_LINES[1]),
        [GOOD_TEXTS[0], ("Smile \U0001f600, plus one?", "4"), GOOD_TEXTS[1]],
    ),
    "U+2028 and U+0085 in a text": (
        _lines(_GOOD_LINES[0], _SEPARATORS, _GOOD_LINES[1]),
        [GOOD_TEXTS[0], ("Line\u2028break\x85plus one?", "4"), GOOD_TEXTS[1]],
    ),
}


def _check_outputs(verb: str, out: Path, texts: list[tuple[str, str]]) -> None:
    """The output of `verb` holds every input record, unaltered (texts: (instruction, output) in order)."""
    records = _read_jsonl(out)
    if verb == "codeswitch":  # the English original is the target
        assert [r["output"] for r in records] == [t[0] for t in texts]
    elif verb == "crossin":  # en2x: an English instruction, the answer of the same item in the other language
        assert records and all(r["output"] == texts[int(r["crossin"]["item"])][1] for r in records)
    elif verb == "plug":
        assert [r["instruction"] for r in records] == [t[0] for t in texts]
        assert all(r["output"].endswith(t[1]) for r, t in zip(records, texts, strict=True))


@pytest.mark.parametrize("verb", VERBS)
@pytest.mark.parametrize("name", ACCEPTED)
def test_documented_acceptance_loses_and_alters_nothing(name, verb, tmp_path, capsys):
    content, texts = ACCEPTED[name]
    data = tmp_path / "data.jsonl"
    data.write_bytes(content)
    if verb == "train":  # what `crosslift train` reads first, before any model is loaded
        examples, _, _ = read_sources([DataSourceConfig(path=str(data))])
        assert [(e.instruction, e.output) for e in examples] == texts
    elif verb == "eval":
        task = TaskRegistry().resolve(str(_task(tmp_path, data))).tasks[0]
        items, _ = load_items(task.dataset, "en", lambda lang: data)
        assert [(i.question, i.answer) for i in items] == texts
    else:
        status, out = _run(verb, data, tmp_path)
        err = capsys.readouterr().err
        assert status == 0, err
        if verb == "validate":
            assert f"{data}: {len(texts)} valid, 0 invalid record(s)" in err
        else:
            _check_outputs(verb, out, texts)


@pytest.mark.parametrize("verb", ["validate", "codeswitch", "crossin", "plug", "train"])
def test_a_latin1_file_reads_with_its_encoding_and_only_then(verb, tmp_path, capsys):
    rows = [{"id": "a", "instruction": "Café au lait, plus three?", "output": "5"}, GOOD[1]]
    data = tmp_path / "latin1.jsonl"
    data.write_bytes("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows).encode("latin-1"))
    texts = [(r["instruction"], r["output"]) for r in rows]
    message = f"{data}, line 1: not valid UTF-8 (byte 0xe9 at column 32); re-save the file as UTF-8"
    if verb == "train":
        with pytest.raises(DataError, match=re.escape(message)):
            read_sources([DataSourceConfig(path=str(data))])
        examples, _, _ = read_sources([DataSourceConfig(path=str(data), encoding="latin-1")])
        assert [(e.instruction, e.output) for e in examples] == texts
        return
    assert _run(verb, data, tmp_path)[0] == 2
    assert message in capsys.readouterr().err
    status, out = _run(verb, data, tmp_path, "--encoding", "latin-1")
    assert status == 0, capsys.readouterr().err
    if verb != "validate":
        _check_outputs(verb, out, texts)


@pytest.mark.parametrize("name", ["int instruction", "float output"])
@pytest.mark.parametrize("verb", ["validate", "crossin", "plug", "train"])
def test_coerce_types_reads_numbers_as_text_and_counts_them(name, verb, tmp_path, capsys):
    line, field, _, text = TYPES[name]
    data = _jsonl(tmp_path / "data.jsonl", line)
    middle = {"instruction": "Hi?", "output": "4"} | {field: text}
    texts = [GOOD_TEXTS[0], (middle["instruction"], middle["output"]), GOOD_TEXTS[1]]
    if verb == "train":
        examples, _, summaries = read_sources([DataSourceConfig(path=str(data), coerce_types=True)])
        assert [(e.instruction, e.output) for e in examples] == texts
        assert summaries == [f"{data}: 3 records, read 1 numbers as text (1 in {field})"]
        return
    status, out = _run(verb, data, tmp_path, "--coerce-types")
    err = capsys.readouterr().err
    assert status == 0, err
    assert f"1 in {field})" in err
    if verb != "validate":
        _check_outputs(verb, out, texts)


# ------------------------------------------------------------------------------------------- other formats


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        (
            "array.json",
            b'[{"instruction": "a", "output": "1"},\n {"instruction": "caf\xe9", "output": "2"}]',
            r"array.json, line 2: not valid UTF-8 \(byte 0xe9 at column 22\)",
        ),
        (
            "array.json",
            b'[{"instruction": "a", "output": "1"}, {"instruction": "b", "output": NaN}]',
            r"array.json, record 1, field 'output': NaN is not a JSON value",
        ),
        (
            "array.json",
            b'{"data": [{"instruction": "a", "output": "1"}], "data": []}',
            r"array.json, field 'data': this key occurs more than once",
        ),
        (
            "rows.csv",
            b"instruction,output\na,1\nb\xff,2\n",
            r"rows.csv, line 3: not valid UTF-8 \(byte 0xff at column 2\)",
        ),
        (
            "rows.tsv",
            b"instruction\toutput\n\xfe\t1\n",
            r"rows.tsv, line 2: not valid UTF-8 \(byte 0xfe at column 1\)",
        ),
        ("header.csv", b"instr\xfcction,output\na,1\n", r"header.csv, line 1: header: not valid UTF-8"),
        (
            "sentences.txt",
            b"one\ntwo \xe9\n",
            r"sentences.txt, line 2: not valid UTF-8 \(byte 0xe9 at column 5\)",
        ),
    ],
)
def test_every_text_format_reports_the_line(name, content, message, tmp_path):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(DataError, match=message):
        list(iter_records(path))


def test_parallel_text_for_codeswitching_names_the_bad_line(tmp_path, capsys):
    (tmp_path / "en.txt").write_text("What is two plus three?\n", encoding="utf-8")
    (tmp_path / "de.txt").write_bytes(b"Was ist zwei plus dr\xe9i?\n")
    data = _jsonl(tmp_path / "data.jsonl")
    status, _ = _run(
        "codeswitch",
        data,
        tmp_path,
        "--parallel",
        f"en={tmp_path / 'en.txt'}",
        "--parallel",
        f"de={tmp_path / 'de.txt'}",
        "--sentence-ratio",
        "1",
    )
    assert status == 2
    message = f"{tmp_path / 'de.txt'}, line 1: not valid UTF-8 (byte 0xe9 at column 21)"
    assert message in capsys.readouterr().err


# ------------------------------------------------------------------------------------------------ lexicons


def test_lexicons_decode_strictly_and_strip_the_bom(tmp_path, capsys):
    lexicon = tmp_path / "en-de.txt"
    lexicon.write_bytes(BOM + b"what was\nthree dr\xe9i\nplus und\n")
    with pytest.raises(DataError, match=r"en-de.txt, line 2: not valid UTF-8 \(byte 0xe9 at column 9\)"):
        read_lexicon_file(lexicon, "de")
    lex = read_lexicon_file(lexicon, "de", skip_invalid=True)
    assert lex.entries == {"what": ("was",), "plus": ("und",)} and lex.stats["dropped: not valid UTF-8"] == 1
    data = _jsonl(tmp_path / "data.jsonl")
    args = [
        "data",
        "codeswitch",
        "--input",
        str(data),
        "--field",
        "instruction",
        "--lexicon",
        str(tmp_path),
        "--languages",
        "de",
        "--ratio",
        "1",
        "--out",
        str(tmp_path / "o.jsonl"),
    ]
    assert main(args) == 2 and "en-de.txt, line 2: not valid UTF-8" in capsys.readouterr().err
    assert main([*args, "--lexicon-skip-invalid"]) == 0
    first = _read_jsonl(tmp_path / "o.jsonl")[0]
    assert first["instruction"] == "Was is two und three?"  # the BOM did not hide the first entry


# ------------------------------------------------------------------------------------ task files, exemplars


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (
            b"include: parallel_math\ntask: t\nlanguage: en\ndescription: caf\xe9\n",
            r"line 4: not valid UTF-8 \(byte 0xe9 at column 17\)",
        ),
        (
            b"include: parallel_math\ntask: t\nlanguage: en\nlanguage: sw\n",
            r"line 4: key 'language' is given twice \(also at line 3\)",
        ),
        (
            b"include: parallel_math\ntask: t\nlanguage: en\ndataset:\n  path: x.jsonl\n  options: .nan\n",
            r"key 'dataset.options': got nan",
        ),
    ],
)
def test_task_files_are_read_strictly(content, message, tmp_path, capsys):
    task = tmp_path / "t.yaml"
    task.write_bytes(content)
    with pytest.raises(ConfigError, match=message):
        TaskRegistry([task])
    assert main(["eval", "--task", str(task), "--model", "tiny:llama", "--out", str(tmp_path / "ev")]) == 2
    assert re.search(message, capsys.readouterr().err)


def test_a_task_file_with_a_bom_is_accepted(tmp_path):
    data = _jsonl(tmp_path / "data.jsonl")
    task = _task(tmp_path, data)
    task.write_bytes(BOM + task.read_bytes())
    assert TaskRegistry().resolve(str(task)).tasks[0].dataset.question_field == "instruction"


def _mgsm_exemplars(tmp_path: Path, text: bytes) -> Path:
    path = tmp_path / "mgsm_exemplars.json"
    path.write_bytes(text)
    return path


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (
            b'{"MGSM_EXEMPLARS": {"en": {"1": {"q": "Question: caf\xe9?", "a": "Answer: 4"}}}}',
            r"line 1: not valid UTF-8 \(byte 0xe9 at column 53\)",
        ),
        (
            b'{"MGSM_EXEMPLARS": {"en": {"1": {"q": "Question: 2+2?", "a": NaN}}}}',
            r"field 'MGSM_EXEMPLARS.en.1.a': NaN is not a JSON value",
        ),
        (
            b'{"MGSM_EXEMPLARS": {"en": {"1": {"q": "Q?", "a": "A"}, "1": {"q": "Q2?", "a": "A2"}}}}',
            r"field 'MGSM_EXEMPLARS.en.1': this key occurs more than once",
        ),
        (
            b'{"MGSM_EXEMPLARS": {"en": {"1": {"q": 17, "a": "A"}}}}',
            r"field 'MGSM_EXEMPLARS.en.1.q': expected a string, got int",
        ),
    ],
)
def test_mgsm_exemplar_files_are_read_strictly(content, message, tmp_path):
    path = _mgsm_exemplars(tmp_path, content)
    with pytest.raises(DataError, match=f"{re.escape(str(path))}, {message}"):
        read_exemplars(path, format="mgsm_exemplars", language="en")


def test_exemplar_files_accept_a_bom_and_numeric_answers_but_not_numeric_questions(tmp_path):
    path = _mgsm_exemplars(tmp_path, BOM + b'{"MGSM_EXEMPLARS": {"en": {"1": {"q": "Q: 2+2?", "a": "4"}}}}')
    (exemplar,) = read_exemplars(path, format="mgsm_exemplars", language="en")
    assert (exemplar.question, exemplar.answer) == ("2+2?", "4")
    shots = tmp_path / "shots.jsonl"
    shots.write_bytes(BOM + b'{"question": "2+2?", "answer": 4}\n')
    exemplars = read_exemplars(shots, format="jsonl", language="en")
    assert [(e.question, e.answer) for e in exemplars] == [("2+2?", "4")]
    shots.write_bytes(b'{"question": 22, "answer": "4"}\n')
    with pytest.raises(DataError, match=r"shots.jsonl, line 1, field 'question': expected a string, got int"):
        read_exemplars(shots, format="jsonl", language="en")
