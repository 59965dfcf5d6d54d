"""Language registry and tier rules: lookups, the data sets in ../shared/data, built-in and user rules."""

from __future__ import annotations

import importlib.util
import json
import re
from collections import Counter
from pathlib import Path

import pytest

from crosslift.errors import CrossliftError, DataError
from crosslift.languages import (
    DEFAULT_TIER_RULE,
    TIERS,
    Language,
    TierRule,
    UnknownLanguageError,
    all_languages,
    available_tier_rules,
    get_language,
    load_tier_rule,
    normalize_code,
    same_language,
)

REPO_ROOT = Path(__file__).resolve().parents[1]
MMWP_48 = (
    "af ar be bg bn ca cs da de en es eu fi fr gu ha hi hr hu hy id is it ja kn ko lb mk ml mr nb ne nl pl pt "
    "ro ru sk sl sr sv sw ta te th uk vi zh"
).split()


@pytest.fixture(scope="module")
def generator():
    """tools/build_language_registry.py as a module (it reads ../shared; the package does not)."""
    path = REPO_ROOT / "tools" / "build_language_registry.py"
    spec = importlib.util.spec_from_file_location("build_language_registry", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def dataset_codes(shared_data, generator):
    return generator.dataset_codes(shared_data)


# --- the table ---------------------------------------------------------------------------------------------


def test_registry_is_a_few_hundred_consistent_rows():
    languages = all_languages()
    assert 200 <= len(languages) <= 400
    codes = [lang.code for lang in languages]
    assert len(set(codes)) == len(codes)
    assert len({lang.name.lower() for lang in languages}) == len(languages)
    for lang in languages:
        assert re.fullmatch(r"[a-z]{3}", lang.iso639_3), lang
        assert lang.iso639_1 is None or re.fullmatch(r"[a-z]{2}", lang.iso639_1), lang
        assert re.fullmatch(r"[A-Z][a-z]{3}", lang.script), lang
        base, _, suffix = lang.code.partition("-")
        if suffix:  # a variant: its base entry exists and shares its ISO codes
            assert get_language(base).code == base
            assert (lang.iso639_1, lang.iso639_3) == (
                get_language(base).iso639_1,
                get_language(base).iso639_3,
            )
            assert re.fullmatch(r"[A-Z][a-z]{3}|[A-Z]{2}", suffix), lang
        else:  # ISO 639-1 when the language has one, else ISO 639-3
            assert lang.code == (lang.iso639_1 or lang.iso639_3), lang
        assert get_language(lang.code) is lang


@pytest.mark.parametrize(
    ("code", "script"),
    [
        ("sr", "Cyrl"),
        ("sr-Latn", "Latn"),
        ("zh", "Hans"),
        ("zh-Hant", "Hant"),
        ("ja", "Jpan"),
        ("ko", "Hang"),
        ("yue", "Hant"),
        ("th", "Thai"),
        ("hi", "Deva"),
        ("ne", "Deva"),
        ("mr", "Deva"),
        ("bn", "Beng"),
        ("ta", "Taml"),
        ("te", "Telu"),
        ("kn", "Knda"),
        ("ml", "Mlym"),
        ("gu", "Gujr"),
        ("hy", "Armn"),
        ("ar", "Arab"),
        ("ru", "Cyrl"),
        ("uk", "Cyrl"),
        ("be", "Cyrl"),
        ("bg", "Cyrl"),
        ("mk", "Cyrl"),
        ("el", "Grek"),
        ("he", "Hebr"),
        ("sw", "Latn"),
        ("az", "Latn"),
        ("uz", "Latn"),
        ("mn", "Cyrl"),
        ("pa", "Guru"),
        ("pnb", "Arab"),
        ("ms-Arab", "Arab"),
        ("bm-Nkoo", "Nkoo"),
        ("ber", "Tfng"),
    ],
)
def test_scripts_checked_by_hand(code, script):
    assert get_language(code).script == script


def test_uses_spaces():
    for code in ("zh", "zh-Hant", "ja", "th", "lo", "km", "my", "bo", "dz", "yue", "wuu"):
        assert not get_language(code).uses_spaces, code
    for code in ("en", "ko", "ar", "hi", "sw", "ru", "am", "sr-Latn"):
        assert get_language(code).uses_spaces, code
    assert not Language("xx", None, "xxx", "Test", "Hans").uses_spaces


# --- lookups ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ("sw", "sw"),
        ("swh", "sw"),
        ("swa", "sw"),
        ("SWH_Latn", "sw"),
        ("Swahili", "sw"),
        ("swahili", "sw"),
        ("cmn", "zh"),
        ("zho", "zh"),
        ("zho-CN", "zh"),
        ("zh_cn", "zh"),
        ("cmn_Hans", "zh"),
        ("Chinese", "zh"),
        ("zho-TW", "zh-Hant"),
        ("zh-Hant", "zh-Hant"),
        ("cmn_Hant", "zh-Hant"),
        ("zh-Hans-TW", "zh"),
        ("nob", "nb"),
        ("no", "nb"),
        ("nor", "nb"),
        ("Norwegian", "nb"),
        ("Norwegian Bokmal", "nb"),
        ("fil", "fil"),
        ("tl", "fil"),
        ("tgl", "fil"),
        ("Tagalog", "fil"),
        ("npi", "ne"),
        ("npi_Deva", "ne"),
        ("arb", "ar"),
        ("arb_Arab", "ar"),
        ("zsm", "ms"),
        ("msa", "ms"),
        ("pes", "fa"),
        ("prs", "prs"),
        ("fa-AF", "prs"),
        ("eng-GB", "en-GB"),
        ("eng-US", "en-US"),
        ("eng", "en"),
        ("en-AU", "en"),
        ("por-BR", "pt-BR"),
        ("pt_br", "pt-BR"),
        ("pt-PT", "pt"),
        ("spa-MX", "es-MX"),
        ("es-419", "es"),
        ("fra-CA", "fr-CA"),
        ("srp-Cyrl", "sr"),
        ("srp_Latn", "sr-Latn"),
        ("sr-Latn-RS", "sr-Latn"),
        ("aze-Latn", "az"),
        ("ckb-Arab", "ckb"),
        ("kor_Kore", "ko"),
        ("kor_Hang", "ko"),
        ("iw", "he"),
        ("apd-SD", "apd"),
        ("ar-MA", "ary"),
        ("pa-Arab", "pnb"),
        ("bm-Nkoo", "bm-Nkoo"),
        ("chm", "mhr"),
        ("  SW  ", "sw"),
        ("ga", "ga"),
        ("gaa", "gaa"),
    ],
)
def test_lookup(query, code):
    assert normalize_code(query) == code
    assert get_language(query).code == code


