"""The random models of the four tiny-model kinds: configs sized for their tokenizers (shapes: the kit's
docstring)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from crosslift.models.tiny.tokenizers import DECODER_MAX_LENGTH, ENCODER_MAX_LENGTH

if TYPE_CHECKING:
    from transformers import PreTrainedModel, PreTrainedTokenizerFast


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
    else:  # pragma: no cover - check_kind ran first
        raise AssertionError(kind)
    return model.eval()
