"""The alignment check after LinguaLIFT stage 1: does the bridge carry the prompt's meaning into the LM?

Stage 1 is where bridges fail silently: the loss goes down because the soft tokens learn to steer the LM
towards frequent target words, not because they carry the prompt. Two measurements tell the difference:

1. **Loss through the bridge vs. with the English prompt as ordinary tokens.** On held-out pairs, the LM's
   loss on the English target when it reads the code-switched prompt through the bridge, next to its loss
   when it reads the *English* prompt as its own tokens (what the bridge should approximate), and with no
   prompt at all (what carrying nothing gives). The bridge passes when

       ratio = loss(bridge) / loss(English tokens)  <=  max_loss_ratio      (1.10: within 10 %)

   `gap_closed` = (loss(no prompt) - loss(bridge)) / (loss(no prompt) - loss(English tokens)) says how much of
   what the English prompt is worth the bridge delivers (1.0: all of it; 0: nothing; left out when the English
   prompt lowers the loss by less than 1 %, as with an untrained LM).

2. **Per language, on whole held-out sentences** (`sentences`, optional): code-switched pairs are mostly
   English, so a bridge can pass (1) while carrying nothing of a language it rarely saw whole. For parallel
   files (an English file and one per language, lined up by id: e.g. a benchmark's dev split), each language's
   prompts go through the bridge and the same ratio is taken against the English prompt as tokens; and
   sentence retrieval P@1 (each language's prompt, through encoder + alignment layer and mean-pooled, against
   the English prompts through the same bridge, each side's mean subtracted as in `crosslift.models.probe`:
   chance is 1/candidates) says whether the bridge puts a sentence and its translation in the same place. A language fails when its ratio is above `max_loss_ratio` or its
   retrieval below `min_retrieval` (thresholds chosen on a dev split); the failing languages are named.

3. **Cross-lingual word retrieval through the bridge.** For dictionary pairs (English word, translation), the
   translation goes through encoder + alignment layer (mean of its soft tokens); the nearest English word by
   cosine among the sampled English words' LM input embeddings should be its pair. Reported as P@1 per
   language next to chance (1/candidates), plus English self-retrieval (English words through the bridge
   against their own LM embeddings), which checks that the bridge lands in the LM's embedding geometry at all.
   Passing requires mean P@1 >= min_word_retrieval when that is set. The pairs are, by default
   (`word_pairs: held_out`), lexicon entries that the stage-1 data's code-switching held out (its records say
   which share and seed: `crosslift data codeswitch --holdout-share`), so retrieval measures generalisation to
   pairs training never switched, not memory of the ones it did.

Losses are token-level means over all target tokens (micro average).
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from typing import Any, Literal

import torch
from pydantic import Field

from crosslift.config import Section
from crosslift.errors import ConfigError, DataError
from crosslift.models.bridge import BridgeModel, BridgeProcessor
from crosslift.models.labels import IGNORE_INDEX
from crosslift.models.probe import precision_at_1


class SentenceCheckConfig(Section):
    """Whole held-out sentences per language: parallel files lined up by id (see the module docstring, 2)."""

    english: str = Field(description="the English file: its prompts and the targets")
    languages: dict[str, str] = Field(min_length=1, description="language -> file with the same ids")
    id_field: str = "id"
    prompt_field: str = "question"
    target_field: str = Field("answer", description="the English file's field the LM must produce")
    per_language: int = Field(50, ge=2, description="sentences checked per language (the files' first N)")
    max_loss_ratio: float | None = Field(
        None, gt=0, description="a language fails when loss(bridge) > this x loss(English prompt as tokens)"
    )
    min_retrieval: float | None = Field(
        None, ge=0, le=1, description="a language fails when its sentence retrieval P@1 is below this"
    )
    min_mean_retrieval: float | None = Field(
        None,
        ge=0,
        le=1,
        description="the check fails when the mean sentence retrieval over languages is below this (a bridge that "
        "maps every sentence to the same place)",
    )


class CheckConfig(Section):
    """The alignment check after stage 1 (its figures go to alignment_check.json in the run directory)."""

    enabled: bool = True
    holdout: int = Field(
        64, ge=1, description="the last N stage-1 examples are held out of training and checked on"
    )
    max_loss_ratio: float = Field(
        1.10, gt=0, description="pass: loss(bridge) <= this x loss(English prompt as tokens)"
    )
    lexicons: list[str] = Field(
        default_factory=list,
        description="lexicon directories/files for word retrieval (none: retrieval is skipped)",
    )
    languages: list[str] | None = Field(
        None, description="retrieval languages (default: those of the held-out data)"
    )
    words_per_language: int = Field(200, ge=2)
    min_word_retrieval: float | None = Field(None, ge=0, le=1, description="pass also needs mean P@1 >= this")
    word_pairs: Literal["held_out", "all"] = Field(
        "held_out",
        description="held_out: only entries the stage-1 data's code-switching held out (unseen in training); "
        "all: any entry (pairs training may have switched)",
    )
    sentences: SentenceCheckConfig | None = None
    batch_size: int = Field(16, ge=1)


@dataclass
class CheckPair:
    """One held-out example: the prompt as trained (code-switched, or a whole sentence of a language), its
    English version, and the target; `text` and `english_text` are the bare sentences (sentence retrieval)."""

    prompt: str
    english_prompt: str
    target: str
    lang: str | None = None
    text: str | None = None
    english_text: str | None = None


# ---------------------------------------------------------------------------------------------- losses


def _nll(logits: torch.Tensor, labels: torch.Tensor) -> tuple[float, int]:
    """Summed next-token NLL over labelled positions, and their count."""
    shifted, targets = logits[:, :-1].float(), labels[:, 1:]
    loss = torch.nn.functional.cross_entropy(
        shifted.reshape(-1, shifted.shape[-1]),
        targets.reshape(-1),
        ignore_index=IGNORE_INDEX,
        reduction="sum",
    )
    return float(loss), int((targets != IGNORE_INDEX).sum())


def _token_rows(processor: BridgeProcessor, prompt: str | None, target: str) -> tuple[list[int], list[int]]:
    """The LM's own tokens: its special prefix, the prompt (if any) and the target + EOS; labels on the target."""
    tok = processor.lm_tokenizer
    prompt_ids = processor.lm_prefix + (tok(prompt, add_special_tokens=False)["input_ids"] if prompt else [])
    target_ids = tok(target, add_special_tokens=False)["input_ids"] + (
        [tok.eos_token_id] if tok.eos_token_id is not None else []
    )
    return prompt_ids + target_ids, [IGNORE_INDEX] * len(prompt_ids) + target_ids


