"""Translation through an OpenAI-compatible endpoint, against a real HTTP server on 127.0.0.1 that plays the LLM."""

import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from crosslift.cli import main
from crosslift.data.commands import manifest_path
from crosslift.data.translate import split_translation, translation_prompt

PAIR = re.compile(r"<\|user\|> (.*) \n\n<\|assistant\|> (.*)$", re.S)


class FakeLLM(BaseHTTPRequestHandler):
    """Translates by wrapping each side in «...»; misbehaves on purpose for items that ask for it."""

    calls: list[str] = []
    seen: dict[str, int] = {}
    lock = threading.Lock()

    def log_message(self, *args):  # keep test output clean
        pass

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        prompt = body["messages"][0]["content"]
        instruction, response = PAIR.search(prompt).groups()
        with self.lock:
            self.calls.append(instruction)
            n = self.seen[instruction] = self.seen.get(instruction, 0) + 1
        if "BUSY" in instruction and n == 1:
            return self.reply(503, {"error": "overloaded"})
        if "BADKEY" in instruction:
            return self.reply(401, {"error": "invalid api key"})
        if "DROP" in instruction and n == 1 or "NEVER" in instruction:
            text = f"«{instruction}» «{response}»"  # the markers got lost: must not split
        else:
            text = f"<|user|> «{instruction}» \n\n<|assistant|> «{response}»"
        self.reply(200, {"choices": [{"message": {"role": "assistant", "content": text}}]})

    def reply(self, status, payload):
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


@pytest.fixture
def server():
    FakeLLM.calls, FakeLLM.seen = [], {}
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), FakeLLM)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/v1"
    httpd.shutdown()
    httpd.server_close()


def write_input(path, instructions):
    rows = [
        {"id": f"i{k}", "instruction": ins, "input": "ctx" if k == 0 else "", "output": f"answer {k}"}
        for k, ins in enumerate(instructions)
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def translate_args(server, src, out, *extra):
    return [
        "data",
        "translate",
        "--input",
        str(src),
        "--language",
        "zh",
        "--base-url",
        server,
        "--model",
        "fake-1",
        "--max-retries",
        "2",
        "--concurrency",
        "3",
        "--out",
        str(out),
        *extra,
    ]


def read_jsonl(path):
    return [json.loads(line) for line in path.read_text(encoding="utf-8").split("\n") if line]


def test_prompt_and_split():
    prompt = translation_prompt("Say hi.", "Hi!", "zh")
    assert prompt.startswith(
        "将下列英文翻译成中文。保留<|user|>和<|assistant|>这两个特殊字符。"
    ) and prompt.endswith("<|assistant|> Hi!")
    assert "into Swahili" in translation_prompt("a", "b", "sw")
    assert split_translation("<|user|> 你好 \n\n<|assistant|> 嗨") == ("你好", "嗨")
    assert "expected one" in split_translation("你好 嗨")
    assert "before" in split_translation("<|assistant|> b <|user|> a")
    assert split_translation("<|user|>  <|assistant|> b") == "an empty side"


def test_translate_retries_rejects_and_resumes(server, tmp_path, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-secret-value")
    src = write_input(
        tmp_path / "en.jsonl", ["Say hi.", "BUSY then fine", "DROP markers once", "NEVER splits", "Count."]
    )
    out = tmp_path / "zh.jsonl"
    assert main(translate_args(server, src, out)) == 0
    records = read_jsonl(out)
    assert [r["id"] for r in records] == [
        "i0",
        "i1",
        "i2",
        "i4",
    ]  # input order; the never-splitting item left out
    assert records[0]["instruction"] == "«Say hi.\n\nctx»" and records[0]["output"] == "«answer 0»"
    assert records[0]["instruction_lang"] == "zh" and records[0]["translation"]["model"] == "fake-1"
    assert records[2]["translation"]["attempts"] == 2  # rejected once, then split
    manifest = json.loads(manifest_path(out).read_text())
    assert manifest["report"]["failed_splits"] == {
        "expected one <|user|> and one <|assistant|>, got 0 and 0": 1
    }
    assert manifest["report"]["failed_ids"] == ["i3"] and manifest["models"] == {"translator": "fake-1"}
    assert "sk-secret-value" not in manifest_path(out).read_text()
    assert FakeLLM.seen["BUSY then fine"] == 2  # the 503 was retried by the client
    assert FakeLLM.seen["NEVER splits"] == 3  # first try + 2 split retries

    # Resume: a kill left two lines and a torn third; only the missing items are requested again.
    lines = out.read_text(encoding="utf-8").split("\n")
    out.write_text(lines[0] + "\n" + lines[1] + "\n" + lines[2][:15], encoding="utf-8")
    FakeLLM.calls.clear()
    assert main(translate_args(server, src, out)) == 0
    assert sorted(FakeLLM.calls) == sorted(
        ["DROP markers once", "NEVER splits", "NEVER splits", "NEVER splits", "Count."]
    )
    assert [r["id"] for r in read_jsonl(out)] == ["i0", "i1", "i2", "i4"]


def test_translate_stops_on_errors_no_retry_fixes(server, tmp_path, capsys):
    src = write_input(tmp_path / "en.jsonl", ["BADKEY please"])
    assert main(translate_args(server, src, tmp_path / "zh.jsonl")) == 2
    assert "401" in capsys.readouterr().err


def test_translate_refuses_a_foreign_output_file(server, tmp_path, capsys):
    src = write_input(tmp_path / "en.jsonl", ["Say hi."])
    out = tmp_path / "zh.jsonl"
    out.write_text(
        json.dumps({"id": "other", "instruction": "x", "output": "y", "instruction_lang": "zh"}) + "\n"
    )
    assert main(translate_args(server, src, out)) == 2
    assert "not translations of this input" in capsys.readouterr().err


def test_translated_file_feeds_plug(server, tmp_path):
    src = write_input(tmp_path / "en.jsonl", ["Say hi.", "Count."])
    out = tmp_path / "zh.jsonl"
    assert main(translate_args(server, src, out)) == 0
    plug = tmp_path / "plug.jsonl"
    assert main(["data", "plug", "--pivot", f"en={src}", "--target", f"zh={out}", "--out", str(plug)]) == 0
    first = read_jsonl(plug)[0]
    assert first["output"].endswith("中文回复：«answer 0»") and first["instruction"] == "«Say hi.\n\nctx»"
