"""Output filters, registered by name: they turn a model's raw output into the answer a metric scores.

A task's ``filter_list`` holds named pipelines, as in lm-evaluation-harness::

    filter_list:
      - name: strict                      # the first pipeline is the primary one ("extracted" in items.jsonl)
        filter:
          - function: math_answer
            rule: strict
      - name: lm-eval-strict-match        # further pipelines are kept too, and metrics may score them
        filter:
          - function: regex
            regex_pattern: "The answer is (\\\\-?[0-9\\\\.\\\\,]+)"

A filter is ``fn(text, *, language, **arguments) -> str | None``; None means "no answer" (an extraction failure)
and ends the pipeline. A filter that needs the item (e.g. its options) declares a keyword parameter ``item`` and
receives the items.jsonl record. A filter may also say *how* it got its answer by returning ``Filtered(text,
status)`` (e.g. PLUG extraction: "ok", "marker_missing", "wrong_order"); the last status of each pipeline is
stored per item (``filter_status``) and counted per language in the summary. Register new ones with
``@register_filter("name")``.
"""

from __future__ import annotations

import functools
import inspect
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from crosslift.errors import ConfigError, CrossliftError
from crosslift.eval.items import LETTERS
from crosslift.eval.scoring.extract import RULES, extract_answer


@dataclass(frozen=True)
class Filtered:
    """A filter's answer together with how it was found (counted per language in the summary)."""

    text: str | None
    status: str


FilterFn = Callable[..., str | Filtered | None]
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


@functools.cache
def _takes_item(fn: FilterFn) -> bool:
    return "item" in inspect.signature(fn).parameters


def check_pipeline(steps: list[dict[str, Any]]) -> None:
    """Raise ConfigError when a step names an unknown filter or passes arguments it does not take; a filter that
    needs no item is also run once on an empty text, so that bad argument values fail when the task loads."""
    for step in steps:
        arguments = {k: v for k, v in step.items() if k != "function"}
        if "item" in arguments:
            raise ConfigError(f"filter '{step['function']}': 'item' is the record, not an argument")
        fn = get_filter(step["function"])
        takes_item = _takes_item(fn)
        try:
            inspect.signature(fn).bind("", language="en", **arguments, **({"item": {}} if takes_item else {}))
        except TypeError as e:
            raise ConfigError(f"filter '{step['function']}': {e}") from None
        if not takes_item:
            try:
                fn("", language="en", **arguments)
            except CrossliftError as e:
                raise ConfigError(f"filter '{step['function']}': {e}") from None


def run_pipeline(
    steps: list[dict[str, Any]], text: str, language: str, item: dict[str, Any] | None = None
) -> tuple[str | None, str | None]:
    """Run one pipeline over a raw output; returns the answer (None: none found) and the last status reported."""
    value: str | None = text
    status = None
    for step in steps:
        arguments = {k: v for k, v in step.items() if k != "function"}
        fn = get_filter(step["function"])
        if _takes_item(fn):
            arguments["item"] = item or {}
        value = fn(value, language=language, **arguments)
        if isinstance(value, Filtered):
            value, status = value.text, value.status
        if value is None:
            break
    return value, status


def apply_pipeline(
    steps: list[dict[str, Any]], text: str, language: str, item: dict[str, Any] | None = None
) -> str | None:
    """Run one pipeline over a raw output."""
    return run_pipeline(steps, text, language, item)[0]


def apply_filters(
    filter_list: list[dict[str, Any]], text: str, language: str, item: dict[str, Any] | None = None
) -> tuple[dict[str, str | None], dict[str, str]]:
    """Every pipeline over one output: the answers, and ``{pipeline name: status}`` for pipelines that report one."""
    answers, statuses = {}, {}
    for p in filter_list:
        answers[p["name"]], status = run_pipeline(p["filter"], text, language, item)
        if status is not None:
            statuses[p["name"]] = status
    return answers, statuses


# ---------------------------------------------------------------------------------------------------- filters


@register_filter("math_answer")
def math_answer(text: str, *, language: str, rule: str = "flexible") -> str | None:
    """The final number of a math answer, canonical form (`crosslift.eval.scoring.extract`).

    `rule`: "flexible" (boxed, else after the last "The answer is", else the last number) or "strict" (the last
    number: the papers' rule). Numbers are read by the conventions of the language the answer is written in.
    """
    if rule not in RULES:
        raise ConfigError(f"math_answer: rule must be one of {', '.join(RULES)}, got {rule!r}")
    return extract_answer(text, language, rule=rule).text


@register_filter("regex")
def regex(
    text: str, *, language: str, regex_pattern: str, group_select: int = 0, fallback: str | None = None
) -> str | None:
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


