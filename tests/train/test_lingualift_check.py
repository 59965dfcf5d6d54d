"""The alignment check's pieces: token losses, word pairs, retrieval and the verdict."""

from __future__ import annotations

import pytest
import torch

from crosslift.errors import DataError
from crosslift.models.build import build_bridge
from crosslift.models.probe import precision_at_1
from crosslift.train.lingualift import check as lingualift_check
from crosslift.train.lingualift.check import (
    CheckConfig,
    CheckPair,
    SentenceCheckConfig,
    _nll,
    check_words,
    loss_comparison,
    read_check_sentences,
    run_check,
    summary_line,
    training_holdout,
    word_pairs,
)


@pytest.fixture(scope="module")
def tiny():
    torch.manual_seed(0)
    return build_bridge("tiny:mt5-encoder", "tiny:llama", dtype="float32")


PAIRS = [
    CheckPair("Tom ana matofaa 3. Ngapi?", "Tom has 3 apples. How many?", "Tom has 3 apples.", "sw"),
    CheckPair("Ana hat 2 Bücher und kauft 4.", "Ana has 2 books and buys 4.", "2 + 4 = 6 books.", "de"),
    CheckPair("Je?", "Does it?", "Yes.", "sw"),
]


def test_token_loss_matches_the_lms_own_mean_loss(tiny):
    model, processor = tiny
    batch = processor.collate([processor.encode(p.prompt, p.target) for p in PAIRS])
    with torch.no_grad():
        inputs = model.embed(**batch)
        labels = inputs.pop("labels")
        out = model.lm(**inputs, labels=labels)
    total, count = _nll(out.logits, labels)
    assert count == int((batch["labels"] != -100).sum())
    assert total / count == pytest.approx(out.loss.item(), rel=1e-5)


def test_loss_comparison_reports_three_losses_and_their_ratio(tiny):
    model, processor = tiny
    loss = loss_comparison(model, processor, PAIRS, batch_size=2)  # two batches: totals must add up
    whole = loss_comparison(model, processor, PAIRS, batch_size=8)
    for key in ("bridge", "english_tokens", "no_prompt"):
        assert loss[key] == pytest.approx(whole[key], rel=1e-5) and loss[key] > 0
    assert loss["ratio"] == pytest.approx(loss["bridge"] / loss["english_tokens"])
    assert loss["examples"] == 3 and loss["target_tokens"] == whole["target_tokens"] > 0


def test_precision_at_1():
    keys = torch.eye(4)
    assert precision_at_1(keys + 0.01, keys) == 1.0
    assert precision_at_1(keys[[1, 0, 2, 3]], keys) == 0.5


def test_word_pairs_are_filtered_sampled_and_seeded(tmp_path):
    (tmp_path / "en-sw.tsv").write_text(
        "apple\ttofaa\ncat\tpaka\nok\tsawa\nrun\trun\nblue-ish\tbluu\nbook\tkitabu\n"
    )
    pairs = word_pairs([str(tmp_path)], ["sw"], per_language=10, seed=1)
    assert sorted(pairs["sw"]) == [("apple", "tofaa"), ("book", "kitabu"), ("cat", "paka")]
    assert word_pairs([str(tmp_path)], ["sw"], 2, seed=1) == word_pairs([str(tmp_path)], ["sw"], 2, seed=1)
    assert len(word_pairs([str(tmp_path)], ["sw"], 2, seed=1)["sw"]) == 2


def fake_loss(ratio: float):
    return lambda *a, **k: {
        "bridge": ratio * 2.0,
        "english_tokens": 2.0,
        "no_prompt": 3.0,
        "ratio": ratio,
        "gap_closed": (3.0 - ratio * 2.0) / 1.0,
        "english_prompt_helps": True,
        "examples": 3,
        "target_tokens": 9,
    }


@pytest.mark.parametrize("ratio, passed", [(1.05, True), (1.2, False)])
def test_verdict_follows_the_loss_ratio(tiny, monkeypatch, ratio, passed):
    monkeypatch.setattr(lingualift_check, "loss_comparison", fake_loss(ratio))
    result = run_check(*tiny, PAIRS, CheckConfig(max_loss_ratio=1.1), words=None)
    assert result["passed"] is passed
    line = summary_line(result)
    assert ("PASSED" if passed else "FAILED") in line and f"ratio {ratio:.2f}" in line
    if not passed:
        assert "1.20x the loss with the English prompt" in result["failures"][0]


