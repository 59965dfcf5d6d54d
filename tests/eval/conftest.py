"""Fixtures of the evaluation tests: a scripted generator and a tiny parallel math set with its task YAML; scripted
chat models on a two-language instruction set, and a real HTTP server on 127.0.0.1 that plays the pairwise judge."""

from __future__ import annotations

import json
import re
import textwrap
import threading
import time
from pathlib import Path

import pytest

from crosslift.config import load_config
from crosslift.eval.config import EvalConfig
from crosslift.models.generation import GenerationSettings

PROBLEMS = [(2, 3), (10, 7), (1000, 25), (4, 4), (6, 9), (12, 30)]


class ScriptedGenerator:
    """Answers "What is a + b?" correctly in English, wrongly in Swahili, and without any number in Telugu."""

    model_id = "scripted"

    def __init__(self, fail_after_calls: int | None = None) -> None:
        self.batches: list[list[str]] = []
        self.fail_after_calls = fail_after_calls

    def generate(self, prompts: list[str], settings: GenerationSettings) -> list[str]:
        if self.fail_after_calls is not None and len(self.batches) >= self.fail_after_calls:
            raise KeyboardInterrupt  # as if the process were stopped here
        self.batches.append(list(prompts))
        outputs = []
        for prompt in prompts:
            a, b = map(int, re.findall(r"(\d+) \+ (\d+)", prompt)[-1])
            if "Swali" in prompt:
                outputs.append(f"Jibu ni {a + b + 1}.")
            elif "ప్రశ్న" in prompt:
                outputs.append("నాకు తెలియదు")
            else:
                outputs.append(f"{a} + {b} = {a + b:,}. The answer is {a + b:,}.\nQuestion: more")
        return outputs


