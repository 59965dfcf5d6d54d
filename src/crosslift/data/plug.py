"""PLUG: pivot-language guided generation (methods.md §3.2-3.4). Build the training targets, and extract the
target-language answer from what a PLUG model generates.

A PLUG example asks in the target language and answers in the pivot (English) first, then in the target:

    system:  Please interpret the instruction in English, and then respond both in English and in Chinese.
    user:    <the instruction in Chinese>
    target:  English instruction: <the instruction in English>

             English response: <the response in English>

             中文回复：<the response in Chinese>

Response markers are PLUG's exact strings for en, zh, ko, it and es; every other language gets the documented
rule `"<English name of the language> response:"` (e.g. "Swahili response:"), from the language registry.
A marker that ends in a full-width colon (zh) is followed directly by the text, any other by one space.
The pivot-instruction line is not in the released code (only the response markers are); it is on by default
with the label "English instruction:" (our reading of the paper), and configurable or removable.

The loss covers the whole assistant part (pivot and target); the SFT recipe renders it with the tulu
template, which reads the system prompt from `meta["system"]`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from crosslift.data.examples import Example, ParallelSet
from crosslift.data.templates import user_text
from crosslift.errors import DataError

RESPONSE_MARKERS = {
    "en": "English response:",
    "zh": "中文回复：",
    "ko": "한국어 응답:",
    "it": "Risposta in italiano:",
    "es": "Respuesta en español:",
}
PLUG_SYSTEM = (
    "Please interpret the instruction in English, and then respond both in English and in {language}."
)
MONOLINGUAL_SYSTEM = "Please respond to the following user message in {language}."
PIVOT_INSTRUCTION_LABEL = "English instruction:"
Status = Literal["ok", "marker_missing", "wrong_order"]


def _language(code: str):
    from crosslift.languages import get_language

    return get_language(code)


def response_marker(lang: str) -> str:
    """The marker that opens the response in `lang`: PLUG's own string, else "<Name> response:"."""
    language = _language(lang)
    return (
        RESPONSE_MARKERS.get(language.code)
        or RESPONSE_MARKERS.get(language.base_code)
        or f"{language.name} response:"
    )


def _join(marker: str, text: str) -> str:
    return f"{marker}{text}" if marker.endswith("：") else f"{marker} {text}"


def _check_pair(lang: str, pivot: str) -> None:
    if _language(lang).base_code == _language(pivot).base_code:
        raise DataError(f"the target language '{lang}' must differ from the pivot '{pivot}'")


def build_target(
    pivot_instruction: str,
    pivot_response: str,
    target_response: str,
    lang: str,
    *,
    pivot: str = "en",
    pivot_instruction_label: str | None = PIVOT_INSTRUCTION_LABEL,
) -> str:
    """The assistant text of a PLUG example: [pivot instruction,] pivot response, then the target response.

    Args:
        pivot_instruction_label: label of the pivot-instruction line; None leaves that line out.
    """
    _check_pair(lang, pivot)
    parts = [_join(pivot_instruction_label, pivot_instruction.strip())] if pivot_instruction_label else []
    parts += [
        _join(response_marker(pivot), pivot_response.strip()),
        _join(response_marker(lang), target_response.strip()),
    ]
    return "\n\n".join(parts)


def plug_system(lang: str, *, monolingual: bool = False) -> str:
    """PLUG's system prompt for `lang` (or the monolingual baseline's)."""
    return (MONOLINGUAL_SYSTEM if monolingual else PLUG_SYSTEM).format(language=_language(lang).name)


