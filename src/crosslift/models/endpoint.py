"""A small client for OpenAI-compatible HTTP endpoints (vLLM, TGI, llama.cpp, Ollama, OpenAI, ...).

Used by evaluation (`EndpointGenerator`, a `Generator` backend) and by data translation. Standard library only:
``urllib`` for HTTP, a thread pool for bounded concurrency.

    client = EndpointClient("http://localhost:8000/v1", "my-model")
    client.chat([{"role": "user", "content": "Hello"}], max_tokens=32, temperature=0)
    for i, result in client.chat_many(conversations, max_tokens=256):   # results as they finish
        ...                                                              # result: str, or the Exception

Reliability: before its first request, a client checks that the server answers at all (``GET /models``, any
status, within ``health_timeout_s``: 15 s at most by default), so that a server that takes connections but
never answers fails in seconds, not after every retry of every request. Every attempt of a request then has
one deadline for connecting, sending and reading the whole answer (``timeout_s``; a socket timeout alone
bounds each read, not their sum); 429, 5xx, timeouts and connection errors are retried with exponential
backoff and jitter, honouring a ``Retry-After`` header; other errors (400, 401, 404, a malformed response)
fail at once with an `EndpointError` naming the URL, the status and a short excerpt of the body. Retries, and
waits of `WAIT_NOTICE_S` without any answer, are printed as they happen (stderr).

Security: the API key is read only from an environment variable (``OPENAI_API_KEY`` unless told otherwise), sent
only in the ``Authorization`` header, and never logged, put in an error message (a server that echoes it back is
redacted) or written to results.
"""

from __future__ import annotations

import contextlib
import email.utils
import http.client
import json
import os
import random
import socket
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from email.message import Message
from typing import Any

from crosslift.console import stderr_console
from crosslift.errors import ConfigError, CrossliftError
from crosslift.models.generation import GenerationSettings, cut_at_stop

RETRY_STATUSES = frozenset({408, 409, 429, 500, 502, 503, 504})  # plus any other 5xx
WAIT_NOTICE_S = 30.0  # seconds without any answer before (and between) "waiting" lines
HEALTH_TIMEOUT_S = 15.0  # the longest the first check waits for an answer, unless told otherwise
FIRST_ANSWER_NOTICE_S = 3.0  # seconds the server may take to answer the first check before a line says so
_EXCERPT_CHARS = 300


class EndpointError(CrossliftError):
    """A request to an endpoint failed for good.

    Attributes:
        status: the HTTP status, or None when no response came (timeout, connection refused).
        body: an excerpt of the response body (key redacted), or "".
    """

    def __init__(self, message: str, *, status: int | None = None, body: str = "") -> None:
        self.status, self.body = status, body
        super().__init__(message)


class _Retryable(Exception):
    def __init__(
        self,
        reason: str,
        retry_after: float | None = None,
        status: int | None = None,
        body: str = "",
        *,
        timed_out: bool = False,
    ):
        self.reason, self.retry_after, self.status, self.body = reason, retry_after, status, body
        self.timed_out = timed_out
        super().__init__(reason)


class _Deadline:
    """The end of one attempt: then its sockets are shut down, which wakes a read or a write blocked on them.

    A socket timeout bounds each read, not their sum: a server that sends a byte now and then, or a slow
    connect followed by a slow answer, would outlast it.
    """

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.expired = False
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._timer = threading.Timer(seconds, self._expire)
        self._timer.daemon = True

    def __enter__(self) -> _Deadline:
        self._timer.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._timer.cancel()

    def watch(self, sock: socket.socket) -> None:
        with self._lock:
            self._sockets.append(sock)
            expired = self.expired
        if expired:
            _shut(sock)

    def _expire(self) -> None:
        with self._lock:
            self.expired = True
            sockets = list(self._sockets)
        for sock in sockets:
            _shut(sock)


def _shut(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):  # already closed
        sock.shutdown(socket.SHUT_RDWR)


