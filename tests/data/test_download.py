"""`crosslift data download` and the cache: download + verify, resume, checksum mismatch, offline, --from, and tasks
and lexicons read straight from the cache. Every byte comes from a local HTTP server on 127.0.0.1 (tests/data/
conftest.py) serving files made here; a catalogue file ($CROSSLIFT_CATALOGUE) points the datasets at it."""

from __future__ import annotations

import hashlib
import json
import re
import socket
import textwrap
from pathlib import Path
from types import SimpleNamespace

import pytest

from crosslift.catalogue import MARKER, get_dataset
from crosslift.cli import main
from crosslift.data import download as dl
from crosslift.data.download import DownloadError, NotDownloaded, dataset_dir, dataset_urls, fetch_datasets
from crosslift.errors import ConfigError, DataError

COMMIT = "0123456789abcdef0123456789abcdef01234567"
PROBLEMS = [(2, 3), (10, 7), (40, 2)]


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def mmwp_file(lang: str) -> bytes:
    word = {"en": "What is", "sw": "Ni nini"}[lang]
    rows = [{"question": f"{word} {a} + {b}?", "answer": f"{a + b} "} for a, b in PROBLEMS]
    return json.dumps(rows, ensure_ascii=False, indent=2).encode()


HUNALIGN = b"mbwa @ dog\npaka @ cat\nmaji @ water\nkitabu @ book\nnyumba @ house\n"
BIG = b"".join(hashlib.sha256(str(i).encode()).digest() for i in range(10_000))  # 320 kB, incompressible


def write_catalogue(path: Path, base: str, *, override: dict | None = None) -> Path:
    """A catalogue: a two-language stand-in for mmwp, a lexicon made by a transform, and one large file."""
    muse = dl.muse_from_hunalign([HUNALIGN])
    files = {
        "mmwp": [
            {"name": f"test_{lang}.json", "bytes": len(mmwp_file(lang)), "sha256": sha(mmwp_file(lang))}
            for lang in ("en", "sw")
        ],
        "toymuse": [
            {
                "name": "en-sw.txt",
                "bytes": len(muse),
                "sha256": sha(muse),
                "transform": "muse_from_hunalign",
                "inputs": [{"source": "dict/en-sw.dict", "bytes": len(HUNALIGN), "sha256": sha(HUNALIGN)}],
            }
        ],
        "blob": [
            {"name": "big.bin", "source": "upstream/big-file.bin", "bytes": len(BIG), "sha256": sha(BIG)}
        ],
    }
    files |= override or {}
    meta = {
        "mmwp": {"kind": "benchmark", "license": "CC BY-NC 4.0", "restrictions": ["non-commercial"]},
        "toymuse": {
            "kind": "lexicon",
            "license": "CC BY-NC 4.0",
            "restrictions": ["non-commercial"],
            "aliases": ["toy_dictionaries"],
        },
        "blob": {"kind": "training", "license": "MIT"},
    }
    datasets = {
        name: meta[name]
        | {
            "title": f"test {name}",
            "origin": "https://example.org/repo",
            "revision": COMMIT,
            "base_url": f"{base}/{name}/{COMMIT}/",
            "files": files[name],
        }
        for name in meta
    }
    path.write_text(json.dumps({"version": 1, "datasets": datasets}, indent=1))  # JSON is YAML
    return path


@pytest.fixture
def origin(file_server, tmp_path, monkeypatch):
    """The server holding the upstream files, a catalogue pointing at it, and an empty cache."""
    for lang in ("en", "sw"):
        file_server.files[f"/mmwp/{COMMIT}/test_{lang}.json"] = mmwp_file(lang)
    file_server.files[f"/toymuse/{COMMIT}/dict/en-sw.dict"] = HUNALIGN
    file_server.files[f"/blob/{COMMIT}/upstream/big-file.bin"] = BIG
    catalogue = write_catalogue(tmp_path / "catalogue.yaml", file_server.url)
    monkeypatch.setenv("CROSSLIFT_CATALOGUE", str(catalogue))
    monkeypatch.setenv("CROSSLIFT_CACHE", str(tmp_path / "cache"))
    for var in dl.OFFLINE_ENV:
        monkeypatch.delenv(var, raising=False)
    return SimpleNamespace(
        server=file_server, root=tmp_path / "cache" / "data", catalogue=catalogue, tmp=tmp_path
    )


