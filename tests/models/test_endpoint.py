"""The OpenAI-compatible client against a real HTTP server on 127.0.0.1 (a thread of this test process):
success, retries on 429/5xx with backoff and Retry-After, timeouts, malformed JSON, bounded concurrency, and an
API key that never leaks into errors; the first-request check, the whole-answer deadline and the lines that
show retries and waiting (the verbs against hung and slow servers: tests/bad_input/test_endpoint_faults.py).
"""

from __future__ import annotations

import json
import re
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from crosslift.models import endpoint
from crosslift.models.endpoint import EndpointClient, EndpointError, EndpointGenerator, _retry_after_seconds
from crosslift.models.generation import GenerationSettings

KEY = "sk-test-0123456789"


def ok_chat(text: str) -> tuple[int, dict, bytes]:
    return 200, {}, json.dumps({"choices": [{"message": {"role": "assistant", "content": text}}]}).encode()


def ok_completion(text: str) -> tuple[int, dict, bytes]:
    return 200, {}, json.dumps({"choices": [{"text": text}]}).encode()


class Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.requests: list[dict] = []
        self.responses: list = []  # consumed one per request; the last one repeats
        self.delay = 0.0
        self.gets = 0
        self.get_status = 200  # of GET /models
        self.lock = threading.Lock()
        self.in_flight = self.max_in_flight = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/v1"


class Handler(BaseHTTPRequestHandler):
    server: Server

    def log_message(self, *args) -> None:  # keep test output clean
        pass

    def _respond(self, status: int, headers: dict, body: bytes) -> None:
        self.send_response(status)
        for k, v in {"Content-Type": "application/json", **headers}.items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        with self.server.lock:
            self.server.gets += 1
        self._respond(self.server.get_status, {}, json.dumps({"data": [{"id": "served-model"}]}).encode())

    def do_POST(self) -> None:
        s = self.server
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        with s.lock:
            s.requests.append({"path": self.path, "body": body, "auth": self.headers.get("Authorization")})
            response = s.responses.pop(0) if len(s.responses) > 1 else s.responses[0]
            s.in_flight += 1
            s.max_in_flight = max(s.max_in_flight, s.in_flight)
        if callable(response):
            response = response(body)
        delay = response[3] if len(response) == 4 else s.delay
        if delay:
            time.sleep(delay)
        with s.lock:
            s.in_flight -= 1
        try:
            self._respond(*response[:3])
        except (BrokenPipeError, ConnectionResetError):  # the client timed out and left
            pass


@pytest.fixture
def server(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    srv = Server()
    thread = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True)
    thread.start()
    yield srv
    srv.shutdown()
    srv.server_close()


def client(server: Server, **kw) -> EndpointClient:
    return EndpointClient(server.url, "m", **{"backoff_s": 0.01, **kw})


def test_chat_success_sends_model_messages_fields_and_the_key(server):
    server.responses = [ok_chat("Jibu ni 5.")]
    reply = client(server).chat([{"role": "user", "content": "2+3?"}], max_tokens=16, temperature=0)
    assert reply == "Jibu ni 5."
    (request,) = server.requests
    assert request["path"] == "/v1/chat/completions" and request["auth"] == f"Bearer {KEY}"
    assert request["body"] == {
        "model": "m",
        "messages": [{"role": "user", "content": "2+3?"}],
        "max_tokens": 16,
        "temperature": 0,
    }


def test_completion_success(server):
    server.responses = [ok_completion(" 5")]
    assert client(server).complete("2+3=", max_tokens=4) == " 5"
    assert server.requests[0]["path"] == "/v1/completions" and server.requests[0]["body"]["prompt"] == "2+3="


def test_429_and_500_are_retried(server):
    server.responses = [
        (429, {"Retry-After": "0"}, b'{"error": "slow down"}'),
        (500, {}, b"oops"),
        (503, {}, b"busy"),
        ok_chat("done"),
    ]
    assert client(server).chat([{"role": "user", "content": "x"}]) == "done"
    assert len(server.requests) == 4


def test_retry_after_is_honoured_and_backoff_doubles(server, monkeypatch):
    delays: list[float] = []
    monkeypatch.setattr(endpoint.time, "sleep", delays.append)
    monkeypatch.setattr(endpoint.random, "uniform", lambda a, b: 1.0)
    server.responses = [(429, {"Retry-After": "7"}, b""), (500, {}, b""), (500, {}, b""), ok_chat("ok")]
    assert client(server, backoff_s=0.5).chat([]) == "ok"
    assert delays == [7.0, 1.0, 2.0]  # Retry-After, then backoff_s * 2**attempt


