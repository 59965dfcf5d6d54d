"""Math scoring as the papers do it (strict: the last number) and as crosslift reads answers (flexible), both on
every math task; numbers read by the conventions of the language an answer is written in, not the task's."""

from __future__ import annotations

import json
import re

import pytest

from crosslift.eval.scoring.extract import extract_answer
from crosslift.eval.scoring.record import rescore
from crosslift.eval.tasks.registry import TaskRegistry

# (output, task language, strict, flexible)
CASES = [
    # the same English answer reads the same in every task language (a German task once read 1125)
    ("The answer is: 1.125", "de", "1.125", "1.125"),
    ("The answer is: 1.125", "en", "1.125", "1.125"),
    ("The answer is: 1.125", "es", "1.125", "1.125"),
    ("The answer is: 1.125", "nl", "1.125", "1.125"),
    # ... and an answer in the task's language by that language's conventions
    ("Die Antwort lautet 1.500.", "de", "1500", "1500"),
    ("Also kostet es insgesamt 2.500 Euro.", "de", "2500", "2500"),
    ("So it costs 2.500 dollars in total.", "de", "2.5", "2.5"),
    ("Il y a 1 500 pommes.", "fr", "1500", "1500"),
    ("Всего 2 000 000 рублей.", "ru", "2000000", "2000000"),
    # a calculation after the answer phrase: its result, never its first operand
    ("answer: 10-5=5", "en", "5", "5"),
    ("The answer is 5 + 6 = 11.", "en", "11", "11"),
    ("The answer is 12 / 4 = 3 dollars.", "en", "3", "3"),
    ("Jibu ni 2 × 3 = 6.", "sw", "6", "6"),
    # where the two rules differ
    ("The answer is 11. It took 2 steps.", "en", "2", "11"),
    ("So \\boxed{18} eggs, or 20 with the hen's", "en", "20", "18"),
    ("The answer is 5. Then 3 + 4 = 7", "en", "7", "5"),
    # no number at all
    ("I do not know.", "en", None, None),
]


@pytest.mark.parametrize(("output", "language", "strict", "flexible"), CASES)
def test_the_stated_cases(output, language, strict, flexible):
    assert extract_answer(output, language, rule="strict").text == strict
    assert extract_answer(output, language, rule="flexible").text == flexible
    assert extract_answer(output, language).text == flexible  # flexible is the default rule (math_answer's)


def test_reading_says_whose_conventions_read_the_number():
    assert extract_answer("The answer is: 1.125", "de").reading == "en"
    assert extract_answer("Die Antwort lautet 1.500.", "de").reading == "de"
    assert (
        extract_answer("The answer is 7", "de").reading == "de"
    )  # both conventions agree: no language identified
    with pytest.raises(ValueError, match="rule must be one of"):
        extract_answer("7", "en", rule="paper")


@pytest.fixture(scope="module")
def registry():
    return TaskRegistry()


@pytest.mark.parametrize("task", ["mmwp_de", "mgsm_de", "mgsm_en", "mmwp_sw"])
def test_every_math_task_reports_both_figures_with_the_papers_as_headline(registry, task):
    spec = registry.resolve(task).tasks[0].spec()
    record = {
        "task": task,
        "language": spec["language"],
        "index": 0,
        "gold": "11",
        "output": "The answer is 11. It took 2 steps.",
    }
    scored = rescore(record, spec)
    assert scored["filtered"] == {"strict": "2", "flexible": "11"}
    assert scored["metrics"]["accuracy_strict"] == 0.0 and scored["metrics"]["accuracy_flexible"] == 1.0
    assert scored["extracted"] == "2" and scored["correct"] is False  # the headline is the paper's rule


def test_a_custom_parallel_math_set_gets_both_figures_too(tmp_path):
    (tmp_path / "set.yaml").write_text(
        "include: parallel_math\ntask: myset\nlanguages: [en, sw]\n"
        "dataset: {path: 'x_{lang}.jsonl', format: jsonl}\n"
    )
    task = TaskRegistry([tmp_path / "set.yaml"]).resolve("myset_sw").tasks[0]
    assert [m["name"] for m in task.metric_list] == ["accuracy_strict", "accuracy_flexible"]


def test_the_old_filter_name_still_works():
    from crosslift.eval.scoring.filters import apply_pipeline

    assert apply_pipeline([{"function": "math_answer"}], "The answer is 11. Then 2.", "en") == "11"
    assert (
        apply_pipeline([{"function": "math_answer", "rule": "strict"}], "The answer is 11. Then 2.", "en")
        == "2"
    )


def test_mgsm_exemplar_answers_score_100_percent_under_both(shared_data, registry):
    """MGSM's 88 human-written chain-of-thought answers (8 per language, 11 languages)."""
    path = shared_data / "mgsm" / "mgsm_exemplars.json"
    if not path.is_file():
        pytest.skip(f"{path} not found")
    data = json.loads(path.read_text(encoding="utf-8"))
    golds = [str(n) for n in data["EXEMPLAR_NUMBER_ANSWERS"]]
    scored = 0
    for lang, exemplars in data["MGSM_EXEMPLARS"].items():
        spec = registry.resolve(f"mgsm_{lang}").tasks[0].spec()
        for k, gold in enumerate(golds, start=1):
            answer = re.sub(
                r"^[^:：]{1,40}[:：]\s*", "", exemplars[str(k)]["a"]
            )  # "Step-by-Step Answer:" off
            record = {"task": f"mgsm_{lang}", "language": lang, "index": k, "output": answer, "gold": gold}
            metrics = rescore(record, spec)["metrics"]
            assert metrics["accuracy_strict"] == 1.0, (lang, k, answer[-80:])
            assert metrics["accuracy_flexible"] == 1.0, (lang, k, answer[-80:])
            scored += 1
    assert scored == 88