def test_word_retrieval_threshold_is_enforced_when_set(tiny, monkeypatch, tmp_path):
    monkeypatch.setattr(lingualift_check, "loss_comparison", fake_loss(1.0))
    (tmp_path / "en-sw.tsv").write_text(
        "".join(f"{w}\t{w[::-1]}x\n" for w in ["apple", "cat", "book", "house", "water", "river"])
    )
    config = CheckConfig(lexicons=[str(tmp_path)], min_word_retrieval=1.0, word_pairs="all")
    words = check_words(config, [p.lang for p in PAIRS], seed=0)
    assert words["no_lexicon"] == ["de"]  # reported, not fatal
    result = run_check(*tiny, PAIRS, config, words)
    retrieval = result["word_retrieval"]
    assert set(retrieval["languages"]) == {"sw"} and retrieval["languages"]["sw"]["chance"] == pytest.approx(
        1 / 6
    )
    assert retrieval["no_lexicon"] == ["de"]
    assert retrieval["english_self_candidates"] == 6
    assert result["passed"] is (retrieval["mean_p_at_1"] >= 1.0)
    none = run_check(*tiny, PAIRS, CheckConfig(min_word_retrieval=0.1), words=None)
    assert not none["passed"] and "no word pairs" in none["failures"][0]


def test_retrieval_pairs_are_held_out_of_code_switching(tmp_path):
    """A seeded share of each lexicon is never switched; the check's word pairs come from that share only."""
    import random

    from crosslift.data.codeswitch import CodeSwitcher, codeswitch_example
    from crosslift.data.lexicon import is_held_out, load_lexicons
    from crosslift.errors import ConfigError

    rng = random.Random(0)
    words = sorted(
        {
            "".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(rng.randint(3, 8)))
            for _ in range(1500)
        }
    )
    for lang in ("sw", "de"):
        (tmp_path / f"en-{lang}.tsv").write_text("".join(f"{w}\t{w[::-1]}{lang}\n" for w in words))
    lexicons = load_lexicons([tmp_path], ["sw", "de"])
    switcher = CodeSwitcher(lexicons, ratio=1.0, seed=3, holdout_share=0.2)
    sentences = [" ".join(words[i : i + 30]) for i in range(0, len(words), 30)]
    examples = [
        codeswitch_example({"text": t}, i, field="text", switcher=switcher) for i, t in enumerate(sentences)
    ]
    switched = {
        (ex.meta["codeswitch"]["lang"], r[2])
        for ex in examples
        for r in ex.meta["codeswitch"]["replacements"]
    }
    held = {lang: len(h) for lang, h in switcher.held_out.items()}
    assert all(250 < n < 350 for n in held.values())  # ~20% of 1500 keys, by a seeded hash
    assert not any(is_held_out(w, lang, 0.2, 3) for lang, w in switched)  # never switched
    specs = training_holdout(examples)
    assert specs == [{"share": 0.2, "seed": 3}]
    chosen = check_words(
        CheckConfig(lexicons=[str(tmp_path)], words_per_language=200), ["sw", "de"], seed=0, held_out=specs
    )
    assert chosen["word_pairs"] == "held_out" and all(
        len(chosen["pairs"][lang]) == 200 for lang in ("sw", "de")
    )
    assert not {(lang, e) for lang, pairs in chosen["pairs"].items() for e, _ in pairs} & switched
    assert all(
        e in switcher.held_out[lang].entries for lang, pairs in chosen["pairs"].items() for e, _ in pairs
    )
    # every entry may be used on request; then some pairs were seen in training
    every = check_words(
        CheckConfig(lexicons=[str(tmp_path)], words_per_language=200, word_pairs="all"), ["sw", "de"], 0
    )
    assert {(lang, e) for lang, pairs in every["pairs"].items() for e, _ in pairs} & switched
    # data code-switched without held-out entries cannot give unseen pairs: a clear error, not a silent fallback
    plain = CodeSwitcher(lexicons, ratio=1.0, seed=3)
    with pytest.raises(ConfigError, match="were not code-switched with held-out lexicon entries"):
        training_holdout([codeswitch_example({"text": sentences[0]}, 0, field="text", switcher=plain)])
    with pytest.raises(ConfigError, match="needs the held-out settings"):
        check_words(CheckConfig(lexicons=[str(tmp_path)]), ["sw"], seed=0)