@register_filter("choice")
def choice(text: str, *, language: str, item: dict[str, Any]) -> Filtered:
    """The letter of the option a multiple-choice answer commits to (`crosslift.eval.scoring.choices`); never a guess."""
    from crosslift.eval.scoring.choices import map_choice

    choices = item.get("choices")
    if not choices:
        raise ConfigError(
            "the 'choice' filter needs items with options (a multiple-choice task: answer_type choice)"
        )
    match = map_choice(text, choices, language)
    return Filtered(match.letter, match.status)


@register_filter("plug_target")
def plug_target(
    text: str, *, language: str, pivot: str = "en", order: str = "pivot_first", mode: str = "original"
) -> Filtered:
    """PLUG: the target-language part of a bilingual (pivot, then target) answer, via `crosslift.data.plug`.

    `mode`: "original" (PLUG's extraction: everything after the first target marker) or "cut_at_pivot"
    (crosslift's earlier rule: also cut at a pivot marker that follows). Status "ok", "wrong_order" (the pivot
    part came after the target part), "marker_missing" (no target-language marker: no answer, as PLUG's
    extraction returns nothing). For the pivot language itself there is nothing to separate: the text after its
    marker (or the whole text), status "pivot".
    """
    from crosslift.data.plug import EXTRACTION_MODES, ORDERS, extract_target, response_marker
    from crosslift.languages import get_language

    if order not in ORDERS or mode not in EXTRACTION_MODES:
        raise ConfigError(
            f"plug_target: order must be one of {', '.join(ORDERS)} and mode one of "
            f"{', '.join(EXTRACTION_MODES)}; got order={order!r}, mode={mode!r}"
        )
    if get_language(language).base_code == get_language(pivot).base_code:
        marker = response_marker(pivot)
        return Filtered(text.split(marker, 1)[1].strip() if marker in text else text.strip(), "pivot")
    found = extract_target(text, language, pivot=pivot, order=order, mode=mode)
    return Filtered(found.text if found.status != "marker_missing" else None, found.status)


@register_filter("math_expression")
def math_expression(text: str, *, language: str, phrases: list[str] = ()) -> Filtered:
    """The mathematical expression an answer ends on, for equivalence scoring (`crosslift.eval.scoring.equivalence`):
    its last ``\\boxed{...}``, else the text after the last of `phrases` on its line. Status "boxed" or "phrase"."""
    from crosslift.eval.scoring.equivalence import answer_expression

    if isinstance(phrases, str) or not all(isinstance(p, str) and p for p in phrases):
        raise ConfigError(f"math_expression: phrases is a list of non-empty texts, got {phrases!r}")
    found, method = answer_expression(text, tuple(phrases))
    return Filtered(found, method or "none")


# MathOctopus's released evaluation (step1_supervised_finetuning/svamp_test.py, extract_last_num): commas between
# digits removed, then the last run of digits with an optional decimal part; no sign is read.
_MATHOCTOPUS_COMMA = re.compile(r"(\d),(\d)")
_MATHOCTOPUS_NUMBER = re.compile(r"(\d+(\.\d+)?)")


@register_filter("mathoctopus")
def mathoctopus(text: str, *, language: str) -> Filtered:
    """MathOctopus's own reading of an answer (its MSVAMP / MGSM evaluation): the last unsigned number after
    removing commas between digits, as a float; an answer without a number reads as 0.0 (status "no_number"),
    as theirs does."""
    found = _MATHOCTOPUS_NUMBER.findall(_MATHOCTOPUS_COMMA.sub(r"\g<1>\g<2>", text))
    if not found:
        return Filtered("0.0", "no_number")
    return Filtered(str(float(found[-1][0])), "last_number")


NORMALIZATIONS = ("none", "chars")


@register_filter("loglikelihood_choice")
def loglikelihood_choice(text: str, *, language: str, item: dict[str, Any], normalize: str = "none") -> str:
    """output_type multiple_choice: the letter of the option with the highest log-likelihood, as
    lm-evaluation-harness picks it for ``acc``; ``normalize: chars`` divides each by the option's length in
    characters first (its ``acc_norm``). Ties go to the first option."""
    if normalize not in NORMALIZATIONS:
        raise ConfigError(f"loglikelihood_choice: normalize must be one of {', '.join(NORMALIZATIONS)}")
    scored = item.get("loglikelihood")
    if not scored:
        raise ConfigError(
            "the loglikelihood_choice filter reads the options' log-likelihoods of an output_type "
            "multiple_choice task; this item has none"
        )
    values = scored["values"]
    if normalize == "chars":
        values = [v / max(n, 1) for v, n in zip(values, scored["choice_lengths"], strict=True)]
    best = max(range(len(values)), key=lambda i: (values[i], -i))
    return LETTERS[best]
