"""`crosslift judge`: end to end against a judge server on 127.0.0.1, errors, the key never shown, and a kill -9
mid-judging followed by a rerun that finishes the job without judging anything twice."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from crosslift.cli import build_parser, main
from crosslift.config import load_config
from crosslift.eval.config import EvalConfig
from crosslift.eval.runner.evaluate import evaluate

REPO = Path(__file__).resolve().parents[2]
QUESTIONS = [
    "Name a colour.",
    "Say hello.",
    "Describe rain.",
    "Give a number.",
    "Name a fruit.",
    "Describe snow.",
]


class Chat:
    def __init__(self, name: str) -> None:
        self.model_id = name

    def generate_chat(self, conversations, settings):
        return [f"{self.model_id} says: {c[-1]['content']}" for c in conversations]

    def generate(self, prompts, settings):
        return [f"{self.model_id} says: {p}" for p in prompts]


def make_runs(tmp_path: Path) -> tuple[Path, Path]:
    data = tmp_path / "data"
    data.mkdir()
    (data / "ask_en.jsonl").write_text(
        "".join(json.dumps({"id": f"q{i}", "instruction": q}) + "\n" for i, q in enumerate(QUESTIONS))
    )
    (tmp_path / "ask.yaml").write_text(
        "include: pairwise\ntask: ask\nlanguages: [en]\ndataset: {path: 'ask_{lang}.jsonl', format: jsonl}\n"
    )
    runs = []
    for name in ("good", "plain"):
        config = load_config(
            EvalConfig,
            None,
            [
                f"output_dir={tmp_path / name}",
                f"model.name_or_path={name}",
                f"data_dir={data}",
                f"task_paths=[{tmp_path / 'ask.yaml'}]",
                "tasks=[{name: ask}]",
            ],
        )
        evaluate(config, Chat(name))
        runs.append(tmp_path / name)
    return runs[0], runs[1]


class Judge(BaseHTTPRequestHandler):
    """Prefers the answer of the model called "good"; waits `delay` seconds per request."""

    delay = 0.0

    def log_message(self, *args) -> None:
        pass

    def _send(self, payload: dict) -> None:
        body = json.dumps(payload).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        self._send({"data": [{"id": "judge-model"}]})

    def do_POST(self) -> None:
        request = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.server.requests.append(request | {"authorization": self.headers.get("Authorization")})
        time.sleep(self.delay)
        user = request["messages"][-1]["content"]
        first = user.split("[The Start of Assistant A's Answer]\n", 1)[1]
        verdict = "[[A]]" if first.startswith("good says") else "[[B]]"
        self._send({"choices": [{"message": {"role": "assistant", "content": f"Explanation.\n\n{verdict}"}}]})


@pytest.fixture
def server():
    def start(delay: float = 0.0) -> ThreadingHTTPServer:
        handler = type("SlowJudge", (Judge,), {"delay": delay})
        httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        httpd.daemon_threads = True
        httpd.requests = []
        threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True).start()
        started.append(httpd)
        return httpd

    started: list[ThreadingHTTPServer] = []
    yield start
    for httpd in started:
        httpd.shutdown()
        httpd.server_close()


def url(httpd) -> str:
    return f"http://127.0.0.1:{httpd.server_address[1]}/v1"


def test_arguments():
    args = build_parser().parse_args(
        [
            "judge",
            "--a",
            "ra",
            "--b",
            "rb",
            "--judge",
            "http://h:1/v1",
            "--out",
            "o",
            "--languages",
            "zh,ko",
            "--extract-a",
            "plug",
            "--no-fluency",
        ]
    )
    assert (args.a, args.b, args.judge, args.out, args.extract_a, args.no_fluency) == (
        "ra",
        "rb",
        "http://h:1/v1",
        "o",
        "plug",
        True,
    )
    assert args.api_key_env == "OPENAI_API_KEY" and args.extract_b == "auto"


def test_end_to_end_and_the_key_is_never_shown(tmp_path, server, capsys, monkeypatch):
    monkeypatch.setenv("MY_JUDGE_KEY", "sk-very-secret")
    good, plain = make_runs(tmp_path)
    httpd = server()
    out = tmp_path / "judged"
    assert (
        main(
            [
                "judge",
                "--a",
                str(good),
                "--b",
                str(plain),
                "--judge",
                url(httpd),
                "--out",
                str(out),
                "--api-key-env",
                "MY_JUDGE_KEY",
            ]
        )
        == 0
    )
    printed = capsys.readouterr()
    assert "pairwise judge" in printed.out and "100.0" in printed.out
    summary = json.loads((out / "ask" / "summary.json").read_text())
    assert summary["outcomes"]["win"] == len(QUESTIONS) and summary["judge"]["model"] == "judge-model"
    assert summary["runs"]["a"]["model"] == "good" and summary["runs"]["b"]["model"] == "plain"
    assert len(httpd.requests) == 2 * len(QUESTIONS)
    assert {r["authorization"] for r in httpd.requests} == {"Bearer sk-very-secret"}
    for path in [*out.rglob("*.json*"), *out.rglob("*.md")]:
        assert "sk-very-secret" not in path.read_text(), path
    assert "sk-very-secret" not in printed.out + printed.err
    assert main(["report", str(out)]) == 0  # the judging folder is a report target too
    assert "win" in capsys.readouterr().out


def test_errors_are_one_message(tmp_path, server, capsys):
    good, _ = make_runs(tmp_path)
    httpd = server()
    assert (
        main(
            [
                "judge",
                "--a",
                str(good),
                "--b",
                str(tmp_path / "nothing"),
                "--judge",
                url(httpd),
                "--out",
                str(tmp_path / "o"),
            ]
        )
        == 2
    )
    assert "no evaluation results" in capsys.readouterr().err
    assert (
        main(
            ["judge", "--a", str(good), "--b", str(good), "--judge", "ftp://x", "--out", str(tmp_path / "o")]
        )
        == 2
    )
    assert "must start with http" in capsys.readouterr().err
    refused = ThreadingHTTPServer(("127.0.0.1", 0), Judge)  # bound, never serving: connection errors
    port = refused.server_address[1]
    refused.server_close()
    assert (
        main(
            [
                "judge",
                "--a",
                str(good),
                "--b",
                str(good),
                "--judge",
                f"http://127.0.0.1:{port}/v1",
                "--judge-model",
                "j",
                "--max-retries",
                "0",
                "--out",
                str(tmp_path / "o"),
            ]
        )
        == 2
    )
    assert "rerun the same command to resume" in capsys.readouterr().err


def test_a_judging_folder_in_use_is_refused_in_one_line(tmp_path, server, capsys, run_folder_holder):
    good, plain = make_runs(tmp_path)
    httpd = server()
    out = tmp_path / "judged"
    pid = run_folder_holder(out)
    capsys.readouterr()  # what making the runs printed
    args = ["judge", "--a", str(good), "--b", str(plain), "--judge", url(httpd), "--out", str(out)]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.startswith(f"crosslift judge: error: {out} is being written by process {pid} on host ")
    assert httpd.requests == []


@pytest.mark.slow
def test_kill_9_mid_judging_then_rerun_judges_each_pair_once(tmp_path, server):
    good, plain = make_runs(tmp_path)
    httpd = server(delay=0.3)
    out = tmp_path / "judged"
    command = [
        sys.executable,
        "-c",
        "import sys; from crosslift.cli import main; sys.exit(main())",
        "judge",
        "--a",
        str(good),
        "--b",
        str(plain),
        "--judge",
        url(httpd),
        "--out",
        str(out),
        "--concurrency",
        "1",
    ]
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    verdicts = out / "ask" / "verdicts.jsonl"
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and (
        not verdicts.exists() or len(verdicts.read_text().splitlines()) < 2
    ):
        if process.poll() is not None:
            pytest.fail("the judge finished before it could be killed")
        time.sleep(0.02)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    before = len(verdicts.read_text().splitlines())
    assert 2 <= before < len(QUESTIONS)
    sent_before = len(httpd.requests)
    assert subprocess.run(command, env=env, capture_output=True, timeout=120).returncode == 0
    keys = [json.loads(line)["key"] for line in verdicts.read_text().splitlines()]
    assert sorted(keys) == sorted(f"q{i}" for i in range(len(QUESTIONS)))  # every pair once
    assert len(httpd.requests) - sent_before == 2 * (
        len(QUESTIONS) - before
    )  # only the missing pairs were asked
    assert json.loads((out / "ask" / "summary.json").read_text())["outcomes"]["win"] == len(QUESTIONS)


def run_cli(*argv: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO / "src"), "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    command = [sys.executable, "-c", "import sys; from crosslift.cli import main; sys.exit(main())", *argv]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)


@pytest.mark.slow
def test_end_to_end_from_two_tiny_models_to_a_judged_comparison(shared_data, tmp_path, server):
    """The documented path: `crosslift eval` on X-AlpacaEval's instructions with two models, then `crosslift judge`."""
    data = shared_data / "alpaca_eval_en"
    # a base model without a chat template (tiny:llama) gets the instruction as plain text
    for name, model, extra in (("qwen", "tiny:qwen2", []), ("llama", "tiny:llama", ["prompt.chat=false"])):
        options = f"--task xalpacaeval --languages en --limit 3 --model {model} --max-new-tokens 8".split()
        evaluated = run_cli("eval", *options, "--data-dir", str(data), "--out", str(tmp_path / name), *extra)
        assert evaluated.returncode == 0, evaluated.stderr
    records = [
        json.loads(line)
        for line in (tmp_path / "qwen" / "eval" / "xalpacaeval" / "items.jsonl").read_text().splitlines()
    ]
    assert [r["id"] for r in sorted(records, key=lambda r: r["index"])] == ["1", "2", "3"]
    assert records[0]["question"] in (shared_data / "alpaca_eval_en" / "alpaca_eval_en.json").read_text()
    httpd = server()
    judged = run_cli(
        "judge",
        "--a",
        str(tmp_path / "qwen"),
        "--b",
        str(tmp_path / "llama"),
        "--judge",
        url(httpd),
        "--out",
        str(tmp_path / "judged"),
    )
    assert judged.returncode == 0, judged.stderr
    summary = json.loads((tmp_path / "judged" / "xalpacaeval" / "summary.json").read_text())
    assert summary["n_items"] == 3 and len(httpd.requests) == 6
    assert summary["runs"]["a"]["model"] == "tiny:qwen2" and summary["runs"]["b"]["model"] == "tiny:llama"
    assert "pairwise judge" in judged.stdout
