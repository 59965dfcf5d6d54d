"""Model and tokenizer loaders: tiny models through the real from_pretrained paths, and the errors users see."""

from __future__ import annotations

import inspect
import json
import logging
import re
import shutil
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from crosslift.errors import ConfigError, CrossliftError
from crosslift.models import build
from crosslift.models.build import apply_lora, load_causal_lm, load_encoder, load_tokenizer
from crosslift.models.tiny.cache import build_tiny_models


@pytest.fixture(scope="session")
def tiny_dirs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """All four tiny models, built once per test session."""
    return build_tiny_models(tmp_path_factory.mktemp("tiny-models-build"))


def _copy(src: Path, dst: Path, *, drop: tuple[str, ...] = ()) -> Path:
    shutil.copytree(src, dst)
    for name in drop:
        (dst / name).unlink()
    return dst


def _edit_json(path: Path, **changes) -> None:
    data = json.loads(path.read_text())
    for key, value in changes.items():
        if value is None:
            data.pop(key, None)
        else:
            data[key] = value
    path.write_text(json.dumps(data))


def test_tiny_names_resolve_through_the_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("CROSSLIFT_CACHE", str(tmp_path))
    tok = load_tokenizer("tiny:qwen2", padding_side="left")
    model = load_causal_lm("tiny:qwen2")
    assert tok.padding_side == "left" and tok.pad_token == "<|endoftext|>"
    assert Path(model.name_or_path).parent == tmp_path / "tiny-models"
    batch = tok(["3 + 5 = 8", "hi"], return_tensors="pt", padding=True)
    assert batch["attention_mask"][1, 0] == 0  # left padding
    assert model(**batch).logits.shape[:2] == batch["input_ids"].shape


def test_load_tokenizer_pads_with_unk_then_eos(tiny_dirs, tmp_path, caplog):
    llama = _copy(tiny_dirs["llama"], tmp_path / "llama")
    _edit_json(llama / "tokenizer_config.json", pad_token=None)
    with caplog.at_level(logging.INFO, logger="crosslift.models.build"):
        tok = load_tokenizer(str(llama))
    assert tok.pad_token == "<unk>" and tok.pad_token_id == tok.unk_token_id
    assert "no pad token" in caplog.text

    no_unk = _copy(tiny_dirs["llama"], tmp_path / "no-unk")
    _edit_json(no_unk / "tokenizer_config.json", pad_token=None, unk_token=None)
    tok = load_tokenizer(str(no_unk))
    assert tok.pad_token == tok.eos_token == "</s>"

    assert load_tokenizer(str(tiny_dirs["llama"])).pad_token == "<pad>"  # an existing pad token is kept
    with pytest.raises(ConfigError, match="padding_side"):
        load_tokenizer(str(tiny_dirs["llama"]), padding_side="middle")


@pytest.mark.parametrize(
    "dtype, expected", [("auto", torch.float32), ("float32", torch.float32), ("bfloat16", torch.bfloat16)]
)
def test_load_causal_lm_dtype(dtype, expected, tiny_dirs):
    model = load_causal_lm(str(tiny_dirs["llama"]), dtype=dtype)
    assert {p.dtype for p in model.parameters()} == {expected}
    assert not model.training


def test_load_causal_lm_options_and_bad_values(tiny_dirs):
    model = load_causal_lm(str(tiny_dirs["llama"]), attn_implementation="eager")
    assert model.config._attn_implementation == "eager"
    with pytest.raises(ConfigError, match="dtype 'fp8'.*auto, float32, bfloat16, float16"):
        load_causal_lm(str(tiny_dirs["llama"]), dtype="fp8")
    with pytest.raises(CrossliftError, match="not a causal LM checkpoint"):
        load_causal_lm(str(tiny_dirs["mt5-encoder"]))


def test_loaded_weights_are_the_saved_ones(tiny_dirs):
    model = load_causal_lm(str(tiny_dirs["qwen2"]))
    saved = load_file(tiny_dirs["qwen2"] / "model.safetensors")
    for name, tensor in saved.items():
        assert torch.equal(model.state_dict()[name], tensor), name


@pytest.mark.parametrize("loader", [load_tokenizer, load_causal_lm, load_encoder])
def test_missing_paths_and_offline_hub_ids_are_clear_errors(loader, tmp_path):
    with pytest.raises(CrossliftError, match="model directory not found: .*nowhere"):
        loader(str(tmp_path / "nowhere"))
    with pytest.raises(CrossliftError, match="model directory not found"):
        loader("runs/a/b/model")
    # conftest switches the hub off: a hub id that is not cached fails at once, saying so.
    with pytest.raises(CrossliftError, match="'google/mt5-small' was not found locally.*hub is offline"):
        loader("google/mt5-small")


