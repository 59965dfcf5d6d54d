"""The built-in tokenizer training text of the tiny-model kit, generated in code (deterministic).

English sentences from ``resources/tiny_corpus_words.txt``, arithmetic word problems, and synthetic syllable
text in ten scripts, optionally extended with the user's own text files.
"""

from __future__ import annotations

import functools
import random
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from crosslift.errors import DataError

_CORPUS_SEED = 1234


def _char_range(first: int, last: int) -> list[str]:
    return [chr(c) for c in range(first, last + 1)]


@dataclass(frozen=True)
class _Script:
    """Synthetic text in one script: words are runs of consonant+vowel syllables."""

    name: str
    consonants: tuple[str, ...]
    vowels: tuple[str, ...]  # "" = the consonant's inherent vowel
    word_sep: str = " "
    sentence_end: str = "."
    max_syllables: int = 3


def _ethiopic_syllables() -> tuple[str, ...]:
    # Ethiopic is a syllabary: each consonant row holds 7-8 vowel orders (ሀ ሁ ሂ ሃ ሄ ህ ሆ).
    rows = [
        0x1200,
        0x1208,
        0x1218,
        0x1228,
        0x1230,
        0x1238,
        0x1240,
        0x1260,
        0x1270,
        0x1290,
        0x12A0,
        0x12A8,
        0x12C8,
        0x12D8,
        0x12E8,
        0x12F0,
        0x1308,
        0x1320,
        0x1338,
        0x1348,
    ]
    return tuple(chr(row + order) for row in rows for order in range(7))


_SCRIPTS = (
    _Script("latin", tuple("bdfghjklmnprstvwyzñç"), tuple("aeiouáéíóúàèöü")),
    _Script("cyrillic", tuple("бвгдзклмнпрстхчшж"), tuple("аеиоуыяюэ")),
    _Script(
        "devanagari", tuple(_char_range(0x0915, 0x0939)), ("", *_char_range(0x093E, 0x094C)), sentence_end="।"
    ),
    _Script(
        "bengali",
        tuple(_char_range(0x0995, 0x09A8) + _char_range(0x09AA, 0x09B0) + ["ল", "শ", "ষ", "স", "হ"]),
        ("", *_char_range(0x09BE, 0x09C4), "ে", "ৈ", "ো", "ৌ"),
        sentence_end="।",
    ),
    _Script(
        "telugu",
        tuple(_char_range(0x0C15, 0x0C28) + _char_range(0x0C2A, 0x0C39)),
        ("", *_char_range(0x0C3E, 0x0C44), "ె", "ే", "ై", "ొ", "ో", "ౌ"),
    ),
    _Script(
        "thai", tuple(_char_range(0x0E01, 0x0E2E)), ("", "ะ", "า", "ิ", "ี", "ุ", "ู", "่", "้"), sentence_end=""
    ),
    _Script(
        "arabic",
        tuple(_char_range(0x0628, 0x063A) + _char_range(0x0641, 0x064A)),
        ("", "ا", "و", "ي"),
        sentence_end=".",
    ),
    # CJK: no spaces between words; a fixed, spread-out sample of ideographs plus very common ones.
    _Script(
        "cjk",
        tuple("的一是不了人我在有他这中大来上国个到说们为子和你地出道也时年")
        + tuple(chr(0x4E00 + (i * 53) % 20900) for i in range(300)),
        ("",),
        word_sep="",
        sentence_end="。",
        max_syllables=2,
    ),
    _Script("hangul", tuple(chr(0xAC00 + (i * 97) % 11172) for i in range(300)), ("",), max_syllables=3),
    _Script("ethiopic", _ethiopic_syllables(), ("",), sentence_end="።"),
)


@functools.cache
def word_lists() -> dict[str, tuple[str, ...]]:
    """The word lists of ``resources/tiny_corpus_words.txt`` by section (names, nouns, items, containers, ...)."""
    text = (
        resources.files("crosslift").joinpath("resources/tiny_corpus_words.txt").read_text(encoding="utf-8")
    )
    sections: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in text.splitlines():
        if line.startswith("## "):
            current = sections.setdefault(line[3:].strip(), [])
        elif line.strip() and not line.startswith("#") and current is not None:
            current.extend(line.split())
    return {name: tuple(words) for name, words in sections.items()}


def _english_line(rng: random.Random, w: dict[str, tuple[str, ...]]) -> str:
    pick = rng.choice
    templates = (
        lambda: (
            f"The {pick(w['adjectives'])} {pick(w['nouns'])} {pick(w['verbs'])} {pick(('the', 'a', 'my', 'our'))} {pick(w['nouns'])}."
        ),
        lambda: (
            f"{pick(w['names'])} {pick(w['verbs'])} the {pick(w['nouns'])} {pick(('in', 'at', 'near', 'behind'))} the {pick(w['nouns'])} every {pick(('day', 'week', 'morning', 'night'))}."
        ),
        lambda: (
            f"{pick(('Why', 'When', 'Where', 'How'))} did {pick(w['names'])} see the {pick(w['adjectives'])} {pick(w['nouns'])}?"
        ),
        lambda: (
            f"Write a short story about a {pick(w['adjectives'])} {pick(w['nouns'])} and a {pick(w['nouns'])}."
        ),
        lambda: (
            f"Translate the sentence into English: {pick(w['names'])} {pick(w['verbs'])} {rng.randint(2, 9)} {pick(w['items'])}."
        ),
        # Loose word salad over the common function words keeps them frequent (they are most of real text).
        lambda: (
            " ".join(
                pick(w["function"] + w["nouns"] + w["adjectives"]) for _ in range(rng.randint(5, 12))
            ).capitalize()
            + "."
        ),
    )
    return pick(templates)()


