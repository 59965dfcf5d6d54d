"""Prompts for math benchmarks: zero- or few-shot, with or without chain of thought, in the metamath or the
question/answer format, with native or English instruction words, optionally as a chat conversation.

The question reaches the model verbatim: it is inserted as read from the file, never stripped or re-encoded.

    metamath   LinguaLIFT's prompt, rendered by ``crosslift.data.templates`` (the very template training uses):
               Below is an instruction that describes a task. Write a response that appropriately completes
               the request.\n\n### Instruction:\n{Question:} {question}\n\n### Response: Let's think step by step.
               Zero-shot and chain of thought by construction.
    qa         MGSM's format: [{Question:} {q_i}\n{Answer:} {a_i}\n\n per shot] {Question:} {question}\n{Answer:}
               where {Answer:} is MGSM's "Step-by-Step Answer:" (localised) with chain of thought, else "Answer:".
    chat       messages: [system], (user "{Question:} {q_i}", assistant "{a_i}") per shot,
               user "{Question:} {question}[\n{cot_trigger}]"; rendered by the model's chat template or sent to
               the endpoint's chat API.

Multiple choice and instruction following (zero-shot):

    mcq          SeaEval's zero-shot prompts (branch SeaEval_v0.1, as CrossIn evaluated): five wordings per set
                 (``mcq_prompt`` 1-5, default 1: "Respond to the question by selecting the most appropriate
                 answer. Simply select the answer, no explanations required."), [Context:] Question: Choices:
                 "(A) ..." per line, Answer: — in English for every language, as SeaEval does. The set
                 (``mcq_prompt_set``: cross_mmlu, cross_logiqa, cross_xquad) is chosen by the task; without one,
                 cross_logiqa's for items with a passage, else cross_mmlu's. SeaEval reports the median over the
                 five (an eval config's ``prompt_variants``). ``mcq_format`` replaces the wording ({question},
                 {choices}, {context}).
    instruction  the instruction verbatim (as one user message with ``chat``).
    tulu         open-instruct's ``<|system|>/<|user|>/<|assistant|>`` format that PLUG trains and infers with,
                 rendered by ``crosslift.data.templates`` (the text training uses).

A system prompt may hold ``{language}``: the English name of the item's language (PLUG's "...respond both in
English and in {language}.").

The localised words come from ``crosslift.data.templates`` (``question_word``, ``answer_word``), from the table
``words`` names: "mmwp" (LinguaLIFT's words for the 48 MMWP languages) or "mgsm" (MGSM's exemplars, 11 languages).
``instruction_language: en`` uses the English words everywhere. A language that a table lacks falls back to the
other table, then to English; the words used are recorded for every language in the results.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from crosslift.data import templates
from crosslift.data.examples import Example, text_field
from crosslift.data.options import ReadOptions
from crosslift.data.records import iter_records, read_json_file
from crosslift.errors import ConfigError, CrossliftError, DataError
from crosslift.eval.items import LETTERS
from crosslift.eval.tasks.data import get_field
from crosslift.languages import same_language

TEMPLATES = ("metamath", "qa", "mcq", "instruction", "tulu")
ZERO_SHOT_TEMPLATES = ("mcq", "instruction", "tulu")  # no few-shot form, no "Question:" words
WORD_TABLES = ("mmwp", "mgsm")
# SeaEval_v0.1's five zero-shot wordings (src/dataset_src/cross_{mmlu,logiqa,xquad}.py): an instruction, then
# "Simply select the answer, no explanations required.", then the blocks ([Context,] Question, Choices, Answer),
# each "Label:\n" + its text, separated by a blank line (wordings 1, 4, 5) or a line break (2, 3).
_SEAEVAL_WORDINGS = (
    ("Respond to the question by selecting the most appropriate answer.", "\n\n"),
    ("Kindly choose the correct answer from the options provided for the multiple-choice question.", "\n"),
    ("Solve the multi-choice question by selecting the accurate answer.", "\n"),
    ("Please answer the following multiple-choice question by selecting the correct option.", "\n\n"),
    (
        "As an expert, your task is to solve the following multiple-choice question. Identify the correct response "
        "among the given choices.",
        "\n\n",
    ),
)


def _seaeval_prompt(k: int, context: bool, select: str = "answer") -> str:
    instruction, sep = _SEAEVAL_WORDINGS[k]
    blocks = (["Context:\n{context}"] if context else []) + [
        "Question:\n{question}",
        "Choices:\n{choices}",
        "Answer:\n",
    ]
    return f"{instruction} Simply select the {select}, no explanations required.{sep}" + sep.join(blocks)


SEAEVAL_PROMPTS: dict[str, tuple[str, ...]] = {
    "cross_mmlu": tuple(_seaeval_prompt(k, context=False) for k in range(5)),
    "cross_logiqa": tuple(_seaeval_prompt(k, context=True) for k in range(5)),
    # cross_xquad's first wording says "Simply select the choice"
    "cross_xquad": tuple(
        _seaeval_prompt(k, context=True, select="choice" if k == 0 else "answer") for k in range(5)
    ),
}
MCQ_PROMPT_SETS = tuple(SEAEVAL_PROMPTS)
MCQ_FORMAT = SEAEVAL_PROMPTS["cross_mmlu"][0]
MCQ_CONTEXT_FORMAT = SEAEVAL_PROMPTS["cross_logiqa"][0]


@dataclass(frozen=True)
class PromptSettings:
    """How prompts are built (the resolved form, recorded in the results).

    Attributes:
        template: "metamath" or "qa" (not used when ``chat`` is on).
        cot: ask for step-by-step reasoning (metamath always does).
        shots: number of few-shot exemplars (0 = zero-shot; metamath is zero-shot only).
        instruction_language: "native" (localised "Question:"/"Answer:") or "en".
        words: the table of localised words, "mmwp" or "mgsm".
        chat: send a chat conversation instead of a text prompt.
        system: system message for chat prompts.
        cot_trigger: the chain-of-thought request ending a chat prompt.
        fewshot_language: "native" (exemplars in the item's language) or "en" (English exemplars everywhere).
        mcq_format: the mcq prompt with {question}, {choices} (and {context}); default SeaEval's.
        mcq_prompt: which of SeaEval's five wordings (1-5).
        mcq_prompt_set: whose wordings: cross_mmlu, cross_logiqa or cross_xquad (None: by the item's passage).
        question_words: per language code, a "Question:" word replacing the table's (e.g. LinguaLIFT's lm-eval
            fork writes French "Question :" and Japanese "問題:").
        answer_words: per language code, an "Answer:" word replacing the table's.
        instruction: text added to every question (`apply_instruction`); a task gives each language its own.
    """

    template: str = "metamath"
    cot: bool = True
    shots: int = 0
    instruction_language: str = "native"
    words: str = "mmwp"
    chat: bool = False
    system: str | None = None
    cot_trigger: str = "Let's think step by step."
    fewshot_language: str = "native"
    mcq_format: str | None = None
    mcq_prompt: int = 1
    mcq_prompt_set: str | None = None
    question_words: dict[str, str] | None = None
    answer_words: dict[str, str] | None = None
    instruction: str | None = None

    def __post_init__(self) -> None:
        if self.template not in TEMPLATES:
            raise ConfigError(
                f"unknown prompt template '{self.template}'; expected one of: {', '.join(TEMPLATES)}"
            )
        if self.instruction_language not in ("native", "en") or self.fewshot_language not in ("native", "en"):
            raise ConfigError("instruction_language and fewshot_language must be 'native' or 'en'")
        if self.words not in WORD_TABLES:
            raise ConfigError(f"prompt words must be one of {', '.join(WORD_TABLES)}, not '{self.words}'")
        if self.shots < 0:
            raise ConfigError(f"shots must be >= 0 (got {self.shots})")
        if self.template in ZERO_SHOT_TEMPLATES and self.shots:
            raise ConfigError(
                f"the {self.template} template is zero-shot; few-shot prompts exist for the math "
                "templates (qa, chat) only"
            )
        if self.template in ("mcq", "instruction") and self.system and not self.chat:
            raise ConfigError(
                f"a system prompt with the {self.template} template needs chat: true "
                "(or template: tulu, which writes it into the prompt)"
            )
        if not 1 <= self.mcq_prompt <= len(_SEAEVAL_WORDINGS):
            raise ConfigError(
                f"mcq_prompt must be 1-{len(_SEAEVAL_WORDINGS)} (SeaEval's wordings), got {self.mcq_prompt}"
            )
        if self.mcq_prompt_set is not None and self.mcq_prompt_set not in MCQ_PROMPT_SETS:
            raise ConfigError(
                f"mcq_prompt_set must be one of {', '.join(MCQ_PROMPT_SETS)}, not '{self.mcq_prompt_set}'"
            )
        if self.mcq_format is not None and not {"{question}", "{choices}"} <= set(
            re.findall(r"\{\w+\}", self.mcq_format)
        ):
            raise ConfigError("mcq_format must contain {question} and {choices}")
        for key in ("question_words", "answer_words"):
            empty = [code for code, word in (getattr(self, key) or {}).items() if not str(word).strip()]
            if empty:
                raise ConfigError(f"prompt.{key}: the word for {', '.join(empty)} is empty")
        if self.template == "metamath" and not self.chat and (self.shots or not self.cot):
            raise ConfigError(
                'the metamath template is zero-shot chain of thought (it ends with "Let\'s think step by step."); '
                "for few-shot or direct answers use template: qa, or chat: true"
            )

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class InstructionWords:
    """The "Question:" / "Answer:" words used for one language.

    Attributes:
        question: e.g. "Swali:".
        answer: e.g. "Jibu la Hatua kwa Hatua:" (with chain of thought) or "Answer:".
        language: the language the words are in ("en" after a fallback).
        table: the table they come from ("mmwp" or "mgsm").
        localized: whether they are in the item's language.
    """

    question: str
    answer: str
    language: str
    table: str
    localized: bool


@dataclass(frozen=True)
class Exemplar:
    question: str
    answer: str


@dataclass(frozen=True)
class Prompt:
    """A built prompt: ``text`` for text prompts, ``messages`` for chat."""

    text: str | None = None
    messages: list[dict[str, str]] | None = None


def _question_word(language: str, table: str) -> tuple[str, str] | None:
    for source in (table, *(t for t in WORD_TABLES if t != table)):
        try:
            return templates.question_word(language, source=source), source
        except CrossliftError:
            continue
    return None


def instruction_words(language: str, settings: PromptSettings) -> InstructionWords:
    """The words a prompt in `language` uses under `settings` (English when none are localised), with the
    settings' per-language `question_words` / `answer_words` in place of the table's."""
    words = _table_words(language, settings)
    question = _override(settings.question_words, language)
    answer = _override(settings.answer_words, language)
    if question is None and answer is None:
        return words
    return replace(
        words,
        question=question or words.question,
        answer=answer or words.answer,
        localized=words.localized or not language.lower().startswith("en"),
    )


def _override(words: dict[str, str] | None, language: str) -> str | None:
    return next((w for code, w in (words or {}).items() if same_language(code, language)), None)


def _table_words(language: str, settings: PromptSettings) -> InstructionWords:
    direct = "Answer:"
    if settings.instruction_language == "native" and not language.lower().startswith("en"):
        found = _question_word(language, settings.words)
        if found is not None:
            answer = direct
            if settings.cot:
                try:
                    answer = templates.answer_word(language)
                except CrossliftError:
                    answer = templates.answer_word("en")
            return InstructionWords(found[0], answer, language, found[1], localized=True)
    return InstructionWords(
        templates.question_word("en", source=settings.words),
        templates.answer_word("en") if settings.cot else direct,
        "en",
        settings.words,
        localized=language.lower().startswith("en"),
    )


def render_mcq(
    question: str,
    choices: tuple[str, ...],
    context: str | None,
    mcq_format: str | None = None,
    *,
    prompt: int = 1,
    prompt_set: str | None = None,
) -> str:
    """A multiple-choice prompt: options as "(A) text" lines, in SeaEval's wording `prompt` (1-5) of `prompt_set`
    (default: cross_logiqa's with a passage, else cross_mmlu's) unless `mcq_format` is given."""
    lines = "\n".join(f"({LETTERS[i]}) {c}" for i, c in enumerate(choices))
    prompt_set = prompt_set or ("cross_logiqa" if context is not None else "cross_mmlu")
    fmt = mcq_format or SEAEVAL_PROMPTS[prompt_set][prompt - 1]
    if context is not None and "{context}" not in fmt:
        raise ConfigError("these items have a context passage, but mcq_format has no {context}")
    return fmt.format(question=question, choices=lines, context=context or "")


def apply_instruction(question: str, instruction: str | None) -> str:
    """The question with a task's instruction: wrapped around it where the instruction holds ``{question}``,
    else appended on its own line ("...\nPut your final answer within \\boxed{}."). The question itself stays
    verbatim."""
    if not instruction:
        return question
    if "{question}" in instruction:
        return instruction.replace("{question}", question)
    return f"{question}\n{instruction}"


def _system(settings: PromptSettings, language: str | None) -> str | None:
    if settings.system and language and "{language}" in settings.system:
        from crosslift.languages import get_language

        return settings.system.replace("{language}", get_language(language).name)
    return settings.system


def build_prompt(
    question: str,
    settings: PromptSettings,
    words: InstructionWords,
    exemplars: list[Exemplar] = (),
    *,
    choices: tuple[str, ...] = (),
    context: str | None = None,
    language: str | None = None,
) -> Prompt:
    """The prompt for one question; `exemplars` are the few-shot examples (already in the right language).

    Args:
        choices: the options of a multiple-choice item (template mcq).
        context: a passage shown before the question (template mcq).
        language: the item's language (its name fills "{language}" in the system prompt).
    """
    system = _system(settings, language)
    if settings.template in ZERO_SHOT_TEMPLATES:
        if settings.template == "mcq":
            if not choices:
                raise ConfigError("the mcq template needs items with options (dataset answer_type: choice)")
            user = render_mcq(
                question,
                choices,
                context,
                settings.mcq_format,
                prompt=settings.mcq_prompt,
                prompt_set=settings.mcq_prompt_set,
            )
        else:
            user = question
        if settings.chat:
            return Prompt(
                messages=([{"role": "system", "content": system}] if system else [])
                + [{"role": "user", "content": user}]
            )
        if settings.template == "tulu":
            example = Example(
                id="eval", instruction=user, output="", meta={"system": system} if system else {}
            )
            return Prompt(text=templates.get_template(settings.template).render(example).prompt)
        return Prompt(text=user)
    if settings.chat:
        messages = [{"role": "system", "content": system}] if system else []
        for ex in exemplars:
            messages += [
                {"role": "user", "content": templates.after_word(words.question, ex.question)},
                {"role": "assistant", "content": ex.answer},
            ]
        final = templates.after_word(words.question, question) + (
            f"\n{settings.cot_trigger}" if settings.cot else ""
        )
        return Prompt(messages=[*messages, {"role": "user", "content": final}])
    if settings.template == "metamath":
        template = templates.get_template(
            "metamath", lang=words.language, source=words.table, word=words.question
        )
        return Prompt(text=template.render(Example(id="eval", instruction=question, output="")).prompt)
    shots = "".join(
        f"{templates.after_word(words.question, ex.question)}\n{templates.after_word(words.answer, ex.answer)}\n\n"
        for ex in exemplars
    )
    final = templates.QATemplate(words.question, words.answer).render(
        Example(id="eval", instruction=question, output="")
    )
    return Prompt(text=shots + final.prompt)


# ---------------------------------------------------------------------------------------------------- exemplars

# MGSM's exemplars carry their own prefixes ("Swali: ...", "Jibu la Hatua kwa Hatua: ..."); we strip them so the
# exemplars are rendered with the same words as the question. A prefix is the text before the first colon
# (ASCII or full-width) within its first 40 characters.
_PREFIX = re.compile(r"^[^:：\n]{1,40}?\s*[:：]\s*")


def _strip_prefix(text: str) -> str:
    return _PREFIX.sub("", text, count=1)


def read_exemplars(
    path: str | Path,
    *,
    format: str,
    language: str,
    question_field: str | int = "question",
    answer_field: str | int = "answer",
    header: bool = False,
) -> list[Exemplar]:
    """Few-shot exemplars for one language.

    Args:
        path: the exemplar file; ``{lang}`` in it is replaced by the language code.
        format: "mgsm_exemplars" (the MGSM paper's exemplar JSON, all languages in one file), or a format of
            `crosslift.eval.tasks.data.read_items` ("json", "jsonl", "tsv", "csv"), whose answer field holds the
            exemplar's full worked answer.
        language: the language code.

    Raises:
        DataError: a missing file or language, or a malformed record.
    """
    path = Path(str(path).replace("{lang}", language))
    if not path.is_file():
        raise DataError("few-shot exemplar file not found", path=path)
    if format != "mgsm_exemplars":
        # An answer may be a number (a direct answer), as a benchmark's gold answer may; a question is text.
        return [
            Exemplar(
                text_field(get_field(r, question_field, w), where=w, key=str(question_field)),
                text_field(get_field(r, answer_field, w), where=w, key=str(answer_field), coerced=Counter()),
            )
            for w, r in iter_records(path, ReadOptions(format=format), header=header)
        ]
    data = read_json_file(path)
    by_language = data.get("MGSM_EXEMPLARS") if isinstance(data, dict) else None
    if not isinstance(by_language, dict):
        raise DataError("expected an object with MGSM_EXEMPLARS", path=path, field="MGSM_EXEMPLARS")
    if language not in by_language:
        raise DataError(
            f"no exemplars for '{language}' (it has: {', '.join(sorted(by_language))})",
            path=path,
            field=f"MGSM_EXEMPLARS.{language}",
        )
    exemplars = []
    for key in sorted(by_language[language], key=int):
        record = by_language[language][key]
        where = {"path": path}
        field = f"MGSM_EXEMPLARS.{language}.{key}"
        if not isinstance(record, dict) or not {"q", "a"} <= set(record):
            raise DataError("an exemplar needs 'q' and 'a'", field=field, **where)
        question, answer = (text_field(record[k], where=where, key=f"{field}.{k}") for k in ("q", "a"))
        exemplars.append(Exemplar(_strip_prefix(question), _strip_prefix(answer)))
    return exemplars
