"""The encoder sees the prompt's layout: new-line, tab and space-run tokens added to a SentencePiece (mT5-style)
encoder tokenizer, as the released recipe does (add_new_lines_to_enc), and nothing added to a tokenizer that keeps
them already (byte-level BPE, byte fallback)."""

from __future__ import annotations

import pytest
import torch

from crosslift.models.bridge import (
    ENCODER_WHITESPACE,
    BridgeConfig,
    BridgeProcessor,
    add_encoder_whitespace_tokens,
    lost_whitespace,
)
from crosslift.models.build import build_bridge, load_bridge, load_encoder, load_tokenizer
from crosslift.train.common import save_final

PROMPT = "### Instruction:\nQuestion: a cat\tand a dog   ran\n\n### Response:"


@pytest.fixture(scope="module")
def t5_encoder_dir(tmp_path_factory):
    """A real SentencePiece unigram model trained here (nmt_nfkc normalisation, as mT5's), loaded as a T5
    tokenizer, next to a small random MT5 encoder whose embedding matrix has no spare rows."""
    import sentencepiece as spm
    from transformers import MT5Config, MT5EncoderModel, T5Tokenizer

    from crosslift.models.tiny.corpus import builtin_corpus

    path = tmp_path_factory.mktemp("t5_encoder")
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(builtin_corpus()[:3000]),
        model_prefix=str(path / "spiece"),
        vocab_size=800,
        model_type="unigram",
        pad_id=0,
        eos_id=1,
        unk_id=2,
        bos_id=-1,
        normalization_rule_name="nmt_nfkc",
        minloglevel=2,
    )
    (path / "spiece.vocab").unlink()
    tok = T5Tokenizer.from_pretrained(path, extra_ids=0, legacy=False)
    torch.manual_seed(0)
    config = MT5Config(
        vocab_size=len(tok), d_model=32, d_kv=8, d_ff=64, num_layers=1, num_heads=4, decoder_start_token_id=0
    )
    MT5EncoderModel(config).save_pretrained(path)
    tok.save_pretrained(path)
    return path


def test_a_sentencepiece_encoder_tokenizer_loses_the_layout_without_the_tokens(t5_encoder_dir):
    tok = load_tokenizer(str(t5_encoder_dir))
    assert lost_whitespace(tok) == list(ENCODER_WHITESPACE)  # mT5's normaliser: every one becomes one space
    assert tok("a\nb")["input_ids"] == tok("a b")["input_ids"]


def test_new_line_survives_the_bridge_and_its_save(t5_encoder_dir, tmp_path):
    model, processor = build_bridge(str(t5_encoder_dir), "tiny:llama", dtype="float32")
    tok = processor.encoder_tokenizer
    assert model.config.options.encoder_new_line_tokens and model.config.encoder_added_tokens == list(
        ENCODER_WHITESPACE
    )
    assert lost_whitespace(tok) == []
    ids = processor.encode(PROMPT)["encoder_input_ids"]
    pieces = tok.convert_ids_to_tokens(ids)
    assert pieces.count("\n") == PROMPT.count("\n") == 3 and pieces.count("\t") == 1 and "   " in pieces
    assert "\n" in tok.decode(ids) and ids != tok(PROMPT.replace("\n", " "))["input_ids"]
    # the encoder has a row for every token (no spare rows here: resized, new rows at the mean embedding)
    embeddings = model.encoder.get_input_embeddings().weight
    assert embeddings.shape[0] == len(tok) == model.config.encoder_config.vocab_size
    assert torch.allclose(embeddings[-1], embeddings[: -len(ENCODER_WHITESPACE)].mean(0), atol=1e-6)
    with torch.no_grad():
        model.encode(torch.tensor([ids]), torch.ones(1, len(ids), dtype=torch.long))  # every id has a row
    # saved with the bridge: the reloaded processor reads the prompt the same way
    save_final(model, processor.tokenizers(), tmp_path / "bridge")
    again_model, again = load_bridge(tmp_path / "bridge", dtype="float32")
    assert again.encode(PROMPT)["encoder_input_ids"] == ids
    assert again_model.config.encoder_added_tokens == list(ENCODER_WHITESPACE)
    assert torch.equal(again_model.encoder.get_input_embeddings().weight, embeddings)


def test_the_option_off_keeps_the_tokenizer_as_it_is(t5_encoder_dir):
    model, processor = build_bridge(
        str(t5_encoder_dir), "tiny:llama", dtype="float32", encoder_new_line_tokens=False
    )
    assert model.config.encoder_added_tokens is None
    assert lost_whitespace(processor.encoder_tokenizer) == list(ENCODER_WHITESPACE)
    assert processor.encoder_tokenizer("a\nb")["input_ids"] == processor.encoder_tokenizer("a b")["input_ids"]


@pytest.mark.parametrize(
    ("kind", "expected"), [("qwen2", []), ("llama", []), ("mt5-encoder", ["  ", "   ", "    "])]
)
def test_only_what_a_tokenizer_loses_is_added(kind, expected):
    """A byte-level BPE (Qwen2) or byte-fallback (Llama) tokenizer used as the encoder's keeps every whitespace:
    nothing is added, its tokenization is unchanged. The tiny mT5's byte fallback keeps "\\n" but its normaliser
    collapses runs of spaces: only those are added."""
    tok = load_tokenizer(f"tiny:{kind}")
    before = tok(PROMPT)["input_ids"]
    encoder = load_encoder(f"tiny:{kind}", dtype="float32")
    rows = encoder.get_input_embeddings().weight.shape[0]
    assert add_encoder_whitespace_tokens(tok, encoder) == expected
    if not expected:
        assert tok(PROMPT)["input_ids"] == before and encoder.get_input_embeddings().weight.shape[0] == rows
    else:
        assert "   " in tok.convert_ids_to_tokens(tok(PROMPT)["input_ids"])
        assert encoder.get_input_embeddings().weight.shape[0] >= len(tok)
    assert lost_whitespace(tok) == []


def test_a_causal_lm_as_encoder_builds_unchanged():
    model, processor = build_bridge("tiny:qwen2", "tiny:llama", dtype="float32")
    assert model.config.encoder_added_tokens == []
    assert isinstance(model.config, BridgeConfig) and isinstance(processor, BridgeProcessor)
    ids = processor.encode(PROMPT)["encoder_input_ids"]
    assert ids == processor.encoder_tokenizer(PROMPT)["input_ids"][: len(ids)]