def build_plug(
    parallel: ParallelSet,
    *,
    targets: list[str] | None = None,
    pivot: str = "en",
    monolingual: bool = False,
    pivot_instruction_label: str | None = PIVOT_INSTRUCTION_LABEL,
) -> list[Example]:
    """PLUG examples (or, with `monolingual`, the baseline that answers in the target language only).

    One example per item and target language: the user turn is the target-language instruction (its input
    appended as a paragraph), the system prompt goes to `meta["system"]`, the output is `build_target(...)`.
    """
    if pivot not in parallel.languages:
        raise DataError(
            f"the parallel set has no pivot ({pivot}) side (languages: {', '.join(parallel.languages)})"
        )
    targets = targets or [lang for lang in parallel.languages if lang != pivot]
    missing = [t for t in targets if t not in parallel.languages]
    if missing or not targets:
        raise DataError(
            f"target languages {missing or targets} are not in the parallel set ({', '.join(parallel.languages)})"
        )
    examples = []
    for lang in targets:
        _check_pair(lang, pivot)
        for item_id in parallel.ids:
            src, tgt = parallel.items[item_id][pivot], parallel.items[item_id][lang]
            output = (
                tgt.output
                if monolingual
                else build_target(
                    user_text(src),
                    src.output,
                    tgt.output,
                    lang,
                    pivot=pivot,
                    pivot_instruction_label=pivot_instruction_label,
                )
            )
            examples.append(
                Example(
                    id=f"{item_id}-{lang}",
                    instruction=tgt.instruction,
                    input=tgt.input,
                    output=output,
                    instruction_lang=lang,
                    output_lang=lang,
                    source=tgt.source,
                    meta={
                        "system": plug_system(lang, monolingual=monolingual),
                        "plug": {"lang": lang, "pivot": pivot, "item": item_id, "monolingual": monolingual},
                    },
                )
            )
    return examples


# ---------------------------------------------------------------------------------------------- extraction


@dataclass(frozen=True)
class Extraction:
    """The target-language part of a PLUG output, and how it was found.

    status: "ok"; "marker_missing" (no target marker: text is ""); "wrong_order" (the pivot part came after
    the target part, against the expected order).
    """

    text: str
    status: Status


EXTRACTION_MODES = ("original", "cut_at_pivot")
ORDERS = ("pivot_first", "target_first")


def extract_target(
    output: str, lang: str, *, pivot: str = "en", order: str = "pivot_first", mode: str = "original"
) -> Extraction:
    """The target-language response of a PLUG output, with a status.

    Args:
        order: "pivot_first" (PLUG's "other_first": pivot part, then target part) or "target_first".
        mode: "original" (PLUG's extract_response_from_bilingual_output.py): the text after the *first* target
            marker; with target_first, cut at the pivot marker that follows. A wrong order only changes the
            status: with pivot_first, a pivot part after the target part stays in the answer, as in PLUG.
            "cut_at_pivot" (crosslift's earlier rule): the target part starts at the first target marker after
            the pivot part, and a pivot part after it is cut off (so a wrong order keeps only the target text).
    """
    if order not in ORDERS:
        raise ValueError(f"order must be 'pivot_first' or 'target_first', got '{order}'")
    if mode not in EXTRACTION_MODES:
        raise ValueError(f"mode must be one of {', '.join(EXTRACTION_MODES)}, got '{mode}'")
    target_marker, pivot_marker = response_marker(lang), response_marker(pivot)
    pivot_at = output.find(pivot_marker)
    if mode == "original":
        at = output.find(target_marker)
    else:  # the target part begins at the first target marker after the pivot part, if there is one
        at = output.find(target_marker, pivot_at + len(pivot_marker) if pivot_at >= 0 else 0)
        if at < 0:
            at = output.find(target_marker)
    if at < 0:
        return Extraction("", "marker_missing")
    rest = output[at + len(target_marker) :]
    cut = rest.find(pivot_marker)
    pivot_before = 0 <= pivot_at < at
    if order == "pivot_first":
        wrong = cut >= 0 and not pivot_before
        text = rest[:cut] if wrong and mode == "cut_at_pivot" else rest
        return Extraction(text.strip(), "wrong_order" if wrong else "ok")
    if pivot_before:
        return Extraction(rest.strip(), "wrong_order")
    return Extraction((rest[:cut] if cut >= 0 else rest).strip(), "ok")


def extract_pivot(output: str, lang: str, *, pivot: str = "en") -> Extraction:
    """The pivot-language response of a pivot-first PLUG output: the text after the pivot marker, up to the
    target marker (or the end). What the model understood, told apart from what it could say in `lang`.

    status: "ok", or "marker_missing" (no pivot marker: text is "").
    """
    _check_pair(lang, pivot)
    pivot_marker, target_marker = response_marker(pivot), response_marker(lang)
    at = output.find(pivot_marker)
    if at < 0:
        return Extraction("", "marker_missing")
    rest = output[at + len(pivot_marker) :]
    cut = rest.find(target_marker)
    return Extraction((rest[:cut] if cut >= 0 else rest).strip(), "ok")