@pytest.mark.parametrize(
    ("header", "seconds"), [("3", 3.0), ("0.5", 0.5), ("-2", 0.0), ("soon", None), (None, None)]
)
def test_retry_after_parsing(header, seconds):
    assert _retry_after_seconds(header) == seconds
    in_two_days = time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(time.time() + 172800))
    assert 172000 < _retry_after_seconds(in_two_days) <= 172800


def test_persistent_5xx_fails_with_status_excerpt_and_no_key(server):
    server.responses = [(500, {}, f"internal error for key {KEY}".encode())]
    with pytest.raises(EndpointError) as err:
        client(server, max_retries=2).chat([])
    message = str(err.value)
    assert err.value.status == 500 and "HTTP 500" in message and "gave up after 3 attempts" in message
    assert KEY not in message and "***" in message and len(server.requests) == 3


def test_client_errors_are_not_retried(server):
    server.responses = [(401, {}, f'{{"error": "invalid api key {KEY}"}}'.encode())]
    with pytest.raises(EndpointError, match="HTTP 401") as err:
        client(server).chat([])
    assert len(server.requests) == 1 and KEY not in str(err.value) and KEY not in repr(client(server))


def test_timeout_is_retried_then_fails(server):
    server.responses = [ok_chat("late")]
    server.delay = 1.0
    with pytest.raises(EndpointError, match=r"no response within 0.2 s \(gave up after 2 attempts\)"):
        client(server, timeout_s=0.2, max_retries=1).chat([])


def test_timeout_then_success(server):
    server.responses = [(*ok_chat("late"), 1.0), (*ok_chat("fast"), 0.0)]
    assert client(server, timeout_s=0.3, max_retries=2).chat([]) == "fast"


@pytest.mark.parametrize(
    "body", [b"not json at all", b'{"choices": []}', b'{"choices": [{"message": null}]}']
)
def test_malformed_responses_fail_clearly(server, body):
    server.responses = [(200, {}, body)]
    with pytest.raises(EndpointError, match="not valid JSON|unexpected response"):
        client(server).chat([])
    assert len(server.requests) == 1


def test_connection_refused_is_retried_then_fails(monkeypatch):
    probe = Server()
    url = probe.url
    probe.server_close()  # nothing listens there now
    with pytest.raises(EndpointError, match="connection failed"):
        EndpointClient(url, "m", max_retries=1, backoff_s=0.01).chat([])


def test_chat_many_bounds_concurrency_and_reports_failures_per_item(server):
    server.delay = 0.05
    server.responses = [
        lambda body: (
            (400, {}, b"bad")
            if body["messages"][0]["content"] == "3"
            else ok_chat(body["messages"][0]["content"] * 2)
        )
    ]
    results = dict(
        client(server, concurrency=3).chat_many([[{"role": "user", "content": str(i)}] for i in range(12)])
    )
    assert sorted(results) == list(range(12))
    assert isinstance(results[3], EndpointError)
    assert all(results[i] == str(i) * 2 for i in range(12) if i != 3)
    assert 1 < server.max_in_flight <= 3


def test_endpoint_generator_finds_the_served_model_and_maps_settings(server):
    # answered by prompt, not by arrival order: the generator sends its prompts concurrently
    replies = {"a": " 5\nQuestion: next", "b": " 7"}
    server.responses = [lambda body: ok_completion(replies[body["prompt"]])]
    generator = EndpointGenerator(server.url, max_stop=1, backoff_s=0.01)
    assert generator.client.model == "served-model" and "served-model" in generator.model_id
    settings = GenerationSettings(max_new_tokens=8, stop=["Question:", "</s>"], seed=3)
    assert generator.generate(["a", "b"], settings) == [" 5\n", " 7"]  # cut at the stop string here too
    fields = server.requests[0]["body"]
    assert {k: fields[k] for k in ("max_tokens", "temperature", "top_p", "seed", "stop")} == {
        "max_tokens": 8,
        "temperature": 0.0,
        "top_p": 1.0,
        "seed": 3,
        "stop": ["Question:"],
    }
    assert "repetition_penalty" not in fields and "min_tokens" not in fields


def test_endpoint_generator_chat(server):
    server.responses = [ok_chat("4")]
    generator = EndpointGenerator(server.url, served_model="m", api="chat", backoff_s=0.01)
    assert generator.generate(["2+2?"], GenerationSettings()) == ["4"]
    assert server.requests[-1]["body"]["messages"] == [{"role": "user", "content": "2+2?"}]
    conversation = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "2+2?"}]
    assert generator.generate_chat([conversation], GenerationSettings(do_sample=True, temperature=0.7)) == [
        "4"
    ]
    assert server.requests[-1]["body"]["temperature"] == 0.7


