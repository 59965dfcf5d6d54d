"""Prompt templates. Each renders an Example into a prompt and a target *separately*, so the training loss mask
can be set exactly at the boundary between the two (see `crosslift.data.tokenize`).

    alpaca     Stanford Alpaca's prompt, with and without an input field
    metamath   LinguaLIFT's evaluation/training prompt (methods.md §1.5) with the "Question:" word of the
               example's language (`question_word`)
    metamath_en  the same prompt with the English "Question:" for every language
    qa         MGSM's zero-shot question/answer format, "Question: {question}\nAnswer:" (the prompt `crosslift eval`
               shows with `template: qa`): a few tokens of scaffold, for small models (`crosslift.synth`)
    tulu       `<|system|>\\n...\\n<|user|>\\n...\\n<|assistant|>\\n` + response (open-instruct/TULU, used by PLUG);
               the system prompt comes from `example.meta["system"]`, earlier turns from `meta["history"]`
    chat       the tokenizer's own chat template (`get_template("chat", tokenizer=tok)`)

Every template has two flags for the tokenizer step: `add_special_tokens` (False when the rendered text already
carries BOS and friends, as chat templates do) and `append_eos` (False when the target already ends with the
template's own end-of-turn token).

Templates that cannot show a system prompt or earlier turns (alpaca, metamath) refuse examples that have them,
rather than silently dropping part of the example. Templates that can (tulu, chat) also say where each earlier
assistant reply sits in the prompt (`Rendered.earlier_replies`), so that training can learn every assistant turn
of a conversation, not only the last (`crosslift.train.sft`, ``data.assistant_turns``).
"""

from __future__ import annotations

import csv
import functools
from dataclasses import dataclass
from importlib import resources
from typing import Any

from crosslift.data.examples import Example
from crosslift.errors import ConfigError, CrossliftError, DataError


@dataclass(frozen=True)
class Rendered:
    """A rendered example: the model reads `prompt` and learns to produce `target`.

    Attributes:
        earlier_replies: (start, end) character spans of the earlier assistant replies inside `prompt` (with the
            end-of-turn marker that closes each), for learning every turn of a conversation; None when the
            template cannot locate them exactly (a chat template that renders earlier turns differently once
            the conversation goes on).
    """

    prompt: str
    target: str
    earlier_replies: tuple[tuple[int, int], ...] | None = ()


def _single_turn(example: Example, template: str) -> None:
    extra = [k for k in ("system", "history") if example.meta.get(k)]
    if extra:
        raise DataError(
            f"example {example.id} has {' and '.join(extra)}, which the {template} template cannot show; "
            "use the tulu or chat template",
            path=example.source,
        )


def user_text(example: Example) -> str:
    """Instruction and input as one user message (the input on its own paragraph)."""
    return f"{example.instruction}\n\n{example.input}" if example.input.strip() else example.instruction


class AlpacaTemplate:
    """Stanford Alpaca's prompt, with and without an input field."""

    name = "alpaca"
    add_special_tokens = True
    append_eos = True
    with_input = (
        "Below is an instruction that describes a task, paired with an input that provides further context. "
        "Write a response that appropriately completes the request.\n\n"
        "### Instruction:\n{instruction}\n\n### Input:\n{input}\n\n### Response:\n"
    )
    without_input = (
        "Below is an instruction that describes a task. Write a response that appropriately completes the request.\n\n"
        "### Instruction:\n{instruction}\n\n### Response:\n"
    )

    def render(self, example: Example) -> Rendered:
        _single_turn(example, self.name)
        fmt = self.with_input if example.input.strip() else self.without_input
        return Rendered(
            prompt=fmt.format(instruction=example.instruction, input=example.input), target=example.output
        )


class MetamathTemplate:
    """The metamath prompt of LinguaLIFT/LangBridge, "Question:" localised to the example's language.

    Args:
        lang: force the language of the "Question:" word (default: `example.instruction_lang`, else English).
        source: which table of question words: "mmwp" (LinguaLIFT's MMWP task) or "mgsm" (MGSM's exemplars).
        word: the "Question:" word itself, instead of a table's (an evaluation's per-language override).
    """

    name = "metamath"
    add_special_tokens = True
    append_eos = True
    prompt = (
        "Below is an instruction that describes a task. Write a response that appropriately completes the request.\n\n"
        "### Instruction:\n{question_word} {question}\n\n### Response: Let's think step by step."
    )

    def __init__(self, lang: str | None = None, source: str = "mmwp", word: str | None = None) -> None:
        self.lang, self.source, self.word = lang, source, word

    def render(self, example: Example) -> Rendered:
        _single_turn(example, self.name)
        word = self.word or question_word(self.lang or example.instruction_lang or "en", source=self.source)
        return Rendered(
            prompt=self.prompt.format(question_word=word, question=user_text(example)), target=example.output
        )