def _math_line(rng: random.Random, w: dict[str, tuple[str, ...]]) -> str:
    name, other = rng.sample(w["names"], 2)
    item, box = rng.choice(w["items"]), rng.choice(w["containers"])
    a, b = rng.randint(2, 30), rng.randint(2, 20)
    big = rng.randint(10, 999)
    templates = (
        lambda: (
            f"{name} has {a} {item} and buys {b} more. How many {item} does {name} have? {a} + {b} = {a + b}. The answer is {a + b}."
        ),
        lambda: (
            f"{name} had {a + b} {item} and gave {b} to {other}. How many {item} are left? {a + b} - {b} = {a}. The answer is {a}."
        ),
        lambda: (
            f"There are {a} {box}s with {b} {item} in each {box}. How many {item} are there in total? {a} * {b} = {a * b}. The answer is {a * b}."
        ),
        lambda: (
            f"{name} shares {a * b} {item} equally among {b} friends. Each friend gets {a * b} / {b} = {a} {item}. The answer is {a}."
        ),
        lambda: (
            f"Question: What is {big} + {a}? Answer: Let's think step by step. {big} + {a} = {big + a}. The answer is {big + a}."
        ),
        lambda: (
            f"Question: {name} saves {a} dollars a week for {b} weeks. How much does {name} save? Answer: {a} x {b} = {a * b} dollars."
        ),
        lambda: (
            f"{big} - {a} = {big - a}, {a} * {b} = {a * b}, {a * b} / {a} = {b}, {a}.5 + {b}.5 = {a + b + 1}"
        ),
    )
    return rng.choice(templates)()


# ISO 15924 codes -> the script of `_SCRIPTS` whose syllables stand for it.
SCRIPT_OF_ISO = {
    "Latn": "latin",
    "Cyrl": "cyrillic",
    "Deva": "devanagari",
    "Beng": "bengali",
    "Telu": "telugu",
    "Thai": "thai",
    "Arab": "arabic",
    "Hans": "cjk",
    "Hant": "cjk",
    "Hani": "cjk",
    "Jpan": "cjk",
    "Kore": "hangul",
    "Hang": "hangul",
    "Ethi": "ethiopic",
}


def _syllables(rng: random.Random, script: _Script) -> str:
    n = rng.randint(1, script.max_syllables)
    return "".join(rng.choice(script.consonants) + rng.choice(script.vowels) for _ in range(n))


def _script_of(iso_script: str) -> _Script:
    name = SCRIPT_OF_ISO.get(iso_script, "latin")
    return next(s for s in _SCRIPTS if s.name == name)


def pseudo_word(rng: random.Random, iso_script: str) -> str:
    """A made-up word of the syllables the tiny tokenizers were trained on, in the script of an ISO 15924 code
    (Latin syllables for a script the kit lacks)."""
    return _syllables(rng, _script_of(iso_script))


def word_separator(iso_script: str) -> str:
    """What separates the words of `pseudo_word` in that script: a space, or nothing (CJK)."""
    return _script_of(iso_script).word_sep


def _script_line(rng: random.Random, script: _Script) -> str:
    words = [_syllables(rng, script) for _ in range(rng.randint(4, 10))]
    if rng.random() < 0.2:  # numbers turn up in every language's text
        words.insert(rng.randrange(len(words)), str(rng.randint(1, 500)))
    return script.word_sep.join(words) + script.sentence_end


@functools.cache
def builtin_corpus() -> tuple[str, ...]:
    """The built-in tokenizer training text: English, arithmetic word problems and ten scripts (deterministic).

    Returns:
        Lines of text; the same lines on every call and machine.
    """
    rng = random.Random(_CORPUS_SEED)
    words = word_lists()
    lines = [_english_line(rng, words) for _ in range(2500)]
    lines += [_math_line(rng, words) for _ in range(2500)]
    for script in _SCRIPTS:
        lines += [_script_line(rng, script) for _ in range(250)]
    return tuple(lines)


def _read_corpus_file(path: Path) -> list[str]:
    if not path.is_file():
        raise DataError("corpus file not found", path=path)
    lines = []
    with path.open("rb") as f:
        for number, raw in enumerate(f, start=1):
            try:
                lines.append(raw.decode("utf-8").rstrip("\r\n"))
            except UnicodeDecodeError as e:
                raise DataError(
                    f"not valid UTF-8 ({e.reason} at byte {e.start})", path=path, line=number
                ) from e
    return [line for line in lines if line.strip()]


def corpus_lines(corpus: Sequence[str | Path] = ()) -> list[str]:
    """The tokenizer training text: the built-in corpus followed by the lines of each extra UTF-8 file.

    Args:
        corpus: extra plain-text files (one sentence or paragraph per line).

    Returns:
        All lines, built-in first.

    Raises:
        DataError: a file is missing or not UTF-8 (names the file and line).
    """
    lines = list(builtin_corpus())
    for path in corpus:
        lines += _read_corpus_file(Path(path))
    return lines
