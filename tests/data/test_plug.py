import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from crosslift.data.examples import Example, ParallelSet
from crosslift.data.plug import (
    RESPONSE_MARKERS,
    Extraction,
    build_plug,
    build_target,
    extract_pivot,
    extract_target,
    plug_system,
    response_marker,
)
from crosslift.errors import DataError
from crosslift.languages import all_languages


def test_markers_and_system_prompts():
    assert response_marker("zh") == "中文回复：" and response_marker("ko") == "한국어 응답:"
    assert (
        response_marker("it") == "Risposta in italiano:" and response_marker("es") == "Respuesta en español:"
    )
    assert response_marker("sw") == "Swahili response:" and response_marker("swh") == "Swahili response:"
    assert (
        plug_system("zh")
        == "Please interpret the instruction in English, and then respond both in English and in Chinese."
    )
    assert plug_system("ko", monolingual=True) == "Please respond to the following user message in Korean."


def test_target_layout():
    target = build_target("Name a fruit.", "Apple.", "苹果。", "zh")
    assert target == "English instruction: Name a fruit.\n\nEnglish response: Apple.\n\n中文回复：苹果。"
    short = build_target("Name a fruit.", "Apple.", "Tofaa.", "sw", pivot_instruction_label=None)
    assert short == "English response: Apple.\n\nSwahili response: Tofaa."
    with pytest.raises(DataError, match="must differ from the pivot"):
        build_target("a", "b", "c", "en-GB")


def test_extraction_statuses():
    ok = "English response: Hi.\n\n中文回复：你好。"
    assert extract_target(ok, "zh").status == "ok" and extract_target(ok, "zh").text == "你好。"
    assert extract_target("English response: Hi.", "zh").status == "marker_missing"
    assert extract_target("English response: Hi.", "zh").text == ""
    swapped = "中文回复：你好。\n\nEnglish response: Hi."
    # PLUG's extraction (the default) keeps everything after the target marker; cut_at_pivot cuts the English off
    assert extract_target(swapped, "zh") == Extraction("你好。\n\nEnglish response: Hi.", "wrong_order")
    assert extract_target(swapped, "zh", mode="cut_at_pivot") == Extraction("你好。", "wrong_order")
    assert extract_target(swapped, "zh", order="target_first", mode="cut_at_pivot").status == "ok"
    assert extract_target(swapped, "zh", order="target_first").status == "ok"
    assert extract_target(ok, "zh", order="target_first").status == "wrong_order"
    # no pivot part at all: the answer is still there
    assert extract_target("中文回复：你好。", "zh").text == "你好。"
    with pytest.raises(ValueError, match="mode must be one of"):
        extract_target(ok, "zh", mode="cut")


# Text that may surround markers: anything, including markers' characters, but not a whole marker.
texts = st.text(st.characters(blacklist_categories=("Cs",)), max_size=60)
ALL_CODES = [lang.code for lang in all_languages() if lang.base_code != "en"]


@pytest.mark.parametrize("lang", ALL_CODES)
def test_round_trip_every_registry_language(lang):
    marker = response_marker(lang)
    assert marker and marker != response_marker("en")
    target = build_target(
        "Tell a joke.", "Why did the chicken ... ?", f"<{lang}> answer\nwith two lines", lang
    )
    assert extract_target(target, lang) == extract_target(target, lang).__class__(
        f"<{lang}> answer\nwith two lines", "ok"
    )


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(ALL_CODES), texts, texts, texts, st.booleans())
def test_build_extract_round_trip(lang, instruction, pivot_response, response, with_instruction):
    markers = {response_marker(lang), response_marker("en"), *RESPONSE_MARKERS.values()}
    assume(not any(m in s for m in markers for s in (instruction, pivot_response, response)))
    target = build_target(
        instruction,
        pivot_response,
        response,
        lang,
        pivot_instruction_label="English instruction:" if with_instruction else None,
    )
    got = extract_target(target, lang)
    assert got.status == "ok" and got.text == response.strip()
    pivot = extract_pivot(target, lang)
    assert pivot.status == "ok" and pivot.text == pivot_response.strip()


def test_pivot_extraction():
    both = "English instruction: Add.\n\nEnglish response: 2 + 3 = 5.\n\n中文回复：二加三等于五。"
    assert extract_pivot(both, "zh") == Extraction("2 + 3 = 5.", "ok")
    assert extract_pivot("English response: 5.", "zh") == Extraction("5.", "ok")  # the target part never came
    assert extract_pivot("中文回复：五。", "zh") == Extraction("", "marker_missing")


def test_build_plug_from_parallel_set():
    items = {
        "7": {
            "en": Example(id="7", instruction="Add 2 and 3.", input="Show work.", output="5"),
            "zh": Example(id="7", instruction="把2和3相加。", input="写出过程。", output="五"),
        },
    }
    ps = ParallelSet(languages=["en", "zh"], ids=["7"], items=items)
    (ex,) = build_plug(ps)
    assert (ex.id, ex.instruction, ex.input, ex.instruction_lang, ex.output_lang) == (
        "7-zh",
        "把2和3相加。",
        "写出过程。",
        "zh",
        "zh",
    )
    assert (
        ex.output == "English instruction: Add 2 and 3.\n\nShow work.\n\nEnglish response: 5\n\n中文回复：五"
    )
    assert ex.meta["system"] == plug_system("zh")
    (mono,) = build_plug(ps, monolingual=True)
    assert mono.output == "五" and mono.meta["system"] == plug_system("zh", monolingual=True)
    with pytest.raises(DataError, match="target languages"):
        build_plug(ps, targets=["ko"])
