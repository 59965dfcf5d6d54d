"""lm-evaluation-harness's result files, read back with the field names and nesting lm-eval writes them with
(lm_eval/result_schema.py: EvalResults and SampleResult; lm_eval/loggers/evaluation_tracker.py: file names, the
dict form of `arguments`, string targets), for new runs and, through `crosslift report --format lm-eval`, old ones."""

from __future__ import annotations

import hashlib
import json
import math
import re
import warnings
from pathlib import Path

import pytest

from crosslift.cli import main
from crosslift.eval.runner.evaluate import evaluate

STAMP = re.compile(
    r"^\d{4}-\d\d-\d\dT\d\d-\d\d-\d\d(\.\d+)?$"
)  # datetime.isoformat() with ":" -> "-", as lm-eval
RESULTS_KEYS = {
    "results",
    "groups",
    "group_subtasks",
    "configs",
    "versions",
    "n-shot",
    "higher_is_better",
    "n-samples",
    "config",
    "git_hash",
    "date",
    "model_name",
    "model_name_sanitized",
    "model_source",
    "task_hashes",
    "total_evaluation_time_seconds",
}
SAMPLE_KEYS = {
    "doc_id",
    "doc",
    "target",
    "arguments",
    "resps",
    "filtered_resps",
    "filter",
    "metrics",
    "doc_hash",
    "prompt_hash",
    "target_hash",
}


def lm_eval_files(task_dir: Path) -> tuple[dict, dict[str, list[dict]]]:
    """The results document and the samples by task, found the way lm-eval's utilities find them (names
    'results_<date>.json' and 'samples_<task>_<date>.jsonl'; the task is between the first and the last '_')."""
    (results,) = task_dir.glob("results_*.json")
    stamp = results.name.removeprefix("results_").removesuffix(".json")
    assert STAMP.match(stamp)
    samples = {}
    for path in task_dir.glob("samples_*.jsonl"):
        name = path.name
        assert name[name.rfind("_") + 1 :].replace(".jsonl", "") == stamp
        samples[name[name.find("_") + 1 : name.rfind("_")]] = [
            json.loads(line) for line in path.read_text().splitlines()
        ]
    return json.loads(results.read_text()), samples


def mean_stderr(values: list[float]) -> float:
    mean = sum(values) / len(values)
    return math.sqrt(sum((v - mean) ** 2 for v in values) / (len(values) - 1) / len(values))


def test_results_and_samples_read_back_in_lm_evals_layout(dataset, eval_config, scripted):
    summary = evaluate(eval_config("tasks.0.limit=5"), scripted())["addition"]
    task_dir = dataset / "out" / "eval" / "addition"
    results, samples = lm_eval_files(task_dir)
    assert RESULTS_KEYS <= set(results)
    tasks = ["addition_en", "addition_sw", "addition_te"]
    # per task: name, alias, sample_len and "<metric>,<filter>" with "<metric>_stderr,<filter>"
    en = results["results"]["addition_en"]
    assert (en["name"], en["alias"], en["sample_len"]) == ("addition_en", "addition_en", 5)
    assert en["acc,strict"] == 1.0 and en["acc_stderr,strict"] == 0.0 and en["acc,flexible"] == 1.0
    assert en["lang_fidelity,none"] == summary["languages"]["en"]["metrics"]["lang_fidelity"]["value"]
    for task, lang in zip(tasks, ["en", "sw", "te"], strict=True):
        values = [s["acc"] for s in samples[task] if s["filter"] == "strict"]
        assert (
            results["results"][task]["acc,strict"]
            == summary["languages"][lang]["metrics"]["accuracy_strict"]["value"]
        )
        assert results["results"][task]["acc_stderr,strict"] == pytest.approx(mean_stderr(values))
    # the evaluated set and its tiers are groups, with crosslift's (macro) figures
    assert set(results["groups"]) == {"addition", "addition_low", "addition_high"}
    assert results["group_subtasks"] == {
        "addition": tasks,
        "addition_low": ["addition_sw", "addition_te"],
        "addition_high": ["addition_en"],
    }
    overall = results["groups"]["addition"]
    assert overall["acc,strict"] == pytest.approx(summary["overall"]["metrics"]["accuracy_strict"]["value"])
    assert overall["sample_len"] == 15 and results["results"]["addition"] == overall
    errors = [results["results"][t]["acc_stderr,strict"] for t in tasks]
    assert overall["acc_stderr,strict"] == pytest.approx(math.sqrt(sum(e * e for e in errors)) / 3)
    assert results["n-shot"]["addition_sw"] == 0 and results["higher_is_better"]["addition_sw"] == {
        "acc": True,
        "lang_fidelity": True,
    }
    assert results["n-samples"]["addition_sw"] == {"original": 6, "effective": 5}
    config = results["configs"]["addition_sw"]
    assert config["output_type"] == "generate_until" and config["num_fewshot"] == 0
    assert (
        "Swali:" in config["generation_kwargs"]["until"]
        and config["metadata"]["crosslift_task"]["language"] == "sw"
    )
    assert results["config"]["model"] == "hf" and results["config"]["model_args"].startswith(
        "pretrained=scripted"
    )
    assert results["config"]["limit"] == 5 and results["model_name"] == "scripted"
    # samples: one per item and filter, lm-eval's fields and nesting
    sw = samples["addition_sw"]
    assert len(sw) == 15 and {s["filter"] for s in sw} == {"strict", "flexible", "none"}
    first = next(s for s in sw if s["doc_id"] == 0 and s["filter"] == "strict")
    assert SAMPLE_KEYS <= set(first)
    assert (
        first["doc"] == {"question": "What is 2 + 3?", "answer": "5", "language": "sw"}
        and first["target"] == "5"
    )
    assert set(first["arguments"]) == {"gen_args_0"} and set(first["arguments"]["gen_args_0"]) == {
        "arg_0",
        "arg_1",
    }
    assert first["arguments"]["gen_args_0"]["arg_0"].endswith(
        "Swali: What is 2 + 3?\n\n### Response: Let's think step by step."
    )
    assert first["resps"] == [["Jibu ni 6."]] and first["filtered_resps"] == ["6"]
    assert first["metrics"] == ["acc"] and first["acc"] == 0.0
    assert (
        first["prompt_hash"] == hashlib.sha256(first["arguments"]["gen_args_0"]["arg_0"].encode()).hexdigest()
    )
    assert first["target_hash"] == hashlib.sha256(b"5").hexdigest()
    raw = next(s for s in sw if s["doc_id"] == 0 and s["filter"] == "none")
    assert raw["filtered_resps"] == ["Jibu ni 6."] and raw["metrics"] == ["lang_fidelity"]
    te = next(s for s in samples["addition_te"] if s["filter"] == "strict")
    assert te["filtered_resps"] == ["[invalid]"] and te["acc"] == 0.0  # no number found
    assert set(results["task_hashes"]) == set(tasks)