def test_lookup_of_a_language_object_returns_the_entry():
    assert get_language(get_language("swh")) is get_language("sw")


@pytest.mark.parametrize(
    ("query", "suggestion", "hint"),
    [
        ("swahli", "sw", "did you mean sw (Swahili)"),
        ("Portugese", "pt", "pt (Portuguese)"),
        ("hi-Latn", "hi", "hi (Hindi)"),
        ("tagalg", "fil", "fil (Filipino)"),
    ],
)
def test_unknown_language_suggests_close_matches(query, suggestion, hint):
    with pytest.raises(UnknownLanguageError) as info:
        get_language(query)
    assert isinstance(info.value, CrossliftError)
    assert info.value.suggestions[0] == suggestion
    assert hint in str(info.value)
    assert repr(query) in str(info.value)


@pytest.mark.parametrize("query", ["", "qqq", "xx", None, "sw-Latn-KE-extra"])
def test_unknown_language_without_close_matches(query):
    with pytest.raises(UnknownLanguageError, match="unknown language"):
        normalize_code(query)


def test_same_language_normalizes_and_compares_unknown_codes_as_text():
    assert same_language("swh", "Swahili") and same_language("sw", "SW") and same_language("no", "nb")
    assert not same_language("sw", "en") and not same_language("zh", "zh-Hant")
    assert same_language("QQQ", "qqq") and not same_language("qqq", "sw")


# --- every language of the shared data sets ------------------------------------------------------------


