"""The built-in benchmarks MSVAMP, AfriMGSM, X-CSQA and XNLI, and a math set with LaTeX answers and difficulty levels
described by configuration alone, evaluated end to end on small fixtures in their real layouts (tests/fixtures):
through an OpenAI-compatible endpoint on 127.0.0.1, scripted models, and the Hugging Face hub played offline."""

from __future__ import annotations

import json
import os
import textwrap
from pathlib import Path

import pytest

from crosslift.config import load_config
from crosslift.errors import ConfigError
from crosslift.eval.config import EvalConfig
from crosslift.eval.runner.evaluate import evaluate
from crosslift.eval.tasks.registry import TaskRegistry
from crosslift.models.generation import GenerationSettings

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
MSVAMP_LANGUAGES = {"en": "English", "sw": "Swahili", "zh": "Chinese"}


def run(out: Path, task: str, model: str, *overrides: str, generator=None) -> dict:
    config = load_config(
        EvalConfig,
        None,
        [f"output_dir={out}", f"model.name_or_path={model}", f"tasks=[{{name: {task}}}]", *overrides],
    )
    return evaluate(config, generator)


def msvamp_answers(offset: float) -> dict[str, str]:
    """question -> a model's answer: the gold answer + offset, stated as a person would."""
    answers = {}
    for name in MSVAMP_LANGUAGES.values():
        for line in (FIXTURES / "msvamp" / f"test_{name}.json").read_text(encoding="utf-8").splitlines():
            row = json.loads(line)
            answers[row["m_query"]] = f" Let me count. The answer is {float(row['response']) + offset:g}."
    return answers


@pytest.mark.parametrize(("offset", "expected"), [(0, 1.0), (1, 0.0)])
def test_msvamp_through_an_endpoint_scores_every_language(tmp_path, completions_server, offset, expected):
    server = completions_server(msvamp_answers(offset))
    summary = run(
        tmp_path / "out",
        "msvamp",
        server.url,
        f"data_dir={FIXTURES / 'msvamp'}",
        "tasks.0.languages=[en, sw, zh]",
    )["msvamp"]
    assert summary["primary_metric"] == "accuracy_mathoctopus" and summary["n_items"] == 12
    for code in MSVAMP_LANGUAGES:
        metrics = summary["languages"][code]["metrics"]
        for key in ("accuracy_mathoctopus", "accuracy_strict", "accuracy_flexible"):
            assert metrics[key]["value"] == expected, (code, key)
    # the files are named by English language name and read as JSON Lines despite the .json
    prompts = [r["prompt"] for r in server.requests]
    assert any("Mwokaji alioka keki 14" in p for p in prompts) and len(prompts) == 12
    results = json.loads(next((tmp_path / "out" / "eval" / "msvamp").glob("results_*.json")).read_text())
    assert results["results"]["msvamp_sw"]["acc,mathoctopus"] == expected
    assert set(results["group_subtasks"]["msvamp"]) == {"msvamp_en", "msvamp_sw", "msvamp_zh"}


def test_the_mathoctopus_reading_differs_from_the_strict_one_where_documented(tmp_path, completions_server):
    answers = {q: " The answer is -5." for q in msvamp_answers(0)}  # a sign: MathOctopus reads 5
    for q, a in msvamp_answers(0).items():
        if "14" in q:  # "14 cakes, sold 9": the gold is 5.0
            answers[q] = a.replace("The answer is 5", "The answer is -5")
    server = completions_server(answers)
    summary = run(
        tmp_path / "out", "msvamp_en", server.url, f"data_dir={FIXTURES / 'msvamp'}", "tasks.0.limit=1"
    )["msvamp_en"]
    metrics = summary["languages"]["en"]["metrics"]
    assert metrics["accuracy_mathoctopus"]["value"] == 1.0 and metrics["accuracy_strict"]["value"] == 0.0