# ---------------------------------------------------------------------------------------------- per language

ENGLISH = [
    "Tom has 3 apples.",
    "Ana gives Ben 2 pens.",
    "How many cards does Mia have now?",
    "Sam sells 4 eggs.",
]


def _sentence_files(tmp_path, languages: dict[str, list[str]]) -> SentenceCheckConfig:
    import json

    rows = [{"id": f"d{i}", "question": q, "answer": f"The answer is {i}."} for i, q in enumerate(ENGLISH)]
    (tmp_path / "en.json").write_text(json.dumps(rows))
    files = {}
    for lang, texts in languages.items():
        # ids in another order: the files are lined up by id, not position
        other = [{"id": f"d{i}", "question": t} for i, t in reversed(list(enumerate(texts)))]
        (tmp_path / f"{lang}.json").write_text(json.dumps(other))
        files[lang] = str(tmp_path / f"{lang}.json")
    return SentenceCheckConfig(english=str(tmp_path / "en.json"), languages=files, per_language=4)


def test_sentences_are_read_by_id_with_the_english_target(tmp_path):
    config = _sentence_files(tmp_path, {"sw": [f"sw {t}" for t in ENGLISH]})
    rows = read_check_sentences(config)
    assert rows["sw"][1] == ("sw Ana gives Ben 2 pens.", "Ana gives Ben 2 pens.", "The answer is 1.")
    assert len(rows["sw"]) == 4
    (tmp_path / "sw.json").write_text('[{"id": "d0", "question": "x"}]')
    with pytest.raises(DataError, match="3 of the English file's ids are missing"):
        read_check_sentences(config)


def test_a_language_whose_bridge_carries_nothing_is_named(tiny, tmp_path):
    model, processor = tiny
    # "de" here is English itself: through any bridge, each sentence is nearest to its own English twin. "fr"
    # is noise the bridge cannot relate to anything: its retrieval is no better than chance.
    noise = ["qx vv kk", "zzz", "pp qq rr ss", "mm"]
    config = _sentence_files(tmp_path, {"de": ENGLISH, "fr": noise})
    config.min_retrieval = 0.9
    rows = read_check_sentences(config)
    sentences = {
        lang: [CheckPair(text, english, target, lang, text, english) for text, english, target in rows[lang]]
        for lang in rows
    }
    result = run_check(model, processor, PAIRS, CheckConfig(sentences=config), None, sentences)
    by_language = result["sentences"]["languages"]
    assert by_language["de"]["retrieval"]["p_at_1"] == 1.0 and by_language["de"]["passed"]
    assert by_language["de"]["loss"]["ratio"] > 0 and by_language["fr"]["retrieval"]["chance"] == 0.25
    assert not by_language["fr"]["passed"] and list(result["sentences"]["failed"]) == ["fr"]
    assert not result["passed"] and any(f.startswith("fr: sentence retrieval") for f in result["failures"])
    assert "per language (loss ratio/sentence P@1): de " in summary_line(result)
    # a loss bound no language can meet fails both, each by name
    config.max_loss_ratio, config.min_retrieval = 1e-6, None
    result = run_check(model, processor, PAIRS, CheckConfig(sentences=config), None, sentences)
    assert sorted(result["sentences"]["failed"]) == ["de", "fr"]


def test_a_bridge_that_puts_every_sentence_in_one_place_fails_on_mean_retrieval(tiny, tmp_path):
    model, processor = tiny
    config = _sentence_files(tmp_path, {"de": ENGLISH, "fr": ["same"] * 4})
    rows = read_check_sentences(config)
    sentences = {
        lang: [CheckPair(text, english, target, lang, text, english) for text, english, target in rows[lang]]
        for lang in rows
    }
    config.min_mean_retrieval = 0.9  # de retrieves perfectly (1.0), fr's identical sentences only by chance
    result = run_check(model, processor, PAIRS, CheckConfig(sentences=config), None, sentences)
    assert result["sentences"]["mean_retrieval"] < 0.9 and result["sentences"]["mean_retrieval_failed"]
    assert (
        any(f.startswith("mean sentence retrieval P@1") for f in result["failures"]) and not result["passed"]
    )
    config.min_mean_retrieval = 0.1
    assert run_check(model, processor, PAIRS, CheckConfig(sentences=config), None, sentences)["passed"]