@pytest.fixture
def dataset(tmp_path: Path) -> Path:
    """A one-file parallel math set in JSONL (en, sw, te) and its task YAML, plus a low-tier group."""
    data = tmp_path / "data"
    data.mkdir()
    for lang in ("en", "sw", "te"):
        rows = [{"q": f"What is {a} + {b}?", "a": str(a + b)} for a, b in PROBLEMS]
        (data / f"add_{lang}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    tasks = tmp_path / "tasks"
    tasks.mkdir()
    (tasks / "addition.yaml").write_text(
        textwrap.dedent("""\
        include: parallel_math
        task: addition
        languages: [en, sw, te]
        dataset: {path: "add_{lang}.jsonl", format: jsonl, question_field: q, answer_field: a}
        tier_rule: mmwp-llama2
    """)
    )
    (tasks / "addition_low.yaml").write_text("group: addition_low\ntask: [addition]\ntier: low\n")
    return tmp_path


@pytest.fixture
def scripted() -> type[ScriptedGenerator]:
    return ScriptedGenerator


@pytest.fixture
def eval_config(dataset: Path):
    """make(*overrides, task="addition"): the config evaluating a task of `dataset` into dataset/out (batch 2)."""

    def make(*overrides: str, task: str = "addition") -> EvalConfig:
        base = [
            f"output_dir={dataset / 'out'}",
            "model.name_or_path=scripted",
            f"data_dir={dataset / 'data'}",
            f"task_paths=[{dataset / 'tasks'}]",
            f"tasks=[{{name: {task}}}]",
            "generation.batch_size=2",
        ]
        return load_config(EvalConfig, None, [*base, *overrides])

    return make


# ---------------------------------------------------------------------------------------------------- pairwise

INSTRUCTIONS = {
    "en": [
        "Name three colours.",
        "Say hello politely.",
        "Describe the sea.",
        "Count to three.",
        "Give a proverb.",
        "Explain rain.",
        "Suggest a book.",
        "Describe a cat.",
    ],
    "zh": [
        "说出三种颜色。",
        "礼貌地打招呼。",
        "描述大海。",
        "数到三。",
        "说一句谚语。",
        "解释下雨。",
        "推荐一本书。",
        "描述一只猫。",
    ],
}


class ScriptedChat:
    """A chat model that answers every instruction with "<name>'s answer to: <instruction>" (or `answer(...)`)."""

    def __init__(self, name: str, answer=None) -> None:
        self.model_id = name
        self.answer = answer or (lambda instruction, system: f"{name}'s answer to: {instruction}")

    def generate(
        self, prompts, settings
    ):  # text prompts (the tulu template): the instruction is the user turn
        return [self.answer(p.split("<|user|>\n", 1)[-1].split("\n<|assistant|>", 1)[0], p) for p in prompts]

    def generate_chat(self, conversations, settings):
        return [
            self.answer(c[-1]["content"], c[0]["content"] if c[0]["role"] == "system" else None)
            for c in conversations
        ]


@pytest.fixture
def instruction_runs(tmp_path: Path):
    """make(name, generator, task="instr", languages="en,zh"): evaluate a generator on a two-language instruction
    set of 8 items (ids 1-8) with `crosslift eval`'s runner; returns the run folder."""
    from crosslift.eval.runner.evaluate import evaluate

    data = tmp_path / "instructions"
    data.mkdir(exist_ok=True)
    for lang, texts in INSTRUCTIONS.items():
        rows = [{"id": i + 1, "instruction": t} for i, t in enumerate(texts)]
        (data / f"instr_{lang}.json").write_text(json.dumps(rows, ensure_ascii=False), encoding="utf-8")
    tasks = tmp_path / "instruction_tasks"
    tasks.mkdir(exist_ok=True)
    (tasks / "instr.yaml").write_text(
        "include: pairwise\ntask: instr\nlanguages: [en, zh]\ndataset: {path: 'instr_{lang}.json'}\n"
    )
    (tasks / "instr_plug.yaml").write_text(
        "include: instr.yaml\ntask: instr_plug\nlanguages: [zh]\nprompt: {template: tulu, chat: false, system: "
        "'Please interpret the instruction in English, and then respond both in English and in {language}.'}\n"
        "filter_list: [{name: response, filter: [{function: plug_target}]}]\n"
    )

    def make(name: str, generator, task: str = "instr", languages: str = "en,zh") -> Path:
        out = tmp_path / name
        config = load_config(
            EvalConfig,
            None,
            [
                f"output_dir={out}",
                f"model.name_or_path={name}",
                f"data_dir={data}",
                f"task_paths=[{tasks}]",
                f"tasks=[{{name: {task}, languages: [{languages}]}}]",
            ],
        )
        evaluate(config, generator)
        return out

    return make


class JudgeServer:
    """An OpenAI-compatible judge on 127.0.0.1 (a real HTTP server in a thread). `policy(question, first,
    second, attempt)` returns the judgment text for a game, or ("sleep", seconds, text) to answer late; attempt
    counts the requests for the same game from 1. Every request is kept (with its Authorization header)."""

    def __init__(self, policy, model: str = "judge-1") -> None:
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        self.policy, self.model = policy, model
        self.requests: list[dict] = []
        self.attempts: dict[tuple, int] = {}
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def _send(self, payload: dict, status: int = 200) -> None:
                body = json.dumps(payload).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up waiting (a timeout test)

            def do_GET(self) -> None:
                self._send({"data": [{"id": server.model}]})

            def do_POST(self) -> None:
                request = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                request["authorization"] = self.headers.get("Authorization")
                server.requests.append(request)
                user = request["messages"][-1]["content"]
                m = re.match(
                    r"\[User Question\]\n(.*)\n\n\[The Start of Assistant A's Answer\]\n(.*)\n\[The End of "
                    r"Assistant A's Answer\]\n\n\[The Start of Assistant B's Answer\]\n(.*)\n\[The End of "
                    r"Assistant B's Answer\]$",
                    user,
                    re.DOTALL,
                )
                game = m.groups()
                server.attempts[game] = server.attempts.get(game, 0) + 1
                reply = server.policy(*game, server.attempts[game])
                if isinstance(reply, tuple):
                    _, seconds, reply = reply
                    time.sleep(seconds)
                if reply is None:
                    self._send({"error": "unavailable"}, status=503)
                else:
                    self._send({"choices": [{"message": {"role": "assistant", "content": reply}}]})

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def judge_server():
    """start(policy) -> a running JudgeServer, shut down after the test."""
    servers = []

    def start(policy, model: str = "judge-1") -> JudgeServer:
        servers.append(JudgeServer(policy, model))
        return servers[-1]

    yield start
    for server in servers:
        server.close()