def test_every_shared_dataset_language_resolves(shared_data, dataset_codes):
    assert {code for code, _ in dataset_codes["mmwp"]} == set(MMWP_48)
    unknown = []
    for dataset, codes in dataset_codes.items():
        for code, name in codes:
            for query in (code, name) if name else (code,):
                try:
                    get_language(query)
                except UnknownLanguageError as err:
                    unknown.append(f"{dataset}: {err}")
    assert unknown == []
    tiers_dir = shared_data / "language_tiers"
    for path, column in [
        ("mmwp_languages_lingualift.tsv", "code_as_in_source"),
        ("mmwp_tiers_llama2.tsv", "code"),
        ("benchmark_languages.tsv", "code"),
        ("benchmark_languages.tsv", "iso639_3_script"),
    ]:
        lines = (tiers_dir / path).read_text(encoding="utf-8").splitlines()
        column_index = lines[0].split("\t").index(column)
        for line in lines[1:]:
            get_language(line.split("\t")[column_index])
    ntrex = (shared_data / "ntrex128_sample" / "LANGUAGES.tsv").read_text(encoding="utf-8").splitlines()
    assert len(ntrex) == 129  # 127 sampled references + the two Swiss German dialects left out of the sample
    assert {normalize_code(line.split()[0]) for line in ntrex} >= {"en-GB", "en-US", "en-IN", "zh", "zh-Hant"}


def test_shared_dataset_codes_that_must_stay_apart_do(shared_data):
    """Within one data set, two files never fold into one registry entry (en-GB vs en-US, por vs por-BR...)."""
    folders = {
        "ntrex128_sample": r"newstest2019-ref\.(.+)\.txt",
        "tatoeba_laser": r"tatoeba\.(\w+)-eng\.\1",
        "gatitos": r"en_(.+)\.tsv",
        "muse_dictionaries": r"en-(.+)\.txt",
        "wechsel_dicts": r"en-(.+)\.tsv",
        "mmwp": r"test_(.+)\.json",
        "xquad": r"xquad\.(.+)\.json",
        "mgsm": r"mgsm_(.+)\.tsv",
    }
    for folder, pattern in folders.items():
        codes = [m.group(1) for p in (shared_data / folder).iterdir() if (m := re.fullmatch(pattern, p.name))]
        assert codes, folder
        entries = Counter(normalize_code(code) for code in codes)
        assert [e for e, n in entries.items() if n > 1] == [], folder


@pytest.mark.parametrize(
    ("dataset_code", "code"),
    [
        ("zho-CN", "zh"),
        ("zho-TW", "zh-Hant"),
        ("srp-Cyrl", "sr"),
        ("srp-Latn", "sr-Latn"),
        ("msa", "ms"),
        ("swa", "sw"),
        ("fas", "fa"),
        ("prs", "prs"),
        ("nep", "ne"),
        ("arb", "ar"),
        ("yue", "yue"),  # NTREX
        ("cmn", "zh"),
        ("swh", "sw"),
        ("zsm", "ms"),
        ("tgl", "fil"),
        ("lvs", "lv"),
        ("ara", "ar"),  # Tatoeba
        ("kzj", "kzj"),
        ("dtp", "dtp"),
        ("kur", "ku"),
        ("wuu", "wuu"),
        ("ber-Latn", "ber-Latn"),
        ("ber", "ber"),
        ("crh-Latn", "crh-Latn"),
        ("ndc-ZW", "ndc"),  # GATITOS
        ("ks-Deva", "ks-Deva"),
        ("mni-Mtei", "mni-Mtei"),
        ("jam", "jam"),
        ("cpf", "cpf"),
        ("ak", "ak"),
        ("no", "nb"),
        ("sh", "sh"),  # MUSE, WECHSEL
        ("Filipino", "fil"),
        ("Malay", "ms"),
        ("Chinese", "zh"),
    ],  # SeaEval
)
def test_dataset_codes_map_to_the_right_entry(dataset_code, code):
    assert normalize_code(dataset_code) == code


def test_data_is_written_in_the_registry_script(shared_data, generator, dataset_codes):
    """A sample of every data set's text is in its entry's script, but for the known, documented exceptions."""
    checked = 0
    for dataset, codes in dataset_codes.items():
        for code, _ in codes:
            texts = generator.sample_texts(shared_data, dataset, code)
            if not texts:
                continue
            found, expected = generator.detect_script(texts), get_language(code).script
            if (dataset, code) in generator.DATA_SCRIPT_EXCEPTIONS:
                assert found != expected, f"{dataset} {code} is no longer an exception"
            else:
                assert found == expected, f"{dataset} {code}: {found} text, registry says {expected}"
            checked += 1
    assert checked > 400


