"""A small client for OpenAI-compatible HTTP endpoints (vLLM, TGI, llama.cpp, Ollama, OpenAI, ...).

Used by evaluation (`EndpointGenerator`, a `Generator` backend) and by data translation. Standard library only:
``urllib`` for HTTP, a thread pool for bounded concurrency.

    client = EndpointClient("http://localhost:8000/v1", "my-model")
    client.chat([{"role": "user", "content": "Hello"}], max_tokens=32, temperature=0)
    for i, result in client.chat_many(conversations, max_tokens=256):   # results as they finish
        ...                                                              # result: str, or the Exception

Reliability: every request has a timeout; 429, 5xx, timeouts and connection errors are retried with exponential
backoff and jitter, honouring a ``Retry-After`` header; other errors (400, 401, 404, a malformed response) fail at
once with an `EndpointError` naming the URL, the status and a short excerpt of the body.

Security: the API key is read only from an environment variable (``OPENAI_API_KEY`` unless told otherwise), sent
only in the ``Authorization`` header, and never logged, put in an error message (a server that echoes it back is
redacted) or written to results.
"""

from __future__ import annotations

import email.utils
import http.client
import json
import logging
import os
import random
import socket
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor, as_completed
from typing import Any

from crosslift.errors import ConfigError, CrossliftError
from crosslift.models.generation import GenerationSettings, cut_at_stop

logger = logging.getLogger(__name__)

RETRY_STATUSES = frozenset({408, 409, 429, 500, 502, 503, 504})  # plus any other 5xx
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
        self, reason: str, retry_after: float | None = None, status: int | None = None, body: str = ""
    ):
        self.reason, self.retry_after, self.status, self.body = reason, retry_after, status, body
        super().__init__(reason)


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
        timeout_s: seconds to wait for a response (per attempt).
        max_retries: retries after the first attempt for 429, 5xx, timeouts and connection errors.
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
    ) -> None:
        if not base_url.startswith(("http://", "https://")):
            raise ConfigError(f"endpoint URL must start with http:// or https://, got '{base_url}'")
        if timeout_s <= 0 or max_retries < 0 or concurrency < 1 or backoff_s < 0:
            raise ConfigError(
                "endpoint needs timeout_s > 0, max_retries >= 0, concurrency >= 1 and backoff_s >= 0 "
                f"(got {timeout_s}, {max_retries}, {concurrency}, {backoff_s})"
            )
        self.base_url = base_url.rstrip("/")
        self.model = model
        self.api_key_env = api_key_env
        self.timeout_s, self.max_retries, self.concurrency = timeout_s, max_retries, concurrency
        self.backoff_s, self.max_backoff_s = backoff_s, max_backoff_s
        self._api_key = os.environ.get(api_key_env) or None

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

    def _many(self, call, inputs: list) -> Iterator[tuple[int, str | Exception]]:
        with ThreadPoolExecutor(max_workers=self.concurrency) as pool:
            futures = {pool.submit(call, x): i for i, x in enumerate(inputs)}
            try:
                for future in as_completed(futures):
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

    def _request(self, method: str, path: str, body: dict[str, Any] | None) -> Any:
        url = f"{self.base_url}{path}"
        attempts = self.max_retries + 1
        for attempt in range(attempts):
            try:
                return self._attempt(method, url, body)
            except _Retryable as e:
                if attempt == attempts - 1:
                    raise EndpointError(
                        f"{method} {url}: {e.reason} (gave up after {attempts} attempts)"
                        + (f": {e.body}" if e.body else ""),
                        status=e.status,
                        body=e.body,
                    ) from None
                delay = e.retry_after
                if delay is None:
                    delay = self.backoff_s * 2**attempt * random.uniform(0.5, 1.0)
                delay = min(delay, self.max_backoff_s)
                logger.info("%s %s: %s; retry %d/%d in %.1f s", method, url, e.reason, attempt + 1,
                            self.max_retries, delay)  # fmt: skip
                time.sleep(delay)
        raise AssertionError("unreachable")

    def _attempt(self, method: str, url: str, body: dict[str, Any] | None) -> Any:
        headers = {"Accept": "application/json"}
        data = None
        if body is not None:
            headers["Content-Type"] = "application/json"
            data = json.dumps(body, ensure_ascii=False).encode("utf-8")
        if self._api_key:
            headers["Authorization"] = f"Bearer {self._api_key}"
        request = urllib.request.Request(url, data=data, headers=headers, method=method)
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_s) as response:
                raw = response.read()
        except urllib.error.HTTPError as e:
            raw = e.read() if e.fp is not None else b""
            excerpt = self._excerpt(raw)
            if e.code in RETRY_STATUSES or e.code >= 500:
                raise _Retryable(f"HTTP {e.code}", _retry_after_seconds(e.headers.get("Retry-After")), e.code,
                                 excerpt) from None  # fmt: skip
            raise EndpointError(
                f"{method} {url}: HTTP {e.code}: {excerpt}", status=e.code, body=excerpt
            ) from None
        except TimeoutError:
            raise _Retryable(f"no response within {self.timeout_s:g} s") from None
        except urllib.error.URLError as e:
            if isinstance(e.reason, TimeoutError | socket.timeout):
                raise _Retryable(f"no response within {self.timeout_s:g} s") from None
            raise _Retryable(f"connection failed ({self._redact(str(e.reason))})") from None
        except (ConnectionError, http.client.HTTPException) as e:
            raise _Retryable(f"connection failed ({type(e).__name__}: {self._redact(str(e))})") from None
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
        """The OpenAI request fields for these settings (non-standard fields only when they are in use)."""
        fields: dict[str, Any] = {
            "max_tokens": settings.max_new_tokens,
            "temperature": settings.temperature if settings.do_sample else 0.0,
            "top_p": settings.top_p if settings.do_sample else 1.0,
            "seed": settings.seed,
        }
        stop = settings.stop if self.max_stop is None else settings.stop[: self.max_stop]
        if stop:
            fields["stop"] = list(stop)
        if settings.repetition_penalty != 1.0:
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
        return self._collect(self.client.chat_many(conversations, **self.request_fields(settings)),
                             len(conversations), settings.stop)  # fmt: skip

    @staticmethod
    def _collect(results: Iterator[tuple[int, str | Exception]], n: int, stop: list[str]) -> list[str]:
        outputs: list[str | None] = [None] * n
        for i, result in results:
            if isinstance(result, Exception):
                raise result
            outputs[i] = cut_at_stop(result, stop)
        return [o or "" for o in outputs]