def test_endpoint_model_defaults_and_max_length(server):
    server.responses = [ok_chat("4")]
    generator = EndpointGenerator(server.url, served_model="m", api="chat", backoff_s=0.01)
    own = GenerationSettings(max_new_tokens=128, use_model_defaults=True, repetition_penalty=1.3, seed=42)
    assert generator.request_fields(own) == {"max_tokens": 128, "seed": 42}  # the server's defaults decide
    with pytest.raises(endpoint.ConfigError, match="max_length needs each prompt's token count"):
        generator.generate(["2+2?"], GenerationSettings(max_length=4096))
    assert not server.requests  # refused before anything was sent


def test_bad_options_are_config_errors():
    with pytest.raises(endpoint.ConfigError, match="must start with http"):
        EndpointClient("localhost:8000/v1", "m")
    with pytest.raises(endpoint.ConfigError):
        EndpointClient("http://x/v1", "m", concurrency=0)


def test_the_server_is_checked_once_before_the_first_request(server):
    server.responses = [ok_chat("a")]
    c = client(server)
    assert [reply for _, reply in c.chat_many([[{"role": "user", "content": "x"}]] * 5)] == ["a"] * 5
    c.chat([])
    assert server.gets == 1 and len(server.requests) == 6


@pytest.mark.parametrize("status", [404, 501, 503])
def test_an_error_status_still_counts_as_an_answer(server, status):
    """A server without GET /models, or a busy one, answers: only silence fails the check (not retried)."""
    server.responses = [ok_chat("fine")]
    server.get_status = status
    assert client(server).chat([]) == "fine"
    assert server.gets == 1


def test_retries_are_printed_as_they_happen(server, capsys):
    server.responses = [(503, {}, b"busy"), ok_chat("done")]
    assert client(server).chat([]) == "done"
    err = capsys.readouterr().err
    assert f"POST {server.url}/chat/completions: HTTP 503; retry 1/4 in " in err


def test_a_long_wait_is_printed(server, capsys, monkeypatch):
    monkeypatch.setattr(endpoint, "WAIT_NOTICE_S", 0.2)
    server.responses = [(*ok_chat("slow"), 0.7)]
    assert dict(client(server).chat_many([[{"role": "user", "content": "x"}]])) == {0: "slow"}
    err = capsys.readouterr().err
    waiting = r": no answer for \d+ s, 1 request\(s\) waiting \(each attempt may take 60 s; 4 retries\)"
    assert re.search(re.escape(server.url) + waiting, err)


def test_the_deadline_covers_the_whole_answer():
    """A server that sends its headers, then a byte of the body every 0.1 s, never lets a socket timeout fire;
    one deadline for the attempt ends it."""
    listener = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            threading.Thread(target=drip, args=(conn,), daemon=True).start()

    def drip(conn: socket.socket) -> None:
        with conn:
            request = conn.recv(65536)
            try:
                if request.startswith(b"GET"):
                    body = b'{"data": []}'
                    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))
                    return
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n")
                while not stop.is_set():
                    conn.sendall(b" ")
                    time.sleep(0.1)
            except OSError:  # the client hung up
                pass

    threading.Thread(target=serve, daemon=True).start()
    url = f"http://127.0.0.1:{listener.getsockname()[1]}/v1"
    started = time.monotonic()
    try:
        with pytest.raises(EndpointError, match=r"no response within 0.5 s \(gave up after 1 attempts\)"):
            EndpointClient(url, "m", timeout_s=0.5, max_retries=0).chat([])
    finally:
        stop.set()
        listener.close()
    assert time.monotonic() - started < 2


def test_the_check_waits_at_most_the_request_timeout_and_15_s():
    assert EndpointClient("http://x/v1", "m").health_timeout_s == 15  # default timeout_s 60
    assert EndpointClient("http://x/v1", "m", timeout_s=120).health_timeout_s == 15  # eval's, judge's default
    assert EndpointClient("http://x/v1", "m", timeout_s=2).health_timeout_s == 2
    assert EndpointClient("http://x/v1", "m", timeout_s=120, health_timeout_s=40).health_timeout_s == 40
    with pytest.raises(endpoint.ConfigError, match="health_timeout_s > 0"):
        EndpointClient("http://x/v1", "m", health_timeout_s=0)
