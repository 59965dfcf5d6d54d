"""The task registry: built-in families, groups, one-file parallel sets, includes, and located errors."""

import re
import textwrap

import pytest

from crosslift.errors import ConfigError
from crosslift.eval.tasks.registry import TaskRegistry, builtin_task_dir, list_tasks


@pytest.fixture(scope="module")
def registry():
    return TaskRegistry()


def test_builtin_families_and_groups(registry):
    mmwp = registry.resolve("mmwp")
    assert len(mmwp.tasks) == 48 and mmwp.tier_rule == "mmwp-llama2" and mmwp.tier is None
    assert [t.language for t in registry.resolve("mgsm").tasks] == "en es fr de ru zh ja th sw bn te".split()
    sw = registry.resolve("mmwp_sw").tasks[0]
    assert (sw.language, sw.dataset.path, sw.dataset.format, sw.prompt.template) == (
        "sw",
        "test_{lang}.json",
        "json",
        "metamath",
    )
    assert [p["name"] for p in sw.filter_list] == ["strict", "flexible"]
    assert sw.metric_list == [
        {"metric": "accuracy", "name": "accuracy_strict", "filter": "strict", "tolerance": 0.001},
        {"metric": "accuracy", "name": "accuracy_flexible", "filter": "flexible", "tolerance": 0.001},
    ]
    assert sw.generation.max_new_tokens == 1024  # LinguaLIFT's (its lm-eval wrapper's default)
    mgsm = registry.resolve("mgsm_te").tasks[0]
    assert (mgsm.dataset.format, mgsm.dataset.question_field, mgsm.prompt.words, mgsm.fewshot.format) == (
        "tsv",
        0,
        "mgsm",
        "mgsm_exemplars",
    )
    assert registry.resolve("mmwp_low").tier == "low"


def test_list_tasks_names_every_group(registry):
    rows = {r.name: r for r in list_tasks(registry)}
    assert rows["mmwp"].kind == "group" and len(rows["mmwp"].languages) == 48
    assert {"mgsm", "mgsm_low", "mmwp_high", "mmwp_medium"} <= set(rows)


def test_unknown_name_suggests_close_ones(registry):
    with pytest.raises(ConfigError, match="unknown task or group 'mmwp_swa'; did you mean mmwp_sw"):
        registry.resolve("mmwp_swa")


def test_a_new_parallel_math_set_is_one_yaml_file(tmp_path):
    (tmp_path / "mymath.yaml").write_text(
        textwrap.dedent("""\
        include: parallel_math
        task: mymath
        languages: [en, sw, "no"]
        dataset:
          path: mymath/test_{lang}.jsonl
          format: jsonl
          question_field: m_query
          answer_field: response
    """)
    )
    registry = TaskRegistry([tmp_path])
    selection = registry.resolve("mymath")
    assert [t.name for t in selection.tasks] == ["mymath_en", "mymath_sw", "mymath_no"]
    task = registry.resolve("mymath_sw").tasks[0]
    assert task.dataset.question_field == "m_query" and task.prompt.template == "metamath"
    assert task.generation.until[0] == "{question_word}"
    # a YAML path works as a task name too, without registering its folder
    assert TaskRegistry().resolve(str(tmp_path / "mymath.yaml")).name == "mymath"


def _write(path, text):
    path.write_text(textwrap.dedent(text))
    return path


def test_errors_name_file_line_and_key(tmp_path):
    _write(
        tmp_path / "bad.yaml",
        """\
        include: parallel_math
        task: bad
        language: sw
        dataset:
          path: x_{lang}.json
          formt: json
    """,
    )
    with pytest.raises(ConfigError) as err:
        TaskRegistry([tmp_path])
    assert "bad.yaml, line 6: unknown key 'dataset.formt' (did you mean 'dataset.format'?)" in str(err.value)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "include: parallel_math\ntask: t\nlanguage: sw\ndataset: {path: a}\nfilter_list:\n"
            "  - name: f\n    filter: [{function: nope}]\n",
            "unknown filter function 'nope'",
        ),
        (
            "include: parallel_math\ntask: t\nlanguage: sw\ndataset: {path: a}\nmetric_list: [{metric: bleu}]\n",
            "unknown metric 'bleu'",
        ),
        ("include: parallel_math\ntask: t\ndataset: {path: a}\n", "set exactly one of 'language'"),
        ("include: nowhere\ntask: t\n", "include 'nowhere' is neither"),
        ("include: me.yaml\ntask: t\n", "include cycle"),
        ("include: parallel_math\ntask: mmwp_sw\nlanguage: sw\ndataset: {path: a}\n", "already defined in"),
        ("group: g\ntask: [mmwp_sw, missing_task]\n", None),
    ],
)
def test_bad_task_files(tmp_path, text, message):
    _write(tmp_path / "me.yaml", text)
    if message is None:  # a group with an unknown member fails when it is resolved
        with pytest.raises(ConfigError, match="lists unknown task 'missing_task'"):
            TaskRegistry([tmp_path]).resolve("g")
        return
    with pytest.raises(ConfigError, match=message):
        TaskRegistry([tmp_path])


def test_builtin_folder_ships_templates_and_per_language_tasks(registry):
    root = builtin_task_dir()
    assert (root / "parallel_math" / "_template.yaml").is_file()
    # MMWP's 48 tasks and their group come from one file (languages: [...]); every mmwp_<lang> name resolves
    mmwp = [t for t in registry.tasks.values() if t.source == str(root / "mmwp" / "mmwp.yaml")]
    assert [t.name for t in mmwp] == [f"mmwp_{t.language}" for t in mmwp] and len(mmwp) == 48
    assert all(registry.resolve(t.name).tasks == [t] for t in mmwp)
    assert not list((root / "mmwp").glob("mmwp_??.yaml"))
    assert len(list((root / "mgsm").glob("mgsm_??.yaml"))) == 11


