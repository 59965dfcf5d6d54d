"""Generate crosslift's language registry and built-in tier rules from the data under ../shared.

Writes
  src/crosslift/resources/languages.tsv              codes, names, scripts, aliases (a few hundred rows)
  src/crosslift/resources/tier_rules/mmwp-llama2.tsv  MMWP's 10/17/21 split reconstructed from Llama 2's shares
  src/crosslift/resources/tier_rules/joshi2020.tsv    Joshi et al. (2020) classes -> low/medium/high

The registry holds every language of the data sets in ../shared/data (MMWP, MGSM, SeaEval Cross-*, XQuAD,
NTREX-128, MUSE, WECHSEL, GATITOS, LASER Tatoeba). Codes, ISO 639-3 codes and English names come from
LinguaMeta (CC BY-SA 4.0); what LinguaMeta leaves open (the usual script of a multi-script language, which
individual language a macrolanguage code stands for in the benchmarks, the varieties the data sets keep apart)
is decided by hand in the tables below, and checked against a sample of each data set's text (the build stops
when a data set is written in another script than its entry says, but for DATA_SCRIPT_EXCEPTIONS). Run from
the repo root:

    .venv/bin/python tools/build_language_registry.py [--shared ../shared/data]

The package never reads ../shared; only this script does.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import unicodedata
from collections import Counter, defaultdict
from difflib import SequenceMatcher
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from crosslift.languages import TIERS, Language, _name_key, _Registry  # noqa: E402

RESOURCES = REPO / "src" / "crosslift" / "resources"
Row = tuple[Language, list[str], list[str]]  # entry, aliases, other names

# --- hand-made decisions --------------------------------------------------------------------------------

# Individual languages that the benchmarks mean by a macrolanguage's ISO 639-1 code (MMWP's "sw" is
# Kiswahili swh, MGSM's "zh" is Mandarin cmn, ...), and the reverse cases where the registry keeps the
# individual language and the macrolanguage code is its alias (MUSE's "no" is Bokmål; GATITOS' "chm" is
# Meadow Mari). Each key becomes an alias of its value.
FOLD = {
    "arb": "ar", "cmn": "zh", "swh": "sw", "zsm": "ms", "npi": "ne", "pes": "fa", "ekk": "et", "lvs": "lv",
    "uzn": "uz", "azj": "az", "als": "sq", "khk": "mn", "kmr": "ku", "gaz": "om", "ory": "or", "plt": "mg",
    "ydd": "yi", "kpv": "kv", "ike": "iu", "ayr": "ay", "gug": "gn", "knc": "kr", "quz": "qu", "twi": "ak",
    "no": "nb", "nor": "nb", "chm": "mhr", "tl": "fil", "tgl": "fil",
}

# Codes in the data sets that are not plain language codes, and what they are.
CODE_MAP = {
    "zho_simpl": "zh", "zho-CN": "zh", "zh-CN": "zh", "zh-SG": "zh",
    "zho-TW": "zh-Hant", "zh-TW": "zh-Hant", "zh-HK": "zh-Hant", "zh-MO": "zh-Hant",
    "fa-AF": "prs",       # GATITOS: Dari
    "ar-MA": "ary",       # GATITOS: Darija (Moroccan Arabic)
    "apd-SD": "apd",      # GATITOS: Sudanese Arabic
    "ndc-ZW": "ndc",      # GATITOS: Ndau
    "pa-Arab": "pnb",     # GATITOS: "Lahnda Punjabi (Pakistan)", i.e. Western Punjabi in Shahmukhi
}

# Varieties the data sets keep apart from the usual form of the language: code -> (English name, script).
VARIANTS = {
    "sr-Latn": ("Serbian (Latin)", "Latn"),               # NTREX srp-Latn (sr is Cyrillic: MMWP, srp-Cyrl)
    "zh-Hant": ("Chinese (Traditional)", "Hant"),         # NTREX zho-TW
    "en-GB": ("English (United Kingdom)", "Latn"),        # NTREX eng-GB
    "en-IN": ("English (India)", "Latn"),                 # NTREX eng-IN
    "en-US": ("English (United States)", "Latn"),         # NTREX eng-US
    "fr-CA": ("French (Canada)", "Latn"),                 # NTREX fra-CA
    "pt-BR": ("Portuguese (Brazil)", "Latn"),             # NTREX por-BR
    "es-MX": ("Spanish (Mexico)", "Latn"),                # NTREX spa-MX
    "ber-Latn": ("Tamazight (Latin)", "Latn"),            # GATITOS ber-Latn
    "bjn-Arab": ("Banjar (Arabic)", "Arab"),              # GATITOS
    "bm-Nkoo": ("Bambara (N'Ko)", "Nkoo"),                # GATITOS
    "crh-Latn": ("Crimean Tatar (Latin)", "Latn"),        # GATITOS (its plain crh is Cyrillic)
    "ks-Deva": ("Kashmiri (Devanagari)", "Deva"),         # GATITOS
    "mni-Mtei": ("Manipuri (Meitei Mayek)", "Mtei"),      # GATITOS
    "ms-Arab": ("Malay (Jawi)", "Arab"),                  # GATITOS
    "rhg-Latn": ("Rohingya (Latin)", "Latn"),             # GATITOS
    "sat-Latn": ("Santali (Latin)", "Latn"),              # GATITOS
}

# Languages LinguaMeta lacks (historical, constructed, collective codes): code -> (639-1, 639-3, name, script).
EXTRA = {
    "ang": (None, "ang", "Old English", "Latn"),
    "grc": (None, "grc", "Ancient Greek", "Grek"),          # py3langid
    "hbo": (None, "hbo", "Ancient Hebrew", "Hebr"),         # py3langid
    "vo": ("vo", "vol", "Volapük", "Latn"),                 # py3langid
    "orv": (None, "orv", "Old Russian", "Cyrl"),
    "la": ("la", "lat", "Latin", "Latn"),
    "sa": ("sa", "san", "Sanskrit", "Deva"),
    "io": ("io", "ido", "Ido", "Latn"),
    "ie": ("ie", "ile", "Interlingue", "Latn"),
    "ia": ("ia", "ina", "Interlingua", "Latn"),
    "lfn": (None, "lfn", "Lingua Franca Nova", "Latn"),
    "nov": (None, "nov", "Novial", "Latn"),
    "tzl": (None, "tzl", "Talossan", "Latn"),
    # Retired in 2016 (merged into dtp), but LASER Tatoeba keeps Coastal Kadazan apart from dtp.
    "kzj": (None, "kzj", "Coastal Kadazan", "Latn"),
    # ISO 639-2 collective codes (no ISO 639-3 code exists) as GATITOS and Tatoeba use them.
    "ber": (None, "ber", "Tamazight", "Tfng"),
    "cpf": (None, "cpf", "French-based creoles", "Latn"),
}

# The usual script of languages LinguaMeta lists with several (checked against CLDR likely subtags; Korean
# is Hang as in FLORES and NTREX, CLDR says Kore, which lookups accept).
SCRIPTS = {
    "zh": "Hans", "ja": "Jpan", "ko": "Hang", "yue": "Hant", "sr": "Cyrl", "sh": "Latn", "gom": "Deva",
    "shi": "Arab",  # NTREX's Shilha is in Arabic script (CLDR: Tfng)
    "or": "Orya",  # py3langid; CLDR: Orya
    "aeb": "Arab", "aii": "Syrc", "am": "Ethi", "apc": "Arab", "ary": "Arab", "as": "Beng", "az": "Latn",
    "bal": "Arab", "ban": "Latn", "bbc": "Latn", "be": "Cyrl", "bg": "Cyrl", "bho": "Deva", "bm": "Latn",
    "bn": "Beng", "bo": "Tibt", "brx": "Deva", "bs": "Latn", "bts": "Latn", "bug": "Latn", "crh": "Cyrl",
    "crs": "Latn", "doi": "Deva", "dyu": "Latn", "el": "Grek", "en": "Latn", "fa": "Arab", "ff": "Latn",
    "fil": "Latn", "ga": "Latn", "gu": "Gujr", "he": "Hebr", "hi": "Deva", "hr": "Latn", "hu": "Latn",
    "hy": "Armn", "iu": "Cans", "jv": "Latn", "ka": "Geor", "kaa": "Cyrl", "kab": "Latn", "kk": "Cyrl",
    "kn": "Knda", "ks": "Arab", "ku": "Latn", "ky": "Cyrl", "mag": "Deva", "mai": "Deva", "mak": "Latn",
    "mk": "Cyrl", "ml": "Mlym", "mn": "Cyrl", "mni": "Beng", "mr": "Deva", "ms": "Latn", "ne": "Deva",
    "new": "Deva", "pa": "Guru", "ps": "Arab", "rhg": "Rohg", "rom": "Latn", "ru": "Cyrl", "sat": "Olck",
    "sd": "Arab", "so": "Latn", "sw": "Latn", "syl": "Beng", "ta": "Taml", "te": "Telu", "ti": "Ethi",
    "tk": "Latn", "trp": "Latn", "tyv": "Cyrl", "ug": "Arab", "uk": "Cyrl", "ur": "Arab", "uz": "Latn",
    "vi": "Latn",
}

# English names where LinguaMeta's is not the one users search for (or is not unique).
NAMES = {
    "nb": "Norwegian Bokmål", "ku": "Kurdish", "ak": "Akan", "gd": "Scottish Gaelic", "fy": "Western Frisian",
    "my": "Burmese", "to": "Tongan", "yue": "Cantonese", "mni": "Manipuri", "nso": "Northern Sotho",
}

# Other English names a lookup accepts (besides the data sets' own names, which are added automatically).
OTHER_NAMES = {
    "fil": ["Tagalog"], "zh": ["Mandarin", "Chinese (Simplified)"], "nb": ["Norwegian"], "fa": ["Farsi"],
    "yue": ["Yue Chinese"], "ny": ["Nyanja"], "mni": ["Meitei", "Meiteilon"], "sl": ["Slovene"],
    "ky": ["Kirghiz"], "si": ["Sinhalese"], "fy": ["Frisian"], "ku": ["Kurmanji"], "ckb": ["Central Kurdish"],
    "my": ["Myanmar"], "ak": ["Twi"],
}

# Atlas rows whose language name is not the language of their code (checked by hand).
JOSHI_WRONG_ROWS = {
    ("alz_Latn", "alas"),    # Alur (Uganda) vs Alas (Sumatra)
    ("btx_Latn", "berta"),   # Batak Karo vs Berta (Ethiopia)
    ("cgg_Latn", "chaga"),   # Chiga (Uganda) vs Chaga (Tanzania)
    ("syl_Mymr", "sila"),    # Sylheti vs Sila
}

# Data set languages whose text is not (only) in their registry entry's script: the loaders must know.
DATA_SCRIPT_EXCEPTIONS = {
    ("muse", "zh"): "MUSE's en-zh dictionary is in Traditional characters (zh-Hant)",
    ("tatoeba_laser", "ber"): "LASER Tatoeba's Berber is in Latin script (ber-Latn)",
    ("tatoeba_laser", "cmn"): "LASER Tatoeba's Mandarin mixes Simplified and Traditional characters",
    ("tatoeba_laser", "srp"): "LASER Tatoeba's Serbian is two-thirds Latin, one-third Cyrillic",
    ("tatoeba_laser", "lfn"): "Lingua Franca Nova is written in Latin and Cyrillic script",
}

# --- reading the data sets --------------------------------------------------------------------------------


def read_linguameta(shared: Path) -> tuple[dict[str, dict], dict[str, str]]:
    by_bcp47, by_iso3 = {}, {}
    with open(shared / "language_tiers" / "linguameta.tsv", encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f, delimiter="\t"):
            by_bcp47[row["bcp_47_code"]] = row
            by_iso3.setdefault(row["iso_639_3_code"], row["bcp_47_code"])
    return by_bcp47, by_iso3


def read_tsv(path: Path) -> list[dict[str, str]]:
    with open(path, encoding="utf-8", newline="") as f:
        return list(csv.DictReader((line for line in f if not line.startswith("#")), delimiter="\t"))


def dataset_codes(shared: Path) -> dict[str, list[tuple[str, str | None]]]:
    """Data set -> [(code as the data set writes it, the data set's English name or None)]."""

    def stems(folder: str, prefix: str, suffix: str) -> list[tuple[str, None]]:
        files = sorted(p.name for p in (shared / folder).iterdir())
        return [(n[len(prefix):-len(suffix)], None) for n in files if n.startswith(prefix) and n.endswith(suffix)]

    seaeval = set()
    for name in ("cross_mmlu.json", "cross_logiqa.json"):
        items = json.loads((shared / "seaeval_cross" / name).read_text(encoding="utf-8"))
        seaeval |= {key for item in items for key in item if key != "id"}
    ntrex = [("eng", "English")]
    for line in (shared / "ntrex128_sample" / "LANGUAGES.tsv").read_text(encoding="utf-8").splitlines():
        code, name = line.split(None, 1)
        ntrex.append((code, name.strip()))
    gatitos = [(row["code"], row["name"]) for row in read_tsv(shared / "gatitos" / "languages.tsv")]
    gatitos += stems("gatitos", "en_", ".tsv")
    tatoeba = sorted({(n.split(".")[1].split("-")[0], None) for n in
                      (p.name for p in (shared / "tatoeba_laser").iterdir()) if n.startswith("tatoeba.")})
    benchmark = [(row["code"], row["name"]) for row in read_tsv(shared / "language_tiers" / "benchmark_languages.tsv")]
    return {
        "mmwp": stems("mmwp", "test_", ".json"),
        "mgsm": stems("mgsm", "mgsm_", ".tsv"),
        "seaeval_cross": [(name, name) for name in sorted(seaeval)],
        "xquad": stems("xquad", "xquad.", ".json"),
        "ntrex128": ntrex,
        "muse": [("en", None)] + stems("muse_dictionaries", "en-", ".txt"),
        "wechsel": [("en", None)] + stems("wechsel_dicts", "en-", ".tsv"),
        "gatitos": [("en", None)] + gatitos,
        "tatoeba_laser": [("eng", None)] + tatoeba,
        "benchmark_languages": benchmark,
        # Every label of the language identifier crosslift uses, so fidelity can name what it detects.
        "py3langid": [(label, None) for label in py3langid_labels()],
    }


def py3langid_labels() -> list[str]:
    """Language labels of py3langid's built-in model ('zxx', no linguistic content, left out)."""
    from py3langid.langid import _get_identifier

    return sorted(label for label in _get_identifier().nb_classes if label != "zxx")


# --- which script the data is written in -------------------------------------------------------------------

# First word of a character's Unicode name -> ISO 15924 code.
_UNICODE_SCRIPTS = {
    "LATIN": "Latn", "CYRILLIC": "Cyrl", "ARABIC": "Arab", "GREEK": "Grek", "HEBREW": "Hebr", "ARMENIAN": "Armn",
    "GEORGIAN": "Geor", "DEVANAGARI": "Deva", "BENGALI": "Beng", "GURMUKHI": "Guru", "GUJARATI": "Gujr",
    "ORIYA": "Orya", "TAMIL": "Taml", "TELUGU": "Telu", "KANNADA": "Knda", "MALAYALAM": "Mlym", "SINHALA": "Sinh",
    "THAI": "Thai", "LAO": "Laoo", "TIBETAN": "Tibt", "MYANMAR": "Mymr", "KHMER": "Khmr", "ETHIOPIC": "Ethi",
    "HANGUL": "Hang", "HIRAGANA": "Kana", "KATAKANA": "Kana", "CJK": "Hani", "THAANA": "Thaa", "SYRIAC": "Syrc",
    "TIFINAGH": "Tfng", "NKO": "Nkoo", "MEETEI": "Mtei", "OL": "Olck", "CANADIAN": "Cans", "HANIFI": "Rohg",
}
# Characters that differ between Simplified and Traditional Chinese (们/們, 这/這, ...), to tell Hans from Hant.
_SIMPLIFIED = set("们这说国会来时对为个发经过还进动现实问应开关学从没")
_TRADITIONAL = set("們這說國會來時對為個發經過還進動現實問應開關學從沒") - _SIMPLIFIED


def detect_script(texts: list[str]) -> str | None:
    """The ISO 15924 script most letters in texts are written in (None when there are no letters)."""
    counts: Counter[str] = Counter()
    for char in "".join(texts):
        if unicodedata.category(char).startswith("L"):
            counts[_UNICODE_SCRIPTS.get(unicodedata.name(char, "?").split()[0], "Zyyy")] += 1
    if not counts:
        return None
    script = counts.most_common(1)[0][0]
    if script in ("Hani", "Kana"):
        if counts["Kana"] > 0.05 * (counts["Hani"] + counts["Kana"]):
            return "Jpan"
        joined = "".join(texts)
        simplified = sum(joined.count(c) for c in _SIMPLIFIED)
        traditional = sum(joined.count(c) for c in _TRADITIONAL)
        return "Hant" if traditional > simplified else "Hans"
    return script


def _lines(path: Path, n: int, skip: int = 0) -> list[str]:
    with open(path, encoding="utf-8") as f:
        return [line.rstrip("\n") for _, line in zip(range(skip + n), f, strict=False)][skip:]


def sample_texts(shared: Path, dataset: str, code: str, n: int = 50) -> list[str] | None:
    """A few sentences or words of a data set's language (its own code), None where it has no file for it."""
    if dataset == "mmwp":
        items = json.loads((shared / "mmwp" / f"test_{code}.json").read_text(encoding="utf-8"))
        return [item["question"] for item in items[:n]]
    if dataset == "mgsm":
        return [line.split("\t")[0] for line in _lines(shared / "mgsm" / f"mgsm_{code}.tsv", n)]
    if dataset == "xquad":
        data = json.loads((shared / "xquad" / f"xquad.{code}.json").read_text(encoding="utf-8"))["data"]
        return [p["context"] for article in data[:3] for p in article["paragraphs"][:5]]
    if dataset == "seaeval_cross":
        items = json.loads((shared / "seaeval_cross" / "cross_mmlu.json").read_text(encoding="utf-8"))
        return [item[code]["question"] for item in items[:n]]
    if dataset == "ntrex128":
        path = shared / "ntrex128_sample" / f"newstest2019-{'src' if code == 'eng' else 'ref'}.{code}.txt"
        return _lines(path, n) if path.exists() else None
    if dataset == "tatoeba_laser":
        return _lines(shared / "tatoeba_laser" / f"tatoeba.{code}-eng.{code}", n) if code != "eng" else None
    # Dictionaries: the target side, past the numbers and names at the top.
    if dataset == "gatitos":
        path = shared / "gatitos" / f"en_{code}.tsv"
        return [line.split("\t")[-1] for line in _lines(path, 4 * n, skip=200)] if path.exists() else None
    if dataset == "muse":
        path = shared / "muse_dictionaries" / f"en-{code}.txt"
        return [line.split(" ")[-1] for line in _lines(path, 4 * n, skip=2000)] if path.exists() else None
    if dataset == "wechsel":
        path = shared / "wechsel_dicts" / f"en-{code}.tsv"
        return [line.split("\t")[-1] for line in _lines(path, 4 * n, skip=200)] if path.exists() else None
    return None


# --- building the table -----------------------------------------------------------------------------------


class Builder:
    """Maps every data set's codes to registry entries and builds the rows of languages.tsv."""

    def __init__(self, shared: Path) -> None:
        self.shared = shared
        self.meta, self.iso3_to_bcp47 = read_linguameta(shared)
        self.extra_by_iso3 = {iso3: code for code, (_, iso3, _, _) in EXTRA.items()}

    def language_code(self, code: str) -> str | None:
        """A plain language code (ISO 639-1/2B/3, BCP-47 language subtag) -> registry base code."""
        if code in FOLD or code in EXTRA:
            return FOLD.get(code, code)
        if code in self.extra_by_iso3:
            return self.extra_by_iso3[code]
        bcp47 = code if code in self.meta else self.iso3_to_bcp47.get(code)
        return FOLD.get(bcp47, bcp47) if bcp47 else None

    def base_script(self, code: str) -> str:
        if code in EXTRA:
            return EXTRA[code][3]
        if code in SCRIPTS:
            return SCRIPTS[code]
        scripts = [s.strip() for s in self.meta[code]["writing_systems"].split(",") if s.strip()]
        if len(scripts) != 1:
            raise SystemExit(f"{code}: LinguaMeta lists scripts {scripts}; choose one in SCRIPTS")
        return scripts[0]

    def canonical(self, raw: str) -> str:
        """A data set's code ("swh", "zho-CN", "srp-Latn", "eng-GB") -> canonical registry code."""
        if raw in CODE_MAP or raw in VARIANTS:
            return CODE_MAP.get(raw, raw)
        lang, *subtags = raw.replace("_", "-").split("-")
        base = self.language_code(lang)
        if base is None:
            raise SystemExit(f"unknown data set code {raw!r}: add it to CODE_MAP, FOLD or EXTRA")
        for subtag in subtags:
            if len(subtag) == 4 and subtag.title() != self.base_script(base):
                variant = f"{base}-{subtag.title()}"
                if variant not in VARIANTS:
                    raise SystemExit(f"{raw!r}: {subtag} is not {base}'s usual script; add {variant} to VARIANTS")
                return variant
            if len(subtag) != 4 and f"{base}-{subtag.upper()}" in VARIANTS:
                return f"{base}-{subtag.upper()}"
        return base

    def language(self, code: str) -> Language:
        if code in VARIANTS:
            base = self.language(code.split("-")[0])
            name, script = VARIANTS[code]
            return Language(code, base.iso639_1, base.iso639_3, name, script)
        if code in EXTRA:
            return Language(code, *EXTRA[code])
        row = self.meta[code]
        return Language(
            code=code,
            iso639_1=code if len(code) == 2 else None,
            iso639_3=row["iso_639_3_code"],
            name=NAMES.get(code, row["english_name"]),
            script=self.base_script(code),
        )

    def build(self) -> tuple[list[Row], dict[str, dict[str, str]]]:
        """The registry rows, and for each data set its codes -> canonical codes."""
        datasets = dataset_codes(self.shared)
        targets: dict[str, dict[str, str]] = {  # SeaEval is keyed by English names: resolved by name below
            dataset: {raw: self.canonical(raw) for raw, _ in codes}
            for dataset, codes in datasets.items() if dataset != "seaeval_cross"
        }
        codes = set().union(*(t.values() for t in targets.values()))
        codes |= {c.split("-")[0] for c in codes}  # every variant has its base entry
        languages = {code: self.language(code) for code in sorted(codes)}

        aliases: dict[str, set[str]] = defaultdict(set)
        for alias, code in [*FOLD.items(), *CODE_MAP.items()]:
            aliases[code].add(alias)
        for code in languages:
            if code in self.meta:
                row = self.meta[code]
                aliases[code] |= {c for c in (row["iso_639_2b_code"], row["deprecated_bcp_47_code"]) if c}
        other_names: dict[str, list[str]] = defaultdict(list, {c: list(n) for c, n in OTHER_NAMES.items()})

        def rows() -> list[Row]:
            return [(lang, sorted(aliases[code]), other_names[code]) for code, lang in languages.items()]

        # A data set's code that the lookup rules do not already send to its entry becomes an alias.
        reg = _Registry(rows())
        for mapping in targets.values():
            for raw, code in mapping.items():
                found = reg.resolve(raw)
                if found is None or found.code != code:
                    aliases[code].add(raw)
        # The data sets' own English names become other names, unless two entries claim one.
        reg = _Registry(rows())
        claims: dict[str, set[str]] = defaultdict(set)
        named = [(" ".join(name.split()), targets[dataset][raw])
                 for dataset, codes in datasets.items() if dataset in targets for raw, name in codes if name]
        for name, code in named:
            claims[_name_key(name)].add(code)
        for name, code in named:
            if _name_key(name) not in reg.names and len(claims[_name_key(name)]) == 1:
                if name not in other_names[code]:
                    other_names[code].append(name)
        reg = _Registry(rows())
        targets["seaeval_cross"] = {}
        for name, _ in datasets["seaeval_cross"]:
            if _name_key(name) not in reg.names:
                raise SystemExit(f"SeaEval language {name!r} is no registry name")
            targets["seaeval_cross"][name] = reg.names[_name_key(name)]
        self.check(reg, targets)
        return rows(), targets

    def check(self, reg: _Registry, targets: dict[str, dict[str, str]]) -> None:
        """Each data set's text is in its entry's script, and no data set has two codes for one entry."""
        for dataset, mapping in targets.items():
            for raw, code in mapping.items():
                texts = sample_texts(self.shared, dataset, raw)
                found = detect_script(texts) if texts else None
                expected = reg.languages[code].script
                if found and found != expected and (dataset, raw) not in DATA_SCRIPT_EXCEPTIONS:
                    raise SystemExit(f"{dataset} {raw} is written in {found}, but registry {code} is {expected}")
            codes = Counter(mapping.values())
            clashes = {c: [raw for raw in mapping if mapping[raw] == c] for c, n in codes.items() if n > 1}
            if clashes:
                print(f"note: {dataset}: several codes name one entry: {clashes}")


# --- tier rules -----------------------------------------------------------------------------------------


def joshi_classes(shared: Path, reg: _Registry, verbose: bool = False) -> dict[str, tuple[int, str]]:
    """Registry base code -> (Joshi class, where it came from) for every registry language with a class.

    The atlas maps Joshi's language names to ISO 639-3 codes with LLMs, so a code can carry a wrong language
    ("eng_Latn" is both "english" 5 and "enga" 0). Where several entries land on one language, the ones whose
    name matches the registry's win, then the highest class; benchmark_languages.tsv overrides all of them.
    Rows whose name is another language than their code's, found by reading the list, are in JOSHI_WRONG_ROWS.
    """
    atlas = json.loads((shared / "language_tiers" / "joshi2020_6classes_langresourceatlas.json").read_text())
    candidates: dict[str, list[tuple[int, str, str]]] = defaultdict(list)
    for cls, records in atlas.items():
        for record in records:
            lang = record["lang_code"].split("_")[0]
            if len(lang) != 3:  # "ru_Cyrl" = belorussian, "en_Latn" = simple english: broken upstream rows
                continue
            found = reg.resolve(lang)
            if found is not None and "-" not in found.code:
                candidates[found.code].append((int(cls), record["lang_code"], record["lang_name"]))
    names = defaultdict(set)
    for key, code in reg.names.items():
        names[code].add(key)

    def same_name(code: str, atlas_name: str) -> bool:
        key = _name_key(atlas_name)
        return any(SequenceMatcher(None, key, name).ratio() >= 0.8 for name in names[code])

    chosen: dict[str, tuple[int, str]] = {}
    for code, found in sorted(candidates.items()):
        found = [c for c in found if (c[1], c[2]) not in JOSHI_WRONG_ROWS]
        if not found:
            continue
        cls, atlas_code, atlas_name = max([c for c in found if same_name(code, c[2])] or found)
        chosen[code] = (cls, f"{atlas_code} {atlas_name}")
        if verbose and (len(found) > 1 or not same_name(code, atlas_name)):
            print(f"joshi: {code} ({reg.languages[code].name}) <- class {cls} {atlas_name!r}"
                  f" of {[(c, n) for c, _, n in found]}")
    for row in read_tsv(shared / "language_tiers" / "benchmark_languages.tsv"):
        code = reg.resolve(row["code"]).code
        cls = int(row["joshi2020_class"])
        if code in chosen and chosen[code][0] != cls:
            print(f"joshi: {code}: benchmark_languages.tsv says {cls}, the atlas {chosen[code]}; using {cls}")
        chosen[code] = (cls, "benchmark_languages.tsv")
    return chosen


def joshi_tier(cls: int) -> str:
    return "low" if cls <= 2 else "medium" if cls == 3 else "high"


# --- writing ----------------------------------------------------------------------------------------------

LINGUAMETA = ("LinguaMeta, google-research/url-nlp linguameta/linguameta.tsv "
              "@ 452a21ad3dae5668c06ceeac21ff073e1e40f9be (CC BY-SA 4.0)")

REGISTRY_HEADER = f"""\
# crosslift language registry: generated by tools/build_language_registry.py; do not edit by hand.
# Licence: CC BY-SA 4.0, as the LinguaMeta data it is derived from.
# Sources:
#   {LINGUAMETA}:
#     ISO 639-1/639-3/639-2B codes, deprecated codes, English names, writing systems.
#   The language codes and names used by the data sets the registry covers: MMWP (LinguaLIFT), MGSM,
#     SeaEval Cross-MMLU/Cross-LogiQA, XQuAD, NTREX-128 (LANGUAGES.tsv, CC BY-SA 4.0), MUSE, WECHSEL,
#     GATITOS (languages table, CC BY 4.0), LASER Tatoeba.
#   The script of a language written in several: CLDR likely subtags, checked against the data itself.
# Columns: code (canonical crosslift code), iso639_1, iso639_3, name (English), script (ISO 15924),
#   aliases (other codes that mean this entry), other_names (other English names); lists are |-separated.
"""


def write_registry(rows: list[Row], path: Path) -> None:
    lines = [REGISTRY_HEADER + "code\tiso639_1\tiso639_3\tname\tscript\taliases\tother_names"]
    for lang, aliases, other_names in rows:
        lines.append("\t".join([lang.code, lang.iso639_1 or "", lang.iso639_3, lang.name, lang.script,
                                "|".join(aliases), "|".join(other_names)]))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def write_rule(path: Path, name: str, description: str, source: str, notes: str, columns: list[str],
               rows: list[list[str]]) -> None:
    assert all(row[1] in TIERS for row in rows), name
    head = [f"# name: {name}", f"# description: {description}", f"# source: {source}", "#"]
    head += [f"# {line}".rstrip() for line in notes.strip().splitlines()]
    body = ["\t".join(columns)] + ["\t".join(row) for row in rows]
    path.write_text("\n".join(head + body) + "\n", encoding="utf-8")


MMWP_LLAMA2_NOTES = """
The LinguaLIFT paper (arXiv:2412.12499) splits MMWP's 48 languages into 10 high-, 17 medium- and 21 low-resource
languages but publishes no per-language list. Its base model is Llama-2-7B, and the Llama 2 paper (Touvron et
al. 2023, arXiv:2307.09288, Table 10) lists each language's share of the pretraining data (those at or above
0.005%). Taking the MMWP languages with a share of at least 0.10% as high, those listed below 0.10% as medium
and those not listed as low gives exactly 10 / 17 / 21. That exact match is the evidence: the assignment is an
inference, not a published table. Shares as recalled from that table (de 0.17%, fr 0.16% and zh 0.13% also
confirmed by press coverage of the paper); Llama 2 lists Norwegian as "no", here nb.
Copied from shared/data/language_tiers/mmwp_tiers_llama2.tsv (see its SOURCE.md).
Columns: code, tier, llama2_pretraining_share_percent ("<0.005": not listed in Table 10).
"""

JOSHI_NOTES = """
Joshi et al. (2020, ACL) place languages in classes 0 (left-behinds) to 5 (winners) by the labelled and
unlabelled data available; this rule maps 0-2 to low, 3 to medium, 4-5 to high, for every registry language
with a class (a script or regional variant such as sr-Latn takes its base language's tier).
Classes: the 53 benchmark languages from shared/data/language_tiers/benchmark_languages.tsv; the others from
MaLA-LM/LangResourceAtlas Joshi-et-al-6-classes.json, whose ISO codes were assigned to Joshi's names by LLMs
and contain errors. Where several atlas rows land on one language, the row whose name matches the registry's
name wins, then the highest class. Column atlas_row says which row (or benchmark_languages.tsv) gave the class.
On the 48 MMWP languages: 13 low / 12 medium / 23 high (not LinguaLIFT's 21 / 17 / 10; see mmwp-llama2).
"""


def build_rules(shared: Path, reg: _Registry, mmwp_codes: list[str], out: Path, verbose: bool) -> None:
    mmwp = read_tsv(shared / "language_tiers" / "mmwp_tiers_llama2.tsv")
    rows = [[reg.resolve(r["code"]).code, r["tier"], r["llama2_pretraining_share_percent"]] for r in mmwp]
    if sorted(r[0] for r in rows) != sorted(mmwp_codes):
        raise SystemExit("mmwp_tiers_llama2.tsv does not list exactly MMWP's languages")
    counts = Counter(r[1] for r in rows)
    if (counts["high"], counts["medium"], counts["low"]) != (10, 17, 21):
        raise SystemExit(f"mmwp_tiers_llama2.tsv splits {dict(counts)}, not 10/17/21")
    write_rule(
        out / "mmwp-llama2.tsv", "mmwp-llama2",
        "MMWP's 10 high / 17 medium / 21 low split (LinguaLIFT), reconstructed from Llama 2's pretraining shares",
        "LinguaLIFT (arXiv:2412.12499) tier counts + Llama 2 (arXiv:2307.09288) Table 10 language shares",
        MMWP_LLAMA2_NOTES, ["code", "tier", "llama2_pretraining_share_percent"], rows,
    )
    classes = joshi_classes(shared, reg, verbose)
    rows = [[code, joshi_tier(cls), str(cls), origin] for code, (cls, origin) in sorted(classes.items())]
    write_rule(
        out / "joshi2020.tsv", "joshi2020",
        "Joshi et al. (2020) resource classes: 0-2 low, 3 medium, 4-5 high",
        "Joshi et al. 2020 (ACL, lang2tax.txt) via MaLA-LM/LangResourceAtlas @ ea4606be (GPL-3.0), "
        "benchmark languages from shared/data/language_tiers/benchmark_languages.tsv",
        JOSHI_NOTES, ["code", "tier", "joshi2020_class", "atlas_row"], rows,
    )
    on_mmwp = Counter(joshi_tier(classes[c][0]) for c in mmwp_codes)
    print(f"joshi2020 on MMWP: {dict(on_mmwp)}; {len(rows)} languages with a class")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=REPO.parent / "shared" / "data")
    parser.add_argument("--verbose", action="store_true", help="show how each Joshi class was chosen")
    args = parser.parse_args()
    builder = Builder(args.shared)
    rows, targets = builder.build()
    write_registry(rows, RESOURCES / "languages.tsv")
    (RESOURCES / "tier_rules").mkdir(exist_ok=True)
    reg = _Registry(rows)
    build_rules(args.shared, reg, sorted(targets["mmwp"].values()), RESOURCES / "tier_rules", args.verbose)
    print(f"{len(rows)} languages -> {RESOURCES / 'languages.tsv'}")


if __name__ == "__main__":
    main()