@torch.no_grad()
def loss_comparison(
    model: BridgeModel, processor: BridgeProcessor, pairs: list[CheckPair], batch_size: int
) -> dict[str, Any]:
    """Mean target-token loss through the bridge, with the English prompt as tokens, and with no prompt."""
    device = model.lm.device
    totals = {"bridge": [0.0, 0], "english_tokens": [0.0, 0], "no_prompt": [0.0, 0]}
    pad = processor.lm_tokenizer.pad_token_id
    for start in range(0, len(pairs), batch_size):
        chunk = pairs[start : start + batch_size]
        batch = processor.collate([processor.encode(p.prompt, p.target) for p in chunk])
        batch = {k: v.to(device) for k, v in batch.items()}
        labels = batch.pop("labels")
        inputs = model.embed(**batch, labels=labels)
        labels = inputs.pop("labels")
        _add(totals["bridge"], _nll(model.lm(**inputs).logits, labels))
        for key, prompts in (
            ("english_tokens", [p.english_prompt for p in chunk]),
            ("no_prompt", [None] * len(chunk)),
        ):
            rows = [
                _token_rows(processor, prompt, p.target) for prompt, p in zip(prompts, chunk, strict=True)
            ]
            width = max(len(ids) for ids, _ in rows)
            ids = torch.tensor([r + [pad] * (width - len(r)) for r, _ in rows], device=device)
            lab = torch.tensor([r + [IGNORE_INDEX] * (width - len(r)) for _, r in rows], device=device)
            mask = torch.tensor([[1] * len(r) + [0] * (width - len(r)) for r, _ in rows], device=device)
            _add(totals[key], _nll(model.lm(input_ids=ids, attention_mask=mask).logits, lab))
    loss = {key: total / count for key, (total, count) in totals.items()}
    gap = loss["no_prompt"] - loss["english_tokens"]
    # When the English prompt itself hardly helps the LM (an untrained LM), "gap closed" means nothing.
    informative = gap > 0.01 * loss["no_prompt"]
    return {
        "bridge": loss["bridge"],
        "english_tokens": loss["english_tokens"],
        "no_prompt": loss["no_prompt"],
        "ratio": loss["bridge"] / loss["english_tokens"],
        "gap_closed": (loss["no_prompt"] - loss["bridge"]) / gap if informative else None,
        "english_prompt_helps": informative,
        "examples": len(pairs),
        "target_tokens": totals["bridge"][1],
    }


