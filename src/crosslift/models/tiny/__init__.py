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

Use ``"tiny:<kind>"`` wherever a model name is accepted: ``crosslift.models.build.resolve_model_path`` builds
it once into the cache (``$CROSSLIFT_CACHE`` or ``~/.cache/crosslift``) and returns the directory.

One module per concern: ``corpus`` (the built-in training text), ``tokenizers`` (the four tokenizer trainers),
``architectures`` (the random models' configs), ``cache`` (building into directories, and the cache).
"""

from __future__ import annotations

from crosslift.errors import CrossliftError

# Bump whenever a change in this package (or in the word list) changes what gets built: cached builds are
# keyed by it.
KIT_VERSION = 1
TINY_KINDS = ("llama", "qwen2", "mt5-encoder", "xlmr")
TINY_PREFIX = "tiny:"


def check_kind(kind: str) -> str:
    """`kind` itself when it is one of `TINY_KINDS`; otherwise a CrossliftError that lists them."""
    if kind not in TINY_KINDS:
        raise CrossliftError(f"unknown tiny-model kind '{kind}'; expected one of: {', '.join(TINY_KINDS)}")
    return kind
