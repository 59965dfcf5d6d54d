"""Endpoints that misbehave at the socket level, through the verbs that use them (`crosslift eval` with a URL
as the model, `crosslift data translate`): one that takes connections and never answers fails in about its
timeout with one clear line (exit 2, no traceback), never the old 10 minutes of silent retries; one that
answers slowly, then normally, is waited for (with lines saying so) and retried, and the work completes.

Each server is a thread of this test process on 127.0.0.1; each case takes a few seconds (timeouts of 1 s).
"""

from __future__ import annotations

import json
import re
import socket
import textwrap
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from crosslift.cli import main
from crosslift.models import endpoint

PROBLEMS = [(2, 3), (10, 7), (4, 4)]


@pytest.fixture
def hung_server() -> Iterator[str]:
    """A server that takes every connection and never sends a byte."""
    listener = socket.create_server(("127.0.0.1", 0))
    held: list[socket.socket] = []

    def accept() -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            held.append(conn)

    threading.Thread(target=accept, daemon=True).start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}/v1"
    listener.close()
    for conn in held:
        conn.close()


Reply = tuple[float, dict]  # (seconds to wait first, JSON answer)


@pytest.fixture
def llm() -> Iterator[Callable[[Callable[[str, dict, int], Reply]], str]]:
    """start(answer) -> URL of a server that answers each request `answer(method, JSON body, n)` = (delay,
    payload), where n counts the requests of that method from 1."""
    servers: list[ThreadingHTTPServer] = []

    def start(answer: Callable[[str, dict, int], Reply]) -> str:
        count = {"GET": 0, "POST": 0}
        lock = threading.Lock()

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def do_GET(self) -> None:
                self.reply("GET", {})

            def do_POST(self) -> None:
                self.reply("POST", json.loads(self.rfile.read(int(self.headers["Content-Length"]))))

            def reply(self, method: str, body: dict) -> None:
                with lock:
                    count[method] += 1
                    n = count[method]
                delay, payload = answer(method, body, n)
                time.sleep(delay)
                data = json.dumps(payload).encode()
                try:
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):  # the client gave up on this attempt
                    pass

        httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        httpd.daemon_threads = True
        threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True).start()
        servers.append(httpd)
        return f"http://127.0.0.1:{httpd.server_address[1]}/v1"

    yield start
    for httpd in servers:
        httpd.shutdown()
        httpd.server_close()


