"""The runner with a scripted generator (fast, exact expectations): items, summary, report files, resume, refusals;
and end to end on the tiny model (slow): the CLI shorthand on MMWP, and kill -9 mid-run then rerun."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from crosslift.errors import ConfigError, CrossliftError
from crosslift.eval.results.folder import ITEMS
from crosslift.eval.runner.evaluate import evaluate

REPO = Path(__file__).resolve().parents[3]
CROSSLIFT = [sys.executable, "-c", "import sys; from crosslift.cli import main; sys.exit(main())"]


def read_items(root: Path, task: str = "addition") -> list[dict]:
    return [json.loads(line) for line in (root / "out" / "eval" / task / ITEMS).read_text().splitlines()]


def test_evaluate_writes_items_summary_report_and_plots(dataset, eval_config, scripted):
    summary = evaluate(eval_config(), scripted())["addition"]
    task_dir = dataset / "out" / "eval" / "addition"
    items = read_items(dataset)
    assert len(items) == 18
    first = next(r for r in items if r["language"] == "en" and r["index"] == 2)
    assert (
        first["output"] == "1000 + 25 = 1,025. The answer is 1,025.\n"
    )  # cut at the stop string "Question:"
    assert (first["extracted"], first["gold"], first["correct"]) == ("1025", "1025", True)
    assert first["prompt"].endswith("Question: What is 1000 + 25?\n\n### Response: Let's think step by step.")
    by = summary["languages"]
    assert (
        by["en"]["metrics"]["accuracy_strict"]["value"] == 1.0
        and by["sw"]["metrics"]["accuracy_strict"]["value"] == 0.0
    )
    assert by["te"]["extraction_failures"] == 6 and by["sw"]["extraction_failures"] == 0
    assert (by["sw"]["tier"], by["en"]["tier"]) == ("low", "high")
    assert by["sw"]["words"]["question"] == "Swali:" and "Swali:" in by["sw"]["stop"]
    assert summary["tiers"]["low"]["metrics"]["accuracy_strict"]["value"] == 0.0
    assert summary["english"]["metrics"]["accuracy_strict"]["value"] == 1.0
    assert summary["overall"]["metrics"]["accuracy_strict"]["value"] == pytest.approx(1 / 3)
    # both figures, the paper's (strict, the headline) and the flexible one, for every language
    assert (
        summary["primary_metric"] == "accuracy_strict"
        and by["en"]["metrics"]["accuracy_flexible"]["value"] == 1.0
    )
    assert {r["language"]: r["filtered"] for r in items if r["index"] == 2}["en"] == {
        "strict": "1025",
        "flexible": "1025",
    }
    assert summary["tier_rule"]["name"] == "mmwp-llama2" and summary["generation"]["do_sample"] is False
    assert summary["provenance"]["models"] == {"model": "scripted"} and "versions" in summary["provenance"]
    assert json.loads((task_dir / "summary.json").read_text())["overall"] == summary["overall"]
    assert "mmwp-llama2" in (task_dir / "report.md").read_text()
    for png in ("accuracy_by_language.png", "tier_gap.png"):
        assert (task_dir / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_rerun_skips_finished_items_and_extends_the_limit(dataset, eval_config, scripted):
    evaluate(eval_config("tasks.0.limit=3"), scripted())
    before = read_items(dataset)
    generator = scripted()
    summary = evaluate(eval_config("tasks.0.limit=5"), generator)["addition"]
    after = read_items(dataset)
    assert after[: len(before)] == before and len(after) == 15  # items 3 and 4 of each language were added
    # a batch that mixes finished and new items is generated whole (batches stay those of a fresh limit-5 run)
    assert 6 <= sum(len(b) for b in generator.batches) < 15
    assert summary["n_items"] == 15
    again = scripted()
    assert evaluate(eval_config("tasks.0.limit=5"), again)["addition"]["overall"] == summary["overall"]
    assert again.batches == []


def test_finished_run_does_not_load_the_model(dataset, eval_config, scripted):
    evaluate(eval_config(), scripted())
    # "scripted" is not a loadable model: a rerun that tried to load it would fail
    assert evaluate(eval_config())["addition"]["n_items"] == 18


def test_interrupted_run_resumes_to_the_same_summary_and_batches(dataset, tmp_path, eval_config, scripted):
    reference = scripted()
    expected = evaluate(eval_config(f"output_dir={tmp_path / 'reference'}"), reference)["addition"]
    with pytest.raises(KeyboardInterrupt):
        evaluate(eval_config(), scripted(fail_after_calls=4))
    items = dataset / "out" / "eval" / "addition" / ITEMS
    with open(items, "a") as f:
        f.write('{"task": "addition_sw", "index": 5, "prom')  # a torn last line, as a kill mid-write leaves
    resumed = scripted()
    summary = evaluate(eval_config(), resumed)["addition"]
    for key in ("languages", "tiers", "english", "overall"):
        assert summary[key] == expected[key]
    assert resumed.batches == reference.batches[4:]  # the same fixed batches as an uninterrupted run
    assert len(read_items(dataset)) == 18


def test_a_different_decoding_setting_in_the_same_folder_is_refused(dataset, eval_config, scripted):
    evaluate(eval_config(), scripted())
    with pytest.raises(
        ConfigError, match=r"different evaluation:\n  en.generation.max_new_tokens: 1024 -> 64"
    ):
        evaluate(eval_config("generation.max_new_tokens=64"), scripted())
    evaluate(eval_config("generation.batch_size=4"), scripted())  # batch size changes nothing


def test_a_start_that_failed_before_its_first_item_does_not_claim_the_folder(dataset, eval_config, scripted):
    with pytest.raises(CrossliftError, match="model directory not found"):
        evaluate(
            eval_config(f"model.name_or_path={dataset / 'no-such-model'}", "generation.max_new_tokens=64")
        )
    task_dir = dataset / "out" / "eval" / "addition"
    assert not (task_dir / "run.json").exists() and not (task_dir / ITEMS).exists()
    (task_dir / "run.json").write_text(
        json.dumps({"task": "addition", "model": {"name_or_path": "old"}, "languages": {}})
    )  # an older crosslift's failed start
    assert evaluate(eval_config(), scripted())["addition"]["n_items"] == 18  # the corrected command runs
    assert json.loads((task_dir / "run.json").read_text())["model"]["name_or_path"] == "scripted"
    with pytest.raises(
        ConfigError, match="different evaluation:\n  model.name_or_path: 'scripted' -> 'other'"
    ):
        evaluate(eval_config("model.name_or_path=other"), scripted())  # its results claim it now


def test_languages_with_different_item_counts_warn_or_fail_for_consistency(
    dataset, eval_config, scripted, capsys
):
    path = dataset / "data" / "add_sw.jsonl"
    path.write_text("".join(path.read_text().splitlines(keepends=True)[:4]))
    summary = evaluate(eval_config(), scripted())["addition"]
    warning = "the languages' data hold different numbers of items (en 6, sw 4, te 6)"
    assert warning in " ".join(capsys.readouterr().err.split())
    assert any(warning in w for w in summary["warnings"]) and summary["languages"]["sw"]["n_items"] == 4
    assert warning in (dataset / "out" / "eval" / "addition" / "report.md").read_text()
    rows = [
        {"id": f"q{i}", "q": f"What is {i} + 1?", "options": ["one", "two"], "gold": "A"} for i in range(5)
    ]
    for lang, n in (("en", 5), ("sw", 3)):
        (dataset / "data" / f"mc_{lang}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows[:n]))
    (dataset / "tasks" / "mc.yaml").write_text(
        "include: cross_mc\ntask: mc\nlanguages: [en, sw]\ndataset: {path: "
        "'mc_{lang}.jsonl', format: jsonl, question_field: q, choices_field: "
        "options, answer_field: gold, id_field: id}\n"
    )
    with pytest.raises(
        ConfigError,
        match=r"task 'mc': ac3 and consistency compare each question across languages, "
        r"but the languages' data hold different numbers of items \(en 5, sw 3\)",
    ):
        evaluate(eval_config(task="mc"), scripted())
    assert not (dataset / "out" / "eval" / "mc").exists()  # refused before anything was written


def test_a_language_code_follows_the_registrys_rule(dataset, eval_config, scripted):
    for code in ("swahilli", "tlh"):
        (dataset / "data" / f"add_{code}.jsonl").write_text((dataset / "data" / "add_sw.jsonl").read_text())
    task = dataset / "tasks" / "odd.yaml"
    task.write_text("include: addition.yaml\ntask: odd\nlanguages: [en, swahilli]\n")
    with pytest.raises(
        ConfigError,
        match=rf"task file {task}: task 'odd_swahilli': unknown language 'swahilli'; "
        r"did you mean sw \(Swahili\)",
    ):
        evaluate(eval_config(task="odd"), scripted())
    task.write_text(
        "include: addition.yaml\ntask: odd\nlanguages: [en, tlh]\n"
    )  # unlisted, known to langcodes
    summary = evaluate(eval_config(task="odd"), scripted())["odd"]
    assert summary["languages"]["tlh"]["tier"] == "unlisted" and summary["tiers"]["unlisted"][
        "languages"
    ] == ["tlh"]


def test_changed_data_in_the_same_folder_is_refused(dataset, eval_config, scripted):
    evaluate(eval_config("tasks.0.limit=2"), scripted())
    path = dataset / "data" / "add_sw.jsonl"
    path.write_text(path.read_text().replace("What is 2 + 3?", "What is 2 + 4?"))
    with pytest.raises(
        ConfigError, match="addition_sw item 0 with a different prompt, options or gold answer"
    ):
        evaluate(eval_config("tasks.0.limit=2"), scripted())


def test_tier_group_and_language_selection(dataset, eval_config, scripted):
    summary = evaluate(eval_config(task="addition_low"), scripted())["addition_low"]
    assert list(summary["languages"]) == ["sw", "te"] and summary["english"] is None
    summary = evaluate(
        eval_config("tasks.0.languages=[swh, en]", "output_dir=" + str(dataset / "o2")), scripted()
    )["addition"]
    assert list(summary["languages"]) == ["en", "sw"]  # ISO 639-3 swh is Swahili
    with pytest.raises(ConfigError, match="has no language fr"):
        evaluate(eval_config("tasks.0.languages=[fr]"), scripted())


def test_missing_data_dir_and_chat_without_chat_backend(dataset, eval_config, scripted):
    cfg = eval_config("data_dir=null")
    with pytest.raises(ConfigError, match="pass --data-dir"):
        evaluate(cfg, scripted())
    with pytest.raises(ConfigError, match="cannot take chat prompts"):
        evaluate(eval_config("prompt.chat=true"), scripted())


def test_evaluate_through_an_endpoint_url(dataset, eval_config, monkeypatch, completions_server):
    monkeypatch.setenv("ADDER_KEY", "sk-secret-1")

    def adder(prompt: str) -> str:  # answers "What is a + b?" right
        a, b = map(int, re.findall(r"(\d+) \+ (\d+)", prompt)[-1])
        return f" The answer is {a + b}."

    server = completions_server(adder, model="adder")
    summary = evaluate(
        eval_config(
            f"model.name_or_path={server.url}",
            "model.endpoint.api_key_env=ADDER_KEY",
            "model.endpoint.concurrency=2",
            "tasks.0.limit=2",
        )
    )["addition"]
    assert summary["overall"]["metrics"]["accuracy_strict"]["value"] == 1.0 and len(server.requests) == 6
    assert server.requests[0]["model"] == "adder" and server.requests[0]["temperature"] == 0.0
    assert "Swali:" in server.requests[0]["stop"] or "Question:" in server.requests[0]["stop"]
    task_dir = dataset / "out" / "eval" / "addition"
    for name in ("run.json", "summary.json", "items.jsonl", "report.md"):
        assert "sk-secret-1" not in (task_dir / name).read_text()


# ---------------------------------------------------------------------------------------------------- tiny model


def _env() -> dict[str, str]:
    return {
        **os.environ,
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "TOKENIZERS_PARALLELISM": "false",
        "PYTHONPATH": str(REPO / "src"),
    }


@pytest.mark.slow
def test_cli_shorthand_end_to_end_on_mmwp_with_the_tiny_model(shared_data, tmp_path):
    out = tmp_path / "run"
    command = [
        *CROSSLIFT,
        "eval",
        "--task",
        "mmwp",
        "--data-dir",
        str(shared_data / "mmwp"),
        "--model",
        "tiny:llama",
        "--languages",
        "en,sw,te",
        "--limit",
        "5",
        "--out",
        str(out),
        "--max-new-tokens",
        "24",
    ]
    done = subprocess.run(command, capture_output=True, text=True, env=_env(), timeout=600)
    assert done.returncode == 0, done.stderr
    task_dir = out / "eval" / "mmwp"
    items = [json.loads(line) for line in (task_dir / ITEMS).read_text().splitlines()]
    assert len(items) == 15 and {r["language"] for r in items} == {"en", "sw", "te"}
    summary = json.loads((task_dir / "summary.json").read_text())
    assert summary["model"]["name_or_path"] == "tiny:llama" and summary["n_items"] == 15
    assert set(summary["tiers"]) == {"low", "high"} and summary["english"]["n_items"] == 5
    assert "## By language" in (task_dir / "report.md").read_text()
    assert (task_dir / "accuracy_by_language.png").stat().st_size > 1000 and (
        task_dir / "tier_gap.png"
    ).is_file()
    assert "overall" in done.stdout


@pytest.mark.slow
def test_kill_9_mid_run_then_rerun_gives_the_uninterrupted_summary(shared_data, tmp_path):
    def command(out: Path) -> list[str]:
        return [
            *CROSSLIFT,
            "eval",
            "--task",
            "mmwp",
            "--data-dir",
            str(shared_data / "mmwp"),
            "--model",
            "tiny:llama",
            "--languages",
            "en,sw",
            "--limit",
            "8",
            "--out",
            str(out),
            "--max-new-tokens",
            "24",
            "--batch-size",
            "2",
        ]

    killed = tmp_path / "killed"
    items = killed / "eval" / "mmwp" / ITEMS
    process = subprocess.Popen(
        command(killed), env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and (not items.exists() or len(items.read_text().splitlines()) < 4):
        if process.poll() is not None:
            pytest.fail("the evaluation finished before it could be killed")
        time.sleep(0.05)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    done_before = len(items.read_text().splitlines())
    assert 4 <= done_before < 16
    assert subprocess.run(command(killed), env=_env(), capture_output=True, timeout=600).returncode == 0
    uninterrupted = tmp_path / "uninterrupted"
    assert (
        subprocess.run(command(uninterrupted), env=_env(), capture_output=True, timeout=600).returncode == 0
    )
    a = json.loads((killed / "eval" / "mmwp" / "summary.json").read_text())
    b = json.loads((uninterrupted / "eval" / "mmwp" / "summary.json").read_text())
    for key in ("languages", "tiers", "english", "overall", "n_items"):
        assert a[key] == b[key], key

    def outputs(p):
        return sorted(
            (r["task"], r["index"], r["output"]) for r in map(json.loads, p.read_text().splitlines())
        )

    assert outputs(items) == outputs(uninterrupted / "eval" / "mmwp" / ITEMS)


# ---------------------------------------------------------------------------------------------------- cross-lingual


def test_math_answers_get_response_language_fidelity_without_their_final_number(
    dataset, eval_config, scripted
):
    summary = evaluate(eval_config(), scripted())["addition"]
    by = summary["languages"]
    assert by["te"]["metrics"]["lang_fidelity"]["value"] == 1.0 and by["te"]["labels"]["lang_fidelity"] == {
        "te": 6
    }
    assert by["en"]["labels"]["lang_fidelity"] == {"en": 6}
    assert summary["metrics"]["lang_fidelity"]["implicit"] and summary["primary_metric"] == "accuracy_strict"
    assert (
        "lang_fidelity" in summary["overall"]["metrics"]
        and "lang_fidelity" in summary["tiers"]["low"]["metrics"]
    )
    record = read_items(dataset)[0]
    assert "lang_fidelity" in record["metrics"] and record["question"].startswith("What is")
    assert "| lang_fidelity (detected) |" in (dataset / "out" / "eval" / "addition" / "report.md").read_text()


class MultipleChoice:
    """Answers Cross-MMLU: the gold option in English, option B everywhere else, and nothing usable in Malay."""

    model_id = "mc"

    def generate(self, prompts, settings):
        out = []
        for p in prompts:
            if "bertanggungjawab" in p or "Menurut Adler, anak sulung lebih" in p:  # Malay
                out.append("Saya tidak pasti.")
            elif "According to Adler" in p:
                out.append("(A) responsible")
            else:
                out.append("The answer is (B).")
        return out


def test_cross_mc_end_to_end_on_seaeval_items(shared_data, tmp_path):
    from crosslift.config import load_config
    from crosslift.eval.config import EvalConfig
    from crosslift.eval.results.report import recompute

    config = load_config(
        EvalConfig,
        None,
        [
            f"output_dir={tmp_path}",
            "model.name_or_path=mc",
            f"data_dir={shared_data / 'seaeval_cross'}",
            "tasks=[{name: cross_mmlu, limit: 1}]",
        ],
    )
    summary = evaluate(config, MultipleChoice())["cross_mmlu"]
    by = summary["languages"]
    assert by["en"]["metrics"]["accuracy"]["value"] == 1.0 and by["zh"]["metrics"]["accuracy"]["value"] == 0.0
    assert by["ms"]["extraction_failures"] == 1 and by["ms"]["filter_status"] == {"choice": {"unmappable": 1}}
    assert (
        by["zh"]["filter_status"] == {"choice": {"answer_phrase": 1}}
        and "lang_fidelity" not in by["en"]["metrics"]
    )
    # 7 languages, 1 question: en says A, ms nothing, the other five B. Pairs agreeing: C(5,2) = 10 of C(7,2) = 21.
    overall = summary["overall"]["metrics"]
    assert overall["consistency_2"]["value"] == pytest.approx(10 / 21)
    assert (
        overall["consistency_5"]["value"] == pytest.approx(1 / 21)
        and overall["consistency_7"]["value"] == 0.0
    )
    accuracy = 1 / 7
    assert overall["ac3_2"]["value"] == pytest.approx(2 * accuracy * (10 / 21) / (accuracy + 10 / 21))
    assert (
        summary["metrics"]["consistency_3"]["family"] == "consistency"
        and summary["metrics"]["consistency_3"]["s"] == 3
    )
    assert summary["tiers"]["medium"]["languages"] == ["id", "ms", "fil"]  # joshi2020
    assert summary["tiers"]["medium"]["metrics"]["consistency_2"]["value"] == pytest.approx(
        1 / 3
    )  # only (id, fil)
    assert "consistency_4" not in summary["tiers"]["medium"]["metrics"]
    task_dir = tmp_path / "eval" / "cross_mmlu"
    record = json.loads((task_dir / ITEMS).read_text().splitlines()[0])
    assert record["id"] == "test_1" and len(record["choices"]) == 4 and record["gold"] == "A"
    report = (task_dir / "report.md").read_text()
    assert "## Cross-lingual consistency" in report and "| overall | 7 | 0.476 |" in report
    assert "| unmappable | choice: how found |" in report
    assert recompute(task_dir)["overall"] == summary["overall"]


def plug_output(prompt: str) -> str:
    if "礼貌" in prompt:
        return "English response: Hello."
    return (
        "English instruction: ...\n\nEnglish response: Red, green and blue.\n\n中文回复：红色、绿色和蓝色。"
    )


def test_plug_filter_statuses_and_fidelity_of_the_extracted_part(instruction_runs):
    class Plug:
        model_id = "plug"

        def generate(self, prompts, settings):
            assert all(
                p.startswith("<|system|>\nPlease interpret the instruction in English") for p in prompts
            )
            return [plug_output(p) for p in prompts]

    out = instruction_runs("plug", Plug(), task="instr_plug", languages="zh")
    summary = json.loads((out / "eval" / "instr_plug" / "summary.json").read_text())
    zh = summary["languages"]["zh"]
    assert (
        zh["filter_status"] == {"response": {"ok": 7, "marker_missing": 1}} and zh["extraction_failures"] == 1
    )
    assert zh["metrics"]["lang_fidelity"]["value"] == 1.0 and zh["labels"]["lang_fidelity"] == {
        "zh": 7,
        "no_text": 1,
    }
    assert "| response: how found |" in (out / "eval" / "instr_plug" / "report.md").read_text()