class EnglishMetamathTemplate(MetamathTemplate):
    """The metamath prompt with the English "Question:" whatever the example's language: for languages that
    have no localised word (a user's own, the synthetic ones of `crosslift.synth`), and the prompt an evaluation
    with ``instruction_language: en`` shows."""

    name = "metamath_en"

    def __init__(self, source: str = "mmwp") -> None:
        super().__init__(lang="en", source=source)


def after_word(word: str, text: str) -> str:
    """`word` then `text`: a full-width colon (Chinese, Japanese) is followed by no space, as MGSM writes it."""
    return f"{word}{text}" if word.endswith("：") else f"{word} {text}"


class QATemplate:
    """MGSM's question/answer format without exemplars: `{question_word} {question}\n{answer_word}`.

    Args:
        question_word, answer_word: the words around the question (English by default; `crosslift.eval.tasks.prompts`
            passes the localised ones of a task).
    """

    name = "qa"
    add_special_tokens = True
    append_eos = True

    def __init__(self, question_word: str = "Question:", answer_word: str = "Answer:") -> None:
        self.question_word, self.answer_word = question_word, answer_word

    def render(self, example: Example) -> Rendered:
        _single_turn(example, self.name)
        prompt = f"{after_word(self.question_word, user_text(example))}\n{self.answer_word}"
        return Rendered(prompt=prompt, target=example.output)


class TuluTemplate:
    """open-instruct's (TULU) message format, which PLUG trains and infers with (methods.md §3.3).

    `<|system|>\\n{system}\\n<|user|>\\n{user}\\n<|assistant|>\\n{response}</s>`; an earlier turn is
    `<|user|>\\n{user}\\n<|assistant|>\\n{reply}{eos}\\n`. The final EOS is added by the tokenizer step.
    """

    name = "tulu"
    add_special_tokens = True
    append_eos = True

    def __init__(self, eos_token: str = "</s>") -> None:
        self.eos_token = eos_token

    def render(self, example: Example) -> Rendered:
        system = example.meta.get("system")
        prompt = f"<|system|>\n{system.strip()}\n" if system else ""
        replies = []
        for user, reply in example.meta.get("history") or []:
            prompt += f"<|user|>\n{user.strip()}\n<|assistant|>\n"
            replies.append((len(prompt), len(prompt) + len(reply.strip()) + len(self.eos_token)))
            prompt += f"{reply.strip()}{self.eos_token}\n"
        prompt += f"<|user|>\n{user_text(example).strip()}\n<|assistant|>\n"
        return Rendered(prompt=prompt, target=example.output, earlier_replies=tuple(replies))


