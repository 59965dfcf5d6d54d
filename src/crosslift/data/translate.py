"""Translating instruction data through an LLM: how PLUG (and CrossIn) obtained their non-English data.

Each (instruction, response) pair is translated *jointly*, in one request, so the two sides stay consistent
(methods.md §3.2). The prompt wraps them in role markers the model is asked to keep:

    将下列英文翻译成中文。保留<|user|>和<|assistant|>这两个特殊字符。

    <|user|> {instruction}

    <|assistant|> {response}

and the reply is split back on the markers. A reply that does not split (a marker missing, repeated or out of
order, or an empty side) is rejected and requested again, up to `split_retries` times; an item that never splits
is counted and left out of the output, never written half-translated.

Resume: every translated item is appended to the output as one flushed JSON line as soon as it arrives;
rerunning the same command skips the ids already there (a line torn by a kill is cut off first), and when all
are done the file is rewritten atomically in input order.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from crosslift.data.examples import Example, record_to_example, write_examples
from crosslift.data.templates import user_text
from crosslift.errors import CrossliftError
from crosslift.io import append_jsonl, read_jsonl_tolerant, truncate_torn_tail

USER, ASSISTANT = "<|user|>", "<|assistant|>"
# PLUG's Chinese prompt (methods.md §3.2); every other language gets the same request in English.
PROMPTS = {
    "zh": "将下列英文翻译成中文。保留<|user|>和<|assistant|>这两个特殊字符。\n\n<|user|> {instruction} \n\n<|assistant|> {response}"
}
GENERIC_PROMPT = (
    "Translate the following text from English into {language}. Keep the two special tokens <|user|> and "
    "<|assistant|> exactly as they are.\n\n<|user|> {instruction} \n\n<|assistant|> {response}"
)
# Errors that no retry will fix: stop the run (what was translated so far is kept) instead of failing every item.
FATAL_STATUSES = frozenset({400, 401, 403, 404, 422})


def translation_prompt(instruction: str, response: str, lang: str) -> str:
    """The request text for one pair (PLUG's prompt for zh, a generic English one for other languages)."""
    from crosslift.languages import get_language

    language = get_language(lang)
    template = PROMPTS.get(language.code) or GENERIC_PROMPT
    return template.format(instruction=instruction, response=response, language=language.name)


def split_translation(text: str) -> tuple[str, str] | str:
    """(instruction, response) from a reply, or the reason it does not split."""
    if text.count(USER) != 1 or text.count(ASSISTANT) != 1:
        return f"expected one {USER} and one {ASSISTANT}, got {text.count(USER)} and {text.count(ASSISTANT)}"
    user_at, assistant_at = text.index(USER), text.index(ASSISTANT)
    if assistant_at < user_at:
        return f"{ASSISTANT} comes before {USER}"
    instruction = text[user_at + len(USER) : assistant_at].strip()
    response = text[assistant_at + len(ASSISTANT) :].strip()
    if not instruction or not response:
        return "an empty side"
    return instruction, response


@dataclass
class TranslationReport:
    """What a translation run did (also written to the manifest)."""

    requested: int = 0
    resumed: int = 0
    translated: int = 0
    split_retries: int = 0
    failed_splits: Counter = field(default_factory=Counter)
    failed_requests: Counter = field(default_factory=Counter)
    failed_ids: list[str] = field(default_factory=list)
    seconds: float = 0.0


def translate_examples(
    examples: Sequence[Example],
    lang: str,
    client: Any,
    out: str | Path,
    *,
    split_retries: int = 4,
    progress: Callable[[int, int], None] | None = None,
    **generation: Any,
) -> TranslationReport:
    """Translate examples into `lang` through `client` (an `EndpointClient`), writing/resuming `out`.

    The instruction and its input travel together as the user side (joined by a blank line); the output
    records keep each example's id, so `crosslift data plug --align id` pairs them with the English file.

    Args:
        split_retries: further requests for an item whose reply does not split.
        progress: called with (done, total) as items finish.
        generation: request fields, e.g. temperature=0, max_tokens=2048.

    Raises:
        EndpointError: a request failed in a way no retry fixes (bad URL, model or key); the items translated
            so far stay in `out` and a rerun continues from there.
    """
    out = Path(out)
    start = time.monotonic()
    report = TranslationReport()
    ids = [ex.id for ex in examples]
    repeated = [i for i, n in Counter(ids).items() if n > 1]
    if repeated:
        raise CrossliftError(f"ids must be unique to resume a translation; repeated: {repeated[:5]}")
    truncate_torn_tail(out)
    done = {r["id"]: r for r in read_jsonl_tolerant(out)}
    foreign = [i for i, r in done.items() if i not in set(ids) or r.get("instruction_lang") != lang]
    if foreign:
        raise CrossliftError(
            f"{out} already holds {len(foreign)} record(s) that are not translations of this input "
            f"into {lang} (e.g. id {foreign[0]!r}); use another --out"
        )
    report.resumed = sum(i in done for i in ids)
    pending = [ex for ex in examples if ex.id not in done]
    total = len(examples)
    for attempt in range(split_retries + 1):
        if not pending:
            break
        report.requested += len(pending)
        report.split_retries += len(pending) if attempt else 0
        conversations = [
            [{"role": "user", "content": translation_prompt(user_text(ex), ex.output, lang)}]
            for ex in pending
        ]
        retry = []
        for i, reply in client.chat_many(conversations, **generation):
            ex = pending[i]
            if isinstance(reply, Exception):
                if getattr(reply, "status", None) in FATAL_STATUSES:
                    raise reply
                report.failed_requests[type(reply).__name__] += 1
                report.failed_ids.append(ex.id)
                continue
            split = split_translation(reply)
            if isinstance(split, str):
                retry.append(ex)
                if attempt == split_retries:
                    report.failed_splits[split] += 1
                    report.failed_ids.append(ex.id)
                continue
            record = Example(
                id=ex.id,
                instruction=split[0],
                output=split[1],
                instruction_lang=lang,
                output_lang=lang,
                source=ex.source,
                meta={"translation": {"from": "en", "model": client.model, "attempts": attempt + 1}},
            )
            append_jsonl(out, record.to_record())
            done[ex.id] = record.to_record()
            report.translated += 1
            if progress:
                progress(len(done), total)
        pending = retry
    # Everything that will be translated is in: rewrite in input order (atomically) for a stable file.
    ordered = [
        record_to_example(done[i], path=out, location={"record": k}) for k, i in enumerate(ids) if i in done
    ]
    write_examples(out, ordered)
    report.seconds = time.monotonic() - start
    return report
