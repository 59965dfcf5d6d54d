"""The synthetic world generator: determinism, lexicon and dictionary consistency, parallel disjoint splits,
word order, digits, fertility, the formats the rest of crosslift reads, and located config errors."""

from __future__ import annotations

import json
import random
import re
import unicodedata
from pathlib import Path

import pytest
import yaml

from crosslift import languages as registry
from crosslift.config import resolve_config
from crosslift.errors import ConfigError, CrossliftError
from crosslift.synth.world import (
    ENGLISH,
    SCRIPTS,
    VOCABULARY,
    Phrase,
    Problem,
    ProblemSampler,
    Sentence,
    World,
    build_world,
    load_world_config,
    sample_problem,
    world_languages,
)

from .conftest import languages_registered

SCRIPT_NAMES = {
    "Cyrl": "CYRILLIC",
    "Grek": "GREEK",
    "Armn": "ARMENIAN",
    "Geor": "GEORGIAN",
    "Deva": "DEVANAGARI",
    "Ethi": "ETHIOPIC",
    "Latn": "LATIN",
    "Beng": "BENGALI",
    "Telu": "TELUGU",
}
EQUATION = re.compile(r"(\d+) ([-+*]) (\d+) = (\d+)")


@pytest.fixture(scope="module")
def config():
    return load_world_config("quick")


@pytest.fixture(scope="module")
def world(config, tmp_path_factory) -> World:
    return build_world(config, tmp_path_factory.mktemp("world"))