def _add(total: list, part: tuple[float, int]) -> None:
    total[0] += part[0]
    total[1] += part[1]


# ---------------------------------------------------------------------------------------------- retrieval


def training_holdout(examples: list[Any]) -> list[dict[str, Any]]:
    """The held-out lexicon settings ({"share", "seed"}) of code-switched stage-1 examples.

    Raises:
        ConfigError: some examples were not code-switched with held-out entries (retrieval on held-out pairs
            would then test pairs training may have seen).
    """
    specs, missing = [], 0
    for ex in examples:
        spec = (ex.meta.get("codeswitch") or {}).get("held_out")
        if not spec:
            missing += 1
        elif spec not in specs:
            specs.append(spec)
    if missing:
        raise ConfigError(
            f"check.word_pairs is 'held_out', but {missing} of {len(examples)} stage-1 training examples were not "
            "code-switched with held-out lexicon entries (crosslift data codeswitch --holdout-share; data built "
            "before it existed has none). Rebuild the data, or set check.word_pairs: all (retrieval then tests "
            "pairs training may have switched)"
        )
    return specs


def word_pairs(
    sources: list[str],
    languages: list[str],
    per_language: int,
    seed: int,
    held_out: list[dict[str, Any]] | None = None,
) -> dict[str, list[tuple[str, str]]]:
    """Up to `per_language` (English word, first translation) pairs per language, sampled with `seed`.

    Only single alphabetic English words of 3+ letters whose translation differs from them are used; with
    `held_out` (the code-switching's {"share", "seed"} settings), only words every one of them held out. A
    language without a lexicon in `sources` gets no entry (the caller reports it); a malformed lexicon raises
    DataError.
    """
    from crosslift.data.lexicon import is_held_out, load_lexicons
    from crosslift.languages import normalize_code

    lexicons = load_lexicons(sources, languages, skip_missing=True)
    available = [lang for lang in languages if normalize_code(lang) in lexicons]
    pairs = {}
    for lang in available:
        lexicon = lexicons[normalize_code(lang)]
        candidates = sorted(
            (word, translations[0])
            for word, translations in lexicon.entries.items()
            if word.isalpha()
            and len(word) >= 3
            and translations[0].lower() != word
            and all(is_held_out(word, lexicon.lang, h["share"], h["seed"]) for h in held_out or ())
        )
        rng = random.Random(f"{seed}:{lang}")
        pairs[lang] = rng.sample(candidates, min(per_language, len(candidates)))
    return pairs