LATEX_TASK = """\
include: parallel_math_latex
task: olympiad
languages: [en, sw]
dataset:
  path: "{lang}/{level}.jsonl"
  format: jsonl
  question_field: problem
  answer_field: answer
  id_field: id
  levels: [easy, hard]
level_weights: {easy: 1, hard: 3}
prompt:
  instruction:
    by_language:
      sw: "Weka jibu lako la mwisho ndani ya \\\\boxed{}."
    default: "Put your final answer within \\\\boxed{}."
"""


@pytest.mark.parametrize(("which", "expected"), [("right", 1.0), ("wrong", 0.0)])
def test_a_latex_math_set_with_levels_by_configuration_alone(tmp_path, completions_server, which, expected):
    (tmp_path / "olympiad.yaml").write_text(LATEX_TASK)
    answers = json.loads((FIXTURES / "latex_math" / "answers.json").read_text(encoding="utf-8"))
    server = completions_server({q: f" So we get \\boxed{{{a[which]}}}." for q, a in answers.items()})
    summary = run(
        tmp_path / "out",
        "olympiad",
        server.url,
        f"data_dir={FIXTURES / 'latex_math'}",
        f"task_paths=[{tmp_path / 'olympiad.yaml'}]",
    )["olympiad"]
    assert summary["primary_metric"] == "accuracy_equiv"
    for code in ("en", "sw"):
        entry = summary["languages"][code]
        assert entry["n_items"] == 5 and entry["metrics"]["accuracy_equiv"]["value"] == expected
    # per level and weighted by 1 : 3
    levels = summary["levels"]
    assert levels["order"] == ["easy", "hard"] and levels["weights"] == {"easy": 1.0, "hard": 3.0}
    assert levels["by_level"]["easy"]["languages"]["sw"]["accuracy_equiv"]["n"] == 2
    assert levels["weighted"]["overall"]["accuracy_equiv"] == expected
    # the instruction of each language, appended to the question
    prompts = {r["prompt"] for r in server.requests}
    assert any("Rahisisha 2/4.\nWeka jibu lako la mwisho ndani ya \\boxed{}." in p for p in prompts)
    assert any("Simplify 2/4.\nPut your final answer within \\boxed{}." in p for p in prompts)
    report = (tmp_path / "out" / "eval" / "olympiad" / "report.md").read_text()
    assert "## By difficulty level (accuracy_equiv)" in report and "weights easy 1, hard 3" in report
    if which == "right":  # equivalent forms, not the gold's text: a string or number comparison misses them
        strict = summary["overall"]["metrics"]["accuracy_strict"]["value"]
        assert strict < 1.0


class Echo:
    """A text model whose answer to a prompt is answer(prompt)."""

    model_id = "echo"

    def __init__(self, answer) -> None:
        self.answer = answer
        self.prompts: list[str] = []

    def generate(self, prompts: list[str], settings: GenerationSettings) -> list[str]:
        self.prompts += prompts
        return [self.answer(p) for p in prompts]


def test_a_split_lang_tsv_layout_with_levels_in_a_column(tmp_path):
    (tmp_path / "t.yaml").write_text(
        textwrap.dedent("""\
        include: parallel_math
        task: tsvmath
        languages: [en, sw]
        dataset: {path: "{split}-{lang}.tsv", split: test, format: tsv, question_field: 0, answer_field: 1,
                  level_field: 2, levels: [easy, hard]}
        level_weights: {hard: 1}
    """)
    )

    def answer(prompt: str) -> str:  # right on the easy question only
        return "The answer is 5." if "2 + 3" in prompt else "The answer is 7."

    summary = run(
        tmp_path / "out",
        "tsvmath",
        "echo",
        f"data_dir={FIXTURES / 'tsv_math'}",
        f"task_paths=[{tmp_path / 't.yaml'}]",
        generator=Echo(answer),
    )["tsvmath"]
    assert summary["overall"]["metrics"]["accuracy_strict"]["value"] == 0.5
    weighted = summary["levels"]["weighted"]
    assert weighted["overall"]["accuracy_strict"] == 0.0  # only the hard level weighs
    assert summary["levels"]["by_level"]["easy"]["overall"]["accuracy_strict"]["value"] == 1.0