def test_detect_script(generator):
    assert generator.detect_script(["我们这个国家"]) == "Hans"
    assert generator.detect_script(["我們這個國家"]) == "Hant"
    assert generator.detect_script(["これは日本語の文です"]) == "Jpan"
    assert generator.detect_script(["Српски језик", "x"]) == "Cyrl"
    assert generator.detect_script(["123 !?"]) is None


def test_shipped_files_are_what_the_generator_writes(shared_data, generator, tmp_path):
    rows, targets = generator.Builder(shared_data).build()
    generator.write_registry(rows, tmp_path / "languages.tsv")
    shipped = REPO_ROOT / "src" / "crosslift" / "resources"
    assert (tmp_path / "languages.tsv").read_text() == (shipped / "languages.tsv").read_text()
    reg = generator._Registry(rows)
    generator.build_rules(shared_data, reg, sorted(targets["mmwp"].values()), tmp_path, verbose=False)
    for name in ("mmwp-llama2.tsv", "joshi2020.tsv"):
        assert (tmp_path / name).read_text() == (shipped / "tier_rules" / name).read_text(), name


# --- built-in tier rules -------------------------------------------------------------------------------


def test_builtin_rules_are_listed_and_carry_their_metadata():
    assert {"mmwp-llama2", "joshi2020"} <= set(available_tier_rules())
    assert DEFAULT_TIER_RULE == "mmwp-llama2"
    for name in available_tier_rules():
        rule = load_tier_rule(name)
        assert isinstance(rule, TierRule)
        assert rule.name == name
        assert rule.description and "\n" not in rule.description
        assert rule.source
        assert set(rule.tiers.values()) <= set(TIERS)
        assert all(get_language(code).code == code for code in rule.tiers)


def test_mmwp_llama2_splits_the_48_languages_10_17_21():
    rule = load_tier_rule("mmwp-llama2")
    assert sorted(rule.tiers) == sorted(MMWP_48)
    assert [len(rule.languages_in(t)) for t in ("high", "medium", "low")] == [10, 17, 21]
    assert set(rule.languages_in("high")) == {"en", "de", "fr", "sv", "zh", "es", "ru", "nl", "it", "ja"}
    for code in ("pl", "pt", "ko", "sr", "nb", "id", "hr"):
        assert rule.tier_of(code) == "medium", code
    for code in ("sw", "te", "bn", "th", "ne", "ar", "hi", "af"):
        assert rule.tier_of(code) == "low", code
    assert rule.columns["de"]["llama2_pretraining_share_percent"] == "0.17"
    assert rule.columns["sw"]["llama2_pretraining_share_percent"] == "<0.005"


def test_mmwp_llama2_matches_the_shared_table(shared_data):
    rule = load_tier_rule("mmwp-llama2")
    lines = (shared_data / "language_tiers" / "mmwp_tiers_llama2.tsv").read_text().splitlines()[1:]
    assert {line.split("\t")[0]: line.split("\t")[2] for line in lines} == dict(rule.tiers)
    assert {p.name[5:-5] for p in (shared_data / "mmwp").glob("test_*.json")} == set(rule.tiers)


def test_joshi2020_on_mmwp_is_13_low_12_medium_23_high():
    rule = load_tier_rule("joshi2020")
    on_mmwp = {code: rule.tier_of(code) for code in MMWP_48}
    assert Counter(on_mmwp.values()) == {"low": 13, "medium": 12, "high": 23}
    assert {c for c, t in on_mmwp.items() if t == "low"} == set(
        "gu ha hy is kn lb mk ml mr nb ne sw te".split()
    )
    assert {c for c, t in on_mmwp.items() if t == "medium"} == set(
        "af be bg bn da id ro sk sl ta th uk".split()
    )
    assert len(rule.tiers) > 200  # every registry language with a class, not only the benchmarks