@pytest.fixture(scope="module")
def manifest(world) -> dict:
    return json.loads(world.manifest.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def registered(world):
    """The world's languages in the registry for this module only."""
    with languages_registered(world):
        yield


def _files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def _math(world: World, split: str, lang: str) -> list[dict]:
    return json.loads(world.math(split, lang).read_text(encoding="utf-8"))


def _jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def _muse(path: Path) -> dict[str, str]:
    return dict(line.split(" ") for line in path.read_text(encoding="utf-8").splitlines())


# --------------------------------------------------------------------------------------------- determinism


def test_same_seed_gives_the_same_bytes_and_another_seed_does_not(world, config, tmp_path):
    first = _files(world.root)
    again = build_world(config, tmp_path / "again")
    assert _files(again.root) == first and again.hash == world.hash
    other = build_world(config.model_copy(update={"seed": 1}), tmp_path / "other")
    assert other.hash != world.hash
    changed = _files(other.root)
    for name in (
        "math/test_en.json",
        "dictionaries/en-qla.txt",
        "lexicons/en-qha.txt",
        "corpus/pretrain.jsonl",
    ):
        assert changed[name] != first[name], name


def test_a_built_world_is_reused_and_a_damaged_one_rebuilt(config, tmp_path):
    world = build_world(config, tmp_path / "w")
    stamp = world.pretrain_corpus.stat().st_mtime_ns
    assert build_world(config, tmp_path / "w").hash == world.hash
    assert world.pretrain_corpus.stat().st_mtime_ns == stamp  # not rewritten
    world.math("test", "qla").write_text("[]", encoding="utf-8")
    assert build_world(config, tmp_path / "w").hash == world.hash
    assert len(_math(world, "test", "qla")) == config.sizes.test


def test_manifest_records_every_file_and_the_hash(world, manifest):
    on_disk = {k for k in _files(world.root) if k != "world.json"}
    assert set(manifest["files"]) == on_disk
    assert manifest["hash"] == world.hash and manifest["config"]["seed"] == world.config.seed


# --------------------------------------------------------------------------------------------- languages


def test_lexicons_are_one_to_one_in_their_script(world, config):
    for spec in config.languages:
        lexicon = _muse(world.lexicons / f"en-{spec.code}.txt")
        assert sorted(lexicon) == sorted(VOCABULARY)
        assert len(set(lexicon.values())) == len(lexicon), spec.code
        letters = {c for word in lexicon.values() for c in word}
        assert all(SCRIPT_NAMES[spec.script] in unicodedata.name(c) for c in letters), spec.code


def test_dictionaries_agree_with_the_lexicon_up_to_the_recorded_noise(world, config, manifest):
    coverage = {}
    for spec in config.languages:
        lexicon = _muse(world.lexicons / f"en-{spec.code}.txt")
        entries = _muse(world.dictionaries / f"en-{spec.code}.txt")
        noisy = manifest["dictionaries"][spec.code]["noisy"]
        assert set(noisy) <= set(entries)
        for english, foreign in entries.items():
            if english in noisy:
                assert foreign == noisy[english] != lexicon[english]
                assert foreign in lexicon.values()  # a wrong word of the same language
            else:
                assert foreign == lexicon[english], (spec.code, english)
        assert abs(len(noisy) / len(entries) - config.dictionary_noise) <= 1 / len(entries)
        coverage[spec.code] = len(entries) / len(VOCABULARY)
    total_noisy = sum(len(d["noisy"]) for d in manifest["dictionaries"].values())
    assert total_noisy > 0
    by_tier = {
        t: [coverage[s.code] for s in config.languages if s.tier == t] for t in ("high", "medium", "low")
    }
    assert min(by_tier["high"]) > max(by_tier["medium"]) and min(by_tier["medium"]) > max(by_tier["low"])


def test_verb_final_puts_the_verb_last_and_reverses_noun_phrases(config):
    langs = world_languages(config)
    qha, qhb = langs["qha"], langs["qhb"]
    assert (qha.word_order, qhb.word_order) == ("svo", "verb_final")
    sentence = Sentence(
        (Phrase("subj", ("tom",)), Phrase("verb", ("likes",)), Phrase("obj", (3, "red", "apples")))
    )
    w = qhb.words
    assert qhb.words_of(sentence) == [w["tom"], w["apples"], w["red"], "3", w["likes"]]
    assert qha.words_of(sentence) == [
        qha.words[t] if t != 3 else "3" for t in ("tom", "likes", 3, "red", "apples")
    ]
    # A generated question: "How many apples does Tom have now?" -> "apples many how Tom now does have?"
    problem = Problem(("tom", "ana"), "apples", (13, 14), "gives", 1, 4, "A")
    question, cot = problem.structure()
    assert qhb.words_of(question[-1]) == [
        w[x] for x in ("apples", "many", "how", "tom", "now", "does", "have")
    ]
    assert qhb.words_of(question[2]) == [w["ana"], w["tom"], w["apples"], "4", w["gives"]]
    assert qhb.words_of(cot[2]) == ["13 + 4 = 17"]
    assert (
        langs["en"].render(question)
        == "Tom has 13 apples. Ana has 14 apples. Ana gives Tom 4 apples. How many apples does Tom have now?"
    )
    assert (
        langs["en"].render(cot) == "Tom has 13 apples. Ana gives Tom 4 apples. 13 + 4 = 17. The answer is 17."
    )


@pytest.mark.parametrize(
    "event, subject, ask, cot, answer",
    [
        ("finds", 0, "A", "Tom has 13 apples. Tom finds 4 more apples. 13 + 4 = 17.", 17),
        ("finds", 0, "B", "Ana has 14 apples.", 14),  # the event is someone else's
        ("sells", 1, "B", "Ana has 14 apples. Ana sells 4 apples. 14 - 4 = 10.", 10),
        ("gives", 0, "A", "Tom has 13 apples. Tom gives Ana 4 apples. 13 - 4 = 9.", 9),
        ("gives", 0, "B", "Ana has 14 apples. Tom gives Ana 4 apples. 14 + 4 = 18.", 18),
        (
            "gives",
            1,
            "both",
            "Tom has 13 apples. Ana has 14 apples. 13 + 14 = 27.",
            27,
        ),  # a gift moves nothing out
        (
            "loses",
            1,
            "both",
            "Tom has 13 apples. Ana has 14 apples. 13 + 14 = 27. Ana loses 4 apples. 27 - 4 = 23.",
            23,
        ),
    ],
)
def test_the_words_decide_which_numbers_the_answer_uses(event, subject, ask, cot, answer):
    problem = Problem(("tom", "ana"), "apples", (13, 14), event, subject, 4, ask)
    question, steps = problem.structure()
    assert ENGLISH.render(steps) == f"{cot} The answer is {answer}." and problem.answer == answer
    assert [int(n) for n in re.findall(r"\d+", ENGLISH.render(question))] == [13, 14, 4]


def test_native_digits_only_where_configured(world):
    qla = [*_math(world, "test", "qla"), *_math(world, "dev", "qla")]
    qla_text = " ".join(i["question"] + " " + i["cot"] for i in qla)
    qla_text += " ".join(d["text"] for d in _jsonl(world.pretrain_corpus) if d["lang"] == "qla")
    qla_text += " ".join(r["instruction"] + r["output"] for r in _jsonl(world.instructions("qla")))
    assert not re.search(r"[0-9]", qla_text)
    assert set(SCRIPTS["Deva"].digits) <= set(qla_text) and " + " in qla_text and " = " in qla_text
    qha = " ".join(i["cot"] for i in _math(world, "test", "qha"))
    assert re.search(r"[0-9]", qha) and not set(SCRIPTS["Deva"].digits) & set(qha)


def test_high_fertility_words_are_at_least_twice_as_long(world):
    chars: dict[str, list[int]] = {"en": [], "qmb": [], "qma": []}
    for doc in _jsonl(world.encoder_corpus):
        if doc["lang"] in chars:
            chars[doc["lang"]] += [
                len(w.strip(".?")) for w in doc["text"].split() if not re.search(r"[\d+*=-]", w)
            ]
    mean = {k: sum(v) / len(v) for k, v in chars.items()}
    assert mean["qmb"] >= 2 * mean["en"] and mean["qma"] < 2 * mean["en"]


# ------------------------------------------------------------------------------------------ math and splits


def test_question_text_identifies_the_problem():
    rng = random.Random(0)
    seen: dict[str, Problem] = {}
    for _ in range(5000):
        problem = sample_problem(rng)
        text = ENGLISH.render(problem.structure()[0])
        assert seen.setdefault(text, problem) == problem


def test_sampler_skips_held_out_problems():
    # The same seed replays the same draws: without the exclusion every problem below would be a held-out one.
    replay = random.Random(7)
    heldout = [sample_problem(replay) for _ in range(50)]
    sampler = ProblemSampler(random.Random(7), set(heldout))
    assert not {sampler.draw() for _ in range(500)} & set(heldout)
    unique = ProblemSampler(random.Random(7), set(), unique=True)
    assert len({unique.draw() for _ in range(500)}) == 500


def test_english_chain_of_thought_is_correct(world):
    for split in ("dev", "test"):
        for item in _math(world, split, "en"):
            steps = EQUATION.findall(item["cot"])
            assert [[int(a), op, int(b)] for a, op, b, _ in steps] == item["equations"]
            for a, op, b, result in steps:
                assert {"+": int(a) + int(b), "-": int(a) - int(b)}[op] == int(result)
                assert 0 <= int(result) <= 57
            assert item["cot"].endswith(f"The answer is {item['answer']}.")
            assert re.search(r"(?:^|\. )The answer is \d+\.$", item["cot"])
            a, b, c = (int(n) for n in re.findall(r"\d+", item["question"]))
            assert {a // 10, b // 10} == {1, 2} and 1 <= c <= 9


def test_no_rule_over_the_numbers_alone_answers_many_items(world):
    from crosslift.synth.floor import no_reading_floor

    dev = {lang: _math(world, "dev", lang) for lang in world.languages}
    test = {lang: _math(world, "test", lang) for lang in world.languages}
    assert no_reading_floor(dev, test)["floor"] <= 0.25  # the quick world's 40 items; the default's is 0.085


def test_every_event_and_question_is_equally_likely():
    from collections import Counter

    rng = random.Random(0)
    drawn = [sample_problem(rng) for _ in range(6000)]
    families = Counter(
        {"finds": "gain", "buys": "gain", "loses": "loss", "sells": "loss"}.get(p.event, p.event)
        for p in drawn
    )
    for counts in (families, Counter(p.ask for p in drawn), Counter(p.subject for p in drawn)):
        assert max(counts.values()) / min(counts.values()) < 1.1


def test_dev_and_test_are_parallel_and_disjoint_from_each_other_and_from_training(world, config):
    heldout: dict[str, set[str]] = {lang: set() for lang in world.languages}
    for split in ("dev", "test"):
        english = _math(world, split, "en")
        assert len(english) == getattr(config.sizes, split)
        for lang in world.languages:
            items = _math(world, split, lang)
            for key in ("id", "answer", "equations"):
                assert [i[key] for i in items] == [i[key] for i in english], (split, lang, key)
            questions = {i["question"] for i in items}
            assert len(questions) == len(items)  # no repeats within a split
            assert not questions & heldout[lang], (split, lang)  # dev and test share no problem
            heldout[lang] |= questions
    # A question's text identifies its problem (one-to-one lexicons; see test_question_text_identifies_...).
    for lang in ["en", *(s.code for s in config.languages if s.translated_items)]:
        trained = {r["instruction"] for r in _jsonl(world.instructions(lang))}
        assert not trained & heldout[lang], lang
    math_docs = 0
    for corpus in (world.pretrain_corpus, world.encoder_corpus):
        for doc in _jsonl(corpus):
            if "\n" in doc["text"]:
                math_docs += 1
                assert doc["text"].split("\n")[0] not in heldout[doc["lang"]], doc
    assert math_docs > 0


def test_instructions_english_then_translated_prefixes(world, config, registered):
    from crosslift.data.examples import read_examples

    english, report = read_examples(world.instructions("en"))
    assert len(english) == config.sizes.instructions and report.read == len(english)
    assert len({e.id for e in english}) == len(english)
    assert all(e.input == "" and "The answer is" in e.output for e in english)
    counts = {}
    for spec in config.languages:
        translated, _ = read_examples(world.instructions(spec.code))
        assert [e.id for e in translated] == [e.id for e in english[: spec.translated_items]]
        assert all(t.instruction != e.instruction for t, e in zip(translated, english, strict=False))
        counts[spec.tier] = len(translated)
    assert counts["high"] > counts["medium"] > counts["low"] > 0


def test_corpora_follow_the_shares(world, config):
    from collections import Counter

    pretrain = _jsonl(world.pretrain_corpus)
    by_lang = Counter(d["lang"] for d in pretrain)
    total = config.english_pretrain_share + sum(s.pretrain_share for s in config.languages)
    assert len(pretrain) == config.sizes.pretrain_documents
    assert abs(by_lang["en"] / len(pretrain) - config.english_pretrain_share / total) < 0.001
    for spec in config.languages:
        assert abs(by_lang[spec.code] / len(pretrain) - spec.pretrain_share / total) < 0.001
    encoder = Counter(d["lang"] for d in _jsonl(world.encoder_corpus))
    assert set(encoder) == set(world.languages) and max(encoder.values()) - min(encoder.values()) <= 1
    math_share = sum("\n" in d["text"] for d in pretrain) / len(pretrain)
    assert abs(math_share - config.math_share) < 0.01


# ---------------------------------------------------------------------------------- formats crosslift reads


def test_registry_tier_rule_lexicons_and_task_files_load(world, config, registered):
    from crosslift.data.lexicon import load_lexicons
    from crosslift.eval.tasks.data import load_items
    from crosslift.eval.tasks.registry import TaskRegistry
    from crosslift.languages import get_language, load_tier_rule

    builtin = Path(registry.__file__).parent / "resources" / "languages.tsv"
    header = next(
        line for line in builtin.read_text(encoding="utf-8").splitlines() if not line.startswith("#")
    )
    rows = [
        line
        for line in world.languages_file.read_text(encoding="utf-8").splitlines()
        if not line.startswith("#")
    ]
    assert rows[0] == header and len(rows) == 1 + len(config.languages)
    assert get_language("qmb").script == "Geor" and get_language("qla").iso639_1 is None

    rule = load_tier_rule(world.tier_rule)
    assert dict(rule.tiers) == {"en": "high"} | {s.code: s.tier for s in config.languages}
    assert world.tiers == {"en": "english"} | {s.code: s.tier for s in config.languages}

    lexicons = load_lexicons([world.dictionaries], world.languages[1:])
    for spec in config.languages:
        assert len(lexicons[spec.code]) == len(_muse(world.dictionaries / f"en-{spec.code}.txt"))

    tasks = TaskRegistry([world.task_yaml("test").parent])
    for split, group in (("test", "synth_math"), ("dev", "synth_math_dev")):
        selection = tasks.resolve(group)
        assert [t.language for t in selection.tasks] == world.languages
        task = selection.tasks[-1]
        assert task.prompt.instruction_language == "en" and task.generation.max_new_tokens == 64
        items, _ = load_items(task.dataset, task.language, lambda code, s=split: world.math(s, code))
        assert [i.answer for i in items] == [str(i["answer"]) for i in _math(world, split, "en")]


def test_world_paths_reject_unknown_languages_and_splits(world):
    with pytest.raises(CrossliftError, match="not in this world"):
        world.math("test", "xx")
    with pytest.raises(CrossliftError, match="unknown split"):
        world.task_yaml("train")
    assert world.task_yaml("dev").is_file() and world.math("dev", "qlb").is_file()


# --------------------------------------------------------------------------------------------- config errors


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (["languages.1.code=qha"], r"key 'languages\.1\.code'.*no other language"),
        (["languages.0.code=xyz"], r"key 'languages\.0\.code'.*qaa to qtz"),
        (["languages.0.code=qua"], r"key 'languages\.0\.code'.*qaa to qtz"),
        (["languages.2.script=Klingon"], r"key 'languages\.2\.script'.*Cyrl.*Ethi"),
        (["languages.0.digits=native"], r"key 'languages\.0\.digits'.*Deva"),
        (["languages.4.tier=medium", "languages.5.tier=high"], r"key 'languages'.*none is low"),
        (["languages.0.translated_items=100000"], r"key 'languages\.0\.translated_items'.*at most"),
        (["sizes.dev=0"], r"key 'sizes\.dev'"),
    ],
)
def test_config_errors_name_the_key(overrides, message):
    with pytest.raises(ConfigError, match=message):
        load_world_config("quick", overrides)