def test_samples_load_with_datasets_as_lm_eval_intends(dataset, eval_config, scripted, tmp_path, monkeypatch):
    import datasets

    monkeypatch.setattr(datasets.config, "HF_DATASETS_CACHE", tmp_path / "cache")
    evaluate(eval_config("tasks.0.limit=2"), scripted())
    (path,) = (dataset / "out" / "eval" / "addition").glob("samples_addition_en_*.jsonl")
    loaded = datasets.load_dataset("json", data_files=str(path), split="train")
    assert loaded.num_rows == 6 and loaded[0]["resps"] == [[loaded[0]["resps"][0][0]]]


def test_a_rerun_replaces_the_pair_and_report_writes_it_for_old_runs(dataset, eval_config, scripted, capsys):
    evaluate(eval_config("tasks.0.limit=3"), scripted())
    task_dir = dataset / "out" / "eval" / "addition"
    before, _ = lm_eval_files(task_dir)
    evaluate(eval_config("tasks.0.limit=4"), scripted())
    after, samples = lm_eval_files(task_dir)  # still one results file and one samples file per task
    assert after["results"]["addition_en"]["sample_len"] == 4 and len(samples["addition_en"]) == 12
    # a run made before crosslift wrote these files: report --format lm-eval writes them from items.jsonl
    for path in [*task_dir.glob("results_*.json"), *task_dir.glob("samples_*.jsonl")]:
        path.unlink()
    assert main(["report", str(dataset / "out")]) == 0
    assert not list(task_dir.glob("results_*.json"))
    assert main(["report", "--format", "lm-eval", str(dataset / "out")]) == 0
    again, _ = lm_eval_files(task_dir)
    assert again["results"] == after["results"] and again["configs"] == after["configs"]


def test_one_language_task_is_not_also_a_group(dataset, eval_config, scripted):
    evaluate(eval_config(task="addition_sw"), scripted())
    results, samples = lm_eval_files(dataset / "out" / "eval" / "addition_sw")
    assert set(results["results"]) == {"addition_sw", "addition_sw_low"} and list(samples) == ["addition_sw"]


def test_an_unlisted_language_is_evaluated_in_the_unlisted_tier(dataset, eval_config, scripted):
    """Hawaiian is not in crosslift's table: it resolves through langcodes, with a warning, tier "unlisted"."""
    for name in ("en", "sw"):
        (dataset / "data" / f"add_{'haw' if name == 'sw' else name}.jsonl").write_text(
            (dataset / "data" / f"add_{name}.jsonl").read_text()
        )
    (dataset / "tasks" / "addition_haw.yaml").write_text(
        "include: addition.yaml\ntask: addition2\nlanguages: [en, haw]\n"
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        summary = evaluate(eval_config("tasks.0.limit=2", task="addition2"), scripted())["addition2"]
    assert any("'haw' is not in crosslift's registry" in str(w.message) for w in caught)
    assert (
        summary["languages"]["haw"]["tier"] == "unlisted"
        and summary["languages"]["haw"]["name"] == "Hawaiian"
    )
    assert summary["tiers"]["unlisted"]["languages"] == ["haw"] and summary["untiered"] == []
    results, _ = lm_eval_files(dataset / "out" / "eval" / "addition2")
    assert results["group_subtasks"]["addition2_unlisted"] == ["addition2_haw"]
    assert "unlisted" in (dataset / "out" / "eval" / "addition2" / "report.md").read_text()
