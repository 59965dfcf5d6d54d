"""A toy parallel set of arithmetic word problems, generated in code, so that tiny configs and tests run with
nothing but the package (`crosslift data toy`, and `--toy-items` of the verbs that read parallel data or
English records).

English problems (names and items of the tiny-model kit's word list) with a chain of thought that
ends "The answer is N."; every other language is the same text with each English word replaced by a made-up
word in that language's script (the syllables the tiny tokenizers were trained on), one fixed word per English
word and language, numbers and punctuation kept. It is NOT the language: only its script and a word-for-word
cipher of English. It exercises pipelines (x -> English pairs, query-translated data, code-switching with the
cipher as dictionary: `toy_dictionary`, the lexicon `toy`); it measures nothing.
"""

from __future__ import annotations

import functools
import hashlib
import random
import re
from collections.abc import Sequence
from typing import Any

from crosslift.data.examples import Example, ParallelSet
from crosslift.errors import DataError

SOURCE = "toy"
PIVOT = "en"
_WORD = re.compile(r"[A-Za-z]+")
_SLOT = re.compile(r"\{\w+\}")
# (question, answer) per kind of problem; {name}, {other}, {item} come from the kit's word lists, and
# {x} {y} {z} from `_NUMBERS` of the kind.
_TEMPLATES = (
    (
        "{name} has {x} {item} and buys {y} more. How many {item} does {name} have now?",
        "{name} has {x} + {y} = {z} {item}. The answer is {z}.",
    ),
    (
        "{name} had {x} {item} and gave {y} to {other}. How many {item} are left?",
        "{x} - {y} = {z}. The answer is {z}.",
    ),
    (
        "There are {x} rows of {y} {item}. How many {item} are there in total?",
        "{x} * {y} = {z}. The answer is {z}.",
    ),
)
_NUMBERS = (
    lambda a, b: (a, b, a + b),
    lambda a, b: (a + b, b, a),
    lambda a, b: (a, b, a * b),
)


def _problem(rng: random.Random, words: dict[str, tuple[str, ...]]) -> tuple[str, str]:
    name, other = rng.sample(words["names"], 2)
    item = rng.choice(words["items"])
    a, b = rng.randint(2, 30), rng.randint(2, 20)
    kind = rng.randrange(len(_TEMPLATES))
    x, y, z = _NUMBERS[kind](a, b)
    slots = {"name": name, "other": other, "item": item, "x": x, "y": y, "z": z}
    question, answer = _TEMPLATES[kind]
    return question.format(**slots), answer.format(**slots)


@functools.cache
def toy_vocabulary() -> tuple[str, ...]:
    """Every English word the toy problems can hold, lower-cased and sorted."""
    from crosslift.models.tiny.corpus import word_lists

    words = word_lists()
    texts = [_SLOT.sub(" ", text) for pair in _TEMPLATES for text in pair]
    texts += [*words["names"], *words["items"]]
    return tuple(sorted({w.lower() for text in texts for w in _WORD.findall(text)}))


def _made_up_word(lang: str, script: str, english: str) -> str:
    """The fixed made-up word of a lower-cased English word in `lang` (a seeded hash of both)."""
    from crosslift.models.tiny.corpus import pseudo_word

    digest = hashlib.sha256(f"{lang}\t{english}".encode()).digest()
    return pseudo_word(random.Random(int.from_bytes(digest[:8], "big")), script)


def _cipher(lang: str, script: str):
    """English text -> the toy text of `lang`: each word a fixed made-up word of the script."""
    from crosslift.models.tiny.corpus import word_separator

    joined_without_spaces = word_separator(script) == ""

    def render(text: str) -> str:
        out = _WORD.sub(lambda m: _made_up_word(lang, script, m.group(0).lower()), text)
        return out.replace(" ", "") if joined_without_spaces else out

    return render


def toy_dictionary(lang: str) -> dict[str, str]:
    """The toy set's cipher of `lang` as a dictionary: each word of `toy_vocabulary` -> its made-up word (what
    the lexicon named `toy` holds; `crosslift.data.lexicon`).

    Raises:
        DataError: English (the toy set's own language), or a code the language registry cannot resolve.
    """
    from crosslift.languages import get_language, normalize_code

    code = normalize_code(lang)
    if code == PIVOT:
        raise DataError("the toy dictionary maps English onto the other languages: it has no en side")
    script = get_language(code).script
    return {word: _made_up_word(code, script, word) for word in toy_vocabulary()}


def toy_parallel(languages: Sequence[str], items: int, seed: int = 0) -> ParallelSet:
    """`items` toy problems in English and in each of `languages` (English comes first whether named or not).

    Raises:
        DataError: no items, or a language code the registry cannot resolve.
    """
    from crosslift.languages import get_language, normalize_code
    from crosslift.models.tiny.corpus import word_lists

    if items < 1:
        raise DataError("a toy parallel set needs at least one item")
    codes = list(dict.fromkeys([PIVOT, *(normalize_code(code) for code in languages)]))
    renderers = {code: _cipher(code, get_language(code).script) for code in codes if code != PIVOT}
    rng, words = random.Random(seed), word_lists()
    ids, table = [], {}
    for i in range(items):
        question, answer = _problem(rng, words)
        item_id = f"toy-{seed}-{i}"
        ids.append(item_id)
        table[item_id] = {
            code: Example(
                id=item_id,
                instruction=question if code == PIVOT else renderers[code](question),
                output=answer if code == PIVOT else renderers[code](answer),
                instruction_lang=code,
                output_lang=code,
                source=SOURCE,
            )
            for code in codes
        }
    return ParallelSet(languages=codes, ids=ids, items=table)


def toy_records(items: int, seed: int = 0) -> list[dict[str, Any]]:
    """The English toy problems as records {id, question, answer} (the fields of GSM8K's records): what the
    verbs that read English records (`crosslift data codeswitch --toy-items`) take instead of a file."""
    parallel = toy_parallel([], items, seed)
    return [
        {"id": ex.id, "question": ex.instruction, "answer": ex.output}
        for ex in (parallel.get(item_id, PIVOT) for item_id in parallel.ids)
    ]
