"""Answers that are not plain numbers, compared by mathematical equivalence with math-verify.

Recent multilingual math sets give answers as fractions, roots, intervals, sets or expressions, written in LaTeX
inside ``\\boxed{}``. Comparing them as strings or as decimal numbers fails on equal answers written differently
(``\\frac{1}{2}`` and ``0.5``, ``(1,2]`` and ``(1, 2]``, ``\\sqrt{2}`` and ``2^{1/2}``, ``\\{2,1\\}`` and
``\\{1,2\\}``). Here:

- `answer_expression` finds the expression an answer commits to: the content of its last ``\\boxed{...}`` (braces
  balanced), else the text after the last of the configured phrases ("The final answer is"), to the end of its
  line;
- `equivalent` parses both sides with math-verify (LaTeX, then a plain expression: a bare ``1/2`` or ``0.5`` reads
  too) and asks it whether they are equal (numbers within its rounding, symbolic equality, sets, intervals).

math-verify bounds each parse and comparison with SIGALRM, which exists only in a process's main thread; scoring
from another thread (a server's, a judge's pool) runs without that bound rather than failing.
"""

from __future__ import annotations

import re
import threading
from typing import Any

from crosslift.eval.scoring.extract import last_boxed

TIMEOUT_S = 5  # math-verify's own default bound on one parse or comparison


def answer_expression(text: str, phrases: list[str] | tuple[str, ...] = ()) -> tuple[str | None, str | None]:
    """The expression an answer ends on, and how it was found ("boxed" or "phrase"); (None, None) when neither.

    Args:
        text: the model's answer.
        phrases: text that introduces the final answer ("The final answer is"); matched case-insensitively, the
            last occurrence wins, and the expression runs to the end of that line (a final period and ``$``
            delimiters removed).
    """
    boxed = last_boxed(text)
    if boxed is not None and boxed[0].strip():
        return boxed[0].strip(), "boxed"
    best = None
    for phrase in phrases:
        for m in re.finditer(re.escape(phrase), text, re.IGNORECASE):
            if best is None or m.end() > best:
                best = m.end()
    if best is not None:
        line = text[best:].split("\n", 1)[0].strip().lstrip(":").strip()
        line = line.rstrip(".").strip().strip("$").strip()
        if line:
            return line, "phrase"
    return None, None


def _timeout() -> int | None:
    return TIMEOUT_S if threading.current_thread() is threading.main_thread() else None


def _parse(text: str) -> list[Any]:
    """math-verify's reading of an answer: as LaTeX (wrapped in $...$ when it has no delimiters), else as a plain
    expression."""
    from math_verify import ExprExtractionConfig, LatexExtractionConfig, parse

    config = [LatexExtractionConfig(), ExprExtractionConfig()]
    delimited = "$" in text or "\\(" in text or "\\[" in text or "\\boxed" in text
    for candidate in [text] if delimited else [f"${text}$", text]:
        found = parse(candidate, extraction_config=config, parsing_timeout=_timeout())
        if found:
            return found
    return []


def equivalent(prediction: str | None, gold: str) -> bool:
    """Whether `prediction` equals `gold` mathematically (math-verify): `gold` and `prediction` may each be LaTeX
    or plain ("\\\\frac{1}{2}", "0.5", "(1,2]", "\\\\{1, 2\\\\}", "2\\\\sqrt{3}")."""
    if prediction is None or not prediction.strip():
        return False
    from math_verify import verify

    expected, predicted = _parse(gold), _parse(prediction)
    if not expected or not predicted:
        return False
    return bool(verify(expected, predicted, timeout_seconds=_timeout()))
