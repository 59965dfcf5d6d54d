"""Response-language fidelity: is an answer written in the language it was asked in?

A model that "answers" a Swahili question in English may still score on math or multiple choice, and a judge may
even prefer its English; fidelity makes that visible. Per item, the language of the answer text is identified
with py3langid, **restricted to plausible candidates**: the expected language, English (the usual drift of
English-centred models) and any languages the task adds (``candidates:``, e.g. the other languages of a
cross-lingual set). Restricting matters on short texts, where an open-set classifier confuses close languages
(Swahili is read as Bikol or Esperanto; ../shared/docs/stack.md §4). When the set is only English (an English
task adding nothing), a restricted classifier could answer nothing else, so the unrestricted one is used.

Codes go through the language registry both ways: "swh", "Swahili" or "sw" select py3langid's ``sw``; its ``tl`` is
our ``fil``, its ``no`` our ``nb``; a variant (``sr-Latn``, ``zh-Hant``) counts as its base language.

The metric is 1 when the detected language is the expected one, 0 when it is another; it is not applicable
(None) when the text has no letters (an answer that is only a number, or empty), or when py3langid does not know
the expected language and its script does not tell it apart. The detected language (or "no_text" / "unsupported") is stored per item and counted per
language in the summary. Which text is scored is the task's business: math tasks score the output without its
final number (filter ``drop_final_number``), PLUG tasks the extracted target-language part.

Languages py3langid does not know (a registered language such as the synthetic ones of ``crosslift.synth``, or a
rare language) are judged by **script** when their script differs from that of every other candidate: the answer
is in the language when most of its letters are in that script, and in English when most are Latin. The summary's
per-item detections then read ``script:<Script>``.

`lang_fidelity` is registered as an item metric by `crosslift.eval.scoring.metrics`.
"""

from __future__ import annotations

import copy
import functools
import unicodedata
from collections import Counter
from typing import Any

from crosslift.eval.scoring.scored import Scored
from crosslift.languages import UnknownLanguageError, get_language


@functools.cache
def _full_identifier() -> Any:
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    return LanguageIdentifier.from_model_file(MODEL_FILE)


@functools.cache
def _labels() -> dict[str, str]:
    """Our canonical code -> py3langid's label, for every label the registry knows."""
    out: dict[str, str] = {}
    for label in _full_identifier().labels:
        try:
            out.setdefault(get_language(label).code, label)
        except UnknownLanguageError:
            continue  # e.g. 'zxx' (no linguistic content)
    return out


def _label_of(code: str) -> str | None:
    language = get_language(code)
    return _labels().get(language.code) or _labels().get(language.base_code)


@functools.cache
def _identifier(labels: frozenset[str] | None) -> Any:
    """py3langid restricted to `labels` (set_languages on a copy, so the restrictions do not interfere)."""
    identifier = copy.copy(_full_identifier())
    identifier.set_languages(sorted(labels) if labels else None)
    return identifier


def supported(code: str) -> bool:
    """Whether py3langid can recognise the language (after normalising its code)."""
    try:
        return _label_of(code) is not None
    except UnknownLanguageError:
        return False


def detect_language(text: str, candidates: list[str] | tuple[str, ...] = ()) -> str | None:
    """The canonical code of the language `text` is in, among `candidates` (all py3langid languages when fewer
    than two are supported); None when the text has no letters.

    Raises:
        UnknownLanguageError: a candidate that is not in the language registry.
    """
    if not any(c.isalpha() for c in text):
        return None
    labels = frozenset(label for c in candidates if (label := _label_of(c)) is not None)
    label, _ = _identifier(labels if len(labels) > 1 else None).classify(text)
    try:
        return get_language(label).code
    except UnknownLanguageError:
        return label  # unrestricted only: a py3langid label the registry lacks (e.g. 'zxx', 'ht')


# ISO 15924 code -> the first word of the Unicode character names of that script's letters.
_SCRIPT_NAMES = {
    "Latn": "LATIN",
    "Cyrl": "CYRILLIC",
    "Grek": "GREEK",
    "Armn": "ARMENIAN",
    "Geor": "GEORGIAN",
    "Deva": "DEVANAGARI",
    "Beng": "BENGALI",
    "Ethi": "ETHIOPIC",
    "Arab": "ARABIC",
    "Hebr": "HEBREW",
    "Thai": "THAI",
    "Taml": "TAMIL",
    "Telu": "TELUGU",
    "Knda": "KANNADA",
    "Mlym": "MALAYALAM",
    "Gujr": "GUJARATI",
    "Guru": "GURMUKHI",
    "Orya": "ORIYA",
    "Sinh": "SINHALA",
    "Khmr": "KHMER",
    "Mymr": "MYANMAR",
    "Tibt": "TIBETAN",
    "Hang": "HANGUL",
    "Cher": "CHEROKEE",
}


def dominant_script(text: str) -> str | None:
    """The ISO 15924 code of the script most of `text`'s letters are in (None: no letters or an unlisted script)."""
    names = {name: code for code, name in _SCRIPT_NAMES.items()}
    counts = Counter(unicodedata.name(c, "?").split(" ")[0] for c in text if c.isalpha())
    if not counts:
        return None
    return names.get(counts.most_common(1)[0][0])


def _by_script(prediction: str, expected: Any, candidates: list[str]) -> Scored | None:
    """Fidelity by script when the expected language's script is told apart from every other candidate's."""
    script = expected.script
    others = {get_language(c).script for c in ["en", *candidates] if get_language(c).code != expected.code}
    if script not in _SCRIPT_NAMES or script in others:
        return None
    found = dominant_script(prediction)
    return Scored(float(found == script), f"script:{found or 'other'}")


def lang_fidelity(prediction: str | None, gold: Any, *, language: str, candidates: list[str] = ()) -> Scored:
    """1 when `prediction` is in `language`, 0 when in another candidate language; None without letters."""
    if prediction is None or not any(c.isalpha() for c in prediction):
        return Scored(None, "no_text") if supported(language) else Scored(None, "unsupported")
    if not supported(language):
        try:
            by_script = _by_script(prediction, get_language(language), list(candidates))
        except UnknownLanguageError:
            by_script = None
        return by_script or Scored(None, "unsupported")
    expected = get_language(language)
    detected = detect_language(prediction, [expected.code, "en", *candidates])
    same = detected.split("-")[0] == expected.base_code
    return Scored(float(same), detected)
