"""The pairwise judge's protocol: verdict parsing, positions mapped back to runs, PLUG's aggregation table, and the
pair-v2 prompt with PLUG's fluency sentence."""

from __future__ import annotations

import itertools

from crosslift.eval.judging.protocol import (
    FLUENCY_SENTENCE,
    USER_TEMPLATE,
    aggregate,
    parse_verdict,
    prompt_version,
    system_prompt,
    winner,
)


def test_verdict_parsing():
    assert parse_verdict("A is more detailed.\n\nFinal verdict: [[A]]") == "A"
    assert parse_verdict("[[B]]") == "B" and parse_verdict("It is a tie: [[C]]") == "tie"
    assert parse_verdict('Format: "[[A]]" if A is better... My verdict: [[B]]') == "B"  # the last one counts
    assert parse_verdict("[[ B ]]") == "B"
    for malformed in ("", "A is better.", "[A]", "[[D]]", "[[a]]", None):
        assert parse_verdict(malformed) is None


def test_winner_maps_positions_back_to_runs():
    assert [winner(v, "ab") for v in ("A", "B", "tie", None)] == ["a", "b", "tie", "error"]
    assert [winner(v, "ba") for v in ("A", "B", "tie", None)] == ["b", "a", "tie", "error"]


def test_plug_aggregation_table():
    expected = {
        ("a", "a"): "win",
        ("b", "b"): "loss",
        ("a", "tie"): "slight_win",
        ("tie", "a"): "slight_win",
        ("b", "tie"): "slight_loss",
        ("tie", "b"): "slight_loss",
        ("a", "b"): "tie",
        ("b", "a"): "tie",
        ("tie", "tie"): "tie",
    }
    for first, second in itertools.product(("a", "b", "tie", "error"), repeat=2):
        want = "error" if "error" in (first, second) else expected[(first, second)]
        assert aggregate(first, second) == want, (first, second)


def test_the_prompt_is_pair_v2_with_plugs_fluency_sentence():
    prompt = system_prompt()
    assert prompt.startswith(
        "Please act as an impartial judge and evaluate the quality of the responses provided by two AI assistants"
    )
    assert (
        "level of detail of their responses. Pay special attention to whether the assistant's response contains any "
        "unnatural language use, sentences that are not fluent, or grammatical problems, especially when answering "
        "in languages other than English. Begin your evaluation"
    ) in prompt
    assert prompt.endswith(
        '"[[A]]" if assistant A is better, "[[B]]" if assistant B is better, and "[[C]]" for a tie.'
    )
    assert FLUENCY_SENTENCE.strip() not in system_prompt(fluency=False)
    assert USER_TEMPLATE.format(question="Q", answer_a="x", answer_b="y") == (
        "[User Question]\nQ\n\n[The Start of Assistant A's Answer]\nx\n[The End of Assistant A's Answer]\n\n"
        "[The Start of Assistant B's Answer]\ny\n[The End of Assistant B's Answer]"
    )
    assert prompt_version() != prompt_version(fluency=False)
