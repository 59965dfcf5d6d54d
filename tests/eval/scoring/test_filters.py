"""Filters with statuses: PLUG's target-language extraction, multiple-choice mapping through a pipeline, checks of
pipelines in task files; MathOctopus's reading of numbers, options by log-likelihood, LaTeX expressions."""

from __future__ import annotations

import pytest

from crosslift.data.plug import build_target
from crosslift.errors import ConfigError
from crosslift.eval.scoring.filters import (
    Filtered,
    apply_filters,
    check_pipeline,
    loglikelihood_choice,
    mathoctopus,
    plug_target,
    run_pipeline,
)

PLUG = [{"function": "plug_target"}]


@pytest.mark.parametrize(
    ("output", "language", "text", "status"),
    [
        (build_target("Name a colour.", "Red.", "红色。", "zh"), "zh", "红色。", "ok"),
        ("English response: Red.\n\nRisposta in italiano: Rosso.", "it", "Rosso.", "ok"),
        ("English response: Red.", "zh", None, "marker_missing"),
        # PLUG's own extraction keeps everything after the first target marker, even an English part that follows
        (
            "中文回复：红色。\n\nEnglish response: Red.",
            "zh",
            "红色。\n\nEnglish response: Red.",
            "wrong_order",
        ),
        (
            "English response: Habari.\n\nSwahili response: Nyekundu.",
            "sw",
            "Nyekundu.",
            "ok",
        ),  # the "<Name> response:" rule
        ("English response: Red.", "en", "Red.", "pivot"),
        ("Just red.", "en", "Just red.", "pivot"),
    ],
)
def test_plug_target(output, language, text, status):
    assert plug_target(output, language=language) == Filtered(text, status)
    assert run_pipeline(PLUG, output, language) == (text, status)


@pytest.mark.parametrize(
    ("output", "original", "cut"),
    [
        ("中文回复：红色。\n\nEnglish response: Red.", "红色。\n\nEnglish response: Red.", "红色。"),
        # a target part before and after the English one: PLUG starts at the first, the cut rule after the English
        (
            "中文回复：好。\nEnglish response: Red.\n中文回复：红色。",
            "好。\nEnglish response: Red.\n中文回复：红色。",
            "红色。",
        ),
        ("English response: Red.\n\n中文回复：红色。", "红色。", "红色。"),
    ],
)
def test_plug_target_modes(output, original, cut):
    assert plug_target(output, language="zh").text == original
    assert plug_target(output, language="zh", mode="original").text == original
    assert plug_target(output, language="zh", mode="cut_at_pivot").text == cut


def test_statuses_per_pipeline_and_a_pipeline_stops_at_none():
    filter_list = [
        {"name": "response", "filter": [*PLUG, {"function": "strip"}]},
        {"name": "raw", "filter": [{"function": "strip"}]},
    ]
    answers, statuses = apply_filters(filter_list, "English response: Red.", "zh")
    assert answers == {"response": None, "raw": "English response: Red."} and statuses == {
        "response": "marker_missing"
    }


def test_the_choice_filter_reads_the_items_options():
    item = {"choices": ["responsible", "funny", "sociable", "followers"]}
    assert run_pipeline([{"function": "choice"}], "The answer is (B).", "en", item) == ("B", "answer_phrase")
    assert run_pipeline([{"function": "choice"}], "No idea.", "en", item) == (None, "unmappable")
    with pytest.raises(ConfigError, match="needs items with options"):
        run_pipeline([{"function": "choice"}], "B", "en", {})


def test_check_pipeline():
    check_pipeline(
        [{"function": "plug_target", "pivot": "en", "order": "target_first"}, {"function": "choice"}]
    )
    with pytest.raises(ConfigError, match="'item' is the record"):
        check_pipeline([{"function": "choice", "item": {}}])
    with pytest.raises(ConfigError, match="plug_target"):
        check_pipeline([{"function": "plug_target", "marker": "x"}])
    # bad argument values fail when the task loads, not after generating
    with pytest.raises(ConfigError, match="mode"):
        check_pipeline([{"function": "plug_target", "mode": "cut"}])
    with pytest.raises(ConfigError, match="rule must be one of"):
        check_pipeline([{"function": "math_answer", "rule": "paper"}])
    check_pipeline([{"function": "math_answer", "rule": "strict"}, {"function": "math_answer"}])


@pytest.mark.parametrize(
    ("text", "answer", "status"),
    [
        ("So 14 - 9 = 5.", "5.0", "last_number"),
        ("It costs 1,250 dollars.", "1250.0", "last_number"),  # commas between digits removed
        ("The answer is -5.", "5.0", "last_number"),  # no sign is read
        ("Die Antwort lautet 1.500", "1.5", "last_number"),  # a dot is a decimal point in every language
        ("Il en reste 1 500.", "500.0", "last_number"),
        ("3/4 of them", "4.0", "last_number"),
        ("Jibu ni ১১", "11.0", "last_number"),  # \d matches any script's digits, as float() reads them
        ("I do not know.", "0.0", "no_number"),  # read as 0, as MathOctopus does
    ],
)
def test_mathoctopus_reads_answers_as_its_released_evaluation(text, answer, status):
    assert mathoctopus(text, language="en") == Filtered(answer, status)


def test_loglikelihood_choice_picks_the_likeliest_option_raw_or_per_character():
    item = {"loglikelihood": {"values": [-4.0, -3.0, -9.0], "choice_lengths": [8, 2, 30]}}
    assert loglikelihood_choice("", language="en", item=item) == "B"  # lm-eval's acc
    assert (
        loglikelihood_choice("", language="en", item=item, normalize="chars") == "C"
    )  # acc_norm: -0.3 per char
    tie = {"loglikelihood": {"values": [-1.0, -1.0], "choice_lengths": [1, 1]}}
    assert loglikelihood_choice("", language="en", item=tie) == "A"  # the first, as numpy's argmax
    with pytest.raises(ConfigError, match="has none"):
        loglikelihood_choice("", language="en", item={})
    with pytest.raises(ConfigError, match="normalize"):
        loglikelihood_choice("", language="en", item=item, normalize="tokens")


def test_math_expression_filter_in_a_pipeline():
    steps = [{"function": "math_expression", "phrases": ["The final answer is"]}]
    check_pipeline(steps)
    assert run_pipeline(steps, "so \\boxed{\\frac{1}{2}}", "en") == ("\\frac{1}{2}", "boxed")
    assert run_pipeline(steps, "The final answer is (1,2].", "en") == ("(1,2]", "phrase")
    assert run_pipeline(steps, "no idea", "en") == (None, "none")
    with pytest.raises(ConfigError, match="phrases is a list"):
        check_pipeline([{"function": "math_expression", "phrases": "The answer is"}])
