"""The pairwise judge's protocol, PLUG's X-AlpacaEval judging (methods.md §3.5), apart from runs and endpoints.

    prompt     MT-bench's pair-v2 judge prompt plus PLUG's fluency sentence; the user turn shows the question and
               the two answers as assistant A and assistant B
    verdict    the judgment's last [[A]] / [[B]] / [[C]] (C: a tie); none is a malformed verdict
    aggregate  PLUG's rule per pair, from its two games (A/B swapped): the same winner twice -> win/loss; a win and
               a tie -> slight win/loss; opposite winners or two ties -> tie; an error in either order -> error

`crosslift.eval.judging.pairwise` pairs two evaluation runs' answers and judges them with this protocol.
"""

from __future__ import annotations

import hashlib
import re

# ---------------------------------------------------------------------------------------------------- the prompt

# MT-bench's "pair-v2" judge prompt (FastChat, llm_judge/data/judge_prompts.jsonl) ...
_PAIR_V2_HEAD = (
    "Please act as an impartial judge and evaluate the quality of the responses provided by two AI assistants to "
    "the user question displayed below. You should choose the assistant that follows the user's instructions and "
    "answers the user's question better. Your evaluation should consider factors such as the helpfulness, "
    "relevance, accuracy, depth, creativity, and level of detail of their responses. "
)
# ... with the sentence PLUG adds to it (judge_prompts_focus_language.jsonl), right after the factors ...
FLUENCY_SENTENCE = (
    "Pay special attention to whether the assistant's response contains any unnatural language use, sentences "
    "that are not fluent, or grammatical problems, especially when answering in languages other than English. "
)
_PAIR_V2_TAIL = (
    "Begin your evaluation by comparing the two responses and provide a short explanation. Avoid any position "
    "biases and ensure that the order in which the responses were presented does not influence your decision. Do "
    "not allow the length of the responses to influence your evaluation. Do not favor certain names of the "
    "assistants. Be as objective as possible. After providing your explanation, output your final verdict by "
    'strictly following this format: "[[A]]" if assistant A is better, "[[B]]" if assistant B is better, and '
    '"[[C]]" for a tie.'
)
# ... and its answer block.
USER_TEMPLATE = (
    "[User Question]\n{question}\n\n[The Start of Assistant A's Answer]\n{answer_a}\n[The End of Assistant A's "
    "Answer]\n\n[The Start of Assistant B's Answer]\n{answer_b}\n[The End of Assistant B's Answer]"
)


def system_prompt(fluency: bool = True) -> str:
    """The judge's system prompt: pair-v2, with PLUG's fluency sentence unless `fluency` is False."""
    return _PAIR_V2_HEAD + (FLUENCY_SENTENCE if fluency else "") + _PAIR_V2_TAIL


def prompt_version(fluency: bool = True) -> str:
    """A name for the prompt, with a hash of its exact text (recorded with every result)."""
    digest = hashlib.sha256((system_prompt(fluency) + "\n" + USER_TEMPLATE).encode()).hexdigest()[:12]
    return f"{'mt-bench-pair-v2+plug-fluency' if fluency else 'mt-bench-pair-v2'}@{digest}"


def judge_messages(question: str, first: str, second: str, fluency: bool = True) -> list[dict[str, str]]:
    """The conversation for one game: `first` is shown as assistant A, `second` as assistant B."""
    user = USER_TEMPLATE.format(question=question, answer_a=first, answer_b=second)
    return [{"role": "system", "content": system_prompt(fluency)}, {"role": "user", "content": user}]


# ---------------------------------------------------------------------------------------------------- verdicts

_VERDICT = re.compile(r"\[\[\s*([ABC])\s*\]\]")
OUTCOMES = ("win", "slight_win", "tie", "slight_loss", "loss", "error")


def parse_verdict(judgment: str) -> str | None:
    """ "A", "B" or "tie" from a judgment's *last* [[A]]/[[B]]/[[C]] (a judge may quote the format before its
    verdict; FastChat takes the first it finds, checking [[A]] first); None when there is none (malformed)."""
    found = _VERDICT.findall(judgment or "")
    if not found:
        return None
    return {"A": "A", "B": "B", "C": "tie"}[found[-1]]


def winner(verdict: str | None, order: str) -> str:
    """The run a verdict favours: "a", "b", "tie", or "error"; `order` is "ab" (run A shown first) or "ba"."""
    if verdict is None:
        return "error"
    if verdict == "tie":
        return "tie"
    shown_first = order[0]
    return shown_first if verdict == "A" else {"a": "b", "b": "a"}[shown_first]


def aggregate(first: str, second: str) -> str:
    """PLUG's outcome of one pair from run A's side, from the winners of its two games (each "a"/"b"/"tie"/"error")."""
    pair = {first, second}
    if "error" in pair:
        return "error"
    if pair == {"a"}:
        return "win"
    if pair == {"b"}:
        return "loss"
    if pair == {"a", "tie"}:
        return "slight_win"
    if pair == {"b", "tie"}:
        return "slight_loss"
    return "tie"  # opposite winners, or two ties
