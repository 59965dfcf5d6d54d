"""A toy parallel set of arithmetic word problems, generated in code, so that tiny configs and tests run with
nothing but the package (`crosslift data toy`, and `--toy-items` of the verbs that read parallel data).

English problems (names and items of the tiny-model kit's word list) with a chain of thought that
ends "The answer is N."; every other language is the same text with each English word replaced by a made-up
word in that language's script (the syllables the tiny tokenizers were trained on), one fixed word per English
word and language, numbers and punctuation kept. It is NOT the language: only its script and a word-for-word
cipher of English. It exercises pipelines (x -> English pairs, query-translated data); it measures nothing.
"""

from __future__ import annotations

import hashlib
import random
import re
from collections.abc import Sequence

from crosslift.data.examples import Example, ParallelSet
from crosslift.errors import DataError

SOURCE = "toy"
PIVOT = "en"
_WORD = re.compile(r"[A-Za-z]+")


def _problem(rng: random.Random, words: dict[str, tuple[str, ...]]) -> tuple[str, str]:
    name, other = rng.sample(words["names"], 2)
    item = rng.choice(words["items"])
    a, b = rng.randint(2, 30), rng.randint(2, 20)
    kind = rng.randrange(3)
    if kind == 0:
        question = f"{name} has {a} {item} and buys {b} more. How many {item} does {name} have now?"
        answer = f"{name} has {a} + {b} = {a + b} {item}. The answer is {a + b}."
    elif kind == 1:
        question = f"{name} had {a + b} {item} and gave {b} to {other}. How many {item} are left?"
        answer = f"{a + b} - {b} = {a}. The answer is {a}."
    else:
        question = f"There are {a} rows of {b} {item}. How many {item} are there in total?"
        answer = f"{a} * {b} = {a * b}. The answer is {a * b}."
    return question, answer


def _cipher(lang: str, script: str):
    """English text -> the toy text of `lang`: each word a fixed made-up word of the script."""
    from crosslift.models.tiny.corpus import pseudo_word, word_separator

    lexicon: dict[str, str] = {}

    def word(match: re.Match) -> str:
        english = match.group(0).lower()
        if english not in lexicon:
            digest = hashlib.sha256(f"{lang}\t{english}".encode()).digest()
            lexicon[english] = pseudo_word(random.Random(int.from_bytes(digest[:8], "big")), script)
        return lexicon[english]

    joined_without_spaces = word_separator(script) == ""

    def render(text: str) -> str:
        out = _WORD.sub(word, text)
        return out.replace(" ", "") if joined_without_spaces else out

    return render


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