# ---------------------------------------------------------------------------------------------------- download


def test_download_verifies_places_marks_and_shows_the_license_first(origin, capsys):
    (report,) = fetch_datasets(["mmwp"])
    folder = origin.root / "mmwp"
    assert (
        report.directory == folder
        and report.fetched == 2
        and report.files == ["test_en.json", "test_sw.json"]
    )
    for lang in ("en", "sw"):
        assert (folder / f"test_{lang}.json").read_bytes() == mmwp_file(lang)
    marker = json.loads((folder / MARKER).read_text())
    assert marker["license"] == "CC BY-NC 4.0" and set(marker["files"]) == {"test_en.json", "test_sw.json"}
    assert not (origin.root / ".partial").exists()  # nothing left half-way
    err = capsys.readouterr().err
    assert (
        err.index("mmwp: license CC BY-NC 4.0")
        < err.index("note: non-commercial use only")
        < err.index("2 files verified")
    )
    assert dataset_dir("mmwp") == folder


def test_a_rerun_fetches_nothing_and_replaces_a_corrupted_file(origin):
    fetch_datasets(["mmwp"])
    origin.server.requests.clear()
    (report,) = fetch_datasets(["mmwp"])
    assert report.kept == 2 and origin.server.requests == []
    (origin.root / "mmwp" / "test_sw.json").write_text("[]")
    (report,) = fetch_datasets(["mmwp"])
    assert report.kept == 1 and report.fetched == 1
    assert (origin.root / "mmwp" / "test_sw.json").read_bytes() == mmwp_file("sw")


def test_a_transform_makes_the_file_and_its_hash_is_checked(origin):
    fetch_datasets(["toymuse"])
    assert (origin.root / "toymuse" / "en-sw.txt").read_text().splitlines()[:2] == ["dog mbwa", "cat paka"]
    write_catalogue(
        origin.catalogue,
        origin.server.url,
        override={
            "toymuse": [
                {
                    "name": "en-sw.txt",
                    "bytes": 10,
                    "sha256": "0" * 64,
                    "transform": "muse_from_hunalign",
                    "inputs": [
                        {"source": "dict/en-sw.dict", "bytes": len(HUNALIGN), "sha256": sha(HUNALIGN)}
                    ],
                }
            ]
        },
    )
    target = origin.tmp / "elsewhere"
    with pytest.raises(
        DataError,
        match=rf"toymuse/en-sw.txt: sha256 mismatch: expected 0{{64}}, got {sha(dl.muse_from_hunalign([HUNALIGN]))} \(made by muse_from_hunalign",
    ):
        fetch_datasets(["toymuse"], root=target)
    assert not (target / "toymuse" / "en-sw.txt").exists()


def test_a_cut_connection_is_resumed_with_a_range_request(origin):
    origin.server.cuts["/blob/" + COMMIT + "/upstream/big-file.bin"] = [100_000, 50_000]
    (report,) = fetch_datasets(["blob"])
    assert (origin.root / "blob" / "big.bin").read_bytes() == BIG
    assert origin.server.fetched("big-file.bin") == [None, "bytes=100000-", "bytes=150000-"]
    assert report.bytes_fetched == len(BIG)


def test_a_partial_file_of_an_earlier_run_is_resumed(origin):
    part = origin.root / ".partial" / "blob" / "upstream%2Fbig-file.bin"
    part.parent.mkdir(parents=True)
    part.write_bytes(BIG[:70_000])
    fetch_datasets(["blob"], retries=0)
    assert origin.server.fetched("big-file.bin") == ["bytes=70000-"]
    assert (origin.root / "blob" / "big.bin").read_bytes() == BIG
    assert not part.exists()


