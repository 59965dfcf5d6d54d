"""The toy parallel set: deterministic, parallel, in each language's script, numbers kept; its cipher as a dictionary;
its English problems as records."""

from __future__ import annotations

import re

import pytest

from crosslift.data.toy import toy_dictionary, toy_parallel, toy_records, toy_vocabulary
from crosslift.errors import DataError


def test_the_toy_set_is_parallel_deterministic_and_keeps_numbers():
    one, two = toy_parallel(["sw", "zh"], 12, seed=3), toy_parallel(["sw", "zh"], 12, seed=3)
    assert one.languages == ["en", "sw", "zh"] and len(one) == 12
    assert [one.get(i, "zh") for i in one.ids] == [two.get(i, "zh") for i in two.ids]
    assert toy_parallel(["sw"], 12, seed=4).get("toy-4-0", "en") != one.get("toy-3-0", "en")
    for item_id in one.ids:
        en, sw, zh = (one.get(item_id, lang) for lang in ("en", "sw", "zh"))
        assert re.search(r"The answer is \d+\.$", en.output)
        numbers = re.findall(r"\d+", en.instruction)
        assert re.findall(r"\d+", sw.instruction) == numbers == re.findall(r"\d+", zh.instruction)
        assert re.findall(r"\d+", zh.output) == re.findall(r"\d+", en.output)
        assert not re.search(r"[A-Za-z]", zh.instruction)  # CJK syllables, no spaces, no Latin
        assert " " not in zh.instruction and " " in sw.instruction
        assert (sw.instruction_lang, sw.output_lang, sw.source) == ("sw", "sw", "toy")


def test_one_english_word_is_one_toy_word_per_language():
    parallel = toy_parallel(["sw"], 40, seed=0)
    pairs = {}
    for item_id in parallel.ids:
        en = parallel.get(item_id, "en").instruction.split()
        sw = parallel.get(item_id, "sw").instruction.split()
        assert len(en) == len(sw)
        for e, s in zip(en, sw, strict=True):
            assert pairs.setdefault(e.lower(), s.lower()) == s.lower()


def test_bad_requests_are_errors():
    with pytest.raises(DataError, match="at least one item"):
        toy_parallel(["sw"], 0)
    with pytest.raises(Exception, match="swahilli"):
        toy_parallel(["swahilli"], 2)


def test_the_toy_dictionary_is_the_cipher_of_every_word_the_problems_hold():
    parallel = toy_parallel(["sw"], 60, seed=2)
    dictionary = toy_dictionary("swa")  # codes go through the language registry
    assert set(dictionary) == set(toy_vocabulary())
    for item_id in parallel.ids:
        en, sw = (parallel.get(item_id, lang).instruction for lang in ("en", "sw"))
        words = re.findall(r"[A-Za-z]+", en)
        assert words and set(w.lower() for w in words) <= set(dictionary)
        assert sw == re.sub(r"[A-Za-z]+", lambda m: dictionary[m.group(0).lower()], en)
    with pytest.raises(DataError, match="no en side"):
        toy_dictionary("en")


def test_toy_records_are_the_english_problems_with_gsm8ks_fields():
    records, parallel = toy_records(3, seed=5), toy_parallel([], 3, seed=5)
    assert records == [
        {"id": i, "question": parallel.get(i, "en").instruction, "answer": parallel.get(i, "en").output}
        for i in parallel.ids
    ]
