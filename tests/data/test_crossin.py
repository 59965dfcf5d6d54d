from collections import Counter

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crosslift.data.crossin import TRANS_INSTRUCTION, apportion, build_crossin, mix, mix_epochs, parse_modes
from crosslift.data.examples import Example, ParallelSet
from crosslift.data.options import ReadOptions
from crosslift.errors import ConfigError, DataError

LANGS = ["en", "zh", "vi", "es"]


def parallel(n: int = 5) -> ParallelSet:
    items = {
        str(i): {
            lang: Example(
                id=str(i),
                instruction=f"ins{i}-{lang}",
                input=f"in{i}-{lang}" if i % 2 else "",
                output=f"out{i}-{lang}",
                instruction_lang=lang,
                output_lang=lang,
            )
            for lang in LANGS
        }
        for i in range(n)
    }
    return ParallelSet(languages=LANGS, ids=list(items), items=items)


BASE = [Example(id=f"p{i}", instruction=f"hard {i}", output=f"answer {i}") for i in range(3)]


def test_modes_follow_the_released_builder():
    exs = build_crossin(parallel(), BASE, modes=["base", "en2x", "x2en", "trans"], size=40, seed=0)
    by_mode = {}
    for ex in exs:
        by_mode.setdefault(ex.meta["crossin"]["mode"], []).append(ex)
    assert [e.instruction for e in by_mode["base"]] == ["hard 0", "hard 1", "hard 2"]
    for ex in by_mode["en2x"]:
        i, x = ex.meta["crossin"]["item"], ex.output_lang
        assert ex.instruction == f"ins{i}-en" and ex.output == f"out{i}-{x}" and x in ("zh", "vi", "es")
        assert (
            ex.input == (f"in{i}-en" if int(i) % 2 else "") + f"\n[{x}]"
        )  # tag on the input, even when empty
    for ex in by_mode["x2en"]:
        i, x = ex.meta["crossin"]["item"], ex.instruction_lang
        assert ex.instruction == f"ins{i}-{x}" and ex.output == f"out{i}-en" and ex.input.endswith("\n[en]")
    for ex in by_mode["trans"]:
        i, x = ex.meta["crossin"]["item"], ex.instruction_lang
        assert (ex.instruction, ex.input, ex.output) == (TRANS_INSTRUCTION, f"ins{i}-{x}", f"ins{i}-en")


def test_sampling_is_with_replacement_and_uniform():
    exs = build_crossin(parallel(5), modes=["en2x"], size=3000, seed=0)
    items = Counter(ex.meta["crossin"]["item"] for ex in exs)
    langs = Counter(ex.output_lang for ex in exs)
    assert (
        set(items) == {"0", "1", "2", "3", "4"} and max(items.values()) < 700
    )  # ~600 each: repeats, no bias
    assert set(langs) == {"zh", "vi", "es"} and min(langs.values()) > 900


def test_x2x_pairs_differ_and_cover_all_languages():
    exs = build_crossin(parallel(), modes=["x2x"], size=2000, seed=1)
    pairs = Counter((ex.instruction_lang, ex.output_lang) for ex in exs)
    assert all(a != b for a, b in pairs) and len(pairs) == 12  # 4 x 3 ordered pairs
    ex = exs[0]
    a, b = ex.meta["crossin"]["langs"]
    assert ex.instruction.endswith(f"-{a}") and ex.output.endswith(f"-{b}") and ex.input.endswith(f"\n[{b}]")


@pytest.mark.parametrize("sampling", ["coupled", "independent"])
def test_dropping_a_mode_changes_no_other_and_seeds_matter(sampling):
    one = build_crossin(
        parallel(), modes=["en2x", "trans"], size={"en2x": 50, "trans": 30}, seed=4, sampling=sampling
    )
    two = build_crossin(parallel(), modes=["trans"], size=30, seed=4, sampling=sampling)
    assert [e.to_dict() for e in one if e.meta["crossin"]["mode"] == "trans"] == [e.to_dict() for e in two]
    other_seed = build_crossin(parallel(), modes=["trans"], size=30, seed=5, sampling=sampling)
    assert [e.to_dict() for e in other_seed] != [e.to_dict() for e in two]


def test_coupled_sampling_pairs_trans_with_en2x_as_released():
    """The released builder draws (item, x) once per example and builds modes 1-3 from that draw: in the 0-1-3
    mixture, Trans example k translates the very item and language of en2x example k."""
    exs = build_crossin(
        parallel(50), modes=["en2x", "x2en", "trans"], size=200, seed=0
    )  # coupled is the default
    by_mode = {m: [e for e in exs if e.meta["crossin"]["mode"] == m] for m in ("en2x", "x2en", "trans")}
    for en2x, x2en, trans in zip(by_mode["en2x"], by_mode["x2en"], by_mode["trans"], strict=True):
        item = en2x.meta["crossin"]["item"]
        assert x2en.meta["crossin"]["item"] == trans.meta["crossin"]["item"] == item
        x = en2x.output_lang  # en -> x
        assert (x2en.instruction_lang, trans.instruction_lang) == (x, x) and en2x.meta["crossin"][
            "langs"
        ] == ["en", x]
    # independent sampling: the modes cover different items and languages
    exs = build_crossin(parallel(50), modes=["en2x", "trans"], size=200, seed=0, sampling="independent")
    en2x = [(e.meta["crossin"]["item"], e.output_lang) for e in exs if e.meta["crossin"]["mode"] == "en2x"]
    trans = [
        (e.meta["crossin"]["item"], e.instruction_lang) for e in exs if e.meta["crossin"]["mode"] == "trans"
    ]
    assert sum(a == b for a, b in zip(en2x, trans, strict=True)) < 20  # chance: 200 / (50 x 3)
    with pytest.raises(ValueError, match="sampling must be one of"):
        build_crossin(parallel(), modes=["en2x"], sampling="paired")


