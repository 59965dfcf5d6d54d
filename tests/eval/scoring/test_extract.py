"""Answer extraction, table-driven: strategies, separators, decimal marks, scripts, signs, failures."""

from decimal import Decimal

import pytest

from crosslift.eval.scoring.extract import canonical, extract_answer, numbers, parse_number

# (model output, language, expected canonical answer or None, expected method)
CASES = [
    # --- strategies: boxed > answer phrase > last number
    ("so the total is \\boxed{18} apples, or 20 with tax", "en", "18", "boxed"),
    ("\\boxed{\\frac{3}{4}}", "en", "0.75", "boxed"),
    ("\\boxed{1,050}", "en", "1050", "boxed"),
    ("\\boxed{x} then 7", "en", "7", "last_number"),  # a box without a number does not count
    ("The answer is 11. Then 2 boys came.", "en", "11", "phrase"),
    ("The answer is: 72", "en", "72", "phrase"),
    ("First 3, then... #### 72", "en", "72", "phrase"),
    ("So the final answer is 42 apples", "en", "42", "phrase"),
    ("The answer is 5. Wait, 4 + 2 = 6. The answer is 6.", "en", "6", "phrase"),  # the last phrase wins
    ("5 + 6 = 11. Jibu ni 11.", "sw", "11", "phrase"),
    ("Jibu ni 33. Kisha 5", "sw", "33", "phrase"),
    ("5 + 6 = 11。答案是 11。", "zh", "11", "phrase"),
    ("答えは33個です。", "ja", "33", "phrase"),
    ("Ответ — 11.", "ru", "11", "phrase"),
    ("Die Antwort lautet 33.", "de", "33", "phrase"),
    ("Die Antwort ist 11.", "de", "11", "phrase"),
    ("La réponse est 33.", "fr", "33", "phrase"),
    ("La respuesta es 33.", "es", "33", "phrase"),
    ("คำตอบคือ 11", "th", "11", "phrase"),
    ("উত্তর হল 11।", "bn", "11", "phrase"),
    ("సమాధానం 11.", "te", "11", "phrase"),
    ("The answer is 8", "sw", "8", "phrase"),  # English phrases count in every language
    ("The answer is\n\n7 and then 9", "en", "9", "last_number"),  # a phrase's number must be on its line
    ("She has 3 apples and buys 4, so 7 in all.", "en", "7", "last_number"),
    # --- thousands separators
    ("It costs 1,050 ml", "en", "1050", "last_number"),
    ("1,234,567", "en", "1234567", "last_number"),
    ("$1,000.50", "en", "1000.5", "last_number"),
    ("12,34,567 rupees", "hi", "1234567", "last_number"),  # Indian lakh/crore grouping
    ("1,00,000", "hi", "100000", "last_number"),
    ("1.234.567", "de", "1234567", "last_number"),
    ("1.500 Euro", "de", "1500", "last_number"),  # dot grouping in German
    ("1.500 litres", "en", "1.5", "last_number"),  # a decimal point in English
    ("1'000 Franken", "de", "1000", "last_number"),
    ("1’000", "de", "1000", "last_number"),
    ("1\u00a0000 euros", "fr", "1000", "last_number"),  # no-break space
    ("1\u202f000", "en", "1000", "last_number"),  # narrow no-break space, any language
    ("1 500 pommes", "fr", "1500", "last_number"),  # plain space groups only in space-grouping languages
    ("1 500 apples", "en", "500", "last_number"),
    ("2 000 000 рублей", "ru", "2000000", "last_number"),
    # --- decimal marks
    ("3.5 kg", "en", "3.5", "last_number"),
    ("3,5 kg", "de", "3.5", "last_number"),  # decimal comma
    ("0,125", "fr", "0.125", "last_number"),  # a leading zero makes three digits decimals
    ("0.125", "de", "0.125", "last_number"),
    ("1.234,56 €", "de", "1234.56", "last_number"),
    ("1,234.56", "en", "1234.56", "last_number"),
    ("1 234,5", "fr", "1234.5", "last_number"),
    ("14.820", "en", "14.82", "last_number"),
    # --- digits of other scripts, look-alike punctuation
    ("الجواب ٣٥", "ar", "35", "last_number"),  # Arabic-Indic
    ("٣٫٥", "ar", "3.5", "last_number"),  # Arabic decimal separator
    ("١٬٢٣٤", "ar", "1234", "last_number"),  # Arabic thousands separator
    ("۱۲۵", "fa", "125", "last_number"),  # Persian
    ("उत्तर ४२ है", "hi", "42", "last_number"),  # Devanagari
    ("উত্তর হল ১১।", "bn", "11", "phrase"),  # Bengali
    ("คำตอบคือ ๑๒", "th", "12", "phrase"),  # Thai
    ("答案是３６。", "zh", "36", "phrase"),  # full-width
    ("１，２３４", "ja", "1234", "last_number"),  # full-width comma
    ("జవాబు ౧౦", "te", "10", "last_number"),  # Telugu
    # --- signs, fractions, lists
    ("x = -5", "en", "-5", "last_number"),
    ("the temperature fell to −3", "en", "-3", "last_number"),  # minus sign U+2212
    ("10-5=5", "en", "5", "last_number"),
    ("5 - 3 = 2", "en", "2", "last_number"),
    ("Dec 10-12", "en", "12", "last_number"),  # a hyphen after a digit is not a sign
    ("COVID-19", "en", "19", "last_number"),
    ("half is 1/2", "en", "0.5", "last_number"),
    ("1/3 of them", "en", "0.333333", "last_number"),
    ("the numbers 1,2,3", "en", "3", "last_number"),  # a list, not one number
    ("1.5,2.5", "en", "2.5", "last_number"),
    ("18.", "en", "18", "last_number"),
    ("18.00", "en", "18", "last_number"),
    # --- failures
    ("", "en", None, None),
    ("no number here", "en", None, None),
    ("eighteen", "en", None, None),
    ("十八", "zh", None, None),
]


@pytest.mark.parametrize(("text", "language", "expected", "method"), CASES)
def test_extract_answer(text, language, expected, method):
    found = extract_answer(text, language)
    assert (found.text, found.method) == (expected, method)
    assert (found.value is None) == (expected is None)


@pytest.mark.parametrize(
    ("gold", "value"),
    [
        ("5 ", "5"),
        ("0.9", "0.9"),
        ("2,125", "2125"),
        ("114,200", "114200"),
        ("18", "18"),
        ("-3", "-3"),
        ("42.33", "42.33"),
        (" 7\n", "7"),
    ],
)
def test_parse_number_reads_gold_answers(gold, value):
    assert parse_number(gold) == Decimal(value)


@pytest.mark.parametrize("text", ["", "abc", "1 and 2", "3-4 apples"])
def test_parse_number_needs_exactly_one_number(text):
    assert parse_number(text) is None


def test_numbers_lists_every_number_in_order():
    assert numbers("Roger had 5 balls, bought 2 cans of 3: 5 + 6 = 11.") == [
        Decimal(n) for n in "5 2 3 5 6 11".split()
    ]


@pytest.mark.parametrize(
    ("value", "text"),
    [
        ("1.05E+3", "1050"),
        ("0.90", "0.9"),
        ("-0", "0"),
        ("-3.50", "-3.5"),
        ("100", "100"),
        ("2.0000001", "2"),
    ],
)
def test_canonical(value, text):
    assert canonical(Decimal(value)) == text