def check_words(
    config: CheckConfig, data_languages: list[str], seed: int, held_out: list[dict[str, Any]] | None = None
) -> dict[str, Any] | None:
    """The word pairs the check will use (read before training, so a bad lexicon fails early), or None.

    Args:
        held_out: the stage-1 data's held-out settings (`training_holdout`); needed when config.word_pairs is
            "held_out".
    """
    if not config.lexicons:
        return None
    if config.word_pairs == "held_out" and not held_out:
        raise ConfigError(
            "check.word_pairs 'held_out' needs the held-out settings of the stage-1 data "
            "(training_holdout); set check.word_pairs: all to use every lexicon entry"
        )
    languages = config.languages or sorted({lang for lang in data_languages if lang and lang != "en"})
    chosen = held_out if config.word_pairs == "held_out" else None
    pairs = word_pairs(config.lexicons, languages, config.words_per_language, seed, held_out=chosen)
    return {
        "pairs": pairs,
        "no_lexicon": [lang for lang in languages if lang not in pairs],
        "word_pairs": config.word_pairs,
        "held_out": chosen,
    }


@torch.no_grad()
def bridge_word_vectors(
    model: BridgeModel, processor: BridgeProcessor, words: list[str], batch_size: int
) -> torch.Tensor:
    """[N, d_lm] mean soft token of each word through encoder + alignment layer (special tokens left out)."""
    tok = processor.encoder_tokenizer
    special = set(tok.all_special_ids)
    device = model.lm.device
    out = []
    for start in range(0, len(words), batch_size):
        enc = tok(words[start : start + batch_size], padding=True, return_tensors="pt")
        soft, _, _ = model.encode(enc["input_ids"].to(device), enc["attention_mask"].to(device))
        keep = enc["attention_mask"].bool() & ~torch.isin(enc["input_ids"], torch.tensor(sorted(special)))
        keep = keep.to(device).unsqueeze(-1)
        out.append((soft.float() * keep).sum(1) / keep.sum(1).clamp(min=1))
    return torch.cat(out)


@torch.no_grad()
def lm_word_vectors(model: BridgeModel, processor: BridgeProcessor, words: list[str]) -> torch.Tensor:
    """[N, d_lm] mean LM input embedding of each word's tokens."""
    embed = model.lm.get_input_embeddings()
    device = embed.weight.device
    tok = processor.lm_tokenizer
    return torch.stack(
        [
            embed(torch.tensor(tok(w, add_special_tokens=False)["input_ids"], device=device)).float().mean(0)
            for w in words
        ]
    )


def word_retrieval(
    model: BridgeModel, processor: BridgeProcessor, pairs: dict[str, list[tuple[str, str]]], batch_size: int
) -> dict[str, Any]:
    """P@1 of translation -> English word through the bridge, per language, with chance and English self-retrieval."""
    by_lang = {}
    for lang, lang_pairs in pairs.items():
        if len(lang_pairs) < 2:
            continue
        english = [e for e, _ in lang_pairs]
        foreign = [f for _, f in lang_pairs]
        p1 = precision_at_1(
            bridge_word_vectors(model, processor, foreign, batch_size),
            lm_word_vectors(model, processor, english),
        )
        by_lang[lang] = {"pairs": len(lang_pairs), "p_at_1": p1, "chance": 1 / len(lang_pairs)}
    all_english = sorted({e for lang_pairs in pairs.values() for e, _ in lang_pairs})
    sample = random.Random(0).sample(all_english, min(len(all_english), 500))
    self_p1 = (
        precision_at_1(
            bridge_word_vectors(model, processor, sample, batch_size),
            lm_word_vectors(model, processor, sample),
        )
        if len(sample) >= 2
        else None
    )
    return {
        "languages": by_lang,
        "mean_p_at_1": sum(v["p_at_1"] for v in by_lang.values()) / len(by_lang) if by_lang else None,
        "mean_chance": sum(v["chance"] for v in by_lang.values()) / len(by_lang) if by_lang else None,
        "english_self_p_at_1": self_p1,
        "english_self_candidates": len(sample),
    }


