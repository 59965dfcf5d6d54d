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

# preset -> (arXiv id its header cites, (max_new_tokens, max_length) of the released code, tasks)
PRESETS = {
    "lingualift_paper": ("2412.12499", (1024, None), ["mmwp", "mgsm"]),
    "crossin_paper": ("2404.11932", (128, None), ["cross_xquad", "cross_mmlu", "cross_logiqa"]),
    "plug_paper": ("2311.08711", (None, 4096), ["xalpacaeval_plug"]),
}


def header(path) -> str:
    return "\n".join(line for line in path.read_text().splitlines() if line.startswith("#"))


@pytest.mark.parametrize("name", list(PRESETS))
def test_paper_presets_load_validate_and_cite_their_table(name):
    arxiv, length, tasks = PRESETS[name]
    path = resolve_config(name, "eval")
    text = header(path)
    assert f"arXiv {arxiv}" in text
    assert "table" in text and "methods.md" in text
    config = load_config(EvalConfig, path)
    assert [t.name for t in config.tasks] == tasks and config.output_dir.startswith("runs/")
    assert (config.generation.max_new_tokens, config.generation.max_length) == length
    assert not config.generation.do_sample  # greedy, or (CrossIn) as the checkpoint's own config says
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


# The "Question:" words of LinguaLIFT's lm-eval fork (lm_eval/tasks/mgsm.py), as code points: ASCII colons.
FORK_MGSM_WORDS = {
    "en": "Question:",
    "es": "Pregunta:",
    "fr": "Question :",
    "de": "Frage:",
    "ru": "\u0417\u0430\u0434\u0430\u0447\u0430:",
    "zh": "\u95ee\u9898:",
    "ja": "\u554f\u984c:",
    "th": "\u0e42\u0e08\u0e17\u0e22\u0e4c:",
    "sw": "Swali:",
    "bn": "\u09aa\u09cd\u09b0\u09b6\u09cd\u09a8:",
    "te": "\u0c2a\u0c4d\u0c30\u0c36\u0c4d\u0c28:",
}


def test_lingualift_preset_asks_mgsm_in_the_forks_words_and_stops_as_it_does(shared_data):
    config = load_config(
        EvalConfig,
        resolve_config("lingualift_paper", "eval"),
        [f"tasks.0.data_dir={shared_data / 'mmwp'}", f"tasks.1.data_dir={shared_data / 'mgsm'}"],
    )
    mmwp, mgsm = (plan_task(entry, config, TaskRegistry()) for entry in config.tasks)
    for lp in mgsm.languages:
        word = FORK_MGSM_WORDS[lp.language]
        assert lp.words.question == word
        assert f"### Instruction:\n{word} " in lp.prompts[0].text  # QUESTION + " " + question, as mgsm.py
        assert lp.settings.stop == [word, "[END]", "</s>", "<|im_end|>", "<|end_of_text|>"]
    french = next(lp for lp in mmwp.languages if lp.language == "fr")  # MMWP keeps its own table and stops
    assert french.words.question == "Question:" and french.settings.stop == [
        "Question:",
        "[END]",
        "</s>",
        "<|im_end|>",
    ]


def test_crossin_preset_decodes_as_seaeval():
    config = load_config(EvalConfig, resolve_config("crossin_paper", "eval"), ["tasks.0.data_dir=unused"])
    generation = config.generation
    assert (generation.max_new_tokens, generation.use_model_defaults, generation.until, config.seed) == (
        128,
        True,
        [],
        42,
    )


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


@pytest.fixture(scope="module")
def llama_4096(tmp_path_factory):
    """tiny:llama saved with a 4096-token context (Llama-2-13B's, PLUG's model)."""
    from crosslift.models.build import load_causal_lm, load_tokenizer

    model, tokenizer = load_causal_lm("tiny:llama", dtype="float32"), load_tokenizer("tiny:llama")
    model.config.max_position_embeddings = 4096
    path = tmp_path_factory.mktemp("llama_4096")
    model.save_pretrained(path)
    tokenizer.save_pretrained(path)
    return path


def test_plug_preset_runs_on_a_4096_token_model_and_stops_at_4096_in_all(tmp_path, llama_4096):
    from crosslift.models.generate import load_generator

    data = tmp_path / "x_alpacaeval"
    data.mkdir()
    # long instructions ("the" is one token; PLUG's prompt adds ~67), so that each answer has a few tokens of room
    words = {"zh": [4026, 4024], "ko": [4024], "it": [4023], "es": [4025]}
    for lang, counts in words.items():
        rows = [{"id": i, "instruction": "the " * n} for i, n in enumerate(counts)]
        (data / f"alpaca_eval_{lang}.json").write_text(json.dumps(rows))
    generator = load_generator(str(llama_4096), dtype="float32", device="cpu")
    generator.model.generation_config.eos_token_id = None  # every answer runs to the end of its room
    config = load_config(
        EvalConfig,
        resolve_config("plug_paper", "eval"),
        [f"model.name_or_path={llama_4096}", f"output_dir={tmp_path / 'out'}", f"data_dir={data}"],
    )
    evaluate(config, generator)  # a 4096-new-token setting would refuse: no room left for any prompt
    records = [
        json.loads(line)
        for line in (tmp_path / "out" / "eval" / "xalpacaeval_plug" / "items.jsonl").read_text().splitlines()
    ]
    assert len(records) == 5 and all("long_prompt" not in r for r in records)
    prompt_tokens = [len(generator.encode(r["prompt"])) for r in records]
    rooms = [r["max_new_tokens"] for r in records]
    assert rooms == [4096 - n for n in prompt_tokens] and all(0 < room < 10 for room in rooms)
    assert generator.tokens_generated == sum(rooms)  # prompt + answer: 4096 tokens, not a token more
    run = json.loads((tmp_path / "out" / "eval" / "xalpacaeval_plug" / "run.json").read_text())
    assert run["languages"]["zh"]["generation"]["max_length"] == 4096
