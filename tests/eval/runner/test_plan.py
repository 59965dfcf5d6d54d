"""Planning an evaluation: the answer's length (max_new_tokens, max_length) and the stop strings layered from the
task, the config and the task entry; per-language prompt words replacing the table's; the model's own decoding."""

from __future__ import annotations

import pytest

from crosslift.errors import ConfigError
from crosslift.eval.runner.plan import plan_task
from crosslift.eval.tasks.registry import TaskRegistry

TASK_STOPS = ["{question_word}", "[END]", "</s>", "<|im_end|>"]  # parallel_math's until


def plans(config):
    registry = TaskRegistry(config.task_paths)
    return {lp.language: lp for entry in config.tasks for lp in plan_task(entry, config, registry).languages}


def test_the_answer_length_is_the_configs_else_the_tasks(eval_config):
    assert plans(eval_config())["en"].settings.max_new_tokens == 1024  # the task's (parallel_math)
    settings = plans(eval_config("generation.max_length=4096"))["en"].settings
    assert (settings.max_new_tokens, settings.max_length) == (
        4096,
        4096,
    )  # the room is what the prompt leaves
    settings = plans(eval_config("generation.max_length=4096", "generation.max_new_tokens=64"))["en"].settings
    assert (settings.max_new_tokens, settings.max_length) == (64, 4096)  # both: the tighter applies
    settings = plans(eval_config("generation.max_new_tokens=64"))["sw"].settings
    assert (settings.max_new_tokens, settings.max_length) == (64, None)


def test_a_tasks_max_length_replaces_its_templates_max_new_tokens(dataset, eval_config):
    (dataset / "tasks" / "long.yaml").write_text(
        "include: addition.yaml\ntask: long\nlanguages: [en]\n"
        "generation_kwargs: {max_new_tokens: null, max_length: 2048}\n"
    )
    settings = plans(eval_config(task="long"))["en"].settings
    assert (settings.max_new_tokens, settings.max_length) == (2048, 2048)
    settings = plans(eval_config("generation.max_new_tokens=32", task="long"))["en"].settings
    assert (settings.max_new_tokens, settings.max_length) == (
        32,
        None,
    )  # the config's length replaces the task's


def test_stop_strings_are_replaced_per_config_and_per_entry_and_removed(eval_config):
    assert plans(eval_config())["sw"].settings.stop == ["Swali:", "[END]", "</s>", "<|im_end|>"]
    added = plans(eval_config("generation.stop=[<|end_of_text|>]"))["en"].settings.stop
    assert added == ["Question:", "[END]", "</s>", "<|im_end|>", "<|end_of_text|>"]
    none = plans(eval_config("generation.until=[]"))
    assert all(lp.settings.stop == [] for lp in none.values())  # the model's end of sequence only
    entry = plans(
        eval_config("generation.until=[]", "tasks=[{name: addition, until: ['{question_word}', '[END]']}]")
    )
    assert entry["sw"].settings.stop == ["Swali:", "[END]"]  # the entry's own list wins


def test_per_language_words_replace_the_tables(eval_config):
    planned = plans(eval_config("tasks=[{name: addition, prompt: {question_words: {sw: 'Swali :'}}}]"))
    assert planned["sw"].words.question == "Swali :" and planned["te"].words.question == "ప్రశ్న:"
    assert "### Instruction:\nSwali : What is 2 + 3?" in planned["sw"].prompts[0].text
    assert planned["sw"].settings.stop[0] == "Swali :"  # {question_word} in the stop strings follows
    with pytest.raises(ConfigError, match="names fr, which it does not evaluate"):
        plans(eval_config("tasks=[{name: addition, prompt: {question_words: {fr: 'Question :'}}}]"))
    with pytest.raises(ConfigError, match="prompt.question_words"):
        plans(eval_config("prompt.question_words={xx-nonsense: 'Q:'}"))


def test_the_models_own_decoding_is_recorded_and_never_mixed_with_ours(eval_config):
    settings = plans(eval_config("generation.use_model_defaults=true"))["en"].settings
    assert settings.use_model_defaults and "do_sample" not in settings.to_dict()
    with pytest.raises(ConfigError, match="do_sample, temperature would be ignored"):
        eval_config(
            "generation.use_model_defaults=true", "generation.do_sample=true", "generation.temperature=0.6"
        )
