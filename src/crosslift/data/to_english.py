"""Data that maps other languages onto English, built from a parallel set (one file per language, the same
items in each: parallel questions, bilingual sentence pairs, or `crosslift data translate` output beside its
English input), for the methods that learn from it (methods.md §4; docs/bridges.md):

    question_translation   QAlign, stage 1: "Translate the following sentences from {X} to English. {x text}"
                           -> the English text (the released builder: gsmtrans, x -> en for every x)
    mapping_pairs          MindMerger / LayAlign, mapping stage: the x text -> the English text, no instruction
                           (the encoder reads the x text; the LM reads only the soft tokens)
    query_translated       MindMerger / LayAlign, augmentation stage: the x question (instruction and input) ->
                           the English response: the task data with its queries translated

The text of an item is its instruction (and input, when it has one). Examples go item by item, each item's
languages in the order given, so that a `limit` keeps the languages balanced; training shuffles them anyway.
"""

from __future__ import annotations

from collections.abc import Sequence

from crosslift.data.examples import Example, ParallelSet
from crosslift.data.templates import user_text
from crosslift.errors import DataError

QALIGN_INSTRUCTION = "Translate the following sentences from {source} to {target}."


def _languages(parallel: ParallelSet, pivot: str, languages: Sequence[str] | None) -> list[str]:
    """The languages paired with the pivot: those given (each must be in the set), else every other one."""
    if pivot not in parallel.languages:
        raise DataError(
            f"the parallel set has no {pivot} (the pivot): it has {', '.join(parallel.languages)}"
        )
    chosen = list(languages) if languages else [code for code in parallel.languages if code != pivot]
    missing = [code for code in chosen if code not in parallel.languages]
    if missing:
        raise DataError(
            f"languages {missing} are not in the parallel set (it has {', '.join(parallel.languages)})"
        )
    if not chosen:
        raise DataError(f"the parallel set has no language besides {pivot}")
    return chosen


def _example(item_id: str, lang: str, pivot: str, source: Example, **fields: str) -> Example:
    return Example(
        id=f"{item_id}-{lang}",
        instruction_lang=lang,
        output_lang=pivot,
        source=source.source,
        meta={"item": item_id},
        **fields,
    )


def question_translation(
    parallel: ParallelSet,
    *,
    pivot: str = "en",
    languages: Sequence[str] | None = None,
    instruction: str = QALIGN_INSTRUCTION,
) -> list[Example]:
    """QAlign's question-alignment examples: the instruction (with the languages' names) and the x text on one
    line as the instruction, the pivot's text as the output."""
    from crosslift.languages import get_language

    chosen = _languages(parallel, pivot, languages)
    target = get_language(pivot).name
    examples = []
    for item_id in parallel.ids:
        item = parallel.items[item_id]
        english = user_text(item[pivot])
        for lang in chosen:
            prompt = instruction.format(source=get_language(lang).name, target=target)
            examples.append(
                _example(
                    item_id,
                    lang,
                    pivot,
                    item[lang],
                    instruction=f"{prompt} {user_text(item[lang])}",
                    output=english,
                )
            )
    return examples


def mapping_pairs(
    parallel: ParallelSet, *, pivot: str = "en", languages: Sequence[str] | None = None
) -> list[Example]:
    """MindMerger's mapping-stage pairs: the x text as the instruction, the pivot's text as the output."""
    chosen = _languages(parallel, pivot, languages)
    examples = []
    for item_id in parallel.ids:
        item = parallel.items[item_id]
        english = user_text(item[pivot])
        for lang in chosen:
            examples.append(
                _example(item_id, lang, pivot, item[lang], instruction=user_text(item[lang]), output=english)
            )
    return examples


def query_translated(
    parallel: ParallelSet,
    *,
    pivot: str = "en",
    languages: Sequence[str] | None = None,
    include_pivot: bool = False,
) -> list[Example]:
    """MindMerger's augmentation-stage data: each language's question (instruction, input), the pivot's response.

    Args:
        include_pivot: also the pivot's own examples (English question -> English response).

    Raises:
        DataError: an item whose pivot response is empty.
    """
    chosen = _languages(parallel, pivot, languages)
    if include_pivot:
        chosen = [pivot, *chosen]
    examples = []
    for item_id in parallel.ids:
        item = parallel.items[item_id]
        response = item[pivot].output
        if not response.strip():
            raise DataError(
                f"item {item_id} has no {pivot} response (output) to learn", path=item[pivot].source
            )
        for lang in chosen:
            question = item[lang]
            examples.append(
                _example(
                    item_id,
                    lang,
                    pivot,
                    question,
                    instruction=question.instruction,
                    input=question.input,
                    output=response,
                )
            )
    return examples