def test_joshi2020_keeps_the_class_and_maps_it_by_the_rule():
    rule = load_tier_rule("joshi2020")
    for code, tier in rule.tiers.items():
        cls = int(rule.columns[code]["joshi2020_class"])
        assert tier == ("low" if cls <= 2 else "medium" if cls == 3 else "high"), code
    assert rule.columns["en"]["joshi2020_class"] == "5"
    assert rule.columns["sw"]["joshi2020_class"] == "2"


def test_joshi2020_prefers_benchmark_languages(shared_data):
    rule = load_tier_rule("joshi2020")
    lines = (shared_data / "language_tiers" / "benchmark_languages.tsv").read_text().splitlines()
    header = lines[0].split("\t")
    for line in lines[1:]:
        row = dict(zip(header, line.split("\t"), strict=True))
        assert rule.columns[normalize_code(row["code"])]["joshi2020_class"] == row["joshi2020_class"]


def test_tier_of_normalizes_and_falls_back_to_the_base_language():
    rule = load_tier_rule("mmwp-llama2")
    assert rule.tier_of("swh") == rule.tier_of("Swahili") == "low"
    assert rule.tier_of("sr-Latn") == rule.tier_of("srp_Cyrl") == "medium"
    assert rule.tier_of("pt-BR") == "medium"
    assert rule.tier_of("zho-TW") == "high"
    assert rule.tier_of("yo") is None  # Yoruba is not in MMWP
    with pytest.raises(UnknownLanguageError):
        rule.tier_of("swahli")
    with pytest.raises(CrossliftError, match="expected one of low, medium, high"):
        rule.languages_in("mid")


def test_unknown_rule_name_lists_the_available_ones():
    with pytest.raises(CrossliftError, match=r"unknown tier rule 'joshi'.*joshi2020, mmwp-llama2"):
        load_tier_rule("joshi")
    with pytest.raises(CrossliftError, match="not found"):
        load_tier_rule("no/such/rules.tsv")


# --- user mapping files --------------------------------------------------------------------------------


def test_user_tsv_with_header_metadata_and_extra_columns(tmp_path):
    path = tmp_path / "my_tiers.tsv"
    path.write_text(
        "# name: my-split\n# description: three languages by hand\n# source: our paper, Table 2\n"
        "code\ttier\tnote\n"
        "# a comment between rows\n"
        "swh\tlow\tKiswahili\n"
        "de\tHigh\t\n"
        "\n"
        "zho-CN\tmedium\tSimplified\n",
        encoding="utf-8",
    )
    rule = load_tier_rule(path)
    assert (rule.name, rule.description, rule.source) == (
        "my-split",
        "three languages by hand",
        "our paper, Table 2",
    )
    assert dict(rule.tiers) == {"sw": "low", "de": "high", "zh": "medium"}
    assert rule.columns["sw"]["note"] == "Kiswahili"
    assert rule.tier_of("Swahili") == "low"
    assert rule.languages_in("high") == ["de"]


def test_user_tsv_header_may_name_the_code_column_otherwise(tmp_path):
    path = tmp_path / "tiers.tsv"
    path.write_text("language\ttier\tsource\nSwahili\tlow\tmine\n", encoding="utf-8")
    rule = load_tier_rule(path)
    assert dict(rule.tiers) == {"sw": "low"}
    assert rule.columns["sw"] == {"source": "mine"}


def test_rules_are_hashable_values(tmp_path):
    path = tmp_path / "tiers.tsv"
    path.write_text("sw\tlow\n", encoding="utf-8")
    assert load_tier_rule(path) == load_tier_rule(path)
    assert len({load_tier_rule(path), load_tier_rule(path), load_tier_rule(DEFAULT_TIER_RULE)}) == 2


def test_user_tsv_without_header_takes_its_name_from_the_file(tmp_path):
    path = tmp_path / "tiers.tsv"
    path.write_text("sw\tlow\nen\thigh\n", encoding="utf-8")
    rule = load_tier_rule(str(path))
    assert rule.name == "tiers"
    assert str(path.resolve()) in rule.source and "sha256" in rule.source
    assert dict(rule.tiers) == {"sw": "low", "en": "high"}