@pytest.fixture
def addition(tmp_path: Path) -> Path:
    """A two-language addition task (task YAML in tasks/, data in data/)."""
    (tmp_path / "data").mkdir()
    for lang in ("en", "sw"):
        rows = [{"q": f"What is {a} + {b}?", "a": str(a + b)} for a, b in PROBLEMS]
        (tmp_path / "data" / f"add_{lang}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    (tmp_path / "tasks").mkdir()
    (tmp_path / "tasks" / "addition.yaml").write_text(
        textwrap.dedent("""\
        include: parallel_math
        task: addition
        languages: [en, sw]
        dataset: {path: "add_{lang}.jsonl", format: jsonl, question_field: q, answer_field: a}
    """)
    )
    return tmp_path


def eval_args(root: Path, url: str, *overrides: str) -> list[str]:
    return [
        "eval",
        "model.endpoint.timeout_s=1",
        "model.endpoint.max_retries=2",
        *overrides,
        "--task",
        "addition",
        "--include-path",
        str(root / "tasks"),
        "--data-dir",
        str(root / "data"),
        "--model",
        url,
        "--max-new-tokens",
        "16",
        "--out",
        str(root / "out"),
    ]


def translate_args(root: Path, url: str) -> list[str]:
    rows = [
        {"id": f"i{k}", "instruction": f"Add {a} and {b}.", "output": str(a + b)}
        for k, (a, b) in enumerate(PROBLEMS)
    ]
    (root / "en.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return [
        "data",
        "translate",
        "--input",
        str(root / "en.jsonl"),
        "--language",
        "sw",
        "--base-url",
        url,
        "--model",
        "m",
        "--timeout",
        "1",
        "--max-retries",
        "2",
        "--out",
        str(root / "sw.jsonl"),
    ]


def one_error_line(err: str, verb: str) -> str:
    lines = [line for line in err.splitlines() if line.startswith(f"crosslift {verb}: error: ")]
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


@pytest.mark.parametrize("verb", ["eval", "data"])
def test_a_server_that_never_answers_fails_within_its_timeout(hung_server, addition, capsys, verb):
    args = eval_args(addition, hung_server) if verb == "eval" else translate_args(addition, hung_server)
    started = time.monotonic()
    assert main(args) == 2
    assert time.monotonic() - started < 10  # the timeout is 1 s; before, 5 attempts of every request
    line = one_error_line(capsys.readouterr().err, verb)
    assert f"GET {hung_server}/models: no answer within 1 s, though the server takes connections" in line
    assert not (addition / "sw.jsonl").exists()  # translate: nothing half-done to resume


@pytest.mark.slow
def test_with_default_settings_a_hung_server_fails_within_30_s(hung_server, addition, capsys):
    """The issue's case as a user meets it: no timeout options (eval's request timeout is 120 s, with 4
    retries). Takes 15 s: the first check's default limit."""
    args = [
        "eval",
        "--task",
        "addition",
        "--include-path",
        str(addition / "tasks"),
        "--data-dir",
        str(addition / "data"),
        "--model",
        hung_server,
        "--out",
        str(addition / "out"),
    ]
    started = time.monotonic()
    assert main(args) == 2
    assert time.monotonic() - started < 30
    line = one_error_line(capsys.readouterr().err, "eval")
    assert "no answer within 15 s, though the server takes connections" in line


def completion(body: dict) -> dict:
    a, b = map(int, re.findall(r"(\d+) \+ (\d+)", body["prompt"])[-1])
    return {"choices": [{"text": f" The answer is {a + b}."}]}


def test_a_slow_server_is_waited_for_and_retried_then_eval_completes(llm, addition, capsys, monkeypatch):
    """/models answers after 0.5 s (a line says the client waits); the first completion takes longer than the
    1 s deadline and is retried (the retry printed); every item is then answered and scored."""
    monkeypatch.setattr(endpoint, "FIRST_ANSWER_NOTICE_S", 0.2)

    def answer(method: str, body: dict, n: int) -> Reply:
        if method == "GET":
            return 0.5, {"data": [{"id": "m"}]}
        return (2.0 if n == 1 else 0.0), completion(body)

    url = llm(answer)
    assert main(eval_args(addition, url, "model.endpoint.concurrency=1")) == 0
    err = capsys.readouterr().err
    assert f"{url}/models: waiting for the server to answer (at most 1 s)" in err
    assert err.count(f"POST {url}/completions: no response within 1 s; retry 1/2 in ") == 1
    summary = json.loads((addition / "out" / "eval" / "addition" / "summary.json").read_text())
    assert {lang: entry["n_items"] for lang, entry in summary["languages"].items()} == {"en": 3, "sw": 3}
    assert all(entry["metrics"]["accuracy_strict"]["value"] == 1.0 for entry in summary["languages"].values())


def test_a_slow_server_is_retried_then_translate_completes(llm, addition, capsys):
    def answer(method: str, body: dict, n: int) -> Reply:
        if method == "GET":
            return 0.0, {"data": [{"id": "m"}]}
        prompt = body["messages"][0]["content"]
        instruction, response = re.search(
            r"\n\n<\|user\|> (.*) \n\n<\|assistant\|> (.*)$", prompt, re.S
        ).groups()
        text = f"<|user|> sw: {instruction} \n\n<|assistant|> sw: {response}"
        return (2.0 if n == 1 else 0.0), {"choices": [{"message": {"role": "assistant", "content": text}}]}

    url = llm(answer)
    assert main(translate_args(addition, url)) == 0
    assert "no response within 1 s; retry 1/2" in capsys.readouterr().err
    records = [json.loads(line) for line in (addition / "sw.jsonl").read_text().splitlines()]
    assert [r["id"] for r in records] == ["i0", "i1", "i2"]
    assert records[1]["instruction"] == "sw: Add 10 and 7."