class ChatTemplate:
    """The tokenizer's own chat template (`tokenizer.chat_template`, e.g. ChatML for Qwen).

    The prompt is the conversation up to the generation prompt; the target is what the template adds for the
    assistant's reply, its end-of-turn token included (so `append_eos` is False). The rendered text carries
    the template's special tokens, so `add_special_tokens` is False.
    """

    name = "chat"
    add_special_tokens = False
    append_eos = False

    def __init__(self, tokenizer: Any) -> None:
        if tokenizer is None:
            raise ConfigError("the chat template needs a tokenizer: get_template('chat', tokenizer=...)")
        if not getattr(tokenizer, "chat_template", None):
            raise ConfigError(
                f"tokenizer {getattr(tokenizer, 'name_or_path', '')!r} has no chat_template; "
                "use one of the templates alpaca, metamath or tulu"
            )
        self.tokenizer = tokenizer

    def messages(self, example: Example) -> list[dict[str, str]]:
        """The example as chat messages, without the reply."""
        messages = (
            [{"role": "system", "content": example.meta["system"]}] if example.meta.get("system") else []
        )
        for user, reply in example.meta.get("history") or []:
            messages += [{"role": "user", "content": user}, {"role": "assistant", "content": reply}]
        return messages + [{"role": "user", "content": user_text(example)}]

    def render(self, example: Example) -> Rendered:
        messages = self.messages(example)
        apply = self.tokenizer.apply_chat_template
        prompt = apply(messages, tokenize=False, add_generation_prompt=True)
        full = apply(messages + [{"role": "assistant", "content": example.output}], tokenize=False)
        if not full.startswith(prompt):
            raise ConfigError(
                "this chat template renders the conversation differently once the reply is added (e.g. it "
                "drops reasoning), so prompt and target cannot be split exactly; use the tulu or alpaca template"
            )
        return Rendered(
            prompt=prompt, target=full[len(prompt) :], earlier_replies=self._earlier_replies(messages, prompt)
        )

    def _earlier_replies(
        self, messages: list[dict[str, str]], prompt: str
    ) -> tuple[tuple[int, int], ...] | None:
        """Where each earlier assistant reply (and its end-of-turn text) sits in `prompt`: the conversation up to
        that reply, rendered with and without it, must both be prefixes of the whole prompt."""
        apply = self.tokenizer.apply_chat_template
        spans = []
        for i, message in enumerate(messages):
            if message["role"] != "assistant":
                continue
            before = apply(messages[:i], tokenize=False, add_generation_prompt=True)
            upto = apply(messages[: i + 1], tokenize=False)
            if not (upto.startswith(before) and prompt.startswith(upto)):
                return None
            spans.append((len(before), len(upto)))
        return tuple(spans)


TEMPLATES = {
    "alpaca": AlpacaTemplate,
    "metamath": MetamathTemplate,
    "metamath_en": EnglishMetamathTemplate,
    "qa": QATemplate,
    "tulu": TuluTemplate,
    "chat": ChatTemplate,
}


def get_template(name: str, tokenizer: Any = None, **options: Any):
    """The template registered under `name`.

    Args:
        tokenizer: needed by "chat"; gives "tulu" the tokenizer's EOS string for earlier turns.
        options: template arguments, e.g. `lang="sw"` for metamath.
    """
    if name not in TEMPLATES:
        raise ConfigError(f"unknown template '{name}'; available: {', '.join(sorted(TEMPLATES))}")
    if name == "chat":
        return ChatTemplate(tokenizer)
    if name == "tulu" and tokenizer is not None and tokenizer.eos_token:
        options.setdefault("eos_token", tokenizer.eos_token)
    return TEMPLATES[name](**options)


# ---------------------------------------------------------------------------------------------- question words


@functools.cache
def _question_words() -> dict[str, dict[str, str]]:
    text = resources.files("crosslift.resources").joinpath("question_words.tsv").read_text(encoding="utf-8")
    rows = csv.DictReader(
        (line for line in text.splitlines() if not line.startswith("#")),
        delimiter="\t",
        quoting=csv.QUOTE_NONE,
    )
    return {row["code"]: row for row in rows}


def _word(lang: str, column: str, what: str) -> str:
    from crosslift.languages import normalize_code

    code = normalize_code(lang)
    table = _question_words()
    word = table.get(code, {}).get(column) or table.get(code.split("-")[0], {}).get(column)
    if not word:
        have = sorted(c for c, row in table.items() if row[column])
        raise CrossliftError(f"no {what} for language '{code}'; known for: {', '.join(have)}")
    return word


def question_word(lang: str, source: str = "mmwp") -> str:
    """The localised "Question:" prefix (colon included) for `lang`, e.g. "Swali:" for sw.

    Args:
        source: "mmwp" (LinguaLIFT's metamath task, 48 languages) or "mgsm" (MGSM's exemplars, 11 languages).

    Raises:
        CrossliftError: the language has no word in that source (the message lists those that do).
    """
    if source not in ("mmwp", "mgsm"):
        raise ConfigError(f"question-word source must be 'mmwp' or 'mgsm', got '{source}'")
    return _word(lang, f"{source}_question", f"{source} question word")


def answer_word(lang: str) -> str:
    """MGSM's localised "Step-by-Step Answer:" prefix for `lang` (MGSM's 11 languages)."""
    return _word(lang, "mgsm_answer", "MGSM answer word")