def test_a_server_that_ignores_the_range_sends_the_whole_file_again(origin):
    part = origin.root / ".partial" / "blob" / "upstream%2Fbig-file.bin"
    part.parent.mkdir(parents=True)
    part.write_bytes(BIG[:70_000])
    origin.server.ignore_range = True
    fetch_datasets(["blob"])
    assert (origin.root / "blob" / "big.bin").read_bytes() == BIG


def test_too_many_cuts_keep_the_partial_file_for_the_next_run(origin):
    origin.server.cuts["/blob/" + COMMIT + "/upstream/big-file.bin"] = [30_000, 30_000]
    with pytest.raises(
        DownloadError, match=r"broke 2 times.*60000 of 320000 bytes are kept .*rerun the command to resume"
    ):
        fetch_datasets(["blob"], retries=1)
    assert not (origin.root / "blob" / "big.bin").exists() and not (origin.root / "blob" / MARKER).exists()
    with pytest.raises(NotDownloaded, match="crosslift data download blob"):
        dataset_dir("blob")
    fetch_datasets(["blob"])  # the next run goes on from byte 60000
    assert origin.server.fetched("big-file.bin")[-1] == "bytes=60000-"
    assert (origin.root / "blob" / "big.bin").read_bytes() == BIG


def test_a_checksum_mismatch_names_the_file_and_both_hashes_and_keeps_nothing(origin):
    bad = mmwp_file("sw").replace(b"42", b"43")
    origin.server.files[f"/mmwp/{COMMIT}/test_sw.json"] = bad
    with pytest.raises(DataError) as e:
        fetch_datasets(["mmwp"])
    message = str(e.value)
    assert f"mmwp/test_sw.json: sha256 mismatch: expected {sha(mmwp_file('sw'))}, got {sha(bad)}" in message
    assert f"{origin.server.url}/mmwp/{COMMIT}/test_sw.json" in message and "discarded" in message
    assert not (origin.root / "mmwp" / "test_sw.json").exists()  # never where it would be read
    assert not (origin.root / ".partial" / "mmwp" / "test_sw.json").exists()  # the next run starts clean
    with pytest.raises(NotDownloaded):
        dataset_dir("mmwp")