def test_user_yaml_mapping(tmp_path):
    path = tmp_path / "tiers.yaml"
    path.write_text("sw: low\nno: medium\nen: high\nzh-TW: high\n", encoding="utf-8")
    rule = load_tier_rule(path)
    assert dict(rule.tiers) == {
        "sw": "low",
        "nb": "medium",
        "en": "high",
        "zh-Hant": "high",
    }  # "no" is Norwegian
    assert rule.name == "tiers"


def test_user_yaml_with_metadata(tmp_path):
    path = tmp_path / "rule.yml"
    path.write_text(
        "name: seaeval-split\ndescription: SeaEval languages\nsource: by hand\ntiers:\n  fil: low\n  en: high\n",
        encoding="utf-8",
    )
    rule = load_tier_rule(path)
    assert (rule.name, rule.description, rule.source) == ("seaeval-split", "SeaEval languages", "by hand")
    assert dict(rule.tiers) == {"fil": "low", "en": "high"}


@pytest.mark.parametrize(
    ("name", "text", "line", "field", "message"),
    [
        ("bad.tsv", "sw\tlow\nswahli\tlow\n", 2, "code", "did you mean sw (Swahili)"),
        (
            "bad.tsv",
            "# comment\nsw\tmid\n",
            2,
            "tier",
            "'mid' is not a tier; expected one of low, medium, high",
        ),
        ("bad.tsv", "code\ttier\nsw\n", 2, "tier", "missing tier"),
        ("bad.tsv", "sw\tlow\nen\thigh\nswh\tlow\n", 3, "code", "'swh' is sw, already given on line 1"),
        ("bad.tsv", "\tlow\n", 1, "code", "empty language code"),
        ("bad.tsv", "code\ttier\nsw\tlow\textra\n", 2, "column3", "3 fields but the header has 2"),
        ("bad.yaml", "sw: low\nen: top\n", 2, "tier", "'top' is not a tier"),
        ("bad.yaml", "sw: low\n\nqqq: high\n", 3, "code", "unknown language 'qqq'"),
        ("bad.yaml", "sw: [low]\n", 1, "tier", "must be one of low, medium, high"),
        ("bad.yaml", "tiers:\n  - sw\n", 2, "tiers", "expected a mapping"),
        ("bad.yaml", "name: x\nsw: low\ntiers:\n  en: high\n", 2, "sw", "unexpected key beside 'tiers'"),
    ],
)
def test_bad_user_file_names_file_line_and_field(tmp_path, name, text, line, field, message):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    with pytest.raises(DataError) as info:
        load_tier_rule(path)
    error = info.value
    assert (Path(error.path), error.line, error.field) == (path, line, field)
    assert str(path) in str(error) and f"line {line}" in str(error) and f"field '{field}'" in str(error)
    assert message in str(error)


@pytest.mark.parametrize(
    ("name", "text", "line"),
    [
        ("empty.tsv", "# only a comment\n", None),
        ("empty.yaml", "{}\n", None),
        ("broken.yaml", "sw: low\n  en: [\n", 2),
        ("list.yaml", "- sw\n- en\n", 1),
    ],
)
def test_empty_or_malformed_user_file(tmp_path, name, text, line):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    with pytest.raises(DataError) as info:
        load_tier_rule(path)
    assert str(path) in str(info.value)
    assert info.value.line == line


def test_rule_files_ship_as_package_data():
    """The rules and the table are read through importlib.resources, so they must be inside the package."""
    folder = REPO_ROOT / "src" / "crosslift" / "resources"
    assert (folder / "languages.tsv").is_file()
    names = {p.stem for p in (folder / "tier_rules").iterdir()}
    assert names == set(available_tier_rules())
    header = (folder / "languages.tsv").read_text(encoding="utf-8").splitlines()[:12]
    assert any("CC BY-SA 4.0" in line for line in header) and any("LinguaMeta" in line for line in header)
    json.dumps([lang.__dict__ for lang in all_languages()])  # plain data, serializable into reports


def test_registered_languages_resolve_and_reach_child_processes(register_language):
    import os

    from crosslift import languages

    table = register_language("Cyrl")
    assert languages.get_language("qxa").script == "Cyrl"
    assert languages.get_language("Synthetic X-A").code == "qxa"
    assert str(table.resolve()) in os.environ[languages.LANGUAGES_ENV]