def _afrimgsm_answer(prompt: str) -> str:
    """The right answer to each question of the AfriMGSM fixture."""
    for path in (FIXTURES / "hub" / "masakhane" / "afrimgsm").glob("*/test.jsonl"):
        for line in path.read_text(encoding="utf-8").splitlines():
            row = json.loads(line)
            if row["question"] in prompt:
                return f"The answer is {row['answer_number']}."
    return ""


def test_afrimgsm_from_the_hub(tmp_path, fake_hub):
    summary = run(
        tmp_path / "out",
        "afrimgsm",
        "echo",
        "tasks.0.languages=[en, sw, am]",
        generator=Echo(_afrimgsm_answer),
    )["afrimgsm"]
    assert {(r, s, split) for r, s, split, _ in fake_hub} == {
        ("masakhane/afrimgsm", subset, "test") for subset in ("eng", "swa", "amh")
    }
    for code in ("en", "sw", "am"):
        assert summary["languages"][code]["metrics"]["accuracy_strict"]["value"] == 1.0
    assert set(summary["tiers"]) == {"low", "high"}  # joshi2020: Amharic and Swahili low, English high
    data = summary["provenance"]["data"]
    assert any(
        k.startswith("hf:masakhane/afrimgsm subset=swa") and "revision 0123456789abcdef" in v
        for k, v in data.items()
    )
    assert summary["provenance"]["data_licenses"]["afrimgsm"]["restrictions"] == []


def test_hub_row_counts_are_checked_against_the_catalogue(tmp_path, fake_hub, monkeypatch):
    import yaml

    path = Path(os.environ["CROSSLIFT_CATALOGUE"])
    catalogue = yaml.safe_load(path.read_text())
    catalogue["datasets"]["afrimgsm"]["rows"] = {"test": 250}
    path.write_text(yaml.safe_dump(catalogue, allow_unicode=True))
    with pytest.raises(Exception, match="holds 3 records; the data catalogue's 'afrimgsm' has 250"):
        run(tmp_path / "out", "afrimgsm_sw", "echo", generator=Echo(_afrimgsm_answer))


class Letters:
    """A multiple-choice model: answers with the letter `pick(prompt)` chooses."""

    model_id = "letters"

    def __init__(self, pick) -> None:
        self.pick = pick

    def generate(self, prompts: list[str], settings: GenerationSettings) -> list[str]:
        return [f"({self.pick(p)})" for p in prompts]


def test_xcsqa_and_xnli_by_generation(tmp_path, fake_hub):
    gold = {"cup": "A", "kikombe": "A", "カップ": "A", "paper": "B", "karatasi": "B", "紙": "B"}

    def pick(prompt: str) -> str:
        return next((letter for word, letter in gold.items() if word in prompt), "D")  # the third: wrong

    summary = run(
        tmp_path / "x", "xcsqa", "letters", "tasks.0.languages=[en, sw, ja]", generator=Letters(pick)
    )["xcsqa"]
    assert {s for _, s, _, _ in fake_hub} == {"X-CSQA-en", "X-CSQA-sw", "X-CSQA-jap"}
    for code in ("en", "sw", "ja"):
        assert summary["languages"][code]["metrics"]["accuracy"]["value"] == pytest.approx(2 / 3)
    assert summary["overall"]["metrics"]["consistency_3"]["value"] == 1.0  # the same letters everywhere

    labels = {
        "playing music": "A",
        "anapiga muziki": "A",
        "novel": "B",
        "riwaya": "B",
    }  # then C: contradiction
    nli = Letters(lambda p: next((v for k, v in labels.items() if k in p), "C"))
    summary = run(tmp_path / "n", "xnli", "letters", "tasks.0.languages=[en, sw]", generator=nli)["xnli"]
    assert summary["overall"]["metrics"]["accuracy"]["value"] == 1.0
    items = [
        json.loads(line)
        for line in (tmp_path / "n" / "eval" / "xnli" / "items.jsonl").read_text().splitlines()
    ]
    first = next(r for r in items if r["language"] == "en" and r["index"] == 0)
    assert first["choices"] == ["entailment", "neutral", "contradiction"] and first["gold"] == "A"
    assert (
        "Premise:\nA man is playing a guitar on stage.\n\nHypothesis:\nA man is playing music."
        in first["prompt"]
    )