def test_offline_is_an_error_naming_the_urls_and_the_from_alternative(origin, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(DownloadError) as e:
        fetch_datasets(["mmwp"])
    message = str(e.value)
    assert "offline (HF_HUB_OFFLINE=1)" in message and "crosslift data download mmwp --from DIR" in message
    assert f"{origin.server.url}/mmwp/{COMMIT}/test_en.json" in message
    assert f"{origin.server.url}/mmwp/{COMMIT}/test_sw.json" in message
    assert origin.server.requests == []


def test_an_unreachable_origin_names_the_urls_and_the_from_alternative(origin, tmp_path):
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    write_catalogue(origin.catalogue, f"http://127.0.0.1:{port}")
    with pytest.raises(DownloadError) as e:
        fetch_datasets(["mmwp"], timeout=5)
    message = str(e.value)
    assert f"cannot reach http://127.0.0.1:{port}/mmwp/{COMMIT}/test_en.json" in message
    assert f"http://127.0.0.1:{port}/mmwp/{COMMIT}/test_sw.json" in message
    assert "crosslift data download mmwp --from DIR" in message


def test_an_http_error_names_the_url(origin):
    del origin.server.files[f"/mmwp/{COMMIT}/test_sw.json"]
    with pytest.raises(
        DownloadError, match=rf"HTTP 404 .* for {origin.server.url}/mmwp/{COMMIT}/test_sw.json"
    ):
        fetch_datasets(["mmwp"])
    assert (origin.root / "mmwp" / "test_en.json").is_file()  # verified files stay; the dataset is incomplete
    assert not (origin.root / "mmwp" / MARKER).exists()


# ---------------------------------------------------------------------------------------------------- --from DIR


def test_from_dir_takes_cache_named_or_upstream_named_files_and_verifies_them(origin, tmp_path):
    elsewhere = tmp_path / "fetched"
    (elsewhere / "mmwp").mkdir(parents=True)  # the ../shared/data layout: one folder per dataset
    for lang in ("en", "sw"):
        (elsewhere / "mmwp" / f"test_{lang}.json").write_bytes(mmwp_file(lang))
    (elsewhere / "en-sw.dict").write_bytes(HUNALIGN)  # as `wget URL` saves it
    (elsewhere / "big-file.bin").write_bytes(BIG)
    reports = fetch_datasets(["mmwp", "toymuse", "blob"], from_dir=elsewhere)
    assert [r.copied for r in reports] == [2, 1, 1] and origin.server.requests == []
    assert (origin.root / "toymuse" / "en-sw.txt").read_text().startswith("dog mbwa\n")
    assert (origin.root / "blob" / "big.bin").read_bytes() == BIG
    assert dataset_dir("toymuse") == origin.root / "toymuse"


def test_from_dir_missing_or_wrong_files_are_errors(origin, tmp_path):
    elsewhere = tmp_path / "fetched"
    elsewhere.mkdir()
    (elsewhere / "test_en.json").write_bytes(mmwp_file("en"))
    with pytest.raises(
        DataError,
        match=rf"1 file\(s\) of dataset 'mmwp' are not in the folder.*\n  {origin.server.url}/mmwp/{COMMIT}/test_sw.json",
    ):
        fetch_datasets(["mmwp"], from_dir=elsewhere)
    (elsewhere / "test_sw.json").write_bytes(b"[]")
    with pytest.raises(
        DataError,
        match=rf"{elsewhere / 'test_sw.json'}: sha256 mismatch: expected {sha(mmwp_file('sw'))}, got {sha(b'[]')}",
    ):
        fetch_datasets(["mmwp"], from_dir=elsewhere)
    assert not (origin.root / "mmwp" / "test_sw.json").exists()


# ---------------------------------------------------------------------------------------------------- transforms


def test_transforms_on_small_inputs():
    assert dl.muse_from_hunalign([b"die @ the\nder @ the\n"]) == b"the die\nthe der\n"
    with pytest.raises(ValueError, match="line 2: expected 'foreign @ english'"):
        dl.muse_from_hunalign([b"die @ the\nbroken\n"])
    code = b'"""x"""\nA = [1, 2]\nB = {"en": {"1": {"q": "\\u0041?", "a": "b"}}}\nprint("never run")\n'
    assert json.loads(dl.mgsm_exemplars([code])) == {"A": [1, 2], "B": {"en": {"1": {"q": "A?", "a": "b"}}}}
    log = [
        {
            lang: {"question": lang, "answer": "(A) x", "model_input": "p", "model_prediction": "q"}
            for lang in reversed(dl.SEAEVAL_LANGUAGES)
        }
        | {"id": "test_1"}
    ]
    items = json.loads(dl.seaeval_items([json.dumps(log).encode()]))
    assert list(items[0]) == ["id", *dl.SEAEVAL_LANGUAGES] and items[0]["Malay"] == {
        "question": "Malay",
        "answer": "(A) x",
    }
    rows = [{"instruction": "i1", "output": "o1", "generator": "g", "dataset": "d", "datasplit": "eval"}]
    assert json.loads(dl.alpaca_eval_instructions([json.dumps(rows).encode()])) == [
        {"id": 1, "dataset": "d", "instruction": "i1"}
    ]
    assert list(json.loads(dl.alpaca_eval_outputs([json.dumps(rows).encode()]))[0]) == [
        "id",
        "dataset",
        "instruction",
        "output",
        "generator",
    ]
    lines = b"".join(b"line %d\n" % i for i in range(10))
    sample = dl.ntrex_sample([lines], seed=1, lines=10, sample=3).decode().splitlines()
    picked = [int(s.split()[1]) for s in sample]
    assert picked == sorted(picked) and len(set(picked)) == 3
    index = dl.ntrex_index(
        ["\n".join(f"doc{i}" for i in range(10)).encode() + b"\n"], seed=1, lines=10, sample=3
    )
    assert index.decode().splitlines()[1:] == [f"{r}\t{i}\tdoc{i}" for r, i in enumerate(picked)]
    with pytest.raises(ValueError, match="expected 11 lines, got 10"):
        dl.ntrex_sample([lines], seed=1, lines=11, sample=3)


def _shared_folder(shared_data: Path, name: str) -> Path:
    dataset = get_dataset(name)
    return next(shared_data / n for n in (dataset.name, *dataset.aliases) if (shared_data / n).is_dir())


def test_transforms_rebuild_the_shared_files_byte_for_byte(shared_data):
    """Upstream-shaped inputs rebuilt from ../shared/data must transform back to the catalogued hashes."""
    muse = get_dataset("muse")
    en_sw = (_shared_folder(shared_data, "muse") / "en-de.txt").read_text(encoding="utf-8")
    hunalign = "".join(f"{line.split(' ', 1)[1]} @ {line.split(' ', 1)[0]}\n" for line in en_sw.splitlines())
    assert sha(dl.muse_from_hunalign([hunalign.encode()])) == muse.file("en-de.txt").sha256

    mgsm = json.loads(
        (_shared_folder(shared_data, "mgsm") / "mgsm_exemplars.json").read_text(encoding="utf-8")
    )
    code = "".join(f"{k} = {v!r}\n\n" for k, v in mgsm.items()).encode()
    assert sha(dl.mgsm_exemplars([code])) == get_dataset("mgsm").file("mgsm_exemplars.json").sha256

    for name in ("cross_mmlu.json", "cross_logiqa.json"):
        items = json.loads((_shared_folder(shared_data, "seaeval") / name).read_text(encoding="utf-8"))
        log = [
            {
                lang: item[lang] | {"model_input": "?", "model_prediction": "?"}
                for lang in reversed(dl.SEAEVAL_LANGUAGES)
            }
            | {"id": item["id"]}
            for item in items
        ]
        assert (
            sha(dl.seaeval_items([json.dumps(log, indent=4).encode()]))
            == get_dataset("seaeval").file(name).sha256
        )

    reference = json.loads(
        (_shared_folder(shared_data, "alpaca_eval") / "reference_text_davinci_003.json").read_text(
            encoding="utf-8"
        )
    )
    upstream = json.dumps(
        [{k: r[k] for k in ("dataset", "instruction", "output", "generator")} for r in reference]
    ).encode()
    alpaca = get_dataset("alpaca_eval")
    assert sha(dl.alpaca_eval_outputs([upstream])) == alpaca.file("reference_text_davinci_003.json").sha256
    assert sha(dl.alpaca_eval_instructions([upstream])) == alpaca.file("alpaca_eval_en.json").sha256

    ntrex = get_dataset("ntrex")
    folder = _shared_folder(shared_data, "ntrex")
    index = [line.split("\t") for line in (folder / "index.tsv").read_text(encoding="utf-8").splitlines()[1:]]
    documents = ["x"] * ntrex.transform_args["lines"]
    full = [b"filler"] * ntrex.transform_args["lines"]
    sample = (folder / "newstest2019-ref.swa.txt").read_bytes().split(b"\n")[:-1]
    for (_, line, document), text in zip(index, sample, strict=True):
        documents[int(line)], full[int(line)] = document, text
    args = ntrex.transform_args
    assert (
        sha(dl.ntrex_sample([b"\n".join(full) + b"\n"], **args))
        == ntrex.file("newstest2019-ref.swa.txt").sha256
    )
    assert (
        sha(dl.ntrex_index(["\n".join(documents).encode() + b"\n"], **args)) == ntrex.file("index.tsv").sha256
    )


# ---------------------------------------------------------------------------------------------------- the command


def test_the_command_downloads_lists_and_prints_urls(origin, capsys):
    assert main(["data", "download", "mmwp", "toy_dictionaries"]) == 0
    err = capsys.readouterr().err
    assert "mmwp: license CC BY-NC 4.0" in err and "toymuse: license CC BY-NC 4.0" in err
    assert (origin.root / "toymuse" / "en-sw.txt").is_file()
    assert main(["data", "download", "--list"]) == 0
    listing = capsys.readouterr().err
    assert "toymuse" in listing and "gatitos" in listing  # the bundled catalogue stays under the test one
    assert main(["data", "download", "toymuse", "--urls"]) == 0
    assert capsys.readouterr().out.split() == [f"{origin.server.url}/toymuse/{COMMIT}/dict/en-sw.dict"]
    target = origin.tmp / "to"
    assert main(["data", "download", "blob", "--to", str(target)]) == 0
    assert (target / "blob" / "big.bin").read_bytes() == BIG


def test_the_command_errors_are_one_message(origin, capsys, tmp_path):
    assert main(["data", "download", "mwmp"]) == 2
    assert "no dataset 'mwmp' in the data catalogue; did you mean mmwp" in capsys.readouterr().err
    assert main(["data", "download"]) == 2
    assert "name the datasets to download" in capsys.readouterr().err
    assert main(["data", "download", "mmwp", "--from", str(tmp_path / "empty")]) == 2
    assert "2 file(s) of dataset 'mmwp' are not in the folder" in capsys.readouterr().err


# ---------------------------------------------------------------------------------------------------- readers


@pytest.fixture
def tiny_llama_cache(origin, monkeypatch):
    """The test cache with the already-built tiny models linked in (building them again would take a while)."""
    from crosslift.models.build import resolve_model_path

    monkeypatch.delenv("CROSSLIFT_CACHE")
    built = Path(resolve_model_path("tiny:llama")).parent
    monkeypatch.setenv("CROSSLIFT_CACHE", str(origin.root.parent))
    origin.root.parent.mkdir(parents=True, exist_ok=True)
    (origin.root.parent / built.name).symlink_to(built, target_is_directory=True)
    return origin


EVAL = [
    "eval",
    "--task",
    "mmwp",
    "--languages",
    "en,sw",
    "--model",
    "tiny:llama",
    "--limit",
    "2",
    "--max-new-tokens",
    "4",
]


@pytest.mark.slow
def test_a_task_is_evaluated_straight_from_the_cache(tiny_llama_cache, capsys, monkeypatch):
    origin = tiny_llama_cache
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")  # evaluating needs no network at all
    out = origin.tmp / "run"
    assert main([*EVAL, "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "reads its data from dataset 'mmwp', which is not downloaded" in err
    assert "Get it with one command:\n  crosslift data download mmwp\n" in err
    monkeypatch.delenv("HF_HUB_OFFLINE")
    assert main([*EVAL, "--out", str(out), "--download"]) == 0  # fetched, then evaluated
    summary = json.loads((out / "eval" / "mmwp" / "summary.json").read_text())
    provenance = summary["provenance"]
    assert sorted(provenance["data"]) == [
        str(origin.root / "mmwp" / f"test_{lang}.json") for lang in ("en", "sw")
    ]
    assert provenance["data_licenses"]["mmwp"]["restrictions"] == ["non-commercial"]
    origin.server.requests.clear()
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    again = origin.tmp / "run2"
    assert main([*EVAL, "--out", str(again)]) == 0 and origin.server.requests == []  # from the cache, offline


def test_a_task_file_the_dataset_lacks_is_named(origin, capsys, tmp_path):
    fetch_datasets(["mmwp"])
    assert (
        main(["eval", "--task", "mmwp", "--languages", "te", "--model", "tiny:llama", "--out", str(tmp_path)])
        == 2
    )
    assert (
        "reads its data from test_te.json, which dataset 'mmwp' of the data catalogue does not have"
        in capsys.readouterr().err
    )


def test_lexicons_named_by_dataset_in_codeswitch(origin, tmp_path, capsys):
    corpus = tmp_path / "en.jsonl"
    corpus.write_text('{"text": "The dog drank water near the house."}\n')
    args = [
        "data",
        "codeswitch",
        "--input",
        str(corpus),
        "--field",
        "text",
        "--lexicon",
        "toymuse",
        "--languages",
        "sw",
        "--ratio",
        "1.0",
        "--out",
        str(tmp_path / "cs.jsonl"),
    ]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert (
        "lexicon 'toymuse' is not downloaded" in err
        and "get it with:  crosslift data download toymuse" in err
    )
    assert main([*args, "--download"]) == 0
    record = json.loads((tmp_path / "cs.jsonl").read_text())
    assert record["output"] == "The dog drank water near the house."
    assert set(re.findall(r"\w+", record["instruction"])) & {"mbwa", "maji", "nyumba"}, record["instruction"]
    manifest = json.loads((tmp_path / "cs.manifest.json").read_text())
    assert manifest["data_licenses"]["toymuse"]["license"] == "CC BY-NC 4.0"
    assert manifest["data_licenses"]["toymuse"]["files"] == [str(origin.root / "toymuse" / "en-sw.txt")]
    assert main(["data", "codeswitch", *args[2:6], "--lexicon", "mmwp", *args[8:]]) == 2
    assert "'mmwp' is a benchmark in the data catalogue, not a lexicon (lexicons:" in capsys.readouterr().err


def test_recipe_lexicons_by_name(origin):
    from crosslift.train.lingualift.check import word_pairs

    with pytest.raises(
        DataError, match="lexicon 'toymuse' is not downloaded .*crosslift data download toymuse"
    ):
        word_pairs(["toymuse"], ["sw"], 3, seed=0)
    fetch_datasets(["toymuse"])
    pairs = word_pairs(["toymuse"], ["sw"], 3, seed=0)
    assert len(pairs["sw"]) == 3 and all(
        en in {"dog", "cat", "water", "book", "house"} for en, _ in pairs["sw"]
    )


def test_dataset_dir_downloads_when_asked(origin):
    with pytest.raises(NotDownloaded) as e:
        dataset_dir("mmwp")
    assert e.value.command == "crosslift data download mmwp"
    with pytest.raises(NotDownloaded, match=r"crosslift data download mmwp --to .*elsewhere"):
        dataset_dir("mmwp", root=origin.tmp / "elsewhere")
    assert dataset_dir("mmwp", download=True) == origin.root / "mmwp"
    with pytest.raises(ConfigError, match="no dataset 'nope'"):
        dataset_dir("nope")


def test_a_bad_user_catalogue_names_file_line_and_key(origin):
    origin.catalogue.write_text(
        textwrap.dedent("""\
        version: 1
        datasets:
          x:
            title: x
            kind: benchmark
            license: MIT
            base_url: https://example.org/x/
            files:
              - {name: a.json, bytes: 3, sha256: nothex}
        """)
    )
    with pytest.raises(ConfigError, match=r"catalogue.yaml, line 9, key 'datasets.x.files.0.sha256'"):
        get_dataset("x")


def test_a_hub_dataset_is_loaded_into_the_datasets_cache_and_checked(fake_hub, capsys):
    (report,) = fetch_datasets(["xnli"])
    assert sorted(fake_hub) == [
        ("facebook/xnli", subset, split, None) for subset in ("en", "sw") for split in ("test", "validation")
    ]
    assert len(report.files) == 4 and report.license == "CC BY-NC 4.0"
    err = capsys.readouterr().err
    assert "xnli: license CC BY-NC 4.0" in err and "non-commercial use only" in err and "4 splits" in err
    assert dataset_urls(["xnli"]) == []  # nothing to fetch by URL: the datasets cache holds it
