"""Reports: recompute from items.jsonl without a model, regroup by another tier rule, runs side by side, and
tables that show whatever metrics a summary holds."""

from __future__ import annotations

import json
import threading

import pytest

from crosslift.cli import main
from crosslift.errors import CrossliftError
from crosslift.eval.results import report
from crosslift.eval.results.folder import RUN, task_dirs
from crosslift.eval.results.report import compare, recompute, render_markdown, write_report
from crosslift.eval.runner.evaluate import evaluate

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def run(dataset, eval_config, scripted):
    summary = evaluate(eval_config("tasks.0.limit=4"), scripted())["addition"]
    return dataset / "out", summary


def test_recompute_from_items_gives_the_run_summary(run):
    out, summary = run
    (task_dir,) = task_dirs(out)
    assert task_dirs(out / "eval") == task_dirs(task_dir) == [task_dir]
    (task_dir / "summary.json").unlink()  # recompute works from items.jsonl and run.json alone
    again = recompute(task_dir)
    for key in ("languages", "tiers", "english", "overall", "metrics", "tier_rule", "n_items"):
        assert again[key] == summary[key], key
    assert (task_dir / "tier_gap.png").read_bytes()[:8] == PNG


def test_recompute_applies_the_current_filters_to_old_outputs(run):
    out, _ = run
    (task_dir,) = task_dirs(out)
    spec = json.loads((task_dir / RUN).read_text())
    for entry in spec["languages"].values():  # score the Swahili outputs as lm-eval's strict-match would
        entry["task_spec"]["filter_list"] = [
            {"name": "strict", "filter": [{"function": "regex", "regex_pattern": "Jibu ni (\\d+)"}]}
        ]
        entry["task_spec"]["metric_list"] = [{"metric": "accuracy"}]
    (task_dir / RUN).write_text(json.dumps(spec))
    summary = recompute(task_dir)
    assert summary["languages"]["en"]["extraction_failures"] == 4  # no "Jibu ni" in the English outputs
    assert summary["languages"]["sw"]["extraction_failures"] == 0


def test_regroup_with_another_tier_rule(run, tmp_path):
    out, _ = run
    rule = tmp_path / "mine.tsv"
    rule.write_text("# name: mine\n# description: test rule\n# source: this test\nen\tlow\nsw\thigh\n")
    summary = recompute(task_dirs(out)[0], str(rule))
    assert summary["tier_rule"]["name"] == "mine" and summary["tiers"]["low"]["languages"] == ["en"]
    assert summary["untiered"] == ["te"]
    assert (
        "Not covered by the tier rule (in overall only): te" in (task_dirs(out)[0] / "report.md").read_text()
    )


def test_report_tables_show_every_metric_of_a_summary(run):
    _, summary = run
    extra = dict(summary)
    extra["metrics"] = summary["metrics"] | {
        "fidelity": {"kind": "item", "interval": None, "metric": "fidelity"}
    }
    extra["languages"] = {
        c: e | {"metrics": e["metrics"] | {"fidelity": {"value": 0.5}}}
        for c, e in summary["languages"].items()
    }
    text = render_markdown(extra)
    assert (
        "| code | language | tier | items | accuracy_strict | accuracy_flexible | fidelity |" in text
        and "0.500" in text
    )


def test_compare_runs_side_by_side(tmp_path, eval_config, scripted):
    evaluate(eval_config(f"output_dir={tmp_path / 'base'}", "tasks.0.limit=2"), scripted())
    evaluate(eval_config(f"output_dir={tmp_path / 'tuned'}", "tasks.0.limit=4"), scripted())
    path = compare([tmp_path / "base", tmp_path / "tuned"], tmp_path / "cmp")
    text = path.read_text()
    assert (
        "| | base | tuned |" in text.replace("|  |", "| |")
        and "| tier: low |" in text
        and "| sw (low) |" in text
    )
    assert (tmp_path / "cmp" / "addition.png").read_bytes()[:8] == PNG
    assert (
        main(["report", str(tmp_path / "base"), str(tmp_path / "tuned"), "--out", str(tmp_path / "cmp2")])
        == 0
    )
    with pytest.raises(CrossliftError, match="no evaluation results"):
        compare([tmp_path / "base", tmp_path], tmp_path / "cmp3")