# ---------------------------------------------------------------------------------------------- sentences


def _texts_by_id(path: str, fields: tuple[str, ...], id_field: str) -> dict[str, tuple[str, ...]]:
    """id -> the `fields` of each record of a parallel file (text fields, checked where they are read)."""
    from crosslift.data.examples import text_field
    from crosslift.data.records import iter_records

    found: dict[str, tuple[str, ...]] = {}
    for where, record in iter_records(path):
        for key in (id_field, *fields):
            if not isinstance(record, dict) or key not in record:
                raise DataError("missing field", field=key, **where)
        item_id = str(record[id_field])
        if item_id in found:
            raise DataError(f"id {item_id!r} is repeated", field=id_field, **where)
        found[item_id] = tuple(text_field(record[key], where=where, key=key) for key in fields)
    return found


def read_check_sentences(config: SentenceCheckConfig) -> dict[str, list[tuple[str, str, str]]]:
    """language -> [(sentence, its English version, the English target)] for the English file's first
    `per_language` items (read before training, so a bad file fails early).

    Raises:
        DataError: unreadable files, a missing field, or an English id a language's file lacks (naming the file).
    """
    english = _texts_by_id(config.english, (config.prompt_field, config.target_field), config.id_field)
    ids = list(english)[: config.per_language]
    found = {}
    for lang, path in config.languages.items():
        texts = _texts_by_id(path, (config.prompt_field,), config.id_field)
        if missing := [i for i in ids if i not in texts]:
            raise DataError(
                f"{len(missing)} of the English file's ids are missing, e.g. {missing[0]!r}", path=path
            )
        found[lang] = [(texts[i][0], *english[i]) for i in ids]
    return found


def sentence_check(
    model: BridgeModel,
    processor: BridgeProcessor,
    pairs: dict[str, list[CheckPair]],
    config: SentenceCheckConfig,
    batch_size: int,
) -> dict[str, Any]:
    """Per language: the loss comparison on its whole sentences, sentence retrieval through the bridge, and
    whether it passed; `failed` names the languages that did not."""
    results, failed = {}, {}
    for lang, lang_pairs in pairs.items():
        loss = loss_comparison(model, processor, lang_pairs, batch_size)
        queries = bridge_word_vectors(model, processor, [p.text for p in lang_pairs], batch_size)
        keys = bridge_word_vectors(model, processor, [p.english_text for p in lang_pairs], batch_size)
        retrieval = {"p_at_1": precision_at_1(queries, keys, center=True), "chance": 1 / len(lang_pairs)}
        problems = []
        if config.max_loss_ratio is not None and not loss["ratio"] <= config.max_loss_ratio:
            problems.append(f"loss ratio {loss['ratio']:.2f} > {config.max_loss_ratio:.2f}")
        if config.min_retrieval is not None and retrieval["p_at_1"] < config.min_retrieval:
            problems.append(f"sentence retrieval P@1 {retrieval['p_at_1']:.2f} < {config.min_retrieval:.2f}")
        results[lang] = {"loss": loss, "retrieval": retrieval, "passed": not problems}
        if problems:
            failed[lang] = "; ".join(problems)
    mean = sum(r["retrieval"]["p_at_1"] for r in results.values()) / len(results) if results else None
    low_mean = config.min_mean_retrieval is not None and mean is not None and mean < config.min_mean_retrieval
    return {
        "languages": results,
        "failed": failed,
        "mean_retrieval": mean,
        "mean_retrieval_failed": low_mean,
        "criteria": {
            "max_loss_ratio": config.max_loss_ratio,
            "min_retrieval": config.min_retrieval,
            "min_mean_retrieval": config.min_mean_retrieval,
        },
    }


# ---------------------------------------------------------------------------------------------- the check


