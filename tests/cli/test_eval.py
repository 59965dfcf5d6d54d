"""`crosslift eval`: the shorthand flags, config files with overrides, bundled configs, --list-tasks, errors."""

import pytest

from crosslift.cli import build_parser, main
from crosslift.cli.eval import build_config
from crosslift.config import load_config, resolve_config
from crosslift.errors import ConfigError
from crosslift.eval.config import EvalConfig
from crosslift.eval.tasks.registry import TaskRegistry


def parse(*argv: str):
    return build_parser().parse_args(["eval", *argv])


def test_the_shorthand_exactly_as_documented():
    args = parse(
        "--task",
        "mmwp",
        "--data-dir",
        "../shared/data/mmwp",
        "--model",
        "runs/x/model",
        "--languages",
        "en,sw,te",
        "--limit",
        "20",
        "--out",
        "runs/ev",
    )
    config = build_config(args)
    assert config.output_dir == "runs/ev" and config.model.name_or_path == "runs/x/model"
    (task,) = config.tasks
    assert (task.name, task.data_dir, task.languages, task.limit) == (
        "mmwp",
        "../shared/data/mmwp",
        ["en", "sw", "te"],
        20,
    )


def test_the_shorthand_with_an_endpoint_url_and_default_output_folder():
    config = build_config(
        parse("--task", "mgsm,mmwp_sw", "--model", "http://127.0.0.1:8000/v1", "--limit", "3")
    )
    assert [t.name for t in config.tasks] == ["mgsm", "mmwp_sw"] and all(t.limit == 3 for t in config.tasks)
    assert config.output_dir == "runs/eval-mgsm-mmwp_sw-v1"


def test_config_file_overrides_and_flags_layer(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("output_dir: o\nmodel: {name_or_path: tiny:llama}\ntasks: [{name: mmwp, limit: 5}]\n")
    config = build_config(
        parse(str(path), "generation.batch_size=4", "--limit", "7", "--chat", "--shots", "2")
    )
    assert (config.generation.batch_size, config.tasks[0].limit, config.prompt.chat, config.prompt.shots) == (
        4,
        7,
        True,
        2,
    )
    only_overrides = build_config(parse("output_dir=o2", "model.name_or_path=m", "tasks=[{name: mgsm}]"))
    assert only_overrides.tasks[0].name == "mgsm"


def test_errors_name_the_file_line_and_key(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text(
        "output_dir: o\nmodel: {name_or_path: m}\ntasks: [{name: mmwp}]\ngeneration:\n  batch_sise: 4\n"
    )
    with pytest.raises(
        ConfigError,
        match=r"c.yaml, line 5: unknown key 'generation.batch_sise' \(did you mean 'generation.batch_size'\?\)",
    ):
        build_config(parse(str(path)))
    with pytest.raises(ConfigError, match="command-line override, key 'tasks.0.limit'"):
        build_config(parse("--task", "mmwp", "--model", "m", "--limit", "0"))


@pytest.mark.parametrize("name", ["mmwp_tiny", "mgsm_native_cot_8shot", "mmwp_endpoint", "toy_math_tiny"])
def test_bundled_configs_are_valid(name):
    path = resolve_config(name, "eval")
    assert path.is_file()
    config = load_config(EvalConfig, path)
    assert config.tasks and config.output_dir.startswith("runs/")


def test_list_tasks(capsys):
    assert main(["eval", "--list-tasks"]) == 0
    assert "mmwp_low" in capsys.readouterr().out


def test_a_bad_task_is_one_message_and_status_2(tmp_path, capsys):
    assert main(["eval", "--task", "mmwq", "--model", "m", "--out", str(tmp_path)]) == 2
    assert "unknown task or group 'mmwq'; did you mean mmwp" in capsys.readouterr().err


@pytest.mark.parametrize("name", ["cross_mc_tiny", "cross_mc", "xalpacaeval_pairwise"])
def test_bundled_cross_lingual_configs_are_valid(name):
    config = load_config(EvalConfig, resolve_config(name, "eval"))
    assert config.tasks and config.output_dir.startswith("runs/")
    registry = TaskRegistry()  # no data_dir: each task reads its catalogued dataset from the download cache
    assert not config.data_dir and not any(t.data_dir for t in config.tasks)
    assert all(task.dataset.source for t in config.tasks for task in registry.resolve(t.name).tasks)


# ---------------------------------------------------------------------------------------------------- lm-eval spellings


def test_lm_eval_spellings_give_the_same_config_as_ours():
    ours = build_config(
        parse(
            "--task",
            "mmwp",
            "--model",
            "runs/x/model",
            "--shots",
            "0",
            "--chat",
            "--limit",
            "20",
            "--out",
            "runs/ev",
            "--batch-size",
            "4",
            "--include-path",
            "extra",
        )
    )
    theirs = build_config(
        parse(
            "--tasks",
            "mmwp",
            "--model",
            "hf",
            "--model_args",
            "pretrained=runs/x/model",
            "--num_fewshot",
            "0",
            "--apply_chat_template",
            "--limit",
            "20",
            "--output_path",
            "runs/ev",
            "--batch_size",
            "4",
            "--include_path",
            "extra",
            "--log_samples",
        )
    )
    assert theirs.model_dump() == ours.model_dump() | {"model": ours.model.model_dump() | {"backend": "hf"}}


@pytest.mark.parametrize(
    ("argv", "model"),
    [
        (
            [
                "--model",
                "hf",
                "--model_args",
                "pretrained=base,peft=adapter,dtype=torch.bfloat16,trust_remote_code=True",
            ],
            {"name_or_path": "adapter", "base_model": "base", "dtype": "bfloat16", "trust_remote_code": True},
        ),
        (
            ["--model", "vllm", "--model_args", "pretrained=m,dtype=half,device=cuda:1"],
            {"name_or_path": "m", "backend": "vllm", "dtype": "float16", "device": "cuda:1"},
        ),
        (
            ["--model", "local-chat-completions", "--model_args", "model=served,base_url=http://h:8000/v1"],
            {"name_or_path": "http://h:8000/v1", "backend": "endpoint"},
        ),
        (
            ["--model", "runs/x", "--model_args", "dtype=float32"],
            {"name_or_path": "runs/x", "dtype": "float32"},
        ),
    ],
)
def test_model_args(argv, model):
    config = build_config(parse("--tasks", "mmwp", *argv))
    assert {k: getattr(config.model, k) for k in model} == model
    if "base_url" in argv[-1]:
        assert (config.model.endpoint.served_model, config.model.endpoint.api) == ("served", "chat")


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ["--model", "hf", "--model_args", "pretrained=m,revision=main"],
            "'revision' is not supported; use pretrained",
        ),
        (["--model", "hf", "--model_args", "pretrained"], "'pretrained' is not key=value"),
        (["--model", "hf", "--model_args", "dtype=int8,pretrained=m"], "dtype 'int8' is not one of"),
        (["--model", "hf", "--model_args", "dtype=float32"], "--model_args must name the model"),
        (["--model", "runs/x", "--model_args", "pretrained=m"], "--model is then lm-eval's model type"),
        (["--model", "hf"], "--model hf is lm-eval's model type; name the model with --model_args"),
        (
            ["--model", "m", "--apply_chat_template", "chatml"],
            "only the model's own chat template is supported",
        ),
    ],
)
def test_model_args_errors(argv, message, capsys):
    assert main(["eval", "--tasks", "mmwp", "--output_path", "o", *argv]) == 2
    assert message in capsys.readouterr().err