def test_cross_lingual_and_pairwise_families(registry):
    mmlu = registry.resolve("cross_mmlu")
    assert [t.language for t in mmlu.tasks] == ["en", "zh", "id", "vi", "es", "ms", "fil"]
    task = mmlu.tasks[0]
    assert (task.dataset.format, task.dataset.answer_type, task.prompt.template) == (
        "seaeval_cross",
        "choice",
        "mcq",
    )
    assert [m["metric"] for m in task.metric_list] == ["exact_match", "consistency", "ac3"]
    assert task.fidelity_spec() is None  # letters are in no language
    xquad = registry.resolve("cross_xquad")
    assert [t.language for t in xquad.tasks] == ["en", "zh", "vi", "es"] and xquad.tasks[
        0
    ].dataset.format == "xquad_mc"
    assert len(registry.resolve("xquad_mc").tasks) == 12
    plug = registry.resolve("xalpacaeval_plug_zh").tasks[0]
    assert plug.prompt.template == "tulu" and "{language}" in plug.prompt.system
    assert plug.filter_list[0]["filter"][0]["function"] == "plug_target"
    assert [t.language for t in registry.resolve("xalpacaeval").tasks] == ["en", "zh", "ko", "it", "es"]
    assert registry.resolve("mmwp_sw").tasks[0].fidelity_spec() == {
        "filter": None,
        "drop_final_number": True,
        "candidates": [],
    }


@pytest.mark.parametrize(
    ("fidelity", "message"),
    [
        ("{filter: nope}", "fidelity scores filter 'nope', which is not in filter_list"),
        ("{candidates: [xx-notalanguage]}", "fidelity.candidates: unknown language"),
    ],
)
def test_bad_fidelity_settings(tmp_path, fidelity, message):
    (tmp_path / "t.yaml").write_text(
        f"include: parallel_math\ntask: t\nlanguages: [en]\ndataset: {{path: x}}\nfidelity: {fidelity}\n"
    )
    with pytest.raises(ConfigError, match=message):
        TaskRegistry([tmp_path])


def test_values_by_language(tmp_path):
    _write(
        tmp_path / "t.yaml",
        """\
        include: parallel_math
        task: tab
        languages: [en, sw, "no"]
        dataset:
          path: {by_language: {en: english.jsonl, sw: swahili.jsonl}, default: "{lang}.jsonl"}
          format: jsonl
        prompt:
          instruction:
            by_language: {sw: "Weka jibu ndani ya \\\\boxed{}.", no: "Svar i \\\\boxed{}."}
            default: "Put the answer in \\\\boxed{}."
        """,
    )
    registry = TaskRegistry([tmp_path])
    tasks = {t.language: t for t in registry.resolve("tab").tasks}
    assert {k: t.dataset.path for k, t in tasks.items()} == {
        "en": "english.jsonl",
        "sw": "swahili.jsonl",
        "no": "{lang}.jsonl",  # a bare `no` key (Norwegian) is a language, not YAML's false
    }
    assert tasks["sw"].prompt.instruction == "Weka jibu ndani ya \\boxed{}."
    assert tasks["no"].prompt.instruction == "Svar i \\boxed{}."
    assert tasks["en"].spec()["prompt"]["instruction"] == "Put the answer in \\boxed{}."


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            "dataset: {path: a, subset: {by_language: {en: x}}}\n",
            "key 'dataset.subset'.* has no 'sw' and no default",
        ),
        ("dataset: {path: {by_language: {sw: a}, other: b}}\n", "unexpected: other"),
        ("dataset: {path: '{lang}/{level}.jsonl'}\n", "list the levels"),
        ("dataset: {path: a, levels: [easy]}\n", "needs {level} in dataset.path .* or dataset.level_field"),
        ("dataset: {path: '{level}', levels: [e], level_field: d}\n", "not both"),
        ("dataset: {path: a}\nlevel_weights: {easy: 1}\n", "level_weights needs dataset.levels"),
        ("dataset: {path: '{level}', levels: [e]}\nlevel_weights: {x: 1}\n", r"unknown: x"),
        ("dataset: {path: '{level}', levels: [e]}\nlevel_weights: {e: 0}\n", "not all zero"),
        ("dataset: {path: a}\noutput_type: multiple_choice\n", "needs dataset.answer_type: choice"),
    ],
)
def test_bad_tables_levels_and_output_types(tmp_path, body, message):
    _write(tmp_path / "t.yaml", "include: parallel_math\ntask: t\nlanguages: [sw]\n" + body)
    with pytest.raises(ConfigError, match=message):
        TaskRegistry([tmp_path])


def test_toy_math_reads_the_toy_set_crosslift_makes(registry, tmp_path):
    from crosslift.data.commands import build
    from crosslift.data.specs import ToySpec
    from crosslift.data.toy import toy_parallel
    from crosslift.eval.tasks.data import load_items

    selection = registry.resolve("toy_math")
    assert [t.language for t in selection.tasks] == ["en", "sw", "te", "zh"]
    build(ToySpec(languages=["en", "sw", "te", "zh"], items=5, seed=99), tmp_path / "toy_math.jsonl")
    parallel = toy_parallel([], 5, seed=99)
    golds = [re.findall(r"\d+", parallel.get(i, "en").output)[-1] for i in parallel.ids]
    data = tmp_path / selection.tasks[0].dataset.path
    for task in selection.tasks:
        items, files = load_items(task.dataset, task.language, lambda code, level=None: data)
        assert files == [tmp_path / "toy_math.jsonl"] and [i.id for i in items] == parallel.ids
        assert [i.answer for i in items] == golds  # the number each worked answer (or its cipher) ends with
