"""Shared fixtures. Tests never reach the network: the hub is switched off before transformers is imported."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

for _var in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE", "TRANSFORMERS_OFFLINE"):
    os.environ[_var] = "1"
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("CROSSLIFT_SHARED_DATA", REPO_ROOT.parent / "shared" / "data"))


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The read-only data folder beside the checkout (../shared/data); skips the test when it is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"shared data not found at {SHARED_DATA}")
    return SHARED_DATA


@pytest.fixture
def register_language(tmp_path, monkeypatch):
    """Register a one-language table (code qxa) with the given script; the registry is restored afterwards."""
    from crosslift import languages

    monkeypatch.setenv(languages.LANGUAGES_ENV, "")
    monkeypatch.setattr(languages, "_registered_files", [])

    def register(script: str) -> Path:
        table = tmp_path / "synthetic.tsv"
        table.write_text(
            "code\tiso639_1\tiso639_3\tname\tscript\taliases\tother_names\n"
            f"qxa\t\tqxa\tSynthetic X-A\t{script}\t\t\n"
        )
        languages.register_languages(table)
        return table

    yield register
    languages._registered_files.clear()
    languages._registry.cache_clear()


FIXTURES = Path(__file__).resolve().parent / "fixtures"  # small data files in the real layouts of benchmarks
FAKE_COMMIT = "0123456789abcdef0123456789abcdef01234567"


@pytest.fixture
def fake_hub(tmp_path, monkeypatch):
    """The Hugging Face hub, offline: ``datasets.load_dataset(repo, subset, split=...)`` reads
    tests/fixtures/hub/<repo>/<subset>/<split>.jsonl, cached as datasets caches a hub dataset (under a folder named
    by the commit, FAKE_COMMIT). A data catalogue with the fixtures' subsets and row counts replaces the bundled hub
    entries. Returns the calls made."""
    import datasets
    import pyarrow as pa
    import yaml

    from crosslift.catalogue import load_catalogue

    calls = []

    def load_dataset(repo, subset=None, split=None, revision=None, **_):
        calls.append((repo, subset, split, revision))
        source = FIXTURES / "hub" / repo / str(subset) / f"{split}.jsonl"
        if not source.is_file():
            raise FileNotFoundError(f"no {source}")
        rows = [json.loads(line) for line in source.read_text(encoding="utf-8").splitlines() if line.strip()]
        folder = tmp_path / "hf_cache" / repo.replace("/", "___") / str(subset) / "0.0.0" / FAKE_COMMIT
        folder.mkdir(parents=True, exist_ok=True)
        table = pa.Table.from_pylist(rows)
        with (
            pa.OSFile(str(folder / f"{split}.arrow"), "wb") as sink,
            pa.ipc.new_stream(sink, table.schema) as w,
        ):
            w.write_table(table)
        return datasets.Dataset.from_file(str(folder / f"{split}.arrow"))

    monkeypatch.setattr(datasets, "load_dataset", load_dataset)
    bundled = load_catalogue()
    entries = {}
    for name in ("afrimgsm", "xcsqa", "xnli"):
        entry = bundled[name].model_dump(exclude={"name"}, exclude_none=True)
        folder = FIXTURES / "hub" / str(entry["hub"])
        splits = {p.stem: len(p.read_text(encoding="utf-8").splitlines()) for p in folder.glob("*/*.jsonl")}
        entries[name] = entry | {"rows": splits, "subsets": sorted(p.name for p in folder.iterdir())}
    catalogue = tmp_path / "fixture_catalogue.yaml"
    catalogue.write_text(
        yaml.safe_dump({"version": 1, "datasets": entries}, allow_unicode=True), encoding="utf-8"
    )
    monkeypatch.setenv("CROSSLIFT_CATALOGUE", str(catalogue))
    return calls


class CompletionsServer:
    """An OpenAI-compatible completions server on 127.0.0.1 (a real HTTP server in a thread) that lists one
    model and answers each text prompt with ``answer(prompt)``. Every request is kept."""

    def __init__(self, answer, model: str = "oracle") -> None:
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        server = self
        self.requests: list[dict] = []

        class Handler(BaseHTTPRequestHandler):
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
                self._send({"data": [{"id": model}]})

            def do_POST(self) -> None:
                request = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                server.requests.append(request)
                self._send({"choices": [{"text": answer(request["prompt"])}]})

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def completions_server():
    """start(answer) -> a running CompletionsServer, shut down after the test. `answer` is a function of the
    prompt, or a mapping question -> answer text (an oracle: the answer of the longest question the prompt holds,
    "" for none)."""
    servers = []

    def start(answer, model: str = "oracle") -> CompletionsServer:
        if isinstance(answer, dict):
            answers = answer

            def answer(prompt: str) -> str:
                found = [q for q in answers if q in prompt]
                return answers[max(found, key=len)] if found else ""

        servers.append(CompletionsServer(answer, model))
        return servers[-1]

    yield start
    for server in servers:
        server.close()


# A process holding a run folder's lock (crosslift.runs.run_folder_lock) until its stdin closes, or killed with
# SIGKILL once it holds it; argv: folder, host name to record ("" = this one), LOCK_TIMEOUT_S, "kill" or "".
_HOLDER = """
import os, signal, socket, sys
folder, host, timeout, kill = sys.argv[1:]
if host:
    socket.gethostname = lambda: host
from crosslift import runs
runs.LOCK_TIMEOUT_S, runs.LOCK_HEARTBEAT_S = float(timeout), float(timeout) / 4
with runs.run_folder_lock(folder):
    print("held", flush=True)
    if kill:
        os.kill(os.getpid(), signal.SIGKILL)
    sys.stdin.read()
"""


@pytest.fixture
def run_folder_holder():
    """hold(folder, host="", timeout=LOCK_TIMEOUT_S, kill=False) -> pid: another process takes `folder`'s lock
    (recording `host` as its host name); with kill=True it is then killed with SIGKILL, leaving its lock file.
    A holder left alive lets go at the end of the test."""
    import subprocess
    import sys

    from crosslift.runs import LOCK_TIMEOUT_S

    alive = []

    def hold(folder: Path, host: str = "", timeout: float = LOCK_TIMEOUT_S, kill: bool = False) -> int:
        proc = subprocess.Popen(
            [sys.executable, "-c", _HOLDER, str(folder), host, str(timeout), "kill" if kill else ""],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert proc.stdout.readline() == "held\n"
        if kill:
            proc.wait(timeout=30)
        else:
            alive.append(proc)
        return proc.pid

    yield hold
    for proc in alive:
        proc.communicate(timeout=30)
