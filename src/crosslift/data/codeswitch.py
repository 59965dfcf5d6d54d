"""Code-switching: the stage-1 data of LinguaLIFT (methods.md §1.3).

English words of a sentence are replaced by their translations from bilingual lexicons; the model learns to
map the code-switched sentence back to the original English. For every record:

1. pick ONE target language, uniformly or by weight (e.g. by resource tier);
2. (optional, `sentence_ratio` > 0) where parallel text has the whole text, or one of its sentences, in that
   language, render it whole with that probability: sentence-level switching;
3. segment the remaining English into *units*: the longest lexicon phrase starting at each word ("a lot of"
   before "a lot" before "a"), else the word itself when the lexicon has it; unknown words are not units;
4. switch round(ratio x units) of them, chosen uniformly (stochastic rounding keeps the expected fraction
   exactly `ratio` even for short sentences), each to one of its translations;
5. re-assemble: everything that is not a switched unit is copied byte for byte.

What is never switched: numbers and anything glued to digits ("5th"), punctuation, spans matched by the
`protect` patterns (URLs and GSM8K's <<48/2=24>> calculator notes by default), and, with `protect_names`,
names: capitalised words that do not start a sentence ("Natalia", "May"), also where the same word starts
one ("Natalia sold ... did Natalia"). A switched word
that was capitalised gets a capitalised translation. For targets written without spaces (zh, ja, th), the
space between two adjacent switched units is dropped ("卖 夹子" -> "卖夹子"); spaces next to English stay.

Everything random draws from a generator seeded by (seed, record index), so a record's output depends only
on the seed, its index and its text: the same seed gives the same file, in any order or number of processes.

Held-out entries (`holdout_share` > 0): a seeded share of each lexicon's English keys is never switched (chosen by
a hash of (holdout_seed, language, key), `crosslift.data.lexicon.is_held_out`), and every record says so in
`meta["codeswitch"]["held_out"]`; LinguaLIFT's alignment check then tests word retrieval on those unseen pairs.
"""

from __future__ import annotations

import random
import re
from bisect import bisect
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import accumulate
from pathlib import Path
from typing import Any

from crosslift.data.examples import EXAMPLE_KEYS, Example, ReadReport, text_field
from crosslift.data.lexicon import TOKEN, Lexicon, split_held_out
from crosslift.data.options import ReadOptions
from crosslift.data.records import iter_records
from crosslift.errors import ConfigError, DataError
from crosslift.languages import get_language

DEFAULT_PROTECT = (r"https?://\S+", r"<<[^<>]*>>")
TRANSLATE_INSTRUCTION = "Translate the following code-switched {language} sentence to pure English:"
STYLES = ("plain", "instruct")
_SPLIT = re.compile(f"({TOKEN})")
_POSSESSIVE = frozenset(("'s", "’s"))
_SENTENCE = re.compile(r"[^.!?\n]*(?:[.!?]+|\n|$)")  # a sentence: up to its end mark (or a line break)
_ENDS_SENTENCE = frozenset(".!?:\n")


@dataclass(slots=True)
class Switched:
    """One code-switched text and what was done to it.

    Attributes:
        replacements: (start, end, english, translation) per switched unit or sentence; start/end index the
            English text.
        covered_units, covered_words: lexicon-covered units (and the words in them) eligible for switching.
        switched_units, switched_words: how many of those were switched.
        sentences: sentences rendered whole from parallel text (their words are not in the counts above).
    """

    text: str
    lang: str
    replacements: list[tuple[int, int, str, str]] = field(default_factory=list)
    covered_units: int = 0
    covered_words: int = 0
    switched_units: int = 0
    switched_words: int = 0
    sentences: int = 0

    @property
    def mode(self) -> str:
        """How the text was switched: "word", "sentence" (all of it from parallel text) or "mixed"."""
        if self.sentences and not self.covered_units and len(self.replacements) == self.sentences:
            return "sentence"
        return "mixed" if self.sentences else "word"


def _norm(text: str) -> str:
    return " ".join(text.split())