def run_check(
    model: BridgeModel,
    processor: BridgeProcessor,
    pairs: list[CheckPair],
    config: CheckConfig,
    words: dict[str, Any] | None,
    sentences: dict[str, list[CheckPair]] | None = None,
) -> dict[str, Any]:
    """Every measurement and the verdict: {"passed", "failures", "criteria", "loss", "sentences",
    "word_retrieval"}.

    Args:
        words: from `check_words` (None: no word retrieval).
        sentences: language -> its whole held-out sentences (`read_check_sentences`, rendered as trained);
            checked against `config.sentences` (None: not checked).
    """
    was_training = model.training
    model.eval()
    try:
        loss = loss_comparison(model, processor, pairs, config.batch_size)
        per_language = None
        if sentences and config.sentences is not None:
            per_language = sentence_check(model, processor, sentences, config.sentences, config.batch_size)
        retrieval = None
        if words is not None:
            retrieval = word_retrieval(model, processor, words["pairs"], config.batch_size)
            retrieval |= {k: words.get(k) for k in ("no_lexicon", "word_pairs", "held_out")}
    finally:
        model.train(was_training)
    failures = []
    if not math.isfinite(loss["ratio"]) or loss["ratio"] > config.max_loss_ratio:
        failures.append(
            f"loss through the bridge is {loss['ratio']:.2f}x the loss with the English prompt as tokens "
            f"(allowed: {config.max_loss_ratio:.2f}x)"
        )
    if config.min_word_retrieval is not None:
        mean = retrieval["mean_p_at_1"] if retrieval else None
        if mean is None:
            failures.append("word retrieval was required (min_word_retrieval) but no word pairs were found")
        elif mean < config.min_word_retrieval:
            failures.append(f"word retrieval P@1 {mean:.3f} < required {config.min_word_retrieval:.3f}")
    if per_language is not None:
        failures += [f"{lang}: {why}" for lang, why in per_language["failed"].items()]
        if per_language["mean_retrieval_failed"]:
            failures.append(
                f"mean sentence retrieval P@1 {per_language['mean_retrieval']:.3f} < required "
                f"{config.sentences.min_mean_retrieval:.3f}"
            )
    return {
        "passed": not failures,
        "failures": failures,
        "criteria": {
            "max_loss_ratio": config.max_loss_ratio,
            "min_word_retrieval": config.min_word_retrieval,
        },
        "loss": loss,
        "sentences": per_language,
        "word_retrieval": retrieval,
    }


def summary_line(result: dict[str, Any]) -> str:
    """One line a person reads: the verdict and the main figures."""
    loss = result["loss"]
    gap = f", gap closed {loss['gap_closed']:.0%}" if loss.get("gap_closed") is not None else ""
    parts = [
        f"loss bridge {loss['bridge']:.3f} vs English tokens {loss['english_tokens']:.3f} "
        f"(ratio {loss['ratio']:.2f}; no prompt {loss['no_prompt']:.3f}{gap})"
    ]
    wr = result.get("word_retrieval")
    if wr and wr["mean_p_at_1"] is not None:
        parts.append(f"word retrieval P@1 {wr['mean_p_at_1']:.3f} (chance {wr['mean_chance']:.3f})")
    if result.get("sentences"):
        per_language = ", ".join(
            f"{lang} {r['loss']['ratio']:.2f}/{r['retrieval']['p_at_1']:.2f}"
            for lang, r in result["sentences"]["languages"].items()
        )
        parts.append(f"per language (loss ratio/sentence P@1): {per_language}")
    if not loss.get("english_prompt_helps", True):
        parts.append(
            "note: the English prompt itself barely lowers the LM's loss, so the loss comparison says little"
        )
    verdict = "PASSED" if result["passed"] else "FAILED: " + "; ".join(result["failures"])
    return f"alignment check {verdict} — " + "; ".join(parts)
