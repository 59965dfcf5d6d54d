"""The tokenizers of the four tiny-model kinds, trained here with ``tokenizers`` (the kit's docstring has
their schemes).

The tokenizer depends only on the corpus; byte fallback (or byte-level BPE) means no character is ever mapped
to ``<unk>``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from crosslift.models.tiny import check_kind
from crosslift.models.tiny.corpus import corpus_lines

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerFast

VOCAB_SIZE = 4000
DECODER_MAX_LENGTH = 2048
ENCODER_MAX_LENGTH = 512
_BYTE_TOKENS = [f"<0x{b:02X}>" for b in range(256)]

# Qwen2's pre-tokenizer split: letters, single digits, punctuation runs, whitespace (as in its tokenizer.json).
_QWEN2_SPLIT = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
# ChatML, as Qwen2 uses it (without Qwen's default system prompt and tool-calling branches).
CHATML_TEMPLATE = (
    "{%- for message in messages %}"
    "{{- '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}"
    "{%- endfor %}"
    "{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n' }}{%- endif %}"
)


def _bpe_with_byte_fallback(trained: Any, specials: list[str]) -> Any:
    """Re-number a trained BPE model as SentencePiece does: specials, then the 256 byte pieces, then the rest."""
    from tokenizers import models

    model = json.loads(trained.to_str())["model"]
    pieces = [*specials, *_BYTE_TOKENS]
    pieces += [p for p, _ in sorted(model["vocab"].items(), key=lambda kv: kv[1]) if p not in specials]
    vocab = {piece: i for i, piece in enumerate(pieces)}
    merges = [tuple(m) for m in model["merges"]]
    return models.BPE(vocab=vocab, merges=merges, unk_token="<unk>", byte_fallback=True, fuse_unk=True)


def _canonical_unigram_vocab(vocab: list[tuple[str, float]]) -> list[tuple[str, float]]:
    """Make a trained Unigram vocabulary independent of hash-set order, so builds are byte-identical.

    The trainer appends every character that lost its piece during pruning with score
    ``min_score + k * 1e-4``, k counting up in the order of a Rust ``HashSet`` (random per process), and then
    sorts by score alone, so equal scores keep that order too. Here those characters get their k in
    code-point order, ties are broken by the piece itself, and scores are rounded to 8 decimals because
    the trainer's parallel sums differ in the last bits from run to run.
    """
    step = 1e-4
    floor = round(min(score for _, score in vocab), 8)

    def is_appended(piece: str, score: float) -> bool:
        k = round((score - floor) / step)
        return len(piece) == 1 and 0 <= k < len(vocab) and abs(floor + k * step - score) < 1e-7

    appended = sorted(piece for piece, score in vocab if is_appended(piece, score))
    rescored = {piece: floor + k * step for k, piece in enumerate(appended)}
    canonical = [(piece, round(rescored.get(piece, score), 8)) for piece, score in vocab]
    return sorted(canonical, key=lambda ps: (-ps[1], ps[0]))


def _unigram_with_byte_fallback(trained: Any, specials: list[str], unk: str) -> Any:
    """Insert the 256 byte pieces after the specials (as SentencePiece does) and switch on byte fallback."""
    from tokenizers import models

    trained_vocab = json.loads(trained.to_str())["model"]["vocab"]
    vocab = _canonical_unigram_vocab([(p, s) for p, s in trained_vocab if p not in specials])
    # Byte pieces are only used for characters outside the vocabulary; a score below every learned piece
    # keeps them from winning a segmentation of literal text like "<0x41>".
    floor = min(s for _, s in vocab) - 1.0
    full = [(p, 0.0) for p in specials] + [(b, floor) for b in _BYTE_TOKENS] + vocab
    return models.Unigram(full, unk_id=specials.index(unk), byte_fallback=True)


def _wrap(
    tokenizer: Any, *, max_length: int, chat_template: str | None = None, **special: str
) -> PreTrainedTokenizerFast:
    from transformers import PreTrainedTokenizerFast

    wrapped = PreTrainedTokenizerFast(tokenizer_object=tokenizer, model_max_length=max_length, **special)
    if chat_template is not None:
        wrapped.chat_template = chat_template
    return wrapped


def train_llama_tokenizer(lines: Sequence[str], vocab_size: int = VOCAB_SIZE) -> PreTrainedTokenizerFast:
    """The tiny Llama's tokenizer (SentencePiece-like BPE, byte fallback, one token per digit) trained on `lines`.

    `crosslift.synth` trains it on a synthetic world's balanced corpus with a smaller vocabulary.
    """
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers

    specials = ["<unk>", "<s>", "</s>", "<pad>"]
    # Like Llama's SentencePiece model: words start with "▁", digits are single tokens.
    pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="first"),
            pre_tokenizers.Digits(individual_digits=True),
        ]
    )
    trainer_tok = Tokenizer(models.BPE(unk_token="<unk>"))
    trainer_tok.pre_tokenizer = pre_tokenizer
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size - len(_BYTE_TOKENS),
        special_tokens=specials,
        limit_alphabet=400,
        show_progress=False,
    )
    trainer_tok.train_from_iterator(lines, trainer)

    tok = Tokenizer(_bpe_with_byte_fallback(trainer_tok, specials))
    tok.pre_tokenizer = pre_tokenizer
    tok.decoder = decoders.Sequence(
        [decoders.Replace("▁", " "), decoders.ByteFallback(), decoders.Fuse(), decoders.Strip(" ", 1, 0)]
    )
    tok.add_special_tokens(specials)
    tok.post_processor = processors.TemplateProcessing(
        single="<s> $A", pair="<s> $A <s> $B", special_tokens=[("<s>", tok.token_to_id("<s>"))]
    )
    return _wrap(
        tok,
        max_length=DECODER_MAX_LENGTH,
        bos_token="<s>",
        eos_token="</s>",
        unk_token="<unk>",
        pad_token="<pad>",
    )


def _train_qwen2_tokenizer(lines: Sequence[str]) -> PreTrainedTokenizerFast:
    from tokenizers import (
        Regex,
        Tokenizer,
        decoders,
        models,
        normalizers,
        pre_tokenizers,
        processors,
        trainers,
    )

    tok = Tokenizer(models.BPE())
    tok.normalizer = normalizers.NFC()
    tok.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Split(Regex(_QWEN2_SPLIT), behavior="isolated"),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
        ]
    )
    tok.decoder = decoders.ByteLevel()
    tok.post_processor = processors.ByteLevel(trim_offsets=False)
    # Every byte is in the alphabet, so nothing can be unknown (and there is no <unk>).
    specials = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
    trainer = trainers.BpeTrainer(
        vocab_size=VOCAB_SIZE - len(specials),
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(lines, trainer)
    tok.add_special_tokens(specials)  # appended after the learned vocabulary, as in Qwen2
    # Instruct-style: a turn ends with <|im_end|>; padding uses <|endoftext|> so it never masks the EOS.
    return _wrap(
        tok,
        max_length=DECODER_MAX_LENGTH,
        chat_template=CHATML_TEMPLATE,
        eos_token="<|im_end|>",
        pad_token="<|endoftext|>",
    )


def _train_unigram(lines: Sequence[str], specials: list[str], unk: str) -> Any:
    from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers

    tok = Tokenizer(models.Unigram())
    tok.normalizer = normalizers.Sequence([normalizers.NFKC(), normalizers.Replace(Regex(" {2,}"), " ")])
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always")
    trainer = trainers.UnigramTrainer(
        vocab_size=VOCAB_SIZE - len(_BYTE_TOKENS),
        special_tokens=specials,
        unk_token=unk,
        max_piece_length=16,
        show_progress=False,
    )
    tok.train_from_iterator(lines, trainer)
    final = Tokenizer(_unigram_with_byte_fallback(tok, specials, unk))
    final.normalizer = tok.normalizer
    final.pre_tokenizer = tok.pre_tokenizer
    final.decoder = decoders.Sequence(
        [decoders.ByteFallback(), decoders.Metaspace(replacement="▁", prepend_scheme="always")]
    )
    final.add_special_tokens(specials)
    return final


def _train_mt5_tokenizer(lines: Sequence[str]) -> PreTrainedTokenizerFast:
    from tokenizers import processors

    tok = _train_unigram(lines, ["<pad>", "</s>", "<unk>"], "<unk>")
    eos = tok.token_to_id("</s>")
    tok.post_processor = processors.TemplateProcessing(
        single="$A </s>", pair="$A </s> $B </s>", special_tokens=[("</s>", eos)]
    )
    return _wrap(tok, max_length=ENCODER_MAX_LENGTH, eos_token="</s>", unk_token="<unk>", pad_token="<pad>")


def _train_xlmr_tokenizer(lines: Sequence[str]) -> PreTrainedTokenizerFast:
    from tokenizers import AddedToken, processors

    tok = _train_unigram(lines, ["<s>", "<pad>", "</s>", "<unk>"], "<unk>")
    tok.add_special_tokens([AddedToken("<mask>", lstrip=True, special=True)])  # last id, as in XLM-R
    tok.post_processor = processors.TemplateProcessing(
        single="<s> $A </s>",
        pair="<s> $A </s> </s> $B </s>",
        special_tokens=[("<s>", tok.token_to_id("<s>")), ("</s>", tok.token_to_id("</s>"))],
    )
    return _wrap(
        tok,
        max_length=ENCODER_MAX_LENGTH,
        bos_token="<s>",
        eos_token="</s>",
        sep_token="</s>",
        cls_token="<s>",
        unk_token="<unk>",
        pad_token="<pad>",
        mask_token="<mask>",
    )


_TOKENIZER_TRAINERS = {
    "llama": train_llama_tokenizer,
    "qwen2": _train_qwen2_tokenizer,
    "mt5-encoder": _train_mt5_tokenizer,
    "xlmr": _train_xlmr_tokenizer,
}


def build_tiny_tokenizer(kind: str, corpus: Sequence[str | Path] = ()) -> PreTrainedTokenizerFast:
    """Train the tokenizer of one tiny-model kind (deterministic; a few seconds at most).

    Args:
        kind: one of ``TINY_KINDS``.
        corpus: extra UTF-8 text files to train on besides the built-in corpus.

    Returns:
        The tokenizer, not yet saved.
    """
    return _TOKENIZER_TRAINERS[check_kind(kind)](corpus_lines(corpus))
