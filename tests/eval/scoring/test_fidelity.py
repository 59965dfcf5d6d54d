"""Response-language fidelity on real sentences of 16 languages (NTREX-128), off-target answers, restriction to
candidates, answers without text, and the math and PLUG settings of tasks."""

from __future__ import annotations

import pytest

from crosslift.eval.scoring.fidelity import detect_language, lang_fidelity, supported
from crosslift.eval.scoring.scored import Scored

# NTREX file code -> the code a task would use (normalised through the language registry by the metric)
NTREX = {
    "eng-US": "en",
    "swa": "swh",
    "tel": "te",
    "ben": "bn",
    "tha": "th",
    "zho-CN": "zh",
    "fra": "fr",
    "jpn": "ja",
    "rus": "ru",
    "deu": "de",
    "spa": "es",
    "hin": "hi",
    "amh": "am",
    "yor": "yo",
    "fil": "tl",
    "vie": "vi",
}
SENTENCES = 40


def sentences(shared_data, code: str) -> list[str]:
    name = "newstest2019-src.eng.txt" if code == "eng-US" else f"newstest2019-ref.{code}.txt"
    lines = (shared_data / "ntrex128_sample" / name).read_text(encoding="utf-8").splitlines()
    return [line for line in lines if line.strip()][:SENTENCES]


@pytest.mark.parametrize(("ntrex", "code"), NTREX.items())
def test_answers_in_the_expected_language_score_1(shared_data, ntrex, code):
    scores = [lang_fidelity(s, None, language=code) for s in sentences(shared_data, ntrex)]
    values = [s.value for s in scores]
    assert None not in values
    assert sum(values) / len(values) >= 0.95, [s.label for s in scores if s.value == 0]


@pytest.mark.parametrize("code", ["sw", "te", "zh", "fil", "am"])
def test_english_answers_to_questions_in_another_language_score_0(shared_data, code):
    scores = [lang_fidelity(s, None, language=code) for s in sentences(shared_data, "eng-US")]
    assert sum(s.value for s in scores) / len(scores) <= 0.05
    assert {s.label for s in scores} == {"en"}


def test_candidates_extend_the_restriction(shared_data):
    french = sentences(shared_data, "fra")[:10]
    # a Swahili question answered in French: without French among the candidates the answer can only be read as
    # Swahili or English; with it, the drift is seen for what it is
    assert {lang_fidelity(s, None, language="sw", candidates=["fr"]).label for s in french} == {"fr"}
    assert detect_language(french[0], ["sw", "en", "fr"]) == "fr"


def test_codes_go_through_the_registry_both_ways(shared_data):
    filipino = sentences(shared_data, "fil")[0]
    assert lang_fidelity(filipino, None, language="Filipino") == Scored(1.0, "fil")  # py3langid says 'tl'
    norwegian = sentences(shared_data, "nob")[0]
    assert lang_fidelity(norwegian, None, language="no", candidates=["nn", "da"]) == Scored(1.0, "nb")
    assert lang_fidelity(sentences(shared_data, "srp-Latn")[0], None, language="sr-Latn").value == 1.0


def test_no_letters_or_unknown_to_the_identifier_is_not_applicable():
    assert lang_fidelity("42", None, language="sw") == Scored(None, "no_text")
    assert lang_fidelity(None, None, language="sw") == Scored(None, "no_text")
    assert not supported("haw")  # Hawaiian: in the registry, not in py3langid
    assert lang_fidelity("Aloha kakou", None, language="haw") == Scored(None, "unsupported")


def test_an_english_task_uses_the_unrestricted_identifier(shared_data):
    german = sentences(shared_data, "deu")[0]
    assert lang_fidelity(german, None, language="en") == Scored(0.0, "de")


def test_languages_py3langid_lacks_are_judged_by_script(register_language):
    from crosslift.eval.scoring.fidelity import dominant_script, lang_fidelity

    register_language("Geor")
    assert dominant_script("ტომ აქვს 3 + 4 = 7") == "Geor"
    assert lang_fidelity("ტომ აქვს 3 + 4 = 7 ვაშლი", None, language="qxa").value == 1.0
    wrong = lang_fidelity("Tom has 3 + 4 = 7 apples", None, language="qxa")
    assert wrong.value == 0.0 and wrong.label == "script:Latn"
    assert lang_fidelity("3 + 4 = 7", None, language="qxa").value is None