def test_coupled_x2x_shares_the_item():
    exs = build_crossin(parallel(20), modes=["en2x", "x2x"], size=100, seed=2)
    items = {
        m: [e.meta["crossin"]["item"] for e in exs if e.meta["crossin"]["mode"] == m] for m in ("en2x", "x2x")
    }
    assert items["en2x"] == items["x2x"]


def test_parse_modes_and_errors():
    assert (
        parse_modes("0-1-3")
        == ["base", "en2x", "trans"]
        == parse_modes("0 1 3")
        == parse_modes("base,en2x,trans")
    )
    with pytest.raises(ConfigError, match="unknown CrossIn mode"):
        parse_modes("en2fr")
    with pytest.raises(DataError, match="needs the English complex-task examples"):
        build_crossin(parallel(), modes=["base"])
    with pytest.raises(DataError, match="need a parallel instruction set"):
        build_crossin(None, BASE, modes=["base", "en2x"])
    with pytest.raises(DataError, match="target languages"):
        build_crossin(parallel(), modes=["en2x"], targets=["de"])


@settings(max_examples=60, deadline=None)
@given(
    st.sets(st.sampled_from(["base", "en2x", "x2en", "trans", "x2x"]), min_size=1),
    st.integers(0, 200),
    st.integers(0, 2**32),
)
def test_mode_counts_match_requested_sizes(modes, size, seed):
    exs = build_crossin(parallel(7), BASE, modes=sorted(modes), size=size, seed=seed)
    counts = Counter(ex.meta["crossin"]["mode"] for ex in exs)
    for mode in modes:
        assert counts[mode] == (len(BASE) if mode == "base" else size)
    assert sum(counts.values()) == len(exs)


def test_size_per_mode_and_all():
    exs = build_crossin(parallel(5), modes=["en2x", "x2en"], size={"en2x": 2, "x2en": None})
    assert Counter(ex.meta["crossin"]["mode"] for ex in exs) == {"en2x": 2, "x2en": 5}


# ---------------------------------------------------------------------------------------------- mixtures


@settings(max_examples=100, deadline=None)
@given(
    st.integers(0, 500), st.lists(st.floats(0, 10), min_size=1, max_size=5).filter(lambda w: sum(w) > 0.01)
)
def test_apportion_sums_and_is_proportional(total, weights):
    counts = apportion(total, weights)
    assert sum(counts) == total
    for c, w in zip(counts, weights, strict=True):
        assert abs(c - total * w / sum(weights)) < 1 + 1e-9


def test_mix_counts_repeats_and_epochs():
    a = [Example(id=f"a{i}", instruction="x", output="y", source="a") for i in range(3)]
    b = [Example(id=f"b{i}", instruction="x", output="y", source="b") for i in range(100)]
    epoch = mix([a, b], [1, 1], size=20, seed=0)
    ids = Counter(ex.id for ex in epoch)
    assert Counter(ex.source for ex in epoch) == {"a": 10, "b": 10}
    assert {ids[f"a{i}"] for i in range(3)} <= {3, 4}  # a small source repeats evenly
    assert [e.id for e in mix([a, b], [1, 1], size=20, seed=0)] == [e.id for e in epoch]
    assert [e.id for e in mix([a, b], [1, 1], size=20, seed=0, epoch=1)] != [e.id for e in epoch]
    three = mix_epochs([a, b], [1, 3], size=8, epochs=3, seed=0)
    assert len(three) == 24 and Counter(e.meta["epoch"] for e in three) == {0: 8, 1: 8, 2: 8}
    with pytest.raises(DataError, match="source 0 is empty"):
        mix([[], b], [1, 1], size=4)


def test_real_mgsm_as_parallel_set(shared_data):
    from crosslift.data.examples import read_parallel

    files = {lang: shared_data / "mgsm" / f"mgsm_{lang}.tsv" for lang in ("en", "zh", "es")}
    ps = read_parallel(files, ReadOptions(columns=["instruction", "output"]))
    exs = build_crossin(ps, modes="1-2-3", size=100, seed=0)
    assert len(exs) == 300
    en2x = next(ex for ex in exs if ex.meta["crossin"]["mode"] == "en2x")
    assert en2x.instruction == ps.get(en2x.meta["crossin"]["item"], "en").instruction