def test_config_errors_in_a_file_give_its_line(tmp_path):
    quick = resolve_config("quick", "world").read_text(encoding="utf-8")
    tree = yaml.safe_load(quick)
    tree["languages"][3]["code"] = "qhb"  # the code of languages.1 again
    path = tmp_path / "world.yaml"
    path.write_text(yaml.safe_dump(tree, sort_keys=False, allow_unicode=True), encoding="utf-8")
    line = [i for i, text in enumerate(path.read_text().splitlines(), 1) if text.endswith("code: qhb")][1]
    with pytest.raises(ConfigError, match=rf"world\.yaml, line {line}, key 'languages\.3\.code'"):
        load_world_config(path)
    with pytest.raises(ConfigError, match="neither a bundled world"):
        load_world_config("no-such-world")


# ------------------------------------------------------------------------------------ what real corpora have


def test_the_parallel_set_is_the_same_sentences_in_every_language(world, config):
    lines = {
        lang: world.parallel_text(lang).read_text(encoding="utf-8").splitlines() for lang in world.languages
    }
    assert {len(v) for v in lines.values()} == {config.sizes.parallel}
    assert (
        sum("has" in line for line in lines["en"]) > config.sizes.parallel // 10
    )  # math sentences among them
    for lang in world.languages[1:]:
        numbers = [re.findall(r"\d+", unicodedata.normalize("NFKD", x)) for x in lines[lang]]
        # the same sentence: the same numbers in it (read in the language's digits)
        english = [re.findall(r"\d+", x) for x in lines["en"]]
        assert [len(n) for n in numbers] == [len(n) for n in english]


