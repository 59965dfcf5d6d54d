"""The papers' evaluation presets (configs/eval/*_paper.yaml), SeaEval's five prompt wordings, and prompt variants
reported as their median."""

from __future__ import annotations

import json

import pytest

from crosslift.config import load_config, resolve_config
from crosslift.eval.config import EvalConfig
from crosslift.eval.runner.evaluate import evaluate
from crosslift.eval.runner.plan import _prompt_settings, plan_task
from crosslift.eval.runner.variants import expand_variants
from crosslift.eval.tasks.prompts import SEAEVAL_PROMPTS, PromptSettings, build_prompt, instruction_words
from crosslift.eval.tasks.registry import TaskRegistry

# preset -> (arXiv id its header cites, max_new_tokens of the paper, tasks, languages)
PRESETS = {
    "lingualift_paper": ("2412.12499", 1024, ["mmwp", "mgsm"]),
    "crossin_paper": ("2404.11932", 128, ["cross_xquad", "cross_mmlu", "cross_logiqa"]),
    "plug_paper": ("2311.08711", 4096, ["xalpacaeval_plug"]),
}


def header(path) -> str:
    return "\n".join(line for line in path.read_text().splitlines() if line.startswith("#"))


@pytest.mark.parametrize("name", list(PRESETS))
def test_paper_presets_load_validate_and_cite_their_table(name):
    arxiv, max_new_tokens, tasks = PRESETS[name]
    path = resolve_config(name, "eval")
    text = header(path)
    assert f"arXiv {arxiv}" in text
    assert "table" in text and "methods.md" in text
    config = load_config(EvalConfig, path)
    assert [t.name for t in config.tasks] == tasks and config.output_dir.startswith("runs/")
    assert config.generation.max_new_tokens == max_new_tokens and not config.generation.do_sample
    registry = TaskRegistry()
    for entry in config.tasks:
        for variant in expand_variants(entry):
            for task in registry.resolve(variant.name).tasks:
                if variant.languages and task.language not in variant.languages:
                    continue
                settings = _prompt_settings(
                    task.prompt, config.prompt, variant.prompt
                )  # validates the combination
                assert isinstance(settings, PromptSettings)


def test_lingualift_preset_scores_the_papers_way(shared_data):
    config = load_config(
        EvalConfig,
        resolve_config("lingualift_paper", "eval"),
        [f"tasks.0.data_dir={shared_data / 'mmwp'}", f"tasks.1.data_dir={shared_data / 'mgsm'}"],
    )
    registry = TaskRegistry()
    for entry in config.tasks:
        plan = plan_task(entry, config, registry)
        assert len(plan.languages) == {"mmwp": 48, "mgsm": 11}[entry.name]
        lp = plan.languages[0]
        assert lp.settings.max_new_tokens == 1024 and lp.prompt_settings.template == "metamath"
        assert (
            lp.task.metric_list[0]["name"] == "accuracy_strict"
        )  # the headline: the paper's last-number rule
        assert lp.prompts[0].text.endswith("### Response: Let's think step by step.")


def test_crossin_preset_runs_five_wordings_in_four_languages(shared_data):
    config = load_config(
        EvalConfig,
        resolve_config("crossin_paper", "eval"),
        [
            f"tasks.0.data_dir={shared_data / 'xquad'}",
            f"tasks.1.data_dir={shared_data / 'seaeval_cross'}",
            f"tasks.2.data_dir={shared_data / 'seaeval_cross'}",
        ],
    )
    registry = TaskRegistry()
    for entry in config.tasks:
        variants = expand_variants(entry)
        assert [v.label for v in variants] == [f"{entry.name}_p{k}" for k in range(1, 6)]
        prompts = []
        for v in variants:
            plan = plan_task(v, config, registry)
            assert [lp.language for lp in plan.languages] == ["en", "zh", "vi", "es"]
            prompts.append(plan.languages[0].prompts[0].text)
        assert len(set(prompts)) == 5  # five wordings of the same item


