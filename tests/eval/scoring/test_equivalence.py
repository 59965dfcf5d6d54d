"""Mathematical equivalence (math-verify) of answers that are not plain numbers, and finding the expression an
answer commits to."""

from __future__ import annotations

import threading

import pytest

from crosslift.eval.scoring.equivalence import answer_expression, equivalent
from crosslift.eval.scoring.metrics import math_equiv


@pytest.mark.parametrize(
    ("gold", "prediction"),
    [
        ("\\frac{1}{2}", "0.5"),  # a fraction and its decimal
        ("0.5", "\\frac{1}{2}"),
        ("1/2", "\\dfrac12"),
        ("0.75", "3/4"),
        ("8.0", "8"),  # MSVAMP's float strings
        ("(1,2]", "(1, 2]"),  # intervals
        ("\\{1,2\\}", "\\{2, 1\\}"),  # sets, in any order
        ("2\\sqrt{2}", "\\sqrt{8}"),  # roots
        ("\\sqrt{2}", "2^{1/2}"),
        ("10\\%", "0.1"),
        ("1,000", "1000"),
        ("3", "x = 3"),
    ],
)
def test_equal_answers_written_differently(gold, prediction):
    assert equivalent(prediction, gold)
    assert math_equiv(prediction, gold, language="en") == 1.0


@pytest.mark.parametrize(
    ("gold", "prediction"),
    [
        ("\\frac{1}{2}", "\\frac{3}{2}"),
        ("(1,2]", "[1, 2]"),  # an endpoint in or out is a different interval
        ("\\{1,2\\}", "\\{1, 3\\}"),
        ("\\frac{1}{3}", "0.33"),  # a rounded decimal is not the fraction
        ("-5", "5"),
        ("2\\sqrt{2}", "3\\sqrt{2}"),
        ("7", ""),
        ("7", None),
        ("7", "no idea"),
    ],
)
def test_different_answers_and_no_answer(gold, prediction):
    assert not equivalent(prediction, gold)
    assert math_equiv(prediction, gold, language="en") == 0.0


def test_the_expression_of_an_answer():
    text = "First \\boxed{1}. Then, correcting myself: \\boxed{\\frac{\\sqrt{2}}{2}} is the answer."
    assert answer_expression(text) == ("\\frac{\\sqrt{2}}{2}", "boxed")  # the last box, braces balanced
    phrases = ("The final answer is",)
    assert answer_expression("So it is 3. The final answer is $(1, 2]$.\nDone.", phrases) == (
        "(1, 2]",
        "phrase",
    )
    assert answer_expression("the final answer is: 12", phrases) == ("12", "phrase")
    assert answer_expression("I think 4.", phrases) == (None, None)
    assert answer_expression("\\boxed{}", phrases) == (None, None)


def test_scoring_outside_the_main_thread_runs_without_the_alarm():
    # math-verify's timeout uses SIGALRM, which only the main thread may set: elsewhere it runs without it
    results = []
    worker = threading.Thread(target=lambda: results.append(equivalent("\\frac{2}{4}", "0.5")))
    worker.start()
    worker.join()
    assert results == [True]
