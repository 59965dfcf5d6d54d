"""The tiny-model kit: small random models with locally trained tokenizers, for tests, demos and CI.

Nothing here downloads. Each tiny model is a real Hugging Face checkpoint (``config.json``,
``model.safetensors``, ``tokenizer.json`` ...) written with ``save_pretrained``, so tests and users load it
through exactly the same ``from_pretrained`` path as a real model. The four kinds mirror the model families
the methods use:

===========  ===============================  ====================================================
kind         model (hidden 128, FFN 512)      tokenizer (vocab 4000, trained here with ``tokenizers``)
===========  ===============================  ====================================================
llama        LlamaForCausalLM, 4 layers,      BPE + byte fallback + Metaspace (SentencePiece-like),
             4 heads / 2 KV heads, 1.50 M     ``<unk> <s> </s> <pad>`` = 0-3, adds BOS, no chat
                                              template
qwen2        Qwen2ForCausalLM, same shape,    byte-level BPE; ``<|endoftext|>`` (pad) ``<|im_start|>
             vocab padded to 4096, 1.51 M     <|im_end|>`` (EOS) after the vocab; ChatML template
mt5-encoder  MT5EncoderModel, 2 layers,       Unigram + byte fallback, ``<pad> </s> <unk>`` = 0-2,
             4 heads, 1.04 M                  appends ``</s>``
xlmr         XLMRobertaModel, 2 layers,       Unigram + byte fallback, ``<s> <pad> </s> <unk>`` =
             4 heads, 0.99 M                  0-3, ``<mask>`` last, wraps in ``<s> ... </s>``
===========  ===============================  ====================================================

Decoders have tied embeddings and use sdpa attention; all weights are float32 safetensors.

The tokenizers are trained on a built-in corpus generated in code (English sentences from
``resources/tiny_corpus_words.txt``, arithmetic word problems, and synthetic syllable text in ten scripts),
optionally extended with the user's own text files. Byte fallback (or byte-level BPE) means no character is
ever mapped to ``<unk>``. The tokenizer depends only on the corpus; ``seed`` only sets the random weights.
Building is deterministic: the same corpus and seed give byte-identical files.

Use ``"tiny:<kind>"`` wherever a model name is accepted: ``resolve_model_path`` builds it once into the
cache (``$CROSSLIFT_CACHE`` or ``~/.cache/crosslift``) and returns the directory.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import logging
import os
import random
import shutil
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from crosslift.errors import CrossliftError, DataError

if TYPE_CHECKING:
    from transformers import PreTrainedModel, PreTrainedTokenizerFast

logger = logging.getLogger(__name__)

# Bump whenever a change here (or in the word list) changes what gets built: cached builds are keyed by it.
KIT_VERSION = 1
TINY_KINDS = ("llama", "qwen2", "mt5-encoder", "xlmr")
TINY_PREFIX = "tiny:"
# Written into every tiny-model directory: what built it (also marks the directory as safe to overwrite).
MANIFEST = "tiny_model.json"

VOCAB_SIZE = 4000
DECODER_MAX_LENGTH = 2048
ENCODER_MAX_LENGTH = 512
_CORPUS_SEED = 1234
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


# --------------------------------------------------------------------------------------------------------
# Built-in corpus
# --------------------------------------------------------------------------------------------------------


def _char_range(first: int, last: int) -> list[str]:
    return [chr(c) for c in range(first, last + 1)]


@dataclass(frozen=True)
class _Script:
    """Synthetic text in one script: words are runs of consonant+vowel syllables."""

    name: str
    consonants: tuple[str, ...]
    vowels: tuple[str, ...]  # "" = the consonant's inherent vowel
    word_sep: str = " "
    sentence_end: str = "."
    max_syllables: int = 3


def _ethiopic_syllables() -> tuple[str, ...]:
    # Ethiopic is a syllabary: each consonant row holds 7-8 vowel orders (ሀ ሁ ሂ ሃ ሄ ህ ሆ).
    rows = [0x1200, 0x1208, 0x1218, 0x1228, 0x1230, 0x1238, 0x1240, 0x1260, 0x1270, 0x1290, 0x12A0,
            0x12A8, 0x12C8, 0x12D8, 0x12E8, 0x12F0, 0x1308, 0x1320, 0x1338, 0x1348]  # fmt: skip
    return tuple(chr(row + order) for row in rows for order in range(7))


_SCRIPTS = (
    _Script("latin", tuple("bdfghjklmnprstvwyzñç"), tuple("aeiouáéíóúàèöü")),
    _Script("cyrillic", tuple("бвгдзклмнпрстхчшж"), tuple("аеиоуыяюэ")),
    _Script(
        "devanagari", tuple(_char_range(0x0915, 0x0939)), ("", *_char_range(0x093E, 0x094C)), sentence_end="।"
    ),
    _Script(
        "bengali",
        tuple(_char_range(0x0995, 0x09A8) + _char_range(0x09AA, 0x09B0) + ["ল", "শ", "ষ", "স", "হ"]),
        ("", *_char_range(0x09BE, 0x09C4), "ে", "ৈ", "ো", "ৌ"),
        sentence_end="।",
    ),
    _Script(
        "telugu",
        tuple(_char_range(0x0C15, 0x0C28) + _char_range(0x0C2A, 0x0C39)),
        ("", *_char_range(0x0C3E, 0x0C44), "ె", "ే", "ై", "ొ", "ో", "ౌ"),
    ),
    _Script(
        "thai", tuple(_char_range(0x0E01, 0x0E2E)), ("", "ะ", "า", "ิ", "ี", "ุ", "ู", "่", "้"), sentence_end=""
    ),
    _Script(
        "arabic",
        tuple(_char_range(0x0628, 0x063A) + _char_range(0x0641, 0x064A)),
        ("", "ا", "و", "ي"),
        sentence_end=".",
    ),
    # CJK: no spaces between words; a fixed, spread-out sample of ideographs plus very common ones.
    _Script(
        "cjk",
        tuple("的一是不了人我在有他这中大来上国个到说们为子和你地出道也时年")
        + tuple(chr(0x4E00 + (i * 53) % 20900) for i in range(300)),
        ("",),
        word_sep="",
        sentence_end="。",
        max_syllables=2,
    ),
    _Script("hangul", tuple(chr(0xAC00 + (i * 97) % 11172) for i in range(300)), ("",), max_syllables=3),
    _Script("ethiopic", _ethiopic_syllables(), ("",), sentence_end="።"),
)


@functools.cache
def _word_lists() -> dict[str, tuple[str, ...]]:
    text = (
        resources.files("crosslift").joinpath("resources/tiny_corpus_words.txt").read_text(encoding="utf-8")
    )
    sections: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in text.splitlines():
        if line.startswith("## "):
            current = sections.setdefault(line[3:].strip(), [])
        elif line.strip() and not line.startswith("#") and current is not None:
            current.extend(line.split())
    return {name: tuple(words) for name, words in sections.items()}


def _english_line(rng: random.Random, w: dict[str, tuple[str, ...]]) -> str:
    pick = rng.choice
    templates = (
        lambda: f"The {pick(w['adjectives'])} {pick(w['nouns'])} {pick(w['verbs'])} {pick(('the', 'a', 'my', 'our'))} {pick(w['nouns'])}.",
        lambda: f"{pick(w['names'])} {pick(w['verbs'])} the {pick(w['nouns'])} {pick(('in', 'at', 'near', 'behind'))} the {pick(w['nouns'])} every {pick(('day', 'week', 'morning', 'night'))}.",
        lambda: f"{pick(('Why', 'When', 'Where', 'How'))} did {pick(w['names'])} see the {pick(w['adjectives'])} {pick(w['nouns'])}?",
        lambda: f"Write a short story about a {pick(w['adjectives'])} {pick(w['nouns'])} and a {pick(w['nouns'])}.",
        lambda: f"Translate the sentence into English: {pick(w['names'])} {pick(w['verbs'])} {rng.randint(2, 9)} {pick(w['items'])}.",
        # Loose word salad over the common function words keeps them frequent (they are most of real text).
        lambda: " ".join(pick(w["function"] + w["nouns"] + w["adjectives"]) for _ in range(rng.randint(5, 12))).capitalize() + ".",
    )  # fmt: skip
    return pick(templates)()


def _math_line(rng: random.Random, w: dict[str, tuple[str, ...]]) -> str:
    name, other = rng.sample(w["names"], 2)
    item, box = rng.choice(w["items"]), rng.choice(w["containers"])
    a, b = rng.randint(2, 30), rng.randint(2, 20)
    big = rng.randint(10, 999)
    templates = (
        lambda: f"{name} has {a} {item} and buys {b} more. How many {item} does {name} have? {a} + {b} = {a + b}. The answer is {a + b}.",
        lambda: f"{name} had {a + b} {item} and gave {b} to {other}. How many {item} are left? {a + b} - {b} = {a}. The answer is {a}.",
        lambda: f"There are {a} {box}s with {b} {item} in each {box}. How many {item} are there in total? {a} * {b} = {a * b}. The answer is {a * b}.",
        lambda: f"{name} shares {a * b} {item} equally among {b} friends. Each friend gets {a * b} / {b} = {a} {item}. The answer is {a}.",
        lambda: f"Question: What is {big} + {a}? Answer: Let's think step by step. {big} + {a} = {big + a}. The answer is {big + a}.",
        lambda: f"Question: {name} saves {a} dollars a week for {b} weeks. How much does {name} save? Answer: {a} x {b} = {a * b} dollars.",
        lambda: f"{big} - {a} = {big - a}, {a} * {b} = {a * b}, {a * b} / {a} = {b}, {a}.5 + {b}.5 = {a + b + 1}",
    )  # fmt: skip
    return rng.choice(templates)()


def _script_line(rng: random.Random, script: _Script) -> str:
    def word() -> str:
        n = rng.randint(1, script.max_syllables)
        return "".join(rng.choice(script.consonants) + rng.choice(script.vowels) for _ in range(n))

    words = [word() for _ in range(rng.randint(4, 10))]
    if rng.random() < 0.2:  # numbers turn up in every language's text
        words.insert(rng.randrange(len(words)), str(rng.randint(1, 500)))
    return script.word_sep.join(words) + script.sentence_end


@functools.cache
def builtin_corpus() -> tuple[str, ...]:
    """The built-in tokenizer training text: English, arithmetic word problems and ten scripts (deterministic).

    Returns:
        Lines of text; the same lines on every call and machine.
    """
    rng = random.Random(_CORPUS_SEED)
    words = _word_lists()
    lines = [_english_line(rng, words) for _ in range(2500)]
    lines += [_math_line(rng, words) for _ in range(2500)]
    for script in _SCRIPTS:
        lines += [_script_line(rng, script) for _ in range(250)]
    return tuple(lines)


def _read_corpus_file(path: Path) -> list[str]:
    if not path.is_file():
        raise DataError("corpus file not found", path=path)
    lines = []
    with path.open("rb") as f:
        for number, raw in enumerate(f, start=1):
            try:
                lines.append(raw.decode("utf-8").rstrip("\r\n"))
            except UnicodeDecodeError as e:
                raise DataError(
                    f"not valid UTF-8 ({e.reason} at byte {e.start})", path=path, line=number
                ) from e
    return [line for line in lines if line.strip()]


def corpus_lines(corpus: Sequence[str | Path] = ()) -> list[str]:
    """The tokenizer training text: the built-in corpus followed by the lines of each extra UTF-8 file.

    Args:
        corpus: extra plain-text files (one sentence or paragraph per line).

    Returns:
        All lines, built-in first.

    Raises:
        DataError: a file is missing or not UTF-8 (names the file and line).
    """
    lines = list(builtin_corpus())
    for path in corpus:
        lines += _read_corpus_file(Path(path))
    return lines


# --------------------------------------------------------------------------------------------------------
# Tokenizers
# --------------------------------------------------------------------------------------------------------


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
    return _TOKENIZER_TRAINERS[_check_kind(kind)](corpus_lines(corpus))


# --------------------------------------------------------------------------------------------------------
# Models
# --------------------------------------------------------------------------------------------------------


def _padded(n: int, multiple: int = 128) -> int:
    return (n + multiple - 1) // multiple * multiple


def random_tiny_model(kind: str, tok: PreTrainedTokenizerFast, seed: int) -> PreTrainedModel:
    """A randomly initialised tiny model of `kind` sized for `tok` (the shapes in the module docstring)."""
    import torch
    from transformers import (
        AutoModelForCausalLM,
        LlamaConfig,
        MT5Config,
        MT5EncoderModel,
        Qwen2Config,
        XLMRobertaConfig,
        XLMRobertaModel,
    )

    decoder_shape = dict(
        hidden_size=128,
        intermediate_size=512,
        num_hidden_layers=4,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=DECODER_MAX_LENGTH,
        tie_word_embeddings=True,
        rms_norm_eps=1e-6,
    )
    torch.manual_seed(seed)
    if kind == "llama":
        config = LlamaConfig(
            vocab_size=len(tok),
            bos_token_id=tok.bos_token_id,
            eos_token_id=tok.eos_token_id,
            pad_token_id=tok.pad_token_id,
            **decoder_shape,
        )
        model = AutoModelForCausalLM.from_config(config, attn_implementation="sdpa", dtype=torch.float32)
    elif kind == "qwen2":
        endoftext = tok.convert_tokens_to_ids("<|endoftext|>")
        # Like Qwen2, the embedding matrix is padded past the tokenizer's length (to a multiple of 128).
        config = Qwen2Config(
            vocab_size=_padded(len(tok)),
            bos_token_id=endoftext,
            eos_token_id=tok.eos_token_id,
            pad_token_id=tok.pad_token_id,
            use_sliding_window=False,
            **decoder_shape,
        )
        model = AutoModelForCausalLM.from_config(config, attn_implementation="sdpa", dtype=torch.float32)
        # Generation stops at the end of a turn or at the end of a document, as with Qwen2-Instruct.
        model.generation_config.eos_token_id = [tok.eos_token_id, endoftext]
    elif kind == "mt5-encoder":
        config = MT5Config(
            vocab_size=len(tok),
            d_model=128,
            d_kv=32,
            d_ff=512,
            num_layers=2,
            num_heads=4,
            feed_forward_proj="gated-gelu",
            tie_word_embeddings=False,
            pad_token_id=tok.pad_token_id,
            eos_token_id=tok.eos_token_id,
            decoder_start_token_id=tok.pad_token_id,
        )
        model = MT5EncoderModel(config)
    elif kind == "xlmr":
        config = XLMRobertaConfig(
            vocab_size=len(tok),
            hidden_size=128,
            num_hidden_layers=2,
            num_attention_heads=4,
            intermediate_size=512,
            max_position_embeddings=ENCODER_MAX_LENGTH + 2,  # RoBERTa positions start after the padding id
            type_vocab_size=1,
            bos_token_id=tok.bos_token_id,
            eos_token_id=tok.eos_token_id,
            pad_token_id=tok.pad_token_id,
        )
        model = XLMRobertaModel(config)
    else:  # pragma: no cover - _check_kind ran first
        raise AssertionError(kind)
    return model.eval()


# --------------------------------------------------------------------------------------------------------
# Building into directories
# --------------------------------------------------------------------------------------------------------


def _check_kind(kind: str) -> str:
    if kind not in TINY_KINDS:
        raise CrossliftError(f"unknown tiny-model kind '{kind}'; expected one of: {', '.join(TINY_KINDS)}")
    return kind


def _file_sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@contextlib.contextmanager
def _quiet_progress_bars() -> Iterator[None]:
    from transformers.utils import logging as hf_logging

    was_enabled = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        if was_enabled:
            hf_logging.enable_progress_bar()


def _build_into(kind: str, directory: Path, seed: int, corpus: Sequence[Path]) -> dict[str, Any]:
    started = time.perf_counter()
    tok = build_tiny_tokenizer(kind, corpus)
    trained = time.perf_counter()
    model = random_tiny_model(kind, tok, seed)
    with _quiet_progress_bars():  # a one-shard "Writing model shards" bar per model is noise here
        model.save_pretrained(directory)
    tok.save_pretrained(directory)
    if kind == "qwen2":
        # transformers loads every qwen2 checkpoint with Qwen2Tokenizer, whose unk_token defaults to
        # <|endoftext|>; Qwen2's own tokenizer_config.json says null, and so does ours.
        config_file = directory / "tokenizer_config.json"
        tokenizer_config = json.loads(config_file.read_text(encoding="utf-8")) | {"unk_token": None}
        config_file.write_text(
            json.dumps(tokenizer_config, indent=2, sort_keys=True) + "\n", encoding="utf-8"
        )
    manifest = {
        "kind": kind,
        "kit_version": KIT_VERSION,
        "seed": seed,
        "corpus": [{"path": str(p), "sha256": _file_sha256(Path(p))} for p in corpus],
        "num_parameters": model.num_parameters(),
        "vocab_size": len(tok),
    }
    (directory / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    logger.info(
        "built tiny %s: %.2f M parameters, vocab %d (tokenizer %.1f s, model %.1f s)",
        kind,
        manifest["num_parameters"] / 1e6,
        len(tok),
        trained - started,
        time.perf_counter() - trained,
    )
    return manifest


def _refuse_foreign(target: Path) -> None:
    """Replacing a directory is only safe when it holds an earlier tiny-model build (or nothing)."""
    if target.exists() and any(target.iterdir()) and not (target / MANIFEST).is_file():
        raise CrossliftError(
            f"{target} exists and is not a tiny-model directory (no {MANIFEST}); refusing to overwrite it"
        )


def _temp_dir_beside(target: Path, purpose: str) -> Path:
    target.parent.mkdir(parents=True, exist_ok=True)
    temp = Path(tempfile.mkdtemp(prefix=f".{target.name}.{purpose}-", dir=target.parent))
    temp.chmod(0o755)  # mkdtemp makes it private; the finished model is an ordinary directory
    return temp


def build_tiny_model(kind: str, out_dir: str | Path, *, seed: int = 0, corpus: Sequence[Path] = ()) -> Path:
    """Train a tokenizer and build a randomly initialised tiny model of one kind into ``out_dir``.

    The directory is built beside ``out_dir`` and moved into place when complete, so a killed build never
    leaves a half-written model. An earlier tiny-model build in ``out_dir`` is replaced.

    Args:
        kind: one of ``TINY_KINDS`` ("llama", "qwen2", "mt5-encoder", "xlmr").
        out_dir: directory to write (created; parents too).
        seed: seed of the random weights (the tokenizer depends only on the corpus).
        corpus: extra UTF-8 text files to train the tokenizer on, besides the built-in corpus.

    Returns:
        ``out_dir``, loadable with ``from_pretrained`` (or ``crosslift.models.build`` loaders).

    Raises:
        CrossliftError: unknown kind, or ``out_dir`` holds something other than a tiny model.
        DataError: a corpus file is missing or not UTF-8.
    """
    _check_kind(kind)
    target = Path(out_dir).expanduser()
    _refuse_foreign(target)
    building = _temp_dir_beside(target, "building")
    try:
        _build_into(kind, building, seed, [Path(p) for p in corpus])
        _refuse_foreign(target)  # checked again: the build took a while
        if target.exists() and any(target.iterdir()):
            old = _temp_dir_beside(target, "old")
            os.replace(target, old / target.name)
            os.replace(building, target)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(building, target)  # rename() may replace an empty directory
    finally:
        shutil.rmtree(building, ignore_errors=True)
    return target


def build_tiny_models(
    out_dir: str | Path, kinds: Sequence[str] = TINY_KINDS, *, seed: int = 0, corpus: Sequence[Path] = ()
) -> dict[str, Path]:
    """Build several tiny models into ``out_dir/<kind>/``, showing progress.

    Args:
        out_dir: parent directory.
        kinds: which kinds to build (default: all of ``TINY_KINDS``).
        seed: seed of the random weights.
        corpus: extra UTF-8 text files for the tokenizers.

    Returns:
        Kind → model directory.
    """
    from rich.console import Console
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    for kind in kinds:
        _check_kind(kind)
    built: dict[str, Path] = {}
    columns = (SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn())
    with Progress(*columns, console=Console(stderr=True)) as progress:
        task = progress.add_task("tiny models", total=len(kinds))
        for kind in kinds:
            progress.update(task, description=f"building tiny {kind}")
            built[kind] = build_tiny_model(kind, Path(out_dir) / kind, seed=seed, corpus=corpus)
            progress.advance(task)
        progress.update(task, description=f"built {', '.join(kinds)} in {Path(out_dir)}")
    return built


def cache_dir() -> Path:
    """Where crosslift caches things it builds: ``$CROSSLIFT_CACHE`` or ``~/.cache/crosslift``."""
    return Path(os.environ.get("CROSSLIFT_CACHE") or Path.home() / ".cache" / "crosslift").expanduser()


def resolve_model_path(name_or_path: str) -> str:
    """Turn ``"tiny:<kind>"`` into a built tiny-model directory; return any other name unchanged.

    A tiny model is built once into ``<cache>/tiny-models/<kind>-v<KIT_VERSION>-seed0`` and reused. The build
    goes into a temporary directory that is renamed into place, so two processes racing to build it both
    end up with one complete directory.

    Args:
        name_or_path: ``"tiny:llama"``, ``"tiny:qwen2"``, ``"tiny:mt5-encoder"``, ``"tiny:xlmr"``, or a local
            directory or hub id (returned as is).

    Returns:
        A directory or hub id for ``from_pretrained``.

    Raises:
        CrossliftError: ``tiny:`` with an unknown kind.
    """
    if not name_or_path.startswith(TINY_PREFIX):
        return name_or_path
    kind = _check_kind(name_or_path[len(TINY_PREFIX) :])
    root = cache_dir() / "tiny-models"
    target = root / f"{kind}-v{KIT_VERSION}-seed0"
    if (target / MANIFEST).is_file():
        return str(target)
    logger.info("building %s once into %s", name_or_path, target)
    building = _temp_dir_beside(target, "building")
    try:
        _build_into(kind, building, 0, ())
        try:
            os.replace(building, target)
        except OSError as e:
            # Another process finished first (rename onto a non-empty directory fails): use its build.
            if not (target / MANIFEST).is_file():
                raise CrossliftError(
                    f"cannot write the tiny model to {target} ({e}); delete that directory"
                ) from e
    finally:
        shutil.rmtree(building, ignore_errors=True)
    return str(target)