def test_pickled_weights_are_refused(tiny_dirs, tmp_path):
    directory = _copy(tiny_dirs["llama"], tmp_path / "pickled", drop=("model.safetensors",))
    torch.save(load_file(tiny_dirs["llama"] / "model.safetensors"), directory / "pytorch_model.bin")
    with pytest.raises(CrossliftError, match=r"only pickled weights \(pytorch_model.bin\)"):
        load_causal_lm(str(directory))
    encoder = _copy(tiny_dirs["xlmr"], tmp_path / "pickled-encoder", drop=("model.safetensors",))
    torch.save({}, encoder / "pytorch_model.bin")
    with pytest.raises(CrossliftError, match="only pickled weights"):
        load_encoder(str(encoder))
    with pytest.raises(CrossliftError, match=r"no model weights \(\*.safetensors\)"):
        load_causal_lm(str(_copy(tiny_dirs["llama"], tmp_path / "empty", drop=("model.safetensors",))))


def test_remote_code_never_runs_by_default(tmp_path):
    for name, default in [
        (n, p.default)
        for f in (load_tokenizer, load_causal_lm, load_encoder)
        for n, p in inspect.signature(f).parameters.items()
        if n == "trust_remote_code"
    ]:
        assert default is False, name
    repo = tmp_path / "custom"
    repo.mkdir()
    sentinel = tmp_path / "code-ran"
    code_map = {
        "AutoConfig": "configuration_x.XConfig",
        "AutoModel": "modeling_x.XModel",
        "AutoModelForCausalLM": "modeling_x.XModel",
    }
    (repo / "config.json").write_text(json.dumps({"model_type": "x-custom", "auto_map": code_map}))
    (repo / "tokenizer_config.json").write_text(
        json.dumps({"auto_map": {"AutoTokenizer": ["tokenization_x.XTok", None]}})
    )
    for module in ("configuration_x", "modeling_x", "tokenization_x"):
        (repo / f"{module}.py").write_text(
            f"from pathlib import Path\nPath({str(sentinel)!r}).write_text('ran')\n"
        )
    (repo / "model.safetensors").write_bytes(b"")
    for loader in (load_tokenizer, load_causal_lm, load_encoder):
        with pytest.raises(CrossliftError, match="needs custom code.*trust_remote_code"):
            loader(str(repo))
    assert not sentinel.exists()


@pytest.mark.parametrize(
    "kind, class_name", [("mt5-encoder", "MT5EncoderModel"), ("xlmr", "XLMRobertaModel")]
)
def test_load_encoder_gives_hidden_states_of_the_model_width(kind, class_name, tiny_dirs):
    encoder = load_encoder(str(tiny_dirs[kind]))
    tok = load_tokenizer(str(tiny_dirs[kind]))
    assert type(encoder).__name__ == class_name
    batch = tok(["আমি ভাত খাই।", "Tom has 3 apples."], return_tensors="pt", padding=True)
    with torch.no_grad():
        hidden = encoder(**batch).last_hidden_state
    assert hidden.shape == (2, batch["input_ids"].shape[1], encoder.config.hidden_size)
    assert encoder.config.hidden_size == 128


def test_load_encoder_reads_only_the_encoder_of_a_t5(tiny_dirs, tmp_path):
    from transformers import AutoConfig, MT5ForConditionalGeneration

    config = AutoConfig.from_pretrained(
        tiny_dirs["mt5-encoder"], is_encoder_decoder=True, tie_word_embeddings=False
    )
    torch.manual_seed(0)
    full = MT5ForConditionalGeneration(config).eval()
    full.save_pretrained(tmp_path / "mt5-full")
    encoder = load_encoder(str(tmp_path / "mt5-full"))
    assert type(encoder).__name__ == "MT5EncoderModel"
    assert not any("decoder" in name for name in encoder.state_dict())
    ids = torch.tensor([[5, 6, 7, 1]])
    with torch.no_grad():
        assert torch.equal(
            encoder(input_ids=ids).last_hidden_state, full.get_encoder()(input_ids=ids).last_hidden_state
        )