def test_help_lists_the_lm_eval_spellings(capsys):
    with pytest.raises(SystemExit):
        parse("--help")
    out = capsys.readouterr().out
    for flag in (
        "--tasks",
        "--output_path",
        "--num_fewshot",
        "--apply_chat_template",
        "--limit",
        "--log_samples",
        "--model_args",
    ):
        assert flag in out


def test_list_tasks_names_the_new_benchmarks(capsys):
    assert main(["eval", "--list-tasks"]) == 0
    out = capsys.readouterr().out
    for name in ("msvamp", "msvamp_low", "afrimgsm", "xcsqa", "xcsqa_ll", "xnli", "xnli_ll"):
        assert f"│ {name} " in out, name


def _msvamp_answers(offset: float) -> dict[str, str]:
    import json
    from pathlib import Path

    out = {}
    for path in (Path(__file__).resolve().parents[1] / "fixtures" / "msvamp").glob("test_*.json"):
        for row in map(json.loads, path.read_text(encoding="utf-8").splitlines()):
            out[row["m_query"]] = f" The answer is {float(row['response']) + offset:g}."
    return out


def test_the_regression_guard_passes_and_fails(tmp_path, completions_server, capsys):
    from pathlib import Path

    data = str(Path(__file__).resolve().parents[1] / "fixtures" / "msvamp")
    right, wrong = completions_server(_msvamp_answers(0)), completions_server(_msvamp_answers(1))

    def run(url: str, out: str, languages: str, *extra: str) -> int:
        argv = ["eval", "--task", "msvamp", "--data-dir", data, "--languages", languages, "--model", url]
        return main([*argv, "--out", str(tmp_path / out), *extra])

    assert run(right.url, "before", "en,sw,zh") == 0
    capsys.readouterr()
    # the same figures again: within the tolerance (a recorded run folder, or its summary.json)
    assert run(right.url, "again", "en,sw", "--expect", str(tmp_path / "before"), "--tolerance", "0.5") == 0
    out = capsys.readouterr().out
    assert "as expected" in out and "not evaluated now: zh" in out
    summary = tmp_path / "before" / "eval" / "msvamp" / "summary.json"
    assert run(right.url, "again", "en,sw", "--expect", str(summary)) == 0
    # figures that moved: status 1, naming the languages
    assert run(wrong.url, "after", "en,sw", "--expect", str(tmp_path / "before"), "--tolerance", "1") == 1
    out = capsys.readouterr().out
    assert "DRIFT beyond 1 points in 2 language(s): en, sw" in out
    assert "msvamp sw accuracy_mathoctopus: 100.0 -> 0.0 (-100.0 points)" in out
    # a wrong path fails before any generation
    assert run(wrong.url, "x", "en", "--expect", str(tmp_path / "nothing")) == 2
    assert "no evaluation results here" in capsys.readouterr().err