def test_seaeval_wordings_are_sealeval_v01s():
    mmlu, logiqa, xquad = (SEAEVAL_PROMPTS[k] for k in ("cross_mmlu", "cross_logiqa", "cross_xquad"))
    assert mmlu[0] == (
        "Respond to the question by selecting the most appropriate answer. Simply select the answer, no "
        "explanations required.\n\nQuestion:\n{question}\n\nChoices:\n{choices}\n\nAnswer:\n"
    )
    assert logiqa[1] == (
        "Kindly choose the correct answer from the options provided for the multiple-choice question. "
        "Simply select the answer, no explanations required.\nContext:\n{context}\nQuestion:\n"
        "{question}\nChoices:\n{choices}\nAnswer:\n"
    )
    assert xquad[0].startswith(
        "Respond to the question by selecting the most appropriate answer. Simply select the "
        "choice, no explanations required.\n\nContext:"
    )
    assert xquad[1:] == logiqa[1:] and all(len(v) == 5 for v in SEAEVAL_PROMPTS.values())
    settings = PromptSettings(template="mcq", cot=False, mcq_prompt=5)
    prompt = build_prompt("Why?", settings, instruction_words("en", settings), choices=("a", "b"))
    assert (
        prompt.text.startswith("As an expert, your task is to solve") and "(B) b\n\nAnswer:\n" in prompt.text
    )
    with pytest.raises(Exception, match="mcq_prompt must be 1-5"):
        PromptSettings(template="mcq", cot=False, mcq_prompt=6)


class ByWording:
    """Answers option A or B depending on the prompt's wording (and language): a model sensitive to prompts."""

    model_id = "by-wording"

    def generate(self, prompts, settings):
        out = []
        for p in prompts:
            if p.startswith(("Respond", "Kindly")):
                out.append("(A)")
            elif p.startswith("Solve"):
                out.append("(A)" if "(en)" in p else "(B)")
            else:
                out.append("(B)")
        return out


def test_prompt_variants_are_reported_as_their_median(tmp_path):
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
    variants = "[" + ", ".join(f"{{mcq_prompt: {k}}}" for k in range(1, 6)) + "]"
    config = load_config(
        EvalConfig,
        None,
        [
            f"output_dir={tmp_path / 'out'}",
            "model.name_or_path=m",
            f"data_dir={data}",
            f"task_paths=[{tmp_path / 'mc.yaml'}]",
            f"tasks=[{{name: mc, prompt_variants: {variants}}}]",
        ],
    )
    summaries = evaluate(config, ByWording())
    assert list(summaries) == ["mc_p1", "mc_p2", "mc_p3", "mc_p4", "mc_p5", "mc_median"]
    accuracy = [summaries[f"mc_p{k}"]["overall"]["metrics"]["accuracy"]["value"] for k in range(1, 6)]
    assert accuracy == pytest.approx([1, 1, 1 / 3, 0, 0])
    median = summaries["mc_median"]
    cell = median["overall"]["metrics"]["accuracy"]
    assert (
        cell["value"] == pytest.approx(1 / 3)
        and cell["values"] == pytest.approx(accuracy)
        and "ci_low" not in cell
    )
    assert median["languages"]["en"]["metrics"]["accuracy"]["value"] == 1.0  # en: 1, 1, 1, 0, 0
    assert median["overall"]["metrics"]["consistency_3"]["value"] == 1.0  # p3 disagrees; the other four agree
    assert median["aggregate"]["statistic"] == "median" and list(median["aggregate"]["variants"]) == [
        f"mc_p{k}" for k in range(1, 6)
    ]
    folder = tmp_path / "out" / "eval"
    assert json.loads((folder / "mc_median" / "summary.json").read_text())["task"] == "mc_median"
    assert "accuracy" in (folder / "mc_median" / "report.md").read_text()
    assert all((folder / f"mc_p{k}" / "items.jsonl").is_file() for k in range(1, 6))
    # each variant is an ordinary run: rerunning generates nothing and gives the same median
    again = evaluate(config, ByWording())
    assert again["mc_median"]["overall"] == median["overall"]