def test_cli_report_single_run_prints_the_table(run, capsys):
    out, _ = run
    assert main(["report", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "addition: accuracy_strict (tiers: mmwp-llama2)" in printed and "tier: low" in printed


def test_consistency_and_fidelity_side_by_side(tmp_path):
    from crosslift.config import load_config
    from crosslift.eval.config import EvalConfig

    data = tmp_path / "data"
    data.mkdir()
    for lang in ("en", "zh", "vi"):
        rows = [
            {"id": f"q{i}", "q": f"Question {i} ({lang})?", "options": ["one", "two", "three"], "gold": "A"}
            for i in range(4)
        ]
        (data / f"mc_{lang}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    (tmp_path / "mc.yaml").write_text(
        "include: cross_mc\ntask: mc\nlanguages: [en, zh, vi]\ndataset: {path: 'mc_{lang}.jsonl', "
        "format: jsonl, question_field: q, choices_field: options, answer_field: gold, "
        "id_field: id}\n"
    )

    class Answers:
        model_id = "answers"

        def __init__(self, pick):
            self.pick = pick

        def generate(self, prompts, settings):
            return [self.pick(p) for p in prompts]

    def run(name, pick):
        config = load_config(
            EvalConfig,
            None,
            [
                f"output_dir={tmp_path / name}",
                f"model.name_or_path={name}",
                f"data_dir={data}",
                f"task_paths=[{tmp_path / 'mc.yaml'}]",
                "tasks=[{name: mc}]",
            ],
        )
        return evaluate(config, Answers(pick))["mc"]

    same = run("same", lambda p: "(A)")  # always the same option: consistent and right
    mixed = run("mixed", lambda p: "(A)" if "(en)" in p else "(B)" if "(zh)" in p else "nothing")
    assert same["overall"]["metrics"]["consistency_3"]["value"] == 1.0
    assert mixed["overall"]["metrics"]["consistency_2"]["value"] == 0.0
    text = compare([tmp_path / "same", tmp_path / "mixed"], tmp_path / "cmp").read_text()
    section = text.split("### consistency_2", 1)[1].split("###", 1)[0]
    assert "| overall | 1.000 | 0.000 |" in section
    assert "### ac3_3" in text and "### accuracy" in text


def test_an_interrupted_run_is_reported_as_incomplete_never_as_final(
    dataset, eval_config, scripted, tmp_path, capsys
):
    with pytest.raises(KeyboardInterrupt):
        evaluate(eval_config(), scripted(fail_after_calls=4))  # 4 batches of 2: en 6 items, sw 2, te none
    (task_dir,) = task_dirs(dataset / "out")
    summary = recompute(task_dir)
    assert (summary["complete"], summary["n_items"], summary["n_items_expected"]) == (False, 8, 18)
    by = summary["languages"]
    assert [(by[c]["n_items"], by[c]["n_items_expected"]) for c in ("en", "sw", "te")] == [
        (6, 6),
        (2, 6),
        (0, 6),
    ]
    report = (task_dir / "report.md").read_text()
    assert "**INCOMPLETE: 8 of 18 items. The evaluation was interrupted: every figure is partial" in report
    assert (
        "8 of 18 items in 3 languages" in report and "## Summary (partial: the run is incomplete)" in report
    )
    assert "| sw | Swahili | low | 2 of 6 |" in report and "| en | English | high | 6 |" in report
    assert not list(task_dir.glob("results_*.json"))  # lm-eval's files cannot say "partial": none are written
    assert main(["report", str(dataset / "out")]) == 0
    printed = " ".join(capsys.readouterr().out.split())  # as one line: the console wraps at its width
    assert "INCOMPLETE, 8 of 18 items: partial figures" in printed and "INCOMPLETE: 8 of 18 items." in printed
    evaluate(eval_config(f"output_dir={tmp_path / 'done'}"), scripted())
    text = compare([dataset / "out", tmp_path / "done"], tmp_path / "cmp").read_text()
    assert (
        "- **out** (" in text and "**INCOMPLETE** (addition 8 of 18 items): its figures are partial" in text
    )
    assert "**out: INCOMPLETE: 8 of 18 items." in text and "**done:" not in text
    finished = evaluate(eval_config(), scripted())["addition"]  # the same command finishes it
    assert finished["complete"] and "INCOMPLETE" not in (task_dir / "report.md").read_text()
    assert recompute(task_dir)["complete"] and list(task_dir.glob("results_*.json"))


def test_two_processes_writing_one_report_at_once_each_finish(run, monkeypatch):
    """The race of a sharded evaluation's processes on their report (issue 21): both wrote each plot through one
    temporary name, and the second rename found it gone. Each plotter here waits until the other has written its
    plot too, so the two writes overlap every time."""
    out, summary = run
    (task_dir,) = task_dirs(out)
    both_plotted = threading.Barrier(2)

    def plot(summary, path):
        path.write_bytes(PNG)
        both_plotted.wait(timeout=10)

    monkeypatch.setattr(report, "plot_languages", plot)
    monkeypatch.setattr(report, "plot_tier_gap", plot)
    failed = []

    def write():
        try:
            write_report(task_dir, summary)
        except Exception as e:
            failed.append(e)

    writers = [threading.Thread(target=write) for _ in range(2)]
    for writer in writers:
        writer.start()
    for writer in writers:
        writer.join()
    assert failed == []
    assert (
        (task_dir / "accuracy_by_language.png").read_bytes()
        == (task_dir / "tier_gap.png").read_bytes()
        == PNG
    )
    assert not list(task_dir.glob(".*"))  # no temporary file left