class Likelihoods:
    """A model that scores continuations: the option texts it favours get high log-likelihoods, and long options
    get lower raw log-likelihoods than short ones (so acc and acc_norm may choose differently)."""

    model_id = "scorer"

    def __init__(self, favour) -> None:
        self.favour = favour
        self.requests: list[tuple[str, str]] = []

    def generate(self, prompts, settings):
        raise AssertionError("a multiple_choice task does not generate")

    def loglikelihood(self, requests, settings):
        self.requests += requests
        return [(self.favour(context, option), False) for context, option in requests]


def test_loglikelihood_tasks_report_acc_and_acc_norm(tmp_path, fake_hub):
    # X-CSQA: the right option has log-likelihood -2, a wrong one -0.5 per character: the raw figure (acc) often
    # prefers a short wrong option, the figure per character (acc_norm) the right one
    right = {"cupboard", "scissors", "water", "kabati", "mkasi", "maji"}

    def favour(context: str, option: str) -> float:
        return -2.0 if option.strip() in right else -0.5 * len(option.strip())

    def expected(language: str, normalise: bool) -> float:  # brute force over the fixture's items
        code = {"en": "en", "sw": "sw"}[language]
        rows = (FIXTURES / "hub" / "INK-USC" / "xcsr" / f"X-CSQA-{code}" / "validation.jsonl").read_text()
        hits = []
        for row in map(json.loads, rows.splitlines()):
            texts = row["question"]["choices"]["text"]
            scores = [favour("", t) / (len(t) if normalise else 1) for t in texts]
            hits.append("ABCDE"[scores.index(max(scores))] == row["answerKey"])
        return sum(hits) / len(hits)

    scorer = Likelihoods(favour)
    summary = run(tmp_path / "x", "xcsqa_ll", "scorer", "tasks.0.languages=[en, sw]", generator=scorer)[
        "xcsqa_ll"
    ]
    assert summary["primary_metric"] == "acc" and set(summary["metrics"]) == {"acc", "acc_norm"}
    for code in ("en", "sw"):
        metrics = summary["languages"][code]["metrics"]
        assert metrics["acc"]["value"] == expected(code, False) and metrics["acc_norm"]["value"] == expected(
            code, True
        )
    assert summary["overall"]["metrics"]["acc"]["value"] < summary["overall"]["metrics"]["acc_norm"]["value"]
    context, option = scorer.requests[0]
    assert context.startswith("Question: ") and context.endswith("\nAnswer:") and option.startswith(" ")
    items = [
        json.loads(line)
        for line in (tmp_path / "x" / "eval" / "xcsqa_ll" / "items.jsonl").read_text().splitlines()
    ]
    scored = items[0]["loglikelihood"]
    assert len(scored["values"]) == 5 and scored["choice_lengths"] == [len(c) for c in items[0]["choices"]]
    samples = next((tmp_path / "x" / "eval" / "xcsqa_ll").glob("samples_xcsqa_ll_en_*.jsonl")).read_text()
    sample = json.loads(samples.splitlines()[0])
    assert sample["filter"] == "none" and len(sample["arguments"]) == 5 and {"acc", "acc_norm"} <= set(sample)
    results = json.loads(next((tmp_path / "x" / "eval" / "xcsqa_ll").glob("results_*.json")).read_text())
    assert "acc_norm,none" in results["results"]["xcsqa_ll_en"]
    assert results["configs"]["xcsqa_ll_en"]["output_type"] == "multiple_choice"

    # XNLI with lm-eval's words: "{premise}, right?" then " Yes, / Also, / No, {hypothesis}" (sahihi? Ndiyo, ...)
    truth = {"A man is playing": "Yes", "A woman is reading": "Also", "Two dogs": "No", "Mwanamume": "Ndiyo",
             "Mwanamke": "Hivyo", "Mbwa": "Hapana"}  # fmt: skip

    def nli(context: str, option: str) -> float:
        label = next(v for k, v in truth.items() if context.startswith(k))
        return 0.0 if option.startswith(f" {label},") else -5.0

    scorer = Likelihoods(nli)
    summary = run(tmp_path / "n", "xnli_ll", "scorer", "tasks.0.languages=[en, sw]", generator=scorer)[
        "xnli_ll"
    ]
    assert summary["overall"]["metrics"]["acc"]["value"] == 1.0
    assert (
        "Mwanamume anapiga gitaa jukwaani., sahihi?",
        " Ndiyo, Mwanamume anapiga muziki.",
    ) in scorer.requests
    assert {split for _, _, split, _ in fake_hub} == {"validation"}  # lm-eval's split