class _WatchedConnection:
    """An http.client connection whose socket its attempt's `_Deadline` can shut down."""

    def __init__(self, *args: Any, deadline: _Deadline, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.deadline = deadline

    def connect(self) -> None:
        super().connect()
        self.deadline.watch(self.sock)


class _WatchedHTTPConnection(_WatchedConnection, http.client.HTTPConnection):
    pass


class _WatchedHTTPSConnection(_WatchedConnection, http.client.HTTPSConnection):
    pass


class _DeadlineHandler(urllib.request.HTTPHandler, urllib.request.HTTPSHandler):
    """urllib's HTTP(S) handler with watched connections; urllib still does proxies, redirects and TLS (with
    http.client's default context, as `urllib.request.urlopen`)."""

    def __init__(self, deadline: _Deadline) -> None:
        super().__init__()
        self.deadline = deadline

    def http_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
        return self.do_open(_WatchedHTTPConnection, req, deadline=self.deadline)

    def https_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
        return self.do_open(_WatchedHTTPSConnection, req, deadline=self.deadline)


def _retry_after_seconds(value: str | None) -> float | None:
    """A Retry-After header as seconds: either a number of seconds or an HTTP date."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


class EndpointClient:
    """Client for one model served behind an OpenAI-compatible API.

    Args:
        base_url: the API root, e.g. ``http://localhost:8000/v1``.
        model: the served model's name (the ``model`` field of each request).
        api_key_env: environment variable that holds the API key; unset or empty means no key (local servers).
        timeout_s: seconds one attempt may take, from connecting to the last byte of the answer.
        max_retries: retries after the first attempt for 429, 5xx, timeouts and connection errors.
        health_timeout_s: seconds the server has to answer the check before the first request
            (``GET /models``), its connection retries included; default: `timeout_s`, at most
            `HEALTH_TIMEOUT_S` (15 s).
        concurrency: most requests in flight at once in `chat_many` / `complete_many`.
        backoff_s: first retry delay; doubles with every retry (with jitter), unless the server sends Retry-After.
        max_backoff_s: cap on any single delay, Retry-After included.
    """

    def __init__(
        self,
        base_url: str,
        model: str,
        *,
        api_key_env: str = "OPENAI_API_KEY",
        timeout_s: float = 60.0,
        max_retries: int = 4,
        concurrency: int = 8,
        backoff_s: float = 1.0,
        max_backoff_s: float = 60.0,
        health_timeout_s: float | None = None,
    ) -> None:
        if health_timeout_s is None:
            health_timeout_s = min(timeout_s, HEALTH_TIMEOUT_S)
        if not base_url.startswith(("http://", "https://")):
            raise ConfigError(f"endpoint URL must start with http:// or https://, got '{base_url}'")
        if timeout_s <= 0 or max_retries < 0 or concurrency < 1 or backoff_s < 0 or health_timeout_s <= 0:
            raise ConfigError(
                "endpoint needs timeout_s > 0, max_retries >= 0, concurrency >= 1, backoff_s >= 0 and "
                f"health_timeout_s > 0 (got {timeout_s}, {max_retries}, {concurrency}, {backoff_s}, "
                f"{health_timeout_s})"
            )
        self.base_url = base_url.rstrip("/")
        self.model = model
        self.api_key_env = api_key_env
        self.timeout_s, self.max_retries, self.concurrency = timeout_s, max_retries, concurrency
        self.backoff_s, self.max_backoff_s, self.health_timeout_s = backoff_s, max_backoff_s, health_timeout_s
        self._api_key = os.environ.get(api_key_env) or None
        self._answers = False  # the server has answered once (`_check_answers`)
        self._answers_lock = threading.Lock()

    def __repr__(self) -> str:  # never shows the key
        return f"EndpointClient({self.base_url!r}, model={self.model!r}, key from ${self.api_key_env})"

    # -- public API

    def chat(self, messages: list[dict[str, str]], **generation: Any) -> str:
        """The assistant's reply to a conversation (``/chat/completions``).

        Args:
            messages: ``[{"role": "system"|"user"|"assistant", "content": str}, ...]``.
            **generation: request fields passed through (``max_tokens``, ``temperature``, ``top_p``, ``stop``, ``seed``...).
        """
        response = self._post("/chat/completions", {"model": self.model, "messages": messages, **generation})
        message = self._first_choice(response, "/chat/completions").get("message")
        if not isinstance(message, dict):
            raise self._malformed("/chat/completions", "choices[0].message is missing", response)
        return message.get("content") or ""  # null content (e.g. cut off while reasoning) is an empty answer

    def complete(self, prompt: str, **generation: Any) -> str:
        """The continuation of a text prompt (``/completions``)."""
        response = self._post("/completions", {"model": self.model, "prompt": prompt, **generation})
        text = self._first_choice(response, "/completions").get("text")
        if not isinstance(text, str):
            raise self._malformed("/completions", "choices[0].text is missing", response)
        return text

    def chat_many(
        self, conversations: list[list[dict[str, str]]], **generation: Any
    ) -> Iterator[tuple[int, str | Exception]]:
        """Answer many conversations with at most ``concurrency`` requests in flight.

        Yields:
            ``(index, reply)`` in completion order; a request that failed for good yields its exception instead.
        """
        yield from self._many(lambda m: self.chat(m, **generation), conversations)

    def complete_many(self, prompts: list[str], **generation: Any) -> Iterator[tuple[int, str | Exception]]:
        """`complete` for many prompts, like `chat_many`."""
        yield from self._many(lambda p: self.complete(p, **generation), prompts)

    def list_models(self) -> list[str]:
        """Ids of the models the server offers (``GET /models``)."""
        response = self._request("GET", "/models", None)
        data = response.get("data") if isinstance(response, dict) else None
        if not isinstance(data, list):
            raise self._malformed("/models", "no 'data' list", response)
        return [m["id"] for m in data if isinstance(m, dict) and "id" in m]

    # -- plumbing

    def _many(self, call: Callable[[Any], str], inputs: list) -> Iterator[tuple[int, str | Exception]]:
        self._check_answers()  # here, so that a dead server fails the whole call, not each item
        with ThreadPoolExecutor(max_workers=self.concurrency) as pool:
            futures: dict[Future, int] = {pool.submit(call, x): i for i, x in enumerate(inputs)}
            pending, last_answer = set(futures), time.monotonic()
            try:
                while pending:
                    done, pending = wait(pending, timeout=WAIT_NOTICE_S, return_when=FIRST_COMPLETED)
                    if not done:
                        silent = time.monotonic() - last_answer
                        stderr_console.print(
                            f"{self.base_url}: no answer for {silent:.0f} s, {len(pending)} request(s) "
                            f"waiting (each attempt may take {self.timeout_s:g} s; {self.max_retries} "
                            "retries)"
                        )
                        continue
                    last_answer = time.monotonic()
                    for future in done:
                        error = future.exception()
                        yield futures[future], error if error is not None else future.result()
            finally:  # the caller stopped early: do not send what has not started
                for future in futures:
                    future.cancel()

    def _post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        return self._request("POST", path, body)

    def _redact(self, text: str) -> str:
        return text.replace(self._api_key, "***") if self._api_key else text

    def _excerpt(self, raw: bytes | str) -> str:
        text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
        text = self._redact(" ".join(text.split()))
        return text if len(text) <= _EXCERPT_CHARS else text[:_EXCERPT_CHARS] + "..."

    def _malformed(self, path: str, what: str, response: Any) -> EndpointError:
        body = self._excerpt(json.dumps(response, ensure_ascii=False)[:2000])
        return EndpointError(f"{self.base_url}{path}: unexpected response ({what}): {body}", body=body)

    def _first_choice(self, response: Any, path: str) -> dict[str, Any]:
        choices = response.get("choices") if isinstance(response, dict) else None
        if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
            raise self._malformed(path, "no choices", response)
        return choices[0]

    def _check_answers(self) -> None:
        """Make sure the server answers before the first request goes out: ``GET /models`` must get a
        reply, of any status, within `health_timeout_s` (connection errors are retried inside it, as for any
        request).

        Raises:
            EndpointError: no reply in time (the server takes connections but hangs, or is still loading), or
                no connection at all.
        """
        with self._answers_lock:
            if self._answers:
                return
            url = f"{self.base_url}/models"
            end = time.monotonic() + self.health_timeout_s
            waiting = f"{url}: waiting for the server to answer (at most {self.health_timeout_s:g} s)"
            notice = threading.Timer(FIRST_ANSWER_NOTICE_S, stderr_console.print, [waiting])
            notice.daemon = True
            notice.start()
            try:
                self._wait_for_answer(url, end)
            finally:
                notice.cancel()
            self._answers = True

    def _wait_for_answer(self, url: str, end: float) -> None:
        for attempt in range(self.max_retries + 1):
            try:
                self._attempt("GET", url, None, end - time.monotonic())
            except EndpointError:
                pass  # a reply, if not the one /models should give: the requests will say what is wrong
            except _Retryable as e:
                if e.status is None:  # no reply: no connection, or nothing in time
                    delay = self._delay(attempt, e)
                    if attempt == self.max_retries or time.monotonic() + delay >= end:
                        raise self._no_answer(url, e, attempt + 1) from None
                    self._retrying("GET", url, e, attempt, delay)
                    time.sleep(delay)
                    continue
            return

    def _no_answer(self, url: str, e: _Retryable, attempts: int) -> EndpointError:
        # Every caller in crosslift (evaluation, judging, translation) keeps what it finished and resumes.
        if e.timed_out:
            return EndpointError(
                f"GET {url}: no answer within {self.health_timeout_s:g} s, though the server takes "
                f"connections: it is hung or still loading its model; check it (curl {url}), then rerun the "
                "same command to resume (or give it longer: health_timeout_s)"
            )
        return EndpointError(
            f"GET {url}: {e.reason} (gave up after {attempts} attempts): is the server "
            "running at this address? Once it is, rerun the same command to resume"
        )

    def _delay(self, attempt: int, e: _Retryable) -> float:
        delay = e.retry_after
        if delay is None:
            delay = self.backoff_s * 2**attempt * random.uniform(0.5, 1.0)
        return min(delay, self.max_backoff_s)

    def _retrying(self, method: str, url: str, e: _Retryable, attempt: int, delay: float) -> None:
        retry = f"retry {attempt + 1}/{self.max_retries} in {delay:.1f} s"
        stderr_console.print(f"{method} {url}: {e.reason}; {retry}")

    def _request(self, method: str, path: str, body: dict[str, Any] | None) -> Any:
        self._check_answers()
        url = f"{self.base_url}{path}"
        attempts = self.max_retries + 1
        for attempt in range(attempts):
            try:
                return self._attempt(method, url, body, self.timeout_s)
            except _Retryable as e:
                if attempt == attempts - 1:
                    raise EndpointError(
                        f"{method} {url}: {e.reason} (gave up after {attempts} attempts)"
                        + (f": {e.body}" if e.body else ""),
                        status=e.status,
                        body=e.body,
                    ) from None
                delay = self._delay(attempt, e)
                self._retrying(method, url, e, attempt, delay)
                time.sleep(delay)
        raise AssertionError("unreachable")

    def _exchange(self, request: urllib.request.Request, deadline: _Deadline) -> tuple[int, Message, bytes]:
        """Send `request` and read its whole answer, of any status: (status, headers, body)."""
        opener = urllib.request.build_opener(_DeadlineHandler(deadline))
        try:
            with opener.open(request, timeout=deadline.seconds) as response:
                return response.status, response.headers, response.read()
        except urllib.error.HTTPError as e:
            return e.code, e.headers, e.read() if e.fp is not None else b""

    def _attempt(self, method: str, url: str, body: dict[str, Any] | None, seconds: float) -> Any:
        """One try of a request, over within `seconds`: the parsed JSON answer.

        Raises:
            _Retryable: a timeout, a connection error, 429 or 5xx.
            EndpointError: any other HTTP error, or an answer that is not JSON.
        """
        headers = {"Accept": "application/json"}
        data = None
        if body is not None:
            headers["Content-Type"] = "application/json"
            data = json.dumps(body, ensure_ascii=False).encode("utf-8")
        if self._api_key:
            headers["Authorization"] = f"Bearer {self._api_key}"
        request = urllib.request.Request(url, data=data, headers=headers, method=method)
        deadline = _Deadline(seconds)
        try:
            with deadline:
                status, response_headers, raw = self._exchange(request, deadline)
        except (OSError, http.client.HTTPException) as e:  # URLError and timeouts are OSErrors
            reason = e.reason if isinstance(e, urllib.error.URLError) else e
            if deadline.expired or isinstance(reason, TimeoutError):
                raise _Retryable(f"no response within {seconds:g} s", timed_out=True) from None
            described = str(reason) if isinstance(e, urllib.error.URLError) else f"{type(e).__name__}: {e}"
            raise _Retryable(f"connection failed ({self._redact(described)})") from None
        if deadline.expired:  # what was read may have been cut off
            raise _Retryable(f"no response within {seconds:g} s", timed_out=True)
        if status >= 400:
            excerpt = self._excerpt(raw)
            if status in RETRY_STATUSES or status >= 500:
                retry_after = _retry_after_seconds(response_headers.get("Retry-After"))
                raise _Retryable(f"HTTP {status}", retry_after, status, excerpt)
            raise EndpointError(f"{method} {url}: HTTP {status}: {excerpt}", status=status, body=excerpt)
        try:
            return json.loads(raw)
        except (json.JSONDecodeError, UnicodeDecodeError):
            excerpt = self._excerpt(raw)
            raise EndpointError(
                f"{method} {url}: response is not valid JSON: {excerpt}", body=excerpt
            ) from None


class EndpointGenerator:
    """`Generator` backed by an OpenAI-compatible endpoint.

    Plain prompts go to ``/completions`` (the text reaches the model exactly as built), or, with
    ``api="chat"``, as one user message to ``/chat/completions``; conversations always use the chat API.

    Args:
        base_url: the API root, e.g. ``http://localhost:8000/v1``.
        served_model: the model name on the server; default: the only model ``GET /models`` lists.
        api: "completions" or "chat", for plain prompts.
        max_stop: send at most this many stop strings (OpenAI's API takes 4); the rest are applied here.
        **client_options: `EndpointClient` options (``api_key_env``, ``timeout_s``, ``max_retries``, ``concurrency``...).
    """

    def __init__(
        self,
        base_url: str,
        *,
        served_model: str | None = None,
        api: str = "completions",
        max_stop: int | None = None,
        **client_options: Any,
    ) -> None:
        if api not in ("completions", "chat"):
            raise ConfigError(f"endpoint api must be 'completions' or 'chat', not '{api}'")
        self.api, self.max_stop = api, max_stop
        self.client = EndpointClient(base_url, served_model or "", **client_options)
        if not served_model:
            models = self.client.list_models()
            if len(models) != 1:
                raise ConfigError(
                    f"{base_url} serves {len(models)} models ({', '.join(models) or 'none'}); name one with served_model"
                )
            self.client.model = models[0]
        self.model_id = f"{self.client.base_url} ({self.client.model})"

    def request_fields(self, settings: GenerationSettings) -> dict[str, Any]:
        """The OpenAI request fields for these settings (non-standard fields only when they are in use).

        Under ``use_model_defaults`` no temperature, top_p or repetition penalty is sent: the server decodes with
        its own defaults (vLLM's server: the model's generation config).

        Raises:
            ConfigError: ``max_length``: the answer's room depends on the prompt's token count, which an endpoint
                does not tell before answering.
        """
        if settings.max_length is not None:
            raise ConfigError(
                f"generation.max_length needs each prompt's token count, which {self.model_id} does not tell "
                "before answering; set generation.max_new_tokens instead (the server itself refuses a prompt and "
                "answer longer than its context)"
            )
        fields: dict[str, Any] = {"max_tokens": settings.max_new_tokens, "seed": settings.seed}
        if not settings.use_model_defaults:
            fields["temperature"] = settings.temperature if settings.do_sample else 0.0
            fields["top_p"] = settings.top_p if settings.do_sample else 1.0
        stop = settings.stop if self.max_stop is None else settings.stop[: self.max_stop]
        if stop:
            fields["stop"] = list(stop)
        if settings.repetition_penalty != 1.0 and not settings.use_model_defaults:
            fields["repetition_penalty"] = settings.repetition_penalty  # vLLM / TGI extension
        if settings.min_new_tokens:
            fields["min_tokens"] = settings.min_new_tokens  # vLLM extension
        return fields

    def generate(self, prompts: list[str], settings: GenerationSettings) -> list[str]:
        fields = self.request_fields(settings)
        if self.api == "chat":
            results = self.client.chat_many([[{"role": "user", "content": p}] for p in prompts], **fields)
        else:
            results = self.client.complete_many(prompts, **fields)
        return self._collect(results, len(prompts), settings.stop)

    def generate_chat(
        self, conversations: list[list[dict[str, str]]], settings: GenerationSettings
    ) -> list[str]:
        return self._collect(
            self.client.chat_many(conversations, **self.request_fields(settings)),
            len(conversations),
            settings.stop,
        )

    @staticmethod
    def _collect(results: Iterator[tuple[int, str | Exception]], n: int, stop: list[str]) -> list[str]:
        outputs: list[str | None] = [None] * n
        for i, result in results:
            if isinstance(result, Exception):
                raise result
            outputs[i] = cut_at_stop(result, stop)
        return [o or "" for o in outputs]