def test_load_encoder_takes_the_encoder_half_of_other_encoder_decoders(tmp_path):
    from transformers import BartConfig, BartForConditionalGeneration

    config = BartConfig(
        vocab_size=300,
        d_model=32,
        encoder_layers=1,
        decoder_layers=1,
        encoder_attention_heads=2,
        decoder_attention_heads=2,
        encoder_ffn_dim=64,
        decoder_ffn_dim=64,
        max_position_embeddings=64,
    )
    torch.manual_seed(0)
    full = BartForConditionalGeneration(config).eval()
    full.save_pretrained(tmp_path / "bart")
    encoder = load_encoder(str(tmp_path / "bart"))
    assert type(encoder).__name__ == "BartEncoder"
    ids = torch.tensor([[0, 5, 6, 2]])
    with torch.no_grad():
        assert torch.equal(
            encoder(input_ids=ids).last_hidden_state, full.get_encoder()(input_ids=ids).last_hidden_state
        )


def _lora_params(model: torch.nn.Module, r: int, targets: set[str]) -> int:
    """LoRA adds A (r x in) and B (out x r) to every targeted Linear layer."""
    return sum(
        r * (m.in_features + m.out_features)
        for name, m in model.named_modules()
        if isinstance(m, torch.nn.Linear) and name.rsplit(".", 1)[-1] in targets
    )


def test_apply_lora_trains_only_the_adapters(tiny_dirs):
    base = load_causal_lm(str(tiny_dirs["llama"]))
    targets = {"q_proj", "k_proj", "v_proj", "o_proj"}
    expected = _lora_params(base, 4, targets)
    model = apply_lora(base, r=4, alpha=8, dropout=0.0, target_modules=sorted(targets))
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    assert trainable == expected == 4 * 4 * ((128 + 128) * 2 + (128 + 64) * 2)  # 4 layers; k/v are GQA-narrow
    assert type(model).__name__ == "PeftModelForCausalLM"
    out = model(input_ids=torch.tensor([[1, 20, 30]]), labels=torch.tensor([[1, 20, 30]]))
    out.loss.backward()
    assert all(p.grad is not None for p in model.parameters() if p.requires_grad)


def test_apply_lora_all_linear_and_modules_to_save(tiny_dirs):
    base = load_causal_lm(str(tiny_dirs["qwen2"]))
    linear = {"q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"}  # lm_head excluded
    expected = _lora_params(base, 2, linear) + base.model.norm.weight.numel()
    model = apply_lora(
        base, r=2, alpha=4, dropout=0.1, target_modules="all-linear", modules_to_save=["model.norm"]
    )
    assert sum(p.numel() for p in model.parameters() if p.requires_grad) == expected


def test_apply_lora_warns_when_modules_to_save_selects_more_than_meant(tiny_dirs, caplog):
    base = load_causal_lm(str(tiny_dirs["qwen2"]))
    expected = _lora_params(base, 2, {"q_proj"}) + 9 * 128  # peft trains the final norm and all 8 layer norms
    with caplog.at_level(logging.WARNING, logger="crosslift.models.build"):
        model = apply_lora(
            base, r=2, alpha=4, dropout=0.0, target_modules=["q_proj"], modules_to_save=["norm"]
        )
    assert "also selects 8 modules" in caplog.text and "layernorm" in caplog.text
    assert sum(p.numel() for p in model.parameters() if p.requires_grad) == expected


def test_apply_lora_bad_targets_list_the_linear_layers(tiny_dirs):
    base = load_causal_lm(str(tiny_dirs["llama"]))
    with pytest.raises(ConfigError, match=r"\['query'\] match no module of this llama model.*k_proj.*q_proj"):
        apply_lora(base, r=4, alpha=8, dropout=0.0, target_modules=["q_proj", "query"])
    with pytest.raises(ConfigError, match=re.escape("pattern 'attn\\.c_attn' matches no module")):
        apply_lora(base, r=4, alpha=8, dropout=0.0, target_modules=r"attn\.c_attn")
    with pytest.raises(ConfigError, match=r"modules_to_save \['score'\] matches no module"):
        apply_lora(base, r=4, alpha=8, dropout=0.0, target_modules=["q_proj"], modules_to_save=["score"])
    with pytest.raises(ConfigError, match="not a valid regular expression"):
        apply_lora(base, r=4, alpha=8, dropout=0.0, target_modules="q_proj(")
    with pytest.raises(ConfigError, match="r > 0"):
        apply_lora(base, r=0, alpha=8, dropout=0.0, target_modules=["q_proj"])
    assert not any("lora" in name for name, _ in base.named_modules())  # untouched by the failed calls


def test_hub_id_pattern():
    assert build._HUB_ID.fullmatch("Qwen/Qwen2.5-0.5B-Instruct")
    assert build._HUB_ID.fullmatch("gpt2")
    assert not build._HUB_ID.fullmatch("runs/a/b")
