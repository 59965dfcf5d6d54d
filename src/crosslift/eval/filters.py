"""Output filters, registered by name: they turn a model's raw output into the answer a metric scores.

A task's ``filter_list`` holds named pipelines, as in lm-evaluation-harness::

    filter_list:
      - name: math-answer                 # the first pipeline is the primary one ("extracted" in items.jsonl)
        filter:
          - function: math_answer
      - name: strict-match                # further pipelines are kept too, and metrics may score them
        filter:
          - function: regex
            regex_pattern: "The answer is (\\\\-?[0-9\\\\.\\\\,]+)"

A filter is ``fn(text, *, language, **arguments) -> str | None``; None means "no answer" (an extraction failure)
and ends the pipeline. Register new ones with ``@register_filter("name")``.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable
from typing import Any

from crosslift.errors import ConfigError
from crosslift.eval.extract import extract_answer

FilterFn = Callable[..., str | None]
FILTERS: dict[str, FilterFn] = {}


def register_filter(name: str) -> Callable[[FilterFn], FilterFn]:
    """Decorator: make a filter function available to task YAMLs as ``function: <name>``."""

    def register(fn: FilterFn) -> FilterFn:
        if name in FILTERS and FILTERS[name] is not fn:
            raise ValueError(f"filter '{name}' is already registered")
        FILTERS[name] = fn
        return fn

    return register


def get_filter(name: str) -> FilterFn:
    if name not in FILTERS:
        raise ConfigError(f"unknown filter function '{name}'; registered: {', '.join(sorted(FILTERS))}")
    return FILTERS[name]


def check_pipeline(steps: list[dict[str, Any]]) -> None:
    """Raise ConfigError when a step names an unknown filter or passes arguments it does not take."""
    for step in steps:
        arguments = {k: v for k, v in step.items() if k != "function"}
        fn = get_filter(step["function"])
        try:
            inspect.signature(fn).bind("", language="en", **arguments)
        except TypeError as e:
            raise ConfigError(f"filter '{step['function']}': {e}") from None


def apply_pipeline(steps: list[dict[str, Any]], text: str, language: str) -> str | None:
    """Run one pipeline over a raw output."""
    value: str | None = text
    for step in steps:
        arguments = {k: v for k, v in step.items() if k != "function"}
        value = get_filter(step["function"])(value, language=language, **arguments)
        if value is None:
            return None
    return value


def apply_filters(filter_list: list[dict[str, Any]], text: str, language: str) -> dict[str, str | None]:
    """Every pipeline of a task over one output: ``{pipeline name: answer or None}``."""
    return {p["name"]: apply_pipeline(p["filter"], text, language) for p in filter_list}


# ---------------------------------------------------------------------------------------------------- filters


@register_filter("math_answer")
def math_answer(text: str, *, language: str) -> str | None:
    """The final number of a math answer (boxed, after "The answer is", or the last number), canonical form."""
    return extract_answer(text, language).text


@register_filter("regex")
def regex(text: str, *, language: str, regex_pattern: str, group_select: int = 0,
          fallback: str | None = None) -> str | None:  # fmt: skip
    """lm-evaluation-harness's regex filter: the `group_select`-th match (``findall``), its first non-empty group.

    `fallback` is returned when nothing matches (lm-eval's default is the string "[invalid]"; ours, None, counts
    the item as an extraction failure).
    """
    matches = re.findall(regex_pattern, text)
    if not matches:
        return fallback
    try:
        match = matches[group_select]
    except IndexError:
        return fallback
    if isinstance(match, tuple):
        match = next((m for m in match if m), "")
    return match.strip()


@register_filter("strip")
def strip(text: str, *, language: str) -> str:
    """Leading and trailing whitespace removed."""
    return text.strip()
