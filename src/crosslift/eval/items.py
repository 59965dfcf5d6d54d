"""What a benchmark item is, shared by the readers (`crosslift.eval.tasks.data`, `crosslift.eval.tasks.xquad_mc`), the prompts,
the multiple-choice mapping and the scorers that line languages up (consistency, the pairwise judge)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# Option letters of a multiple-choice item, in order: the gold is stored as one of them.
LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"


@dataclass(frozen=True)
class Item:
    """One benchmark problem in one language.

    Attributes:
        index: 0-based position in its file (the same problem has the same index in every language of a
            parallel set).
        question: the question text, exactly as in the file.
        answer: the gold answer as written in the file (e.g. "5 ", "2,125"); for multiple choice the option's
            letter ("B"); None when the task has no gold answer (instruction following).
        id: the item's id when the data has one (the same in every language), else None.
        choices: the options of a multiple-choice item, without their letters.
        context: a passage the question is about (Cross-LogiQA, XQuAD), or None.
        level: the item's difficulty level when the benchmark has levels, else None.
    """

    index: int
    question: str
    answer: str | None
    id: str | None = None
    choices: tuple[str, ...] = ()
    context: str | None = None
    level: str | None = None


def question_key(record: dict[str, Any]) -> str:
    """The question an items.jsonl record answers, the same in every language: its id when the data has ids,
    else its position."""
    return str(record["id"]) if record.get("id") is not None else str(record["index"])