def test_a_clashing_language_table_is_refused_and_not_kept(tmp_path, monkeypatch):
    import pytest

    from crosslift import languages
    from crosslift.errors import CrossliftError, DataError

    monkeypatch.setenv(languages.LANGUAGES_ENV, "")
    monkeypatch.setattr(languages, "_registered_files", [])
    clash = tmp_path / "clash.tsv"
    clash.write_text(
        "code\tiso639_1\tiso639_3\tname\tscript\taliases\tother_names\nsw\tsw\tswa\tSwahili\tLatn\t\t\n"
    )
    with pytest.raises(CrossliftError, match="clash"):
        languages.register_languages(clash)
    assert languages.get_language("sw").name == "Swahili"
    bad = tmp_path / "bad.tsv"
    bad.write_text("code\tiso639_1\tiso639_3\tname\tscript\taliases\tother_names\nqxb\t\tqxb\n")
    with pytest.raises(DataError, match=r"bad.tsv.*line 2"):
        languages.register_languages(bad)
    languages._registry.cache_clear()


# --- the open registry: langcodes for what the table lacks, user tables that add or override ----------------------


@pytest.mark.filterwarnings("ignore::crosslift.languages.UnlistedLanguageWarning")
def test_a_language_outside_the_table_resolves_through_langcodes_as_unlisted():
    from crosslift.languages import UNLISTED_TIER, UnlistedLanguageWarning

    with pytest.warns(
        UnlistedLanguageWarning, match="'ain' is not in crosslift's registry; resolved through langcodes"
    ):
        ainu = get_language("ain")
    assert (ainu.code, ainu.name, ainu.script, ainu.listed, ainu.iso639_3) == (
        "ain",
        "Ainu",
        "Latn",
        False,
        "ain",
    )
    assert get_language("Cherokee").script == "Cher" and normalize_code("chr_Latn") == "chr-Latn"
    assert get_language("chr-Latn").name == "Cherokee (Latin)"
    for rule in available_tier_rules():
        assert load_tier_rule(rule).tier_of("ain") == UNLISTED_TIER
    assert load_tier_rule("mmwp-llama2").tier_of("yo") is None  # listed, but not in MMWP: untiered, as before
    assert get_language("sw").listed and "ain" not in {lang.code for lang in all_languages()}


@pytest.mark.filterwarnings("ignore::crosslift.languages.UnlistedLanguageWarning")
def test_a_user_rule_can_tier_an_unlisted_language(tmp_path):
    path = tmp_path / "mine.tsv"
    path.write_text("haw\tlow\nen\thigh\n")
    assert load_tier_rule(path).tier_of("Hawaiian") == "low"


@pytest.mark.parametrize("query", ["hi-Latn", "iu-Latn", "qaa", "Notalanguagese"])
def test_langcodes_does_not_stand_in_for_an_unknown_variety_or_a_private_code(query):
    with pytest.raises(UnknownLanguageError):
        get_language(query)


def test_a_user_table_overrides_entries_and_adds_new_ones(tmp_path, monkeypatch):
    import os

    from crosslift import languages

    monkeypatch.setenv(languages.OVERRIDES_ENV, "")
    monkeypatch.setattr(languages, "_override_files", [])
    table = tmp_path / "mine.tsv"
    table.write_text(
        "code\tiso639_1\tiso639_3\tname\tscript\taliases\tother_names\n"
        "sw\t\t\tKiswahili\tLatn\t\tSwahili\n"
        "qxz\t\tqxz\tMy Test Language\tCyrl\tmytest\t\n"
    )
    try:
        languages.register_languages(table, override=True)
        swahili = get_language("swh")  # the entry keeps its aliases and ISO codes, takes the new name
        assert (swahili.code, swahili.name, swahili.iso639_3) == ("sw", "Kiswahili", "swa")
        assert get_language("Swahili") is swahili and get_language("mytest").name == "My Test Language"
        assert str(table.resolve()) in os.environ[languages.OVERRIDES_ENV]
    finally:
        languages._override_files.clear()
        monkeypatch.setenv(languages.OVERRIDES_ENV, "")
        languages._registry.cache_clear()
    assert get_language("sw").name == "Swahili"
