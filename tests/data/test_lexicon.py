import pytest

from crosslift.data.lexicon import (
    coverage,
    english_key,
    load_lexicons,
    merge_lexicons,
    read_lexicon_file,
    source_files,
)
from crosslift.errors import DataError
from crosslift.languages import UnknownLanguageError


def write(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_muse_format_cleaning_and_counts(tmp_path):
    p = write(
        tmp_path / "en-de.txt",
        "the der\nthe die\nthe der\nThe das\nhotel Hotel\nfirst 1.\n1 eins\napple Apfel\n",
    )
    lex = read_lexicon_file(p, "de")
    assert lex.lookup("The") == (
        "der",
        "die",
        "das",
    )  # case-folded key, translations in file order, no repeats
    assert lex.lookup("apple") == ("Apfel",)
    assert "hotel" not in lex and "first" not in lex and "1" not in lex
    assert lex.stats["dropped: identical to english"] == 1
    assert lex.stats["dropped: translation has digits"] == 1
    assert lex.stats["dropped: english side is not plain words"] == 1
    assert lex.stats["dropped: repeated pair"] == 1
    assert lex.max_words == 1 and lex.phrases == 0


def test_tsv_phrases_and_annotations(tmp_path):
    p = write(
        tmp_path / "en-sw.tsv",
        "a lot of\tmengi\na lot\tsana\na\tmoja\npike\tsamaki (noun)\nwell-known\tmaarufu\n",
    )
    lex = read_lexicon_file(p, "sw")
    assert lex.lookup("a lot of") == ("mengi",) and lex.max_words == 3
    assert {"a", "a lot"} <= lex.prefixes and "a lot of" not in lex.prefixes
    assert lex.lookup("pike") == ("samaki",)  # the translator's annotation is cut
    assert lex.lookup("well-known") == ("maarufu",)


def test_bad_lines_name_file_and_line(tmp_path):
    p = write(tmp_path / "en-de.txt", "the der\nbroken\n")
    with pytest.raises(DataError, match=r"en-de.txt, line 2: expected 'english translation'"):
        read_lexicon_file(p, "de")
    t = write(tmp_path / "en-sw.tsv", "a\tb\nno tab here\n")
    with pytest.raises(DataError, match=r"en-sw.tsv, line 2: expected english<TAB>translation"):
        read_lexicon_file(t, "sw")
    assert read_lexicon_file(t, "sw", skip_invalid=True).stats["dropped: malformed line"] == 1


def test_english_key():
    assert english_key("  A  Lot ") == "a lot"
    assert english_key("don't") == "don't"
    assert english_key("u.s.") is None and english_key("42") is None and english_key("") is None


def test_merge_priority_and_union(tmp_path):
    muse = read_lexicon_file(write(tmp_path / "a" / "en-sw.txt", "water maji\nfire moto\n"), "sw")
    wiki = read_lexicon_file(write(tmp_path / "b" / "en-sw.tsv", "water\tmai\nsun\tjua\n"), "sw")
    first = merge_lexicons([muse, wiki])
    assert first.lookup("water") == ("maji",) and first.lookup("sun") == ("jua",) and len(first) == 3
    union = merge_lexicons([muse, wiki], "union")
    assert union.lookup("water") == ("maji", "mai")
    assert union.files == [str(tmp_path / "a" / "en-sw.txt"), str(tmp_path / "b" / "en-sw.tsv")]
    with pytest.raises(DataError, match="merge must be one of"):
        merge_lexicons([muse, wiki], "best")


def test_directory_sources_normalize_codes_and_load_only_what_is_asked(tmp_path):
    write(tmp_path / "muse" / "en-no.txt", "water vann\n")
    write(tmp_path / "muse" / "en-de.txt", "water Wasser\n")
    write(tmp_path / "gatitos" / "en_ak.tsv", "water\tnsuo\n")
    write(tmp_path / "gatitos" / "languages.tsv", "code\tname\n")  # not a lexicon file: ignored
    files = source_files([tmp_path / "muse", tmp_path / "gatitos"], ["nb"])
    assert list(files) == ["nb"]  # en-no.txt serves Norwegian Bokmål
    lexicons = load_lexicons([tmp_path / "muse", tmp_path / "gatitos"])
    assert sorted(lexicons) == ["ak", "de", "nb"]
    explicit = load_lexicons([f"sw={tmp_path / 'muse' / 'en-de.txt'}"])
    assert list(explicit) == ["sw"]


def test_missing_languages_and_sources(tmp_path):
    write(tmp_path / "muse" / "en-de.txt", "water Wasser\n")
    with pytest.raises(DataError, match="no lexicon for sw"):
        load_lexicons([tmp_path / "muse"], ["de", "sw"])
    with pytest.raises(DataError, match="lexicon source not found"):
        load_lexicons([tmp_path / "nope"], ["de"])
    with pytest.raises(UnknownLanguageError):
        load_lexicons([tmp_path / "muse"], ["xx-not-a-language"])
    with pytest.raises(DataError, match="cannot tell the language"):
        load_lexicons([write(tmp_path / "dict.txt", "a b\n")])


def test_coverage_counts_words_only(tmp_path):
    lex = read_lexicon_file(write(tmp_path / "en-de.txt", "apple Apfel\nred rot\n"), "de")
    cov = coverage(lex, ["A red apple, 5 apples and 3rd apple.", "Red!"])
    # words: a red apple apples and apple red (7 tokens; '5' and '3rd' are not words)
    assert (
        cov["tokens"] == 7 and cov["covered_tokens"] == 4 and cov["types"] == 5 and cov["covered_types"] == 2
    )


# ---------------------------------------------------------------------------------------------- real dictionaries


def test_real_muse_wechsel_gatitos(shared_data):
    lex = load_lexicons(
        [shared_data / "muse_dictionaries", shared_data / "wechsel_dicts", shared_data / "gatitos"],
        ["sw", "te", "th", "hi", "ak"],
    )
    assert lex["sw"].files == [str(shared_data / "wechsel_dicts" / "en-sw.tsv")]
    assert lex["th"].lookup("and") and lex["th"].max_words == 1  # MUSE: single words
    assert lex["te"].max_words > 1  # WECHSEL has multi-word entries
    assert lex["hi"].files == [
        str(shared_data / "muse_dictionaries" / "en-hi.txt"),
        str(shared_data / "gatitos" / "en_hi.tsv"),
    ]
    assert lex["hi"].lookup("a lot of")  # only GATITOS has this phrase: the merge adds it behind MUSE's words
    assert lex["ak"].lookup("water")  # GATITOS's Twi
    assert len(lex["sw"]) > 3000 and len(lex["th"]) > 5000


def test_real_gatitos_bad_line(shared_data):
    path = shared_data / "gatitos" / "en_arn.tsv"
    with pytest.raises(DataError, match=r"en_arn.tsv, line 3235: expected english<TAB>translation"):
        read_lexicon_file(path, "arn")
    assert read_lexicon_file(path, "arn", skip_invalid=True).stats["dropped: malformed line"] == 1


def test_real_coverage_of_gsm8k(shared_data):
    import json

    questions = [json.loads(line)["question"] for line in (shared_data / "gsm8k" / "test.jsonl").open()]
    lex = load_lexicons([shared_data / "muse_dictionaries"], ["de"])["de"]
    cov = coverage(lex, questions)
    assert 0.5 < cov["token_coverage"] < 0.95 and cov["tokens"] > 40_000


def test_held_out_split_is_seeded_per_key_and_disjoint():
    from crosslift.data.lexicon import Lexicon, is_held_out, split_held_out

    lex = Lexicon(lang="sw", entries={f"w{i:04d}": (f"t{i}",) for i in range(4000)})
    kept, held = split_held_out(lex, 0.1, seed=7)
    assert set(kept.entries).isdisjoint(held.entries) and len(kept) + len(held) == 4000
    assert 300 < len(held) < 500 and kept.stats["held out of code-switching"] == len(held)
    # the decision depends on (seed, language, key) only: a key is held out whatever else the lexicon holds
    smaller = Lexicon(lang="sw", entries={k: v for k, v in list(lex.entries.items())[:1000]})
    assert set(split_held_out(smaller, 0.1, seed=7)[1].entries) == {
        k for k in held.entries if k in smaller.entries
    }
    assert set(split_held_out(lex, 0.1, seed=8)[1].entries) != set(held.entries)
    assert all(is_held_out(k, "sw", 0.1, 7) for k in held.entries) and not is_held_out("w0001", "sw", 0.0, 7)
    with pytest.raises(DataError, match="held-out share"):
        split_held_out(lex, 1.0, seed=7)


def test_the_toy_lexicon_is_made_for_the_languages_named(tmp_path, monkeypatch):
    from crosslift.data.toy import toy_dictionary

    monkeypatch.chdir(tmp_path)  # `toy` is the built-in name only where no such path exists
    lexicons = load_lexicons(["toy"], ["sw", "zh"])
    assert set(lexicons) == {"sw", "zh"}
    assert lexicons["zh"].entries == {k: (v,) for k, v in toy_dictionary("zh").items()}
    assert lexicons["sw"].files == []  # made in code: nothing for a manifest to hash
    # a file before it wins where both have a word (priority), the toy lexicon fills in the rest
    write(tmp_path / "mine" / "en-sw.txt", "apples maembe\n")
    merged = load_lexicons([tmp_path / "mine", "toy"], ["sw"])["sw"]
    assert merged.lookup("apples") == ("maembe",) and merged.lookup("oranges") == lexicons["sw"].lookup(
        "oranges"
    )
    with pytest.raises(DataError, match="the toy lexicon is made for the languages named"):
        load_lexicons(["toy"])


def test_skip_missing_leaves_out_the_languages_no_source_has(tmp_path):
    write(tmp_path / "en-de.txt", "apple Apfel\n")
    with pytest.raises(DataError, match="no lexicon for sw"):
        load_lexicons([tmp_path], ["de", "sw"])
    assert set(load_lexicons([tmp_path], ["de", "sw"], skip_missing=True)) == {"de"}