def test_some_corpus_documents_mix_in_english_words(world, config):
    words = set(VOCABULARY)
    mixed = {lang: 0 for lang in world.languages[1:]}
    for doc in _jsonl(world.encoder_corpus):
        if doc["lang"] != "en" and sum(w.strip(".?").lower() in words for w in doc["text"].split()) >= 2:
            mixed[doc["lang"]] += 1
    per_language = config.sizes.encoder_documents / len(world.languages)
    for count in mixed.values():
        assert 0.5 * config.natural_code_switching < count / per_language < 2 * config.natural_code_switching


def test_a_language_without_translations_gets_machine_translation_by_tier(tmp_path):
    config = load_world_config("quick", ["languages.4.translated_items=0", "languages.2.translated_items=0"])
    world = build_world(config, tmp_path)
    assert (world.translation("qla"), world.translation("qma"), world.translation("qha")) == (
        "machine",
        "machine",
        "human",
    )
    assert world.instructions("qla").parent.name == "instructions_mt"
    reference = world_languages(config)
    for code in ("qla", "qma"):
        machine = _jsonl(world.instructions(code))
        assert len(machine) == config.machine_translation.items
        right = set(reference[code].words.values())
        words = [w.strip(".?") for r in machine for w in r["instruction"].split()]
        words = [w for w in words if not re.search(r"\d", w)]
        assert all(w.lower() in {x.lower() for x in right} for w in words)  # wrong words are still its words
    no_mt = load_world_config("quick", ["languages.4.translated_items=0", "machine_translation.items=0"])
    with pytest.raises(CrossliftError, match="no translated instructions"):
        build_world(no_mt, tmp_path / "none").instructions("qla")


def test_machine_translation_errs_more_in_a_lower_tier():
    langs = world_languages(load_world_config("quick"))
    rng = random.Random(0)
    problems = [sample_problem(rng).structure()[0] for _ in range(300)]
    clean = [langs["qla"].render(q) for q in problems]

    def changed(error: float) -> float:
        noisy = [langs["qla"].render_noisy(q, random.Random(i), error=error) for i, q in enumerate(problems)]
        return sum(a != b for a, b in zip(clean, noisy, strict=True)) / len(clean)

    assert changed(0.0) == 0.0 and changed(0.05) < changed(0.30) < 1.0
