"""The no-reading floor on hand-made worlds: the best numbers-only rule is found on dev and scored on test."""

from __future__ import annotations

from crosslift.synth.floor import apply_rule, describe, no_reading_floor, question_numbers, rules


def _items(rows):
    return [{"question": q, "answer": a} for q, a in rows]


def test_numbers_are_read_in_any_script_in_order():
    assert question_numbers("Tom has 14 apples. Ana has 3.") == [14, 3]
    assert question_numbers("जे दु १६ पल. दे दु १४ पल.") == [16, 14]


def test_the_rule_family_is_one_to_three_numbers_in_any_order_with_plus_minus_times():
    two = list(rules(2))
    assert len(two) == 2 + 2 * 3  # n1, n2; (n1, n2) and (n2, n1) with each operator
    assert len(list(rules(3))) == 3 + 6 * 3 + 6 * 9
    assert len(list(rules(5))) == 5 + 20 * 3 + 60 * 9  # never more than three numbers
    assert describe(((1, 0, 2), ("-", "*"))) == "n2 - n1 * n3"
    assert apply_rule(((1, 0, 2), ("-", "*")), [2, 7, 3]) == (7 - 2) * 3  # left to right


def test_a_task_answered_by_one_rule_has_floor_one_and_a_task_that_needs_the_words_a_low_one():
    # "add the two numbers" in every item: the rule n1 + n2 answers everything
    adding = _items([(f"x {a} y {b}", a + b) for a, b in [(1, 2), (3, 4), (5, 9), (2, 8)]])
    result = no_reading_floor({"en": adding}, {"en": adding})
    assert result["floor"] == 1.0 and result["rules"]["en"] == {2: "n1 + n2"}
    # the words decide: "gains" adds, "loses" subtracts, "keeps" keeps the first; dev and test alternate
    dev = _items([("a 9 gains 2", 11), ("a 8 loses 3", 5), ("a 7 keeps 4", 7), ("a 6 gains 5", 11)])
    test = _items([("a 9 loses 2", 7), ("a 8 keeps 3", 8), ("a 7 gains 4", 11), ("a 6 loses 5", 1)])
    result = no_reading_floor({"en": dev, "xx": dev}, {"en": test, "xx": test})
    assert result["rules"]["en"] == {2: "n1 + n2"}  # the first rule with 2 of 4 right on dev
    assert result["per_language"] == {"en": 0.25, "xx": 0.25} and result["floor"] == 0.25


def test_rules_are_chosen_per_count_and_the_floor_is_the_worst_language():
    dev = {
        "en": _items([("1 2", 3), ("4 5", 9), ("2 3 4", 24)]),
        "qq": _items([("1 2", 3), ("4 5", 9), ("2 3 4", 24)]),
    }
    test = {
        "en": _items([("2 2", 4), ("1 1 1", 1)]),  # n1 + n2 right; n1 * n2 * n3 right
        "qq": _items([("2 2", 4), ("9 9 9", 5)]),  # the three-number item missed
    }
    result = no_reading_floor(dev, test)
    assert result["rules"]["en"] == {2: "n1 + n2", 3: "n1 * n2 * n3"}
    assert result["per_language"] == {"en": 1.0, "qq": 0.5} and result["floor"] == 1.0
