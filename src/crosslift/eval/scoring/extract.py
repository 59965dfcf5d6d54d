"""Math answer extraction: the one number a model's free-text answer commits to, in any language and script.

Two rules, as lm-evaluation-harness reports two filters per math task:

``strict``    the last number in the text: the papers' rule (MathOctopus, LinguaLIFT's MMWP/MGSM/MSVAMP scoring).
``flexible``  three strategies, tried in order (the first that finds a number wins):

              1. ``\\boxed{...}``    the last one (WizardMath / MATH style; also ``\\frac{a}{b}`` inside it);
              2. an answer phrase   the number after the *last* "The answer is", "Jibu ni", "答案是", "####" ...
                                    (``ANSWER_PHRASES``; English phrases apply in every language, models often
                                    switch). When that number starts a calculation ("The answer is 10-5=5"), the
                                    result after its last "=" is the answer, never the first operand;
              3. the last number    anywhere in the text.

Number conventions follow the language the answer is *written* in, not the task's: "The answer is: 1.125" is one and
an eighth in a German task too, while "Die Antwort lautet 1.500" is fifteen hundred. Only when the task language's
conventions and English's read an answer differently is the language identified: py3langid, restricted to the task
language and English (as for response-language fidelity), on the line that holds the number (the whole text when
that line has no letters). English tasks read English conventions.

Numbers are read the way people write them:

- digits of any script: Python's ``\\d`` matches every Unicode decimal digit (Arabic-Indic ٣, Persian ۳,
  Devanagari ३, Bengali ৩, Thai ๓, full-width ３, ...), converted with ``unicodedata.decimal``;
- look-alike punctuation (full-width comma, Arabic decimal/thousands separators, the minus sign) is mapped to
  ASCII first (``_CHAR_MAP``);
- thousands separators of several conventions: ``1,234,567``, ``1.234.567``, ``1'234``, ``1 234`` (no-break,
  narrow or thin space always; a plain space only in languages that group with spaces), Indian ``12,34,567``;
- decimal marks: ``3.5`` and the decimal comma ``3,5``; with both marks, the last one is the decimal mark
  (``1.234,5`` and ``1,234.5``). The ambiguous single separator before exactly three digits is read as a thousands
  separator for a comma (``1,050`` is 1050: benchmark questions write thousands so in every language) and as a
  decimal point for a dot, except in languages that group thousands with dots (``DOT_GROUPING``: German
  ``1.500`` is 1500, English ``1.500`` is 1.5). A leading zero (``0,125``, ``0.125``) is always a decimal;
- a minus sign counts only when it does not follow a letter or digit (``10-5`` is not -5);
- simple fractions ``3/4``.

Not handled (counted as extraction failures or misreads): numbers written as words ("eighteen", "十八").

Where the strict rule departs from the released regex (``\\d+(\\.\\d+)?`` after deleting commas between digits): the
sign is kept (the regex reads "-5" as 5), and separators follow the conventions above (the regex reads German
"1.500" as 1.5 and French "1 500" as 500). On answers without such numbers both give the same number.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

from crosslift.eval.scoring.fidelity import detect_language, supported

# ---------------------------------------------------------------------------------------------------- tables

# Look-alikes of ASCII number punctuation. No-break, narrow no-break and thin spaces appear between digits only
# as thousands separators, so they become one internal group mark (thin space); a plain space does not.
_CHAR_MAP = str.maketrans(
    {
        "\uff0c": ",",  # ， full-width comma
        "\uff0e": ".",  # ． full-width full stop
        "\u066b": ".",  # ٫ Arabic decimal separator
        "\u066c": ",",  # ٬ Arabic thousands separator
        "\u2212": "-",  # − minus sign
        "\uff0d": "-",  # － full-width hyphen-minus
        "\ufe63": "-",  # ﹣ small hyphen-minus
        "\u2019": "'",  # ’ Swiss 1’000
        "\u00a0": "\u2009",  # no-break space
        "\u202f": "\u2009",  # narrow no-break space
        "\uff0f": "/",  # ／ full-width solidus
    }
)
_GROUP = "\u2009"

# Languages whose convention groups thousands with a dot (CLDR): here "1.500" is 1500, not 1.5.
DOT_GROUPING = frozenset("ca da de el es eu hr id is it lb mk nl pt ro sl sr tr vi".split())
# Languages that group thousands with a (no-break) space: here "1 500" is one number, 1500.
SPACE_GROUPING = frozenset("af be bg cs et fi fr hu hy ka kk lt lv nb nn no pl ru sk sq sv uk".split())

# "The answer is" in the answer's own language. Native phrases are those of the MGSM chain-of-thought exemplars
# (human translations); English phrases are tried in every language. Matched case-insensitively.
ANSWER_PHRASES: dict[str, tuple[str, ...]] = {
    "en": ("the answer is", "final answer", "answer:", "####"),
    "bn": ("উত্তর হল",),
    "de": ("die antwort lautet", "die antwort ist"),
    "es": ("la respuesta es",),
    "fr": ("la réponse est",),
    "ja": ("答えは",),
    "ru": ("ответ —", "ответ:", "ответ -"),
    "sw": ("jibu ni",),
    "te": ("సమాధానం",),
    "th": ("คำตอบคือ",),
    "zh": ("答案是",),
}
_PHRASE_WINDOW = 80  # the number must follow its phrase within this many characters, on the same line

# ---------------------------------------------------------------------------------------------------- patterns

# A number token: digits, then groups joined by '.', ',', "'" or the group mark, then an optional "/denominator".
_NUMBER = re.compile(r"(?P<sign>-)?(?P<body>\d+(?:[.,'" + _GROUP + r"]\d+)*)(?:/(?P<den>\d+))?")
_SEPARATOR = re.compile(r"([.,'" + _GROUP + "])")
_PLAIN_SPACE_GROUPS = re.compile(r"(?<![\d.,])(\d{1,3})((?: \d{3})+)(?![\d])")
_BOXED = re.compile(r"\\boxed\s*\{")
_FRAC = re.compile(r"\\d?frac\{([^{}]*)\}\{([^{}]*)\}")
# What may stand between two numbers of one calculation ("10 - 5 = 5", "2 × 3 = 6", "12 / 4 = 3").
_OPERATOR = re.compile(r"\s*[-+*/×÷xX·=]\s*")

RULES = ("strict", "flexible")
Rule = Literal["strict", "flexible"]


@dataclass(frozen=True)
class Extraction:
    """What `extract_answer` found.

    Attributes:
        value: the number, or None when the text has none (an extraction failure).
        text: the number as a canonical string ("1050", "0.9", "-3.5"), or None.
        method: "boxed", "phrase", "last_number", or None.
        reading: the language whose number conventions read it (the task's, or "en" for an English answer).
    """

    value: Decimal | None
    text: str | None
    method: str | None
    reading: str | None = None


@dataclass(frozen=True)
class _Found:
    """A number and where it is in the text (the span of its token, or of the \\boxed{} holding it)."""

    value: Decimal
    start: int
    end: int
    method: str


def _base(language: str | None) -> str:
    return (language or "").split("-")[0].split("_")[0].lower()


def _ascii_digits(s: str) -> str:
    return "".join(str(unicodedata.decimal(c)) if c.isdecimal() and not c.isascii() else c for c in s)


def normalize(text: str, language: str | None = None) -> str:
    """Map number punctuation look-alikes to ASCII and join space-grouped digits in space-grouping languages."""
    text = text.translate(_CHAR_MAP)
    if _base(language) in SPACE_GROUPING:
        text = _PLAIN_SPACE_GROUPS.sub(lambda m: m.group(1) + m.group(2).replace(" ", _GROUP), text)
    return text


# ---------------------------------------------------------------------------------------------------- numbers


def _valid_groups(groups: list[str], allow_indian: bool) -> bool:
    """'1', '234', '567' is a thousands grouping; so is Indian '12', '34', '567' (lakh/crore) with commas."""
    head, tail = groups[0], groups[1:]
    if not tail or not 1 <= len(head) <= 3 or len(tail[-1]) != 3:
        return False
    middle = {len(g) for g in tail[:-1]}
    return middle <= {3} or (allow_indian and middle <= {2} and len(head) <= 2)


def _read_body(body: str, language: str) -> list[Decimal]:
    """The number(s) in one token's digits and separators (several when it is really a list, e.g. '1,2,3')."""
    pieces = _SEPARATOR.split(body)
    digits, seps = pieces[0::2], pieces[1::2]
    if not seps:
        return [Decimal(body)]
    last = seps[-1]
    others = seps[:-1]
    # A decimal mark is a '.' or ',' used once, after any group marks of a different kind.
    if last in ".," and last not in others and len(set(others)) <= 1:
        int_part = "".join(digits[:-1])
        if others:  # "1,234.5", "1.234,5", "1 234,5": the last mark is the decimal mark
            if _valid_groups(digits[:-1], allow_indian=others[0] == ","):
                return [Decimal(f"{int_part}.{digits[-1]}")]
        else:
            three_after, leading_zero = len(digits[-1]) == 3, digits[0] == "0"
            grouping = three_after and not leading_zero and (last == "," or _base(language) in DOT_GROUPING)
            return [Decimal(digits[0] + digits[1])] if grouping else [Decimal(f"{digits[0]}.{digits[1]}")]
    elif len(set(seps)) == 1 and _valid_groups(digits, allow_indian=last == ","):
        return [Decimal("".join(digits))]  # "1,234,567", "1.234.567", "1'234"
    # Not one number: a list such as "1,2,3" or "1.5,2.5". Read the comma-separated parts on their own.
    if "," in seps and len(set(seps)) > 1:
        return [n for part in body.split(",") for n in _read_body(part, language)]
    return [Decimal(d) for d in digits]


def _number_spans(text: str, language: str | None) -> list[tuple[Decimal, int, int]]:
    """Every number in `text` with the span of its token (normalizing keeps every offset: it maps one
    character to one character)."""
    text = normalize(text, language)
    found: list[tuple[Decimal, int, int]] = []
    for m in _NUMBER.finditer(text):
        values = _read_body(_ascii_digits(m.group("body")), language or "")
        if m.group("den"):
            den = Decimal(_ascii_digits(m.group("den")))
            if den != 0:
                values[-1] = values[-1] / den
        start = m.start()
        # A '-' right after a letter or digit is a hyphen or a subtraction ("10-5", "COVID-19"), not a sign.
        if m.group("sign"):
            if start == 0 or not text[start - 1].isalnum():
                values[0] = -values[0]
            else:
                start = m.start("body")
        found += [(v, start, m.end()) for v in values]
    return found


def numbers(text: str, language: str | None = None) -> list[Decimal]:
    """Every number in `text`, in order (see the module docstring for the conventions understood)."""
    return [value for value, _, _ in _number_spans(text, language)]


def canonical(value: Decimal) -> str:
    """'1050', '0.9', '-3.5', '0.333333': no exponent, no trailing zeros."""
    if value != value.to_integral_value():
        value = round(value, 6)
    text = format(value.normalize(), "f")
    return "0" if text in ("-0", "") else text


def parse_number(text: str, language: str | None = None) -> Decimal | None:
    """The number a short string such as a gold answer holds ("5 ", "2,125", "0.9"), or None."""
    found = numbers(text.strip(), language)
    return found[0] if len(found) == 1 else None


# ---------------------------------------------------------------------------------------------------- strategies


def last_boxed(text: str) -> tuple[str, int] | None:
    """Contents of the last \\boxed{...}, braces balanced, and where they start."""
    starts = [m.end() for m in _BOXED.finditer(text)]
    for start in reversed(starts):
        depth = 1
        for i in range(start, len(text)):
            depth += {"{": 1, "}": -1}.get(text[i], 0)
            if depth == 0:
                return text[start:i], start
    return None


def _phrase_pattern(language: str) -> re.Pattern[str]:
    phrases = set(ANSWER_PHRASES["en"]) | set(ANSWER_PHRASES.get(language, ()))
    alternatives = sorted((re.escape(p) for p in phrases), key=len, reverse=True)
    return re.compile("|".join(alternatives), re.IGNORECASE)


_PHRASES: dict[str, re.Pattern[str]] = {}


def _phrase_number(window: str, language: str) -> tuple[Decimal, int, int] | None:
    """The number an answer phrase is followed by: the first one, or, when it starts a calculation, the result
    after the calculation's last '=' ("10-5=5" -> 5, "5 + 6 = 11" -> 11)."""
    spans = _number_spans(window, language)
    if not spans:
        return None
    answer = spans[0]
    for previous, following in zip(spans, spans[1:], strict=False):
        gap = window[previous[2] : following[1]]
        if not _OPERATOR.fullmatch(gap):
            break
        if "=" in gap:
            answer = following
    return answer


def _find(text: str, phrase_language: str, number_language: str, rule: str) -> _Found | None:
    """One rule's answer with one language's number conventions (phrases are always the task language's)."""
    if rule == "flexible":
        boxed = last_boxed(text)
        if boxed is not None:
            content, start = boxed
            found = numbers(_FRAC.sub(r"\1/\2", content), number_language)
            if found:
                return _Found(found[-1], start, start + len(content), "boxed")
        pattern = _PHRASES.get(phrase_language) or _PHRASES.setdefault(
            phrase_language, _phrase_pattern(phrase_language)
        )
        for m in reversed(list(pattern.finditer(text))):
            window = text[m.end() : m.end() + _PHRASE_WINDOW].split("\n", 1)[0]
            hit = _phrase_number(window, number_language)
            if hit is not None:
                return _Found(hit[0], m.end() + hit[1], m.end() + hit[2], "phrase")
    spans = _number_spans(text, number_language)
    if spans:
        value, start, end = spans[-1]
        return _Found(value, start, end, "last_number")
    return None


def _conventions(language: str) -> tuple[bool, bool]:
    return (language in DOT_GROUPING, language in SPACE_GROUPING)


def _line_of(text: str, found: _Found) -> str:
    """The line holding the answer, or the whole text when that line has no letters to identify a language."""
    line = text[text.rfind("\n", 0, found.start) + 1 :].split("\n", 1)[0]
    return line if any(c.isalpha() for c in line) else text


def answer_language(text: str, language: str) -> str:
    """`language`, or "en" when `text` is English: py3langid restricted to the two (the fidelity metric's rule).

    A language py3langid does not know, or a text without letters, keeps `language`.
    """
    if not any(c.isalpha() for c in text) or not supported(language):
        return language
    detected = detect_language(text, [language, "en"])
    return "en" if detected is not None and detected.split("-")[0] == "en" else language


def extract_answer(text: str, language: str | None = None, *, rule: Rule = "flexible") -> Extraction:
    """The final numeric answer in a model's output.

    Args:
        text: the raw generated text.
        language: the task's language code (selects native answer phrases; number conventions follow the
            language the answer is written in, see the module docstring).
        rule: "strict" (the last number: the papers' rule) or "flexible" (boxed, answer phrase, last number).

    Returns:
        An `Extraction`; ``value`` is None when no number was found.
    """
    if rule not in RULES:
        raise ValueError(f"rule must be one of {', '.join(RULES)}, got {rule!r}")
    lang = _base(language)
    found = _find(text, lang, lang, rule)
    if found is None:
        return Extraction(None, None, None, None)
    reading = lang or None
    if lang and _conventions(lang) != _conventions("en"):
        english = _find(text, lang, "en", rule)
        if (
            english is not None
            and english.value != found.value
            and answer_language(_line_of(text, found), lang) == "en"
        ):
            found, reading = english, "en"
    return Extraction(found.value, canonical(found.value), found.method, reading)


def without_last_number(text: str, language: str | None = None) -> str:
    """`text` with its last number token removed (and outer whitespace), e.g. for language ID of a math answer."""
    normalized = normalize(text, language)
    matches = list(_NUMBER.finditer(normalized))
    if not matches:
        return text.strip()
    last = matches[-1]
    return (normalized[: last.start()] + normalized[last.end() :]).strip()
