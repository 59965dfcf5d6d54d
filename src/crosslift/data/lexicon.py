"""Bilingual lexicons, English -> one language: read dictionary files, clean them, merge several sources.

File formats (one entry per line, no header):

    muse   `english foreign`, one space between (MUSE ground-truth dictionaries; single words)
    tsv    `english<TAB>foreign` (WECHSEL/Wiktionary, GATITOS); either side may be several words

A `.tsv` file is tsv; any other file is tsv when its first line holds a tab, else muse. A directory source
holds one file per language named `en-xx.txt`, `en-xx.tsv` or `en_xx.tsv` (the MUSE, WECHSEL and GATITOS
layouts); `xx` goes through the language registry, so `en-no.txt` serves `nb` and `en-tl.txt` serves `fil`.
Only the files of the requested languages are read. A source that is not a path but the name of a catalogue
lexicon (`muse`, `wechsel`, `gatitos`) is its folder in the download cache (`crosslift data download muse`); the
name `toy` is the toy set's word cipher (`crosslift.data.toy.toy_dictionary`), made in code for any language
named: the dictionary of the toy problems' made-up languages, not of real ones.

Files are UTF-8, read strictly (`crosslift.io.read_text`): a byte-order mark is dropped, and a byte that is
not UTF-8 is an error naming the line and column (with `skip_invalid`, its line is dropped and counted).

Rules, applied to every source (dropped entries are counted per reason, never lost silently):
- case: the English side is lower-cased, so "The" and "the" share entries; translations keep their case
  (the code-switcher re-capitalises a translation that replaces a capitalised word);
- the English side must be a sequence of plain words (letters, inner ' or -) so that it can match running
  text: entries such as `1`, `u.s.` or `$` are dropped;
- a translation equal to its English word switches nothing and is dropped (MUSE has `the the` in en-vi);
- a translation containing a digit is dropped: switching must never change the numbers of a text;
- a trailing annotation such as ` (verb)` (GATITOS translators left some) is cut off;
- several translations of one word are kept in file order, without repeats.

Merging several sources of one language (`merge=`): "priority" (default) takes each English key's
translations from the first source, in the order given, that has the key, e.g. MUSE -> Wiktionary ->
GATITOS; "union" keeps the translations of every source, higher-priority ones first.

    lexicons = load_lexicons(["../shared/data/muse_dictionaries", "../shared/data/wechsel_dicts"], ["sw", "de"])
    lexicons["de"].lookup("apple")   # ('Apfel', ...)
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from crosslift.errors import DataError
from crosslift.io import BAD_BYTE, read_text

# A token of running text: letters and digits, with inner apostrophes or hyphens ("don't", "well-known").
# Only tokens made of letters alone can match a lexicon key (keys are validated below), so tokens glued to
# digits ("5th", "3-page") are never switched: switching "th" would garble the number.
TOKEN = r"\w+(?:['’-]\w+)*"
TOKEN_RE = re.compile(TOKEN)
_PLAIN_WORD = re.compile(r"[^\W\d_]+(?:['’-][^\W\d_]+)*")
_ANNOTATION = re.compile(r"\s+\([^()]*\)$")
_DIGIT = re.compile(r"\d")
_FILE_NAME = re.compile(r"^en[-_](?P<code>[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]+)?)\.(?:txt|tsv)$")
MERGE_RULES = ("priority", "union")
TOY_LEXICON = "toy"


@dataclass
class Lexicon:
    """English -> language `lang`. Keys are lower-cased English words or space-joined word sequences.

    Attributes:
        entries: key -> translations, best first.
        max_words: the longest key, in words (phrase matching never looks further).
        prefixes: every proper word-prefix of a multi-word key ("a lot" for "a lot of"), for longest match.
        files: the files it was read from, in priority order.
        stats: counts of entries kept per source and of lines dropped per reason.
    """

    lang: str
    entries: dict[str, tuple[str, ...]] = field(default_factory=dict)
    max_words: int = 1
    prefixes: frozenset[str] = frozenset()
    files: list[str] = field(default_factory=list)
    stats: Counter = field(default_factory=Counter)

    def __len__(self) -> int:
        return len(self.entries)

    def __contains__(self, key: str) -> bool:
        return key in self.entries

    def lookup(self, key: str) -> tuple[str, ...] | None:
        """Translations of an English word or phrase (any case), or None."""
        return self.entries.get(" ".join(key.lower().split()))

    @property
    def phrases(self) -> int:
        """How many keys are multi-word."""
        return sum(" " in k for k in self.entries)


def english_key(text: str) -> str | None:
    """The lookup key of an English dictionary headword, or None when it cannot match running text."""
    words = text.lower().split()
    if not words or not all(_PLAIN_WORD.fullmatch(w) for w in words):
        return None
    return " ".join(words)


def read_lexicon_file(path: str | Path, lang: str, *, skip_invalid: bool = False) -> Lexicon:
    """Read one dictionary file (muse or tsv, see the module docstring) into a Lexicon.

    Raises:
        DataError: missing file, a line that is not UTF-8 or not two fields (naming the file and line); with
            skip_invalid=True such lines are counted in `stats` ("dropped: not valid UTF-8", "dropped:
            malformed line") instead.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError("lexicon file not found", path=path)
    text = read_text(path, keep_bad_bytes=skip_invalid)
    first = text[: text.find("\n")] if "\n" in text else text
    sep = "\t" if path.suffix.lower() == ".tsv" or "\t" in first else " "
    lex = Lexicon(lang=lang, files=[str(path)])
    entries: dict[str, list[str]] = {}
    stats = lex.stats
    for lineno, line in enumerate(text.split("\n"), start=1):  # "\n" only: entries may hold U+2028 etc.
        line = line.rstrip("\r")
        if not line.strip():
            continue
        if skip_invalid and BAD_BYTE.search(line):  # kept by read_text only when skipping
            stats["dropped: not valid UTF-8"] += 1
            continue
        parts = line.split(sep) if sep == "\t" else line.split()
        if len(parts) != 2 or not parts[0].strip() or not parts[1].strip():
            if skip_invalid:
                stats["dropped: malformed line"] += 1
                continue
            what = "english<TAB>translation" if sep == "\t" else "'english translation' (one space)"
            raise DataError(f"expected {what}, got {line[:80]!r}", path=path, line=lineno)
        english, translation = parts
        key = english_key(english)
        if key is None:
            stats["dropped: english side is not plain words"] += 1
            continue
        translation = _ANNOTATION.sub("", translation.strip())
        if translation.lower() == key:
            stats["dropped: identical to english"] += 1
            continue
        if _DIGIT.search(translation):
            stats["dropped: translation has digits"] += 1
            continue
        bucket = entries.setdefault(key, [])
        if translation in bucket:
            stats["dropped: repeated pair"] += 1
            continue
        bucket.append(translation)
    lex.entries = {k: tuple(v) for k, v in entries.items()}
    stats[f"entries from {path.name}"] = len(lex.entries)
    _index_phrases(lex)
    return lex


def _index_phrases(lex: Lexicon) -> None:
    prefixes = set()
    max_words = 1
    for key in lex.entries:
        if " " in key:
            words = key.split(" ")
            max_words = max(max_words, len(words))
            prefixes.update(" ".join(words[:n]) for n in range(1, len(words)))
    lex.max_words, lex.prefixes = max_words, frozenset(prefixes)


def merge_lexicons(lexicons: Sequence[Lexicon], merge: str = "priority") -> Lexicon:
    """One lexicon from several of the same language, highest priority first (see the module docstring)."""
    if merge not in MERGE_RULES:
        raise DataError(f"merge must be one of {', '.join(MERGE_RULES)}, got '{merge}'")
    if len(lexicons) == 1:
        return lexicons[0]
    merged = Lexicon(lang=lexicons[0].lang)
    entries: dict[str, tuple[str, ...]] = {}
    for lex in lexicons:
        merged.files += lex.files
        merged.stats.update(lex.stats)
        for key, translations in lex.entries.items():
            if key not in entries:
                entries[key] = translations
            elif merge == "union":
                entries[key] += tuple(t for t in translations if t not in entries[key])
    merged.entries = entries
    _index_phrases(merged)
    return merged


def _language_files(directory: Path) -> dict[str, list[Path]]:
    """Language code -> the dictionary files of a directory source (see the module docstring)."""
    from crosslift.languages import UnknownLanguageError, normalize_code

    files: dict[str, list[Path]] = {}
    for path in sorted(directory.iterdir()):
        m = _FILE_NAME.match(path.name)
        if not m or not path.is_file():
            continue
        try:
            code = normalize_code(m["code"])
        except UnknownLanguageError:
            code = m["code"]  # not in the registry: still usable under its own code
        files.setdefault(code, []).append(path)
    return files


def parse_source(spec: str | Path) -> tuple[str | None, Path]:
    """'xx=path/to/file' -> ('xx', path); a plain path (file named en-xx.* or a directory) -> (None, path)."""
    text = str(spec)
    if "=" in text and "/" not in text.split("=", 1)[0]:
        lang, path = text.split("=", 1)
        return lang, Path(path)
    return None, Path(text)


def _is_toy(spec: str | Path) -> bool:
    """Whether a source names the toy lexicon: the name `toy` where no such path exists."""
    return str(spec) == TOY_LEXICON and not Path(TOY_LEXICON).exists()


def _files_of(spec: str | Path, wanted: list[str] | None, download: bool) -> dict[str, list[Path]]:
    """Language -> dictionary files of one file or directory source (or catalogue name), for the wanted
    languages (or all)."""
    from crosslift.data.download import lexicon_dir
    from crosslift.languages import normalize_code

    lang, path = parse_source(spec)
    if not path.exists() and lang is None and len(path.parts) == 1:
        path = lexicon_dir(str(path), download=download) or path
    if not path.exists():
        raise DataError("lexicon source not found", path=path)
    if lang is not None:
        per_lang = {normalize_code(lang): [path]}
    elif path.is_dir():
        per_lang = _language_files(path)
    else:
        m = _FILE_NAME.match(path.name)
        if not m:
            raise DataError(
                "cannot tell the language from the file name (expected en-xx.txt, en-xx.tsv or "
                "en_xx.tsv); give it as xx=PATH",
                path=path,
            )
        per_lang = {normalize_code(m["code"]): [path]}
    return {code: paths for code, paths in per_lang.items() if wanted is None or code in wanted}


def _missing(sources: Sequence[str | Path], wanted: list[str] | None, found: Iterable[str]) -> None:
    missing = [lang for lang in wanted or [] if lang not in found]
    if missing:
        names = ", ".join(str(parse_source(s)[1]) for s in sources)
        raise DataError(f"no lexicon for {', '.join(missing)} in: {names}")


def source_files(
    sources: Iterable[str | Path], languages: Sequence[str] | None = None, *, download: bool = False
) -> dict[str, list[Path]]:
    """Language -> dictionary files, in source (priority) order, for the requested languages (or all).

    Args:
        download: fetch a catalogue lexicon named by a source (`muse`) when it is not in the cache yet.

    Raises:
        DataError: a source that does not exist, or a requested language no source has a file for.
    """
    from crosslift.languages import normalize_code

    sources = list(sources)
    wanted = [normalize_code(lang) for lang in languages] if languages is not None else None
    found: dict[str, list[Path]] = {}
    for spec in sources:
        for code, paths in _files_of(spec, wanted, download).items():
            found.setdefault(code, []).extend(paths)
    _missing(sources, wanted, found)
    return found


def toy_lexicon(lang: str) -> Lexicon:
    """The lexicon named `toy`: the toy set's word cipher of `lang` (`crosslift.data.toy.toy_dictionary`)."""
    from crosslift.data.toy import toy_dictionary

    lex = Lexicon(lang=lang)
    lex.entries = {k: (v,) for k, v in toy_dictionary(lang).items() if v.lower() != k}
    lex.stats[f"entries from the {TOY_LEXICON} lexicon (made in code)"] = len(lex.entries)
    return lex


def load_lexicons(
    sources: Iterable[str | Path],
    languages: Sequence[str] | None = None,
    *,
    merge: str = "priority",
    skip_invalid: bool = False,
    download: bool = False,
    skip_missing: bool = False,
) -> dict[str, Lexicon]:
    """Read and merge the lexicons of the requested languages (all languages found when None).

    Args:
        sources: directories or files, highest priority first; `xx=PATH` gives a file's language explicitly;
            a catalogue lexicon's name (`muse`) reads its downloaded folder; `toy` is the toy set's cipher.
        merge: "priority" or "union" (see the module docstring).
        skip_invalid: count malformed lines instead of raising on the first one.
        download: fetch a catalogue lexicon that is not in the cache yet.
        skip_missing: leave out a requested language no source has, instead of raising.

    Raises:
        DataError: a source that does not exist, a malformed file, a requested language no source has (unless
            skip_missing), or the toy lexicon without the languages named (it is made for any).
    """
    from crosslift.languages import normalize_code

    sources = list(sources)
    wanted = [normalize_code(lang) for lang in languages] if languages is not None else None
    found: dict[str, list[Lexicon]] = {}
    for spec in sources:
        if _is_toy(spec):
            if wanted is None:
                raise DataError(
                    f"the {TOY_LEXICON} lexicon is made for the languages named: name them (--languages)"
                )
            read = {code: [toy_lexicon(code)] for code in wanted if code != "en"}
        else:
            read = {
                code: [read_lexicon_file(p, code, skip_invalid=skip_invalid) for p in paths]
                for code, paths in _files_of(spec, wanted, download).items()
            }
        for code, lexicons in read.items():
            found.setdefault(code, []).extend(lexicons)
    if not skip_missing:
        _missing(sources, wanted, found)
    return {lang: merge_lexicons(lexicons, merge) for lang, lexicons in found.items()}


def coverage(lexicon: Lexicon, texts: Iterable[str]) -> dict[str, float | int]:
    """How much of an English corpus a lexicon covers, by word tokens and by distinct words (single-word keys).

    Returns:
        {"tokens", "covered_tokens", "token_coverage", "types", "covered_types", "type_coverage"}.
    """
    counts: Counter = Counter()
    for text in texts:
        counts.update(t.lower() for t in TOKEN_RE.findall(text) if _PLAIN_WORD.fullmatch(t))
    tokens = sum(counts.values())
    covered = {w: n for w, n in counts.items() if w in lexicon.entries}
    covered_tokens = sum(covered.values())
    return {
        "tokens": tokens,
        "covered_tokens": covered_tokens,
        "token_coverage": covered_tokens / tokens if tokens else 0.0,
        "types": len(counts),
        "covered_types": len(covered),
        "type_coverage": len(covered) / len(counts) if counts else 0.0,
    }


# ---------------------------------------------------------------------------------------------- held-out entries


def is_held_out(key: str, lang: str, share: float, seed: int) -> bool:
    """Whether the English key `key` is held out of `lang`'s lexicon: a seeded hash, so the decision depends on
    nothing but (seed, language, key) and is the same for every source that has the key."""
    if share <= 0:
        return False
    digest = hashlib.sha256(f"{seed}\0{lang}\0{key}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 < share


def split_held_out(lexicon: Lexicon, share: float, seed: int) -> tuple[Lexicon, Lexicon]:
    """(kept, held out): a seeded `share` of the entries of `lexicon`, by key (see `is_held_out`).

    Code-switching uses only the kept part, so the alignment check can test word retrieval on pairs that stage-1
    training never saw.
    """
    if not 0 <= share < 1:
        raise DataError(f"the held-out share must be in [0, 1), got {share}")
    parts: tuple[Lexicon, Lexicon] = (
        Lexicon(lang=lexicon.lang, files=list(lexicon.files)),
        Lexicon(lang=lexicon.lang, files=list(lexicon.files)),
    )
    for key, translations in lexicon.entries.items():
        parts[is_held_out(key, lexicon.lang, share, seed)].entries[key] = translations
    for part in parts:
        _index_phrases(part)
    parts[0].stats.update(lexicon.stats)
    parts[0].stats["held out of code-switching"] = len(parts[1])
    return parts
