"""The no-reading floor: how many test items a rule that never reads the words answers exactly.

A task that a model can pass without reading the question says nothing about reading in another language. So
every world is checked against the strongest rule of a family that looks only at the question's numbers: pick 1
to 3 of them, in any order, and combine them left to right with +, - and * ("n1 + n3", "n2 * n1 - n3"). Per
language and per count of numbers in the question, the rule with the most exact answers on the dev split is
chosen (ties: the first in a fixed order), and the language's floor is that rule's share of exact answers on
the test split. A world's floor is the largest over its languages: the score any method must beat before its
number means it read anything.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator, Sequence
from typing import Any

Rule = tuple[tuple[int, ...], tuple[str, ...]]  # (positions of the numbers used, the operators between them)

_NUMBER = re.compile(r"\d+")  # any script's decimal digits; int() reads them all
_OPERATORS = {"+": lambda a, b: a + b, "-": lambda a, b: a - b, "*": lambda a, b: a * b}


def question_numbers(question: str) -> list[int]:
    """The numbers of a question, in order of appearance, in whatever digits it writes them."""
    return [int(n) for n in _NUMBER.findall(question)]


def rules(count: int) -> Iterator[Rule]:
    """Every rule over `count` numbers: 1-3 of them in any order, operators between them."""
    for used in range(1, min(count, 3) + 1):
        for positions in itertools.permutations(range(count), used):
            for operators in itertools.product(_OPERATORS, repeat=used - 1):
                yield positions, operators


def apply_rule(rule: Rule, numbers: Sequence[int]) -> int:
    positions, operators = rule
    value = numbers[positions[0]]
    for op, position in zip(operators, positions[1:], strict=True):
        value = _OPERATORS[op](value, numbers[position])
    return value


def describe(rule: Rule) -> str:
    """A rule as text: ((0, 2), ('+',)) -> 'n1 + n3'."""
    positions, operators = rule
    words = [f"n{positions[0] + 1}"]
    for op, position in zip(operators, positions[1:], strict=True):
        words += [op, f"n{position + 1}"]
    return " ".join(words)


def best_rules(items: Sequence[tuple[list[int], float]]) -> dict[int, Rule]:
    """Per count of numbers, the rule with the most exact answers over (numbers, answer) items."""
    by_count: dict[int, list[tuple[list[int], float]]] = {}
    for numbers, answer in items:
        if numbers:
            by_count.setdefault(len(numbers), []).append((numbers, answer))
    return {
        count: max(rules(count), key=lambda rule: sum(apply_rule(rule, n) == a for n, a in group))
        for count, group in sorted(by_count.items())
    }


def floor_share(rules_by_count: dict[int, Rule], items: Sequence[tuple[list[int], float]]) -> float:
    """The share of items the rules answer exactly (an item whose count of numbers has no rule is missed)."""
    hits = sum(
        len(numbers) in rules_by_count and apply_rule(rules_by_count[len(numbers)], numbers) == answer
        for numbers, answer in items
    )
    return hits / len(items) if items else 0.0


def no_reading_floor(dev: dict[str, list[dict[str, Any]]], test: dict[str, list[dict[str, Any]]]) -> dict:
    """The floor of parallel dev/test sets ({language: [{"question", "answer"}, ...]}).

    Returns:
        {"floor": the largest share over languages, "per_language": {language: share},
         "rules": {language: {count of numbers: the rule chosen on dev, as text}}}
    """

    def pairs(items: list[dict[str, Any]]) -> list[tuple[list[int], float]]:
        return [(question_numbers(item["question"]), float(item["answer"])) for item in items]

    per_language, chosen = {}, {}
    for language, items in test.items():
        rules_by_count = best_rules(pairs(dev[language]))
        per_language[language] = floor_share(rules_by_count, pairs(items))
        chosen[language] = {count: describe(rule) for count, rule in rules_by_count.items()}
    return {"floor": max(per_language.values()), "per_language": per_language, "rules": chosen}
