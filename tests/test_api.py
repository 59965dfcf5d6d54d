"""The Python API (`crosslift.api`, exported by the package): fit a tiny SFT, evaluate it and read its summary, with
nothing but the package (a tiny Llama, the toy data builder, benchmark files written here); its names survive the
import of every module of the package, and `import crosslift` stays light."""

from __future__ import annotations

import ast
import importlib
import json
import pkgutil
import re
import subprocess
import sys
from pathlib import Path

import pytest

import crosslift
from crosslift import api
from crosslift.errors import ConfigError

API = ("fit", "evaluate", "report", "demo", "load_model")
README = Path(__file__).resolve().parents[1] / "README.md"


def test_the_api_names_stay_callable_after_every_module_is_imported():
    imported = [
        importlib.import_module(m.name)
        for m in pkgutil.walk_packages(crosslift.__path__, "crosslift.")
        if not m.name.endswith("__main__")  # the command line itself: it would run
    ]
    assert len(imported) > 100  # the walk found the package's modules
    for name in API:
        assert getattr(crosslift, name) is getattr(api, name) and callable(getattr(crosslift, name)), name
    assert set(API) <= set(crosslift.__all__) and set(crosslift.__all__) <= set(dir(crosslift))
    with pytest.raises(AttributeError, match="no attribute 'train_model'"):
        crosslift.train_model  # noqa: B018


def test_importing_the_package_imports_nothing_else():
    """`import crosslift` (which every `import crosslift.<module>` runs first) loads the API on first use only."""
    code = (
        "import sys; import crosslift; print(sorted(m for m in sys.modules if m.startswith('crosslift'))); "
        "print('pydantic' in sys.modules, 'typing' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.splitlines() == ["['crosslift', 'crosslift.version']", "False False"]


def _benchmark(folder: Path) -> Path:
    """MMWP's layout (test_{lang}.json: question, answer) with two problems in English and Swahili."""
    folder.mkdir()
    problems = {
        "en": [
            ("Ana has 2 apples and buys 3 more. How many apples does she have?", "5"),
            ("What is 4 * 6?", "24"),
        ],
        "sw": [("Ana ana tufaha 2 na ananunua 3 zaidi. Ana tufaha ngapi?", "5"), ("4 * 6 ni ngapi?", "24")],
    }
    for lang, items in problems.items():
        records = [{"question": q, "answer": a} for q, a in items]
        (folder / f"test_{lang}.json").write_text(json.dumps(records), encoding="utf-8")
    return folder


def test_fit_a_tiny_sft_evaluate_it_and_read_its_summary(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    run = crosslift.fit(
        {
            "recipe": "sft",
            "name": "api_sft",
            "output_dir": "runs/api_sft",
            "model": {"name_or_path": "tiny:llama", "dtype": "float32"},
            "data": {
                "train": [{"path": "data/toy_en.jsonl", "build": {"verb": "toy", "items": 16}}],
                "template": "alpaca",
                "max_length": 128,
            },
            "training": {"batch_size": 4, "learning_rate": 1e-3},
        },
        ["training.max_steps=2", "training.save_steps=2"],
    )
    assert run.path == Path("runs/api_sft") and (run.model / "model.safetensors").is_file()
    manifest = run.manifest()
    assert manifest["status"] == "completed" and "data/toy_en.jsonl" in manifest["data"]

    data = _benchmark(tmp_path / "mmwp")
    settings = [f"data_dir={data}", "tasks.0.limit=2", "generation.max_new_tokens=8"]
    config = tmp_path / "eval.yaml"
    config.write_text(
        f"output_dir: {run.path}\nmodel: {{name_or_path: {run.model}, dtype: float32}}\n"
        "tasks: [{name: mmwp, languages: [en, sw]}]\n",
        encoding="utf-8",
    )
    summaries = crosslift.evaluate(config, settings)
    summary = summaries["mmwp"]
    accuracy = summary["overall"]["metrics"][summary["primary_metric"]]
    assert 0 <= accuracy["value"] <= 1
    assert {code: entry["n_items"] for code, entry in summary["languages"].items()} == {"en": 2, "sw": 2}
    assert summary["model"]["name_or_path"] == str(run.model)
    assert json.loads((run.path / "eval" / "mmwp" / "summary.json").read_text()) == summary

    # the same evaluation as a config object, into another folder, with the model loaded beforehand: greedy, so
    # the same answers
    from crosslift.eval import load_eval_config

    generator = crosslift.load_model({"name_or_path": str(run.model)}, ["dtype=float32", "device=cpu"])
    assert generator.model_id == str(run.model)
    assert len(generator.generate(["Question: 2 + 3?"], crosslift.GenerationSettings(max_new_tokens=4))) == 1
    again = crosslift.evaluate(load_eval_config(config), [*settings, "output_dir=again"], generator=generator)
    assert again["mmwp"]["timing"]["items_generated"] == 4
    assert again["mmwp"]["languages"] == summary["languages"]

    done = crosslift.report(run.path)
    assert list(done.summaries) == [run.path / "eval" / "mmwp"] and done.comparison is None
    assert done.summaries[run.path / "eval" / "mmwp"]["overall"] == summary["overall"]
    both = crosslift.report([run.path, run.path / "eval"], tmp_path / "cmp")
    assert both.comparison == tmp_path / "cmp" / "comparison.md" and both.comparison.is_file()


def test_a_bad_config_fails_before_any_work_naming_the_key(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError, match="key 'training.learning_rate': got 'fast'"):
        crosslift.fit("sft_tiny", ["training.learning_rate=fast"])
    with pytest.raises(ConfigError, match="missing key 'recipe'"):
        crosslift.fit({"name": "x", "output_dir": "runs/x"})
    with pytest.raises(ConfigError, match="unknown key 'modle'"):
        crosslift.evaluate("mmwp_tiny", ["modle.dtype=float32"])
    with pytest.raises(ConfigError, match="compares two runs"):
        crosslift.report(["runs/a"], paired=True)
    assert list(tmp_path.iterdir()) == []


def test_the_readme_shows_the_api():
    """The README's Python example uses the package's exported names, and only them."""
    blocks = re.findall(r"^```python\n(.*?)^```", README.read_text(encoding="utf-8"), flags=re.S | re.M)
    example = next(b for b in blocks if "crosslift.fit(" in b)
    used = {
        node.attr
        for node in ast.walk(ast.parse(example))
        if isinstance(node, ast.Attribute)
        and isinstance(node.value, ast.Name)
        and node.value.id == "crosslift"
    }
    assert {"fit", "evaluate", "load_model", "report"} <= used <= set(crosslift.__all__)


def test_a_demo_config_object_is_validated_with_its_overrides_before_any_work(tmp_path, run_folder_holder):
    from crosslift.runs import RunFolderBusy
    from crosslift.synth.demo import load_demo_config

    out = tmp_path / "demo"
    with pytest.raises(ConfigError, match="sft.max_steps"):
        crosslift.demo(load_demo_config("quick"), out, ["sft.max_steps=0"])
    assert not out.exists()
    pid = run_folder_holder(out)  # the folder is taken: refused before the world is generated
    with pytest.raises(RunFolderBusy, match=f"process {pid} "):
        crosslift.demo(load_demo_config("quick").model_dump(), out, ["seeds=[1]"])
