"""Multiple-choice answers: the option a model's free-text output commits to, or None when it commits to none.

SeaEval (CrossIn's harness) maps an output to an option by substring votes over its sentences and, when nothing
matches or votes tie, picks an option **at random**. A random pick scores 1/k on average and, worse, makes two
languages "agree" by chance, which inflates consistency. We never guess: an output that names no option, or
names several with nothing to prefer one, is *unmappable*, counted per language and scored wrong.

Rules, tried in order; the first that singles out one option wins (its name is the status recorded per item):

1. ``label``          the output starts with an option label: ``(B)``, ``B)``, ``B.``, ``B:``, ``[B]``, or is just
                      ``B`` (as SeaEval's prompt asks: "Simply select the answer");
2. ``answer_phrase``  after the *last* "Answer:" / "The answer is" / "答案是" / "Jawaban:" / "Đáp án" ... (English
                      and the output's own language, ``ANSWER_PHRASES``), on the same line: a label or a bare
                      letter, else an option's text;
3. ``labels``         every ``(B)`` / ``B)`` in the output names the same option;
4. ``option_text``    exactly one option's text occurs in the output (a longer option that contains a shorter one
                      wins; for scripts written with spaces the text must stand as whole words).

Otherwise ``unmappable`` (nothing found) or ``ambiguous`` (several options, none preferred). Text is compared
after Unicode NFKC (full-width ``（Ｂ）`` is ``(B)``) and case folding, with markdown emphasis removed.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from dataclasses import dataclass

from crosslift.eval.items import LETTERS
from crosslift.languages import UnknownLanguageError, get_language

# "The answer is" in the languages of the cross-lingual sets (SeaEval: en zh id vi es ms fil; XQuAD: ar de el
# hi ro ru th tr) and a few more. English phrases are tried in every language; longer phrases first.
ANSWER_PHRASES: dict[str, tuple[str, ...]] = {
    "en": (
        "the correct answer is",
        "the correct option is",
        "the answer is",
        "correct answer:",
        "final answer:",
        "answer:",
        "option",
    ),
    "zh": ("正确答案是", "正确答案为", "正确答案：", "答案是", "答案为", "答案：", "答案", "选项", "选择"),
    "id": ("jawaban yang benar adalah", "jawabannya adalah", "jawaban:", "jawaban", "pilihan"),
    "ms": (
        "jawapan yang betul ialah",
        "jawapan yang betul adalah",
        "jawapannya ialah",
        "jawapan:",
        "jawapan",
        "pilihan",
    ),
    "vi": (
        "đáp án đúng là",
        "đáp án là",
        "đáp án:",
        "đáp án",
        "câu trả lời đúng là",
        "câu trả lời là",
        "câu trả lời:",
        "trả lời:",
        "lựa chọn",
    ),
    "es": ("la respuesta correcta es", "la respuesta es", "respuesta correcta:", "respuesta:", "opción"),
    "fil": ("ang tamang sagot ay", "ang sagot ay", "sagot:", "sagot"),
    "ar": ("الإجابة الصحيحة هي", "الإجابة هي", "الإجابة:", "الإجابة", "الجواب"),
    "de": ("die richtige antwort ist", "die antwort ist", "die antwort lautet", "antwort:", "antwort"),
    "el": ("η σωστή απάντηση είναι", "η απάντηση είναι", "απάντηση:", "απάντηση"),
    "hi": ("सही उत्तर है", "उत्तर है", "उत्तर:", "उत्तर"),
    "ro": ("răspunsul corect este", "răspunsul este", "răspuns:", "răspuns"),
    "ru": ("правильный ответ:", "правильный ответ", "ответ:", "ответ"),
    "th": ("คำตอบที่ถูกต้องคือ", "คำตอบคือ", "คำตอบ:", "คำตอบ"),
    "tr": ("doğru cevap", "cevap:", "cevap", "yanıt:", "yanıt"),
    "ja": ("正解は", "答えは", "答え：", "答え"),
    "ko": ("정답은", "정답:", "정답", "답:"),
    "it": ("la risposta corretta è", "la risposta è", "risposta:"),
    "fr": ("la bonne réponse est", "la réponse est", "réponse :", "réponse:"),
    "pt": ("a resposta correta é", "a resposta é", "resposta:"),
}
_WINDOW = 80  # characters after an answer phrase, on its line, where the option must be named


@dataclass(frozen=True)
class ChoiceMatch:
    """The option an output commits to.

    Attributes:
        letter: "A", "B", ... or None when no single option can be read.
        status: the rule that found it ("label", "answer_phrase", "labels", "option_text"), or "unmappable" /
            "ambiguous".
    """

    letter: str | None
    status: str


def _clean(text: str) -> str:
    text = unicodedata.normalize("NFKC", text)
    return re.sub(r"[*_`]+", "", text).strip()


def _fold(text: str) -> str:
    return " ".join(text.casefold().split())


def _label_pattern(letters: str) -> re.Pattern[str]:
    # "(B)", "[b]", "B)" - a letter with a closing bracket, not inside a word ("Tab)" is not a label)
    return re.compile(rf"(?:[(\[]\s*([{letters}])\s*[)\]]|(?<![A-Za-z])([{letters}])\))", re.IGNORECASE)


def _leading(text: str, letters: str) -> str | None:
    """Rule 1: a label at the very start, or the whole output a letter (with punctuation)."""
    m = re.match(rf"^[(\[]?\s*([{letters}])\s*(?:[)\].:：]|$)", text, re.IGNORECASE)
    if m:
        return m.group(1).upper()
    m = re.match(rf"^([{letters}])\s*\n", text)  # "B\nBecause ..."
    return m.group(1) if m else None


def _text_matches(window: str, choices: tuple[str, ...], spaced: bool) -> set[int]:
    """Options whose text occurs in `window` (whole words in spaced scripts); a contained shorter option drops out."""
    folded = _fold(window)
    found = []
    for i, choice in enumerate(choices):
        needle = _fold(choice)
        if not needle:
            continue
        for m in re.finditer(re.escape(needle), folded):
            before = folded[m.start() - 1] if m.start() else " "
            after = folded[m.end()] if m.end() < len(folded) else " "
            if not spaced or not (before.isalnum() or after.isalnum()):
                found.append((i, needle))
                break
    return {i for i, needle in found if not any(needle != other and needle in other for _, other in found)}


@functools.lru_cache(maxsize=256)
def _phrases(language: str) -> re.Pattern[str]:
    base = language.split("-")[0].lower()
    phrases = set(ANSWER_PHRASES["en"]) | set(ANSWER_PHRASES.get(base, ()))
    return re.compile("|".join(sorted(map(re.escape, phrases), key=len, reverse=True)), re.IGNORECASE)


def map_choice(output: str, choices: tuple[str, ...] | list[str], language: str = "en") -> ChoiceMatch:
    """The option `output` commits to (see the module docstring for the rules).

    Args:
        output: the model's raw answer.
        choices: the option texts, in order (option i has letter ``LETTERS[i]``).
        language: the output's expected language (selects the native answer phrases; decides whether option
            texts must stand as whole words).
    """
    choices = tuple(_clean(c) for c in choices)
    letters = LETTERS[: len(choices)]
    text = _clean(output)
    try:
        spaced = get_language(language).uses_spaces
    except UnknownLanguageError:
        spaced = True
    if not text:
        return ChoiceMatch(None, "unmappable")
    letter = _leading(text, letters)
    if letter:
        return ChoiceMatch(letter, "label")
    ambiguous = False
    labels = _label_pattern(letters)
    for m in reversed(list(_phrases(language).finditer(text))):
        window = text[m.end() : m.end() + _WINDOW].split("\n", 1)[0]
        named = labels.search(window) or re.match(rf"^\s*[:：]?\s*([{letters}])(?![A-Za-z])", window)
        if named:
            return ChoiceMatch(next(g for g in named.groups() if g).upper(), "answer_phrase")
        found = _text_matches(window, choices, spaced)
        if len(found) == 1:
            return ChoiceMatch(letters[found.pop()], "answer_phrase")
        ambiguous |= len(found) > 1
    named = {next(g for g in m.groups() if g).upper() for m in labels.finditer(text)}
    if len(named) == 1:
        return ChoiceMatch(named.pop(), "labels")
    ambiguous |= len(named) > 1
    found = _text_matches(text, choices, spaced)
    if len(found) == 1:
        return ChoiceMatch(letters[found.pop()], "option_text")
    ambiguous |= len(found) > 1
    return ChoiceMatch(None, "ambiguous" if ambiguous else "unmappable")
