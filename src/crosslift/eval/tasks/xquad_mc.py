"""Cross-XQuAD-style multiple choice, built from XQuAD. This is **our construction**, not CrossIn's file.

CrossIn (and SeaEval) evaluate consistency on Cross-XQuAD: XQuAD questions (en, zh, vi, es) turned into 4-option
multiple choice. Those files are not available here, so we build the equivalent from XQuAD itself
(Artetxe et al. 2020: 1,190 extractive questions on 240 paragraphs of 48 Wikipedia articles, the same question
ids in 12 languages), deterministically:

- the gold option is the question's answer span in that language (XQuAD has exactly one answer per question);
- the distractors are the answers to *other questions about the same paragraph*, then, if the paragraph has too
  few, about the same article: spans of the same passage, so they are plausible and often of the same type
  (a name, a year, a number);
- two options must not say the same thing: candidates are compared after case folding, Unicode NFKC and the
  removal of punctuation, in the reference language (English) *and* in the item's language;
- which candidates come first and where the gold goes are drawn from a RNG seeded by ``(seed, question id)``
  only, never by the language, so every language gets the same options in the same order: a parallel set, as
  consistency needs. The one exception: where a translation makes two candidates identical in one language, the
  next candidate replaces the clashing one there (with seed 0: 1 or 2 of the 1,190 items in ar, hi, ro, th, tr,
  vi and zh; none in de, el, es or ru; tested).

The prompt then shows the paragraph as context, the question and the options (SeaEval's Cross-XQuAD format).
"""

from __future__ import annotations

import functools
import random
import unicodedata
from pathlib import Path

from crosslift.data.records import read_json_file
from crosslift.errors import DataError
from crosslift.eval.items import LETTERS, Item


def _key(text: str) -> str:
    """What makes two answers "the same": case, width, punctuation and spacing do not count."""
    text = unicodedata.normalize("NFKC", text).casefold()
    text = "".join(c for c in text if not unicodedata.category(c).startswith("P"))
    return " ".join(text.split())


@functools.lru_cache(maxsize=16)
def _questions(path: Path) -> tuple[tuple[int, int, str, str, str, str], ...]:
    """(article, paragraph, id, question, context, answer) for every question of one XQuAD file, in file order."""
    if not path.is_file():
        raise DataError("file not found (xquad_mc reads the XQuAD release: xquad.<lang>.json)", path=path)
    try:
        articles = read_json_file(path)["data"]
    except (KeyError, TypeError) as e:
        raise DataError(f"not an XQuAD/SQuAD JSON file (no {e} list)", path=path) from None
    out = []
    for a, article in enumerate(articles):
        for p, paragraph in enumerate(article.get("paragraphs", [])):
            for q in paragraph.get("qas", []):
                where = {"path": path, "field": f"data[{a}].paragraphs[{p}].qas[{q.get('id')}]"}
                answers = q.get("answers") or []
                if not answers or not str(answers[0].get("text", "")).strip():
                    raise DataError("a question without an answer text", **where)
                if not str(q.get("question", "")).strip():
                    raise DataError("an empty question", **where)
                out.append((a, p, str(q["id"]), q["question"], paragraph["context"], answers[0]["text"]))
    if not out:
        raise DataError("no questions", path=path)
    return tuple(out)


def option_sources(
    path: str | Path, *, reference: str | Path, options: int = 4, seed: int = 0
) -> list[tuple[str, list[str]]]:
    """For every question of `path`: its id and the ids of the questions whose answers are its options, in order
    (its own id at the gold's position). See the module docstring for the rules; `read_xquad_mc` turns this
    into items.

    Raises:
        DataError: a missing or malformed file, files that are not parallel, or a paragraph and article with
            too few distinct answers.
    """
    rows, ref_rows = _questions(Path(path)), _questions(Path(reference))
    if [r[:3] for r in rows] != [r[:3] for r in ref_rows]:
        raise DataError(
            f"not parallel to the reference file {reference} (different question ids or paragraphs)",
            path=path,
        )
    answers = {r[2]: r[5] for r in rows}
    ref_answers = {r[2]: r[5] for r in ref_rows}
    by_paragraph: dict[tuple[int, int], list[str]] = {}
    by_article: dict[int, list[str]] = {}
    for a, p, qid, *_ in rows:
        by_paragraph.setdefault((a, p), []).append(qid)
        by_article.setdefault(a, []).append(qid)
    plan = []
    for a, p, qid, *_ in rows:
        rng = random.Random(f"{seed}:{qid}")  # the language plays no part: every language draws the same
        gold_at = rng.randrange(options)
        same_paragraph = [q for q in by_paragraph[(a, p)] if q != qid]
        same_article = [q for q in by_article[a] if q not in by_paragraph[(a, p)]]
        rng.shuffle(same_paragraph)
        rng.shuffle(same_article)
        seen = ({_key(ref_answers[qid])}, {_key(answers[qid])})
        distractors: list[str] = []
        for candidate in same_paragraph + same_article:
            keys = (_key(ref_answers[candidate]), _key(answers[candidate]))
            if not all(keys) or keys[0] in seen[0] or keys[1] in seen[1]:
                continue
            seen[0].add(keys[0]), seen[1].add(keys[1])
            distractors.append(candidate)
            if len(distractors) == options - 1:
                break
        if len(distractors) < options - 1:
            raise DataError(
                f"question {qid}: its article has only {len(distractors) + 1} distinct answers, "
                f"{options} options asked for",
                path=path,
            )
        plan.append((qid, distractors[:gold_at] + [qid] + distractors[gold_at:]))
    return plan


def read_xquad_mc(path: str | Path, *, reference: str | Path, options: int = 4, seed: int = 0) -> list[Item]:
    """One language of the multiple-choice set built from XQuAD (see the module docstring).

    Args:
        path: ``xquad.<language>.json``.
        reference: the reference language's file (``xquad.en.json``), whose answers tell options apart; it must
            hold the same question ids in the same paragraphs.
        options: options per question (gold included).
        seed: seeds the order of candidate distractors and the gold's position.

    Raises:
        DataError: see `option_sources`.
    """
    rows = _questions(Path(path))
    answers = {r[2]: r[5] for r in rows}
    items = []
    for index, ((_, _, qid, question, context, _), (_, sources)) in enumerate(
        zip(rows, option_sources(path, reference=reference, options=options, seed=seed), strict=True)
    ):
        items.append(
            Item(
                index=index,
                question=question,
                answer=LETTERS[sources.index(qid)],
                id=qid,
                choices=tuple(answers[s] for s in sources),
                context=context,
            )
        )
    return items