def test_loglikelihood_tasks_need_a_model_that_scores(tmp_path, fake_hub):
    with pytest.raises(ConfigError, match="needs a local Hugging Face model.*xcsqa for xcsqa_ll"):
        run(tmp_path / "x", "xcsqa_ll_en", "letters", generator=Letters(lambda p: "A"))


def test_list_of_benchmark_groups_and_their_languages():
    registry = TaskRegistry()
    assert [t.language for t in registry.resolve("msvamp").tasks] == list(
        "bn de en es fr ja ru sw th zh".split()
    )
    assert len(registry.resolve("afrimgsm").tasks) == 18 and len(registry.resolve("xcsqa").tasks) == 16
    assert (
        len(registry.resolve("xnli").tasks) == 15
        and registry.tasks["xcsqa_ll_ja"].dataset.subset == "X-CSQA-jap"
    )
    assert registry.tasks["xnli_ll_de"].multiple_choice.context == "{context}, richtig?"
    assert registry.tasks["xnli_ll_de"].dataset.choices == ["Ja", "Auch", "Nein"]


def test_xnli_ll_on_a_local_model(tmp_path, fake_hub):
    summary = run(tmp_path / "t", "xnli_ll_sw", "tiny:llama", "model.dtype=float32", "model.device=cpu")[
        "xnli_ll_sw"
    ]
    entry = summary["languages"]["sw"]
    assert entry["n_items"] == 3 and {"acc", "acc_norm"} <= set(entry["metrics"])
    items = (tmp_path / "t" / "eval" / "xnli_ll_sw" / "items.jsonl").read_text().splitlines()
    scored = json.loads(items[0])["loglikelihood"]
    assert all(v < 0 for v in scored["values"]) and len(scored["greedy"]) == 3
    assert scored["continuations"][0].startswith(" Ndiyo, ")


def test_a_rerun_with_other_options_scored_is_refused(tmp_path):
    (tmp_path / "mc_en.jsonl").write_text(
        json.dumps({"q": "Sky colour?", "options": ["blue", "green"], "gold": "A"}) + "\n"
    )
    task = tmp_path / "mc.yaml"
    body = (
        "include: cross_mc\ntask: mc\nlanguage: en\n"
        "dataset: {path: 'mc_{lang}.jsonl', format: jsonl, question_field: q, choices_field: options, "
        "answer_field: gold}\noutput_type: multiple_choice\nmultiple_choice: {choice: '%s'}\n"
        "filter_list: [{name: acc, filter: [{function: loglikelihood_choice}]}]\n"
        "metric_list: [{metric: exact_match, name: acc, filter: acc}]\n"
    )
    task.write_text(body % "{choice}")
    scorer = Likelihoods(lambda context, option: -len(option))
    overrides = (f"data_dir={tmp_path}", f"task_paths=[{task}]")
    assert (
        run(tmp_path / "o", "mc", "scorer", *overrides, generator=scorer)["mc"]["overall"]["metrics"]["acc"][
            "value"
        ]
        == 1.0
    )  # " blue" is shorter
    task.write_text(body % "the {choice} one")
    with pytest.raises(ConfigError, match="mc item 0 with a different prompt, options or gold answer"):
        run(tmp_path / "o", "mc", "scorer", *overrides, generator=scorer)