class CodeSwitcher:
    """Switches English texts into code-switched ones (see the module docstring).

    Args:
        lexicons: language -> Lexicon (e.g. from `load_lexicons`).
        ratio: fraction of lexicon-covered units to switch, in [0, 1].
        languages: target languages to draw from (default: every lexicon's language).
        weights: language -> relative weight (default: uniform).
        seed: base seed; record i uses a generator seeded by (seed, i).
        pick: "random" (uniform over a word's translations) or "first" (the lexicon's first translation).
        protect_names: keep capitalised words that do not start a sentence.
        protect: regular expressions whose matches are never switched.
        parallel: language -> {English text: translation}, for sentence-level switching.
        sentence_ratio: probability of rendering a sentence whole when `parallel` has it.
        holdout_share: share of each lexicon's keys held out of switching (0: none).
        holdout_seed: seed of the held-out choice (default: `seed`).
    """

    def __init__(
        self,
        lexicons: Mapping[str, Lexicon],
        *,
        ratio: float = 0.4,
        languages: Sequence[str] | None = None,
        weights: Mapping[str, float] | None = None,
        seed: int = 0,
        pick: str = "random",
        protect_names: bool = True,
        protect: Sequence[str] = DEFAULT_PROTECT,
        parallel: Mapping[str, Mapping[str, str]] | None = None,
        sentence_ratio: float = 0.0,
        holdout_share: float = 0.0,
        holdout_seed: int | None = None,
    ) -> None:
        if not 0.0 <= ratio <= 1.0 or not 0.0 <= sentence_ratio <= 1.0:
            raise ConfigError(f"ratio and sentence_ratio must be in [0, 1], got {ratio} and {sentence_ratio}")
        if seed < 0:
            raise ConfigError(f"seed must be >= 0, got {seed}")
        if pick not in ("random", "first"):
            raise ValueError(f"pick must be 'random' or 'first', got '{pick}'")
        self.languages = list(languages or lexicons)
        missing = [lang for lang in self.languages if lang not in lexicons]
        if missing:
            raise DataError(f"no lexicon loaded for {', '.join(missing)}")
        weights = weights or {}
        unknown = set(weights) - set(self.languages)
        if unknown:
            raise ConfigError(f"weights given for languages not switched into: {', '.join(sorted(unknown))}")
        self.weights = [float(weights.get(lang, 1.0)) for lang in self.languages]
        if any(w < 0 for w in self.weights) or not any(self.weights):
            raise ConfigError(f"language weights must be >= 0 and not all 0, got {self.weights}")
        self.cumulative = list(accumulate(self.weights))
        self.holdout = None
        self.held_out: dict[str, Lexicon] = {}
        if holdout_share:
            seed_of_split = seed if holdout_seed is None else holdout_seed
            split = {
                lang: split_held_out(lexicons[lang], holdout_share, seed_of_split) for lang in self.languages
            }
            lexicons = {lang: kept for lang, (kept, _) in split.items()}
            self.held_out = {lang: held for lang, (_, held) in split.items()}
            self.holdout = {"share": holdout_share, "seed": seed_of_split}
        self.lexicons = lexicons
        self.no_spaces = {lang: not get_language(lang).uses_spaces for lang in self.languages}
        self.ratio, self.seed, self.pick = ratio, seed, pick
        self.protect_names = protect_names
        for pattern in protect:
            try:
                re.compile(pattern)
            except re.error as e:
                raise ConfigError(f"bad protect pattern {pattern!r}: {e}") from None
        # Searched one by one: a pattern that starts with a literal ("http", "<<") is found by a fast scan.
        self.protect = [re.compile(p) for p in protect]
        self.parallel = {
            lang: {_norm(k): v for k, v in table.items()} for lang, table in (parallel or {}).items()
        }
        self.sentence_ratio = sentence_ratio

    def switch(self, text: str, index: int, lang: str | None = None) -> Switched:
        """Code-switch one English text (record number `index`), into `lang` or a language drawn for it."""
        rng = random.Random((self.seed << 32) ^ index)  # one generator per record: see the module docstring
        if lang is None:
            lang = self.languages[bisect(self.cumulative, rng.random() * self.cumulative[-1])]
        out = Switched(text=text, lang=lang)
        if not (self.sentence_ratio and lang in self.parallel):
            out.text = self._switch_words(text, 0, lang, rng, out)
            return out
        parts = []
        for start, end, translation in self._segments(text, self.parallel[lang], rng):
            if translation is None:
                parts.append(self._switch_words(text[start:end], start, lang, rng, out))
            else:
                parts.append(translation)
                out.replacements.append((start, end, text[start:end], translation))
                out.sentences += 1
        out.text = "".join(parts)
        out.replacements.sort()
        return out

    def _segments(
        self, text: str, table: Mapping[str, str], rng: random.Random
    ) -> list[tuple[int, int, str | None]]:
        """Split `text` into (start, end, translation): rendered whole from parallel text, or None (free)."""
        whole = table.get(_norm(text))
        if whole is not None:
            return [(0, len(text), whole if rng.random() < self.sentence_ratio else None)]
        segments, pos = [], 0
        for m in _SENTENCE.finditer(text):
            sentence = m.group().strip()
            translation = table.get(_norm(sentence)) if sentence else None
            if translation is not None and rng.random() < self.sentence_ratio:
                start = m.start() + m.group().index(sentence)
                segments += [(pos, start, None), (start, start + len(sentence), translation)]
                pos = start + len(sentence)
        segments.append((pos, len(text), None))
        return [seg for seg in segments if seg[1] > seg[0]]

    def _switch_words(self, text: str, offset: int, lang: str, rng: random.Random, out: Switched) -> str:
        """Word-level switching of `text` (which starts at `offset` of the record's text); updates `out`."""
        lex = self.lexicons[lang]
        entries, max_words = lex.entries, lex.max_words
        pieces = _SPLIT.split(text)  # gap, token, gap, token, ..., gap: piece 2i+1 is token i
        words = pieces[1::2]
        low = list(map(str.lower, words))
        # Words inside protected spans (URLs, ...) never switch.
        blocked = self._protected(text, pieces) if any(p.search(text) for p in self.protect) else ()

        # Units: the longest lexicon phrase starting at each word, else the word (or its possessive stem).
        if max_words == 1:
            # Single-word lexicons (MUSE): comprehensions do it, without a Python loop over the words.
            units = [(i, 1, key) for i, key in enumerate(low) if key in entries]
            if "'" in text or "’" in text:  # possessives: switch the noun, keep the 's
                units += [
                    (i, 1, key[:-2])
                    for i, key in enumerate(low)
                    if key[-2:] in _POSSESSIVE and key not in entries and key[:-2] in entries
                ]
                units.sort()
            if blocked:
                units = [u for u in units if u[0] not in blocked]
        else:
            units = self._phrase_units(low, pieces, blocked, lex)
        if self.protect_names:
            units = self._drop_names(units, words, pieces)

        # Switch round(ratio * units) of them; stochastic rounding keeps the mean exactly ratio * units.
        n_units = len(units)
        exact = self.ratio * n_units
        k = int(exact) + (rng.random() < exact - int(exact))
        out.covered_units += n_units
        out.covered_words += sum([u[1] for u in units]) if max_words > 1 else n_units
        out.switched_units += k
        if not k:
            return text
        # A partial Fisher-Yates shuffle draws the k units (random.sample does the same, slower).
        random = rng.random
        order = list(range(n_units))
        for j in range(k):
            r = j + int(random() * (n_units - j))
            order[j], order[r] = order[r], order[j]
        ends = list(accumulate(map(len, pieces)))  # ends[p] = end offset of piece p
        no_spaces, random_pick = self.no_spaces[lang], self.pick == "random"
        replacements, last, switched_words = out.replacements, -2, 0
        for u in sorted(order[:k]):
            i, n, key = units[u]
            translations = entries[key]
            translation = translations[int(random() * len(translations))] if random_pick else translations[0]
            word = words[i]
            if word[0].isupper() and translation[0].islower():
                translation = translation[0].upper() + translation[1:]
            first = 2 * i + 1  # the piece of the unit's first word
            start = ends[first - 1]
            if n == 1:
                kept = word[len(key) :] if len(word) > len(key) else ""  # the 's of a possessive
                pieces[first] = translation + kept
                end = ends[first] - len(kept)
            else:
                final = first + 2 * n - 2
                pieces[first : final + 1] = [translation] + [""] * (2 * n - 2)  # a phrase's gaps and words go
                end = ends[final]
            replacements.append((offset + start, offset + end, text[start:end], translation))
            if no_spaces and last == i - 1 and pieces[first - 1].isspace():
                pieces[first - 1] = ""  # two switched units side by side in a script without spaces
            last = i + n - 1
            switched_words += n
        out.switched_words += switched_words
        return "".join(pieces)

    @staticmethod
    def _phrase_units(low: list[str], pieces: list[str], blocked, lex: Lexicon) -> list[tuple[int, int, str]]:
        """Units (first word, words, lexicon key), left to right, longest lexicon phrase first."""
        entries, prefixes, max_words = lex.entries, lex.prefixes, lex.max_words
        units = []
        next_free = 0
        starts = [
            i for i, key in enumerate(low) if key in entries or key in prefixes or key[-2:] in _POSSESSIVE
        ]
        for i in starts:
            if i < next_free or i in blocked:
                continue
            key = low[i]
            n = 1 if key in entries else 0
            if key in prefixes:
                phrase, j = key, i + 1
                # Phrases run over plain spaces only, never into punctuation or protected words.
                while j < len(low) and j - i < max_words and j not in blocked and pieces[2 * j].isspace():
                    phrase += " " + low[j]
                    j += 1
                    if phrase in entries:
                        n, key = j - i, phrase
                    if phrase not in prefixes:
                        break
            if not n and key[-2:] in _POSSESSIVE and key[:-2] in entries:
                n, key = 1, key[:-2]  # switch the noun, keep the 's
            if n:
                units.append((i, n, key))
                next_free = i + n
        return units

    @staticmethod
    def _drop_names(
        units: list[tuple[int, int, str]], words: list[str], pieces: list[str]
    ) -> list[tuple[int, int, str]]:
        """Units without names: a capitalised word that does not start a sentence, and its sentence-initial uses."""
        # A unit whose word differs from its (lower-cased) key has capitals (or is a possessive, or a phrase).
        caps = [u[0] for u in units if words[u[0]] != u[2]]
        stem = {
            i: words[i][:-2] if words[i][-2:] in _POSSESSIVE else words[i] for i in caps
        }  # Mark's -> Mark
        names = {
            stem[i] for i in caps if i and words[i][0].isupper() and _ENDS_SENTENCE.isdisjoint(pieces[2 * i])
        }
        names.discard("I")
        if not names:
            return units
        drop = {i for i in caps if stem[i] in names}
        return [u for u in units if u[0] not in drop]

    def _protected(self, text: str, pieces: list[str]) -> set[int]:
        """Indices of the words that overlap a match of the protect patterns."""
        ends = list(accumulate(map(len, pieces)))
        spans = [m.span() for pattern in self.protect for m in pattern.finditer(text)]
        return {
            i
            for i in range(len(pieces) // 2)
            if any(s < ends[2 * i + 1] and ends[2 * i] < e for s, e in spans)
        }


# ---------------------------------------------------------------------------------------------- records


def codeswitch_example(
    record: Mapping,
    index: int,
    *,
    field: str,
    switcher: CodeSwitcher,
    style: str = "plain",
    source: str | None = None,
) -> Example:
    """Code-switch `record[field]` into an Example: code-switched text -> original English.

    style "plain": instruction = code-switched text (reconstruction, LinguaLIFT's released variant);
    style "instruct": instruction = "Translate the following code-switched <Language> sentence to pure
    English:", input = code-switched text (the paper-figure variant). The record's other fields are kept
    (renamed `orig_<name>` where they collide with Example fields), so the code-switched text can also be paired
    with e.g. the English answer; `meta["codeswitch"]` records the language and every switched word.
    """
    if style not in STYLES:
        raise ValueError(f"style must be one of {', '.join(STYLES)}, got '{style}'")
    english = record[field]
    sw = switcher.switch(english, index)
    meta = {(f"orig_{k}" if k in EXAMPLE_KEYS else k): v for k, v in record.items() if k not in (field, "id")}
    meta["codeswitch"] = {
        "lang": sw.lang,
        "field": field,
        "mode": sw.mode,
        "ratio": switcher.ratio,
        "covered_units": sw.covered_units,
        "switched_units": sw.switched_units,
        "covered_words": sw.covered_words,
        "switched_words": sw.switched_words,
        "sentences": sw.sentences,
        "replacements": [list(r) for r in sw.replacements],
    }
    if switcher.holdout is not None:
        meta["codeswitch"]["held_out"] = switcher.holdout
    if style == "plain":
        instruction, input_ = sw.text, ""
    else:
        instruction, input_ = TRANSLATE_INSTRUCTION.format(language=get_language(sw.lang).name), sw.text
    return Example(
        id=str(record.get("id", index)),
        instruction=instruction,
        input=input_,
        output=english,
        instruction_lang=sw.lang,
        output_lang="en",
        source=source,
        meta=meta,
    )


def codeswitch_file(
    path: str | Path,
    options: ReadOptions | None = None,
    *,
    field: str,
    switcher: CodeSwitcher,
    style: str = "plain",
    skip_invalid: bool = False,
) -> tuple[list[Example], ReadReport]:
    """Code-switch `field` of every record of a file (`codeswitch_records`), record i with index i.

    Args:
        options: how to read the file (`crosslift.data.records.iter_records`); `limit`: read only the first N
            records; `coerce_types`: read a number in `field` as its text (counted in the report) instead of
            refusing it. Their `fields` mapping does not apply: `field` names the one field read.
        skip_invalid: skip (and count in the report) records whose field is missing or not a non-empty string,
            and lines that do not decode or parse.

    Raises:
        DataError: an unreadable file, or (without skip_invalid) a record that is not an object or lacks the
            text.
    """
    options = options or ReadOptions()
    report = ReadReport(path=str(path))
    records = iter_records(path, options, on_error=report.skip if skip_invalid else None)
    return codeswitch_records(
        records,
        options,
        source=str(path),
        field=field,
        switcher=switcher,
        style=style,
        skip_invalid=skip_invalid,
        report=report,
    )


def codeswitch_records(
    records: Iterable[tuple[dict[str, Any], Any]],
    options: ReadOptions | None = None,
    *,
    source: str,
    field: str,
    switcher: CodeSwitcher,
    style: str = "plain",
    skip_invalid: bool = False,
    report: ReadReport | None = None,
) -> tuple[list[Example], ReadReport]:
    """Code-switch `field` of every (location, record) pair (`codeswitch_example`), record i with index i.

    Args:
        records: as `crosslift.data.records.iter_records` yields them.
        options: `limit` and `coerce_types` apply (see `codeswitch_file`).
        source: where the records come from (each example's `source`).
        report: the report to count in (one that reading the records already counts in); a new one otherwise.

    Raises:
        DataError: (without skip_invalid) a record that is not an object or lacks the text.
    """
    options = options or ReadOptions()
    report = report or ReadReport(path=source)
    examples = []
    for location, record in records:
        index = len(examples) + sum(report.skipped.values())  # its place in the file, skipped ones included
        if options.limit is not None and index >= options.limit:
            break
        try:
            if not isinstance(record, dict):
                raise DataError(f"expected an object, got {type(record).__name__}", **location)
            if record.get(field) is None:
                raise DataError("missing field", field=field, **location)
            text = text_field(
                record[field],
                where=location,
                key=field,
                allow_empty=True,
                coerced=report.coerced if options.coerce_types else None,
            )
            if not text.strip():
                raise DataError("expected a non-empty string", field=field, **location)
            example = codeswitch_example(
                {**record, field: text}, index, field=field, switcher=switcher, style=style, source=source
            )
            examples.append(example)
        except DataError as e:
            if not skip_invalid:
                raise
            report.skip(e)
    report.read = len(examples)
    return examples, report


def switching_stats(examples: Sequence[Example]) -> dict[str, dict[str, Any]]:
    """Per target language (and "all"): records, covered and switched words and units, whole sentences, and the
    switched fraction of the covered words, from each example's `meta["codeswitch"]`."""
    per_lang: dict[str, Counter] = {}
    for ex in examples:
        cs = ex.meta["codeswitch"]
        c = per_lang.setdefault(cs["lang"], Counter())
        c.update(
            records=1,
            covered_words=cs["covered_words"],
            switched_words=cs["switched_words"],
            covered_units=cs["covered_units"],
            switched_units=cs["switched_units"],
            sentences=cs["sentences"],
        )
    total = sum(per_lang.values(), Counter())
    stats = {
        lang: dict(c)
        | {"switched_fraction": c["switched_words"] / c["covered_words"] if c["covered_words"] else 0.0}
        for lang, c in sorted(per_lang.items())
    }
    stats["all"] = dict(total) | {
        "switched_fraction": total["switched_words"] / max(total["covered_words"], 1)
    }
    return stats


def parallel_table(texts: Mapping[str, Sequence[str]], pivot: str = "en") -> dict[str, dict[str, str]]:
    """language -> {English text: translation} from line-aligned parallel text (see `read_parallel_text`)."""
    if pivot not in texts:
        raise DataError(f"parallel text needs the {pivot} side (got {', '.join(texts)})")
    english = texts[pivot]
    return {
        lang: {_norm(e): t for e, t in zip(english, other, strict=True) if e.strip() and t.strip()}
        for lang, other in texts.items()
        if lang != pivot
    }
