"""The tiny-model kit: deterministic builds that load like real checkpoints and tokenize every script."""

from __future__ import annotations

import json
import os
import unicodedata
from pathlib import Path

import pytest
import torch
from transformers import AutoModelForCausalLM, AutoTokenizer, MT5EncoderModel, XLMRobertaModel

from crosslift.errors import CrossliftError, DataError
from crosslift.models.build import resolve_model_path
from crosslift.models.tiny import KIT_VERSION, TINY_KINDS, cache, corpus, tokenizers
from crosslift.models.tiny.cache import MANIFEST, build_tiny_model, build_tiny_models
from crosslift.models.tiny.tokenizers import build_tiny_tokenizer

# One sentence per script the kit promises to cover; all NFKC-stable, so decoding must give them back exactly.
SCRIPT_SAMPLES = {
    "latin": "Habari ya asubuhi, rafiki yangu! Ça va très bien.",
    "cyrillic": "Привет, как дела? Всё хорошо.",
    "devanagari": "नमस्ते दुनिया, आप कैसे हैं?",
    "bengali": "আমি ভাত খাই এবং জল পান করি।",
    "telugu": "నమస్కారం, మీరు ఎలా ఉన్నారు?",
    "thai": "สวัสดีครับ ยินดีที่ได้รู้จัก",
    "arabic": "مرحبا بالعالم، كيف حالك؟",
    "cjk": "你好世界。我们今天学习数学。",
    "hangul": "안녕하세요 세계 여러분",
    "ethiopic": "ሰላም ለዓለም። እንዴት ነህ?",
    # Characters no corpus line contains: only byte fallback can represent them.
    "unseen": "Emoji 🙂🚀, Javanese ꦲꦤꦕꦫꦏ, Tifinagh ⵜⴰⵎⴰⵣⵉⵖⵜ.",
}
MATH = "Tom has 3 apples and buys 5 more. How many apples does he have? 3 + 5 = 8. The answer is 8."


@pytest.fixture(scope="session")
def tiny_dirs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """All four tiny models, built once per test session."""
    return build_tiny_models(tmp_path_factory.mktemp("tiny-models"))


@pytest.fixture(scope="session")
def fresh_tokenizers() -> dict:
    """The same tokenizers as in ``tiny_dirs``, trained again in memory (never saved)."""
    return {kind: build_tiny_tokenizer(kind) for kind in TINY_KINDS}


def _files(directory: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(directory.iterdir()) if p.is_file()}


def test_builtin_corpus_is_fixed_and_covers_english_math_and_ten_scripts():
    lines = corpus.builtin_corpus()
    assert lines == corpus.builtin_corpus.__wrapped__()  # generated again from scratch: the same lines
    assert any("How many" in line and " + " in line and " = " in line for line in lines)
    assert len(corpus._SCRIPTS) == 10
    for script in corpus._SCRIPTS:
        assert sum(any(c in line for c in script.consonants) for line in lines) >= 200, script.name


def test_every_kind_builds_with_its_manifest(tiny_dirs):
    assert set(tiny_dirs) == set(TINY_KINDS)
    for kind, directory in tiny_dirs.items():
        manifest = json.loads((directory / MANIFEST).read_text())
        assert manifest["kind"] == kind and manifest["kit_version"] == KIT_VERSION and manifest["seed"] == 0
        assert (directory / "model.safetensors").is_file()
        assert not list(directory.glob("*.bin"))  # weights only as safetensors
        assert (directory / "tokenizer.json").is_file()
        assert 0.5e6 < manifest["num_parameters"] < 3e6


def test_build_is_deterministic_and_seed_only_changes_weights(tiny_dirs, tmp_path):
    again = build_tiny_models(tmp_path / "again")
    for kind in TINY_KINDS:
        assert _files(again[kind]) == _files(tiny_dirs[kind]), kind
    other_seed = build_tiny_model("llama", tmp_path / "seed1", seed=1)
    first, second = _files(tiny_dirs["llama"]), _files(other_seed)
    assert second["tokenizer.json"] == first["tokenizer.json"]
    assert second["model.safetensors"] != first["model.safetensors"]


@pytest.mark.parametrize("kind", TINY_KINDS)
def test_saved_tokenizer_round_trips_through_autotokenizer(kind, tiny_dirs, fresh_tokenizers):
    loaded = AutoTokenizer.from_pretrained(tiny_dirs[kind])
    fresh = fresh_tokenizers[kind]
    texts = [MATH, *SCRIPT_SAMPLES.values()]
    assert loaded(texts)["input_ids"] == fresh(texts)["input_ids"]
    assert loaded(MATH, "3 + 5 = 8")["input_ids"] == fresh(MATH, "3 + 5 = 8")["input_ids"]
    assert loaded.all_special_tokens == fresh.all_special_tokens
    assert len(loaded) == len(fresh)
    assert loaded.pad_token is not None
    if kind in ("llama", "qwen2"):
        assert loaded.eos_token is not None and loaded.model_max_length == tokenizers.DECODER_MAX_LENGTH


@pytest.mark.parametrize("kind", TINY_KINDS)
@pytest.mark.parametrize("script", SCRIPT_SAMPLES)
def test_no_character_is_unknown(kind, script, fresh_tokenizers):
    tok = fresh_tokenizers[kind]
    text = SCRIPT_SAMPLES[script]
    assert unicodedata.normalize("NFKC", text) == text
    ids = tok(text, add_special_tokens=False)["input_ids"]
    if tok.unk_token_id is not None:
        assert tok.unk_token_id not in ids
    assert tok.decode(ids) == text


def test_unseen_characters_fall_back_to_bytes(fresh_tokenizers):
    for kind in ("llama", "mt5-encoder", "xlmr"):
        tokens = fresh_tokenizers[kind].tokenize("🙂")
        assert tokens[-4:] == ["<0xF0>", "<0x9F>", "<0x99>", "<0x82>"], kind


def test_english_and_arithmetic_tokenize_compactly(fresh_tokenizers):
    words = len(MATH.split())
    for kind, tok in fresh_tokenizers.items():
        n = len(tok(MATH, add_special_tokens=False)["input_ids"])
        # Digits are single tokens in every scheme; common words must be whole tokens, not letters.
        assert n <= 1.6 * words, (kind, n, words)


def test_special_tokens_follow_each_family(fresh_tokenizers):
    llama, qwen, mt5, xlmr = (fresh_tokenizers[k] for k in TINY_KINDS)

    ids = llama("hello")["input_ids"]
    assert (llama.unk_token, llama.bos_token, llama.eos_token, llama.pad_token) == (
        "<unk>",
        "<s>",
        "</s>",
        "<pad>",
    )
    assert ids[0] == llama.bos_token_id and ids[-1] != llama.eos_token_id  # adds BOS, not EOS
    assert llama.convert_ids_to_tokens(list(range(4))) == ["<unk>", "<s>", "</s>", "<pad>"]

    ids = qwen("hello")["input_ids"]
    assert qwen.bos_token is None and qwen.unk_token is None
    assert (qwen.eos_token, qwen.pad_token) == ("<|im_end|>", "<|endoftext|>")
    assert qwen.convert_tokens_to_ids("<|im_start|>") == len(qwen) - 2  # specials after the learned vocab
    assert qwen.eos_token_id not in ids and qwen.pad_token_id not in ids

    ids = mt5("hello")["input_ids"]
    assert (mt5.pad_token_id, mt5.eos_token_id, mt5.unk_token_id) == (0, 1, 2)
    assert ids[-1] == mt5.eos_token_id and mt5.eos_token_id not in ids[:-1]

    ids = xlmr("hello", "world")["input_ids"]
    assert [xlmr.convert_ids_to_tokens(i) for i in (0, 1, 2, 3)] == ["<s>", "<pad>", "</s>", "<unk>"]
    assert xlmr.mask_token_id == len(xlmr) - 1
    assert ids[0] == xlmr.bos_token_id and ids[-1] == xlmr.eos_token_id
    assert ids.count(xlmr.eos_token_id) == 3  # <s> A </s></s> B </s>


def test_only_qwen2_has_a_chat_template(tiny_dirs):
    qwen = AutoTokenizer.from_pretrained(tiny_dirs["qwen2"])
    messages = [{"role": "user", "content": "What is 3 + 5?"}, {"role": "assistant", "content": "8"}]
    text = qwen.apply_chat_template(messages, tokenize=False)
    assert text == "<|im_start|>user\nWhat is 3 + 5?<|im_end|>\n<|im_start|>assistant\n8<|im_end|>\n"
    prompt = qwen.apply_chat_template(messages[:1], tokenize=False, add_generation_prompt=True)
    assert prompt.endswith("<|im_end|>\n<|im_start|>assistant\n")
    ids = qwen.apply_chat_template(messages, tokenize=True, return_dict=True)["input_ids"]
    assert ids.count(qwen.convert_tokens_to_ids("<|im_start|>")) == 2

    llama = AutoTokenizer.from_pretrained(tiny_dirs["llama"])
    assert llama.chat_template is None
    with pytest.raises(ValueError):
        llama.apply_chat_template(messages, tokenize=False)


@pytest.mark.parametrize("kind", ["llama", "qwen2"])
def test_decoder_loads_with_the_promised_shape_and_runs(kind, tiny_dirs):
    model = AutoModelForCausalLM.from_pretrained(tiny_dirs[kind])
    tok = AutoTokenizer.from_pretrained(tiny_dirs[kind])
    c = model.config
    assert (c.hidden_size, c.num_hidden_layers, c.num_attention_heads, c.num_key_value_heads) == (
        128,
        4,
        4,
        2,
    )
    assert c.intermediate_size == 512 and c.tie_word_embeddings
    assert model.get_output_embeddings().weight is model.get_input_embeddings().weight
    assert c._attn_implementation == "sdpa"
    assert c.vocab_size >= len(tok) and (c.vocab_size == len(tok)) == (
        kind == "llama"
    )  # qwen2 pads, llama not
    assert model.generation_config.pad_token_id == tok.pad_token_id
    batch = tok([MATH, "3 + 5 = 8"], return_tensors="pt", padding=True)
    with torch.no_grad():
        logits = model(**batch).logits
    assert logits.shape == (2, batch["input_ids"].shape[1], c.vocab_size)
    assert torch.isfinite(logits).all()


@pytest.mark.parametrize("kind, model_class", [("mt5-encoder", MT5EncoderModel), ("xlmr", XLMRobertaModel)])
def test_encoder_loads_and_gives_hidden_states_of_width_128(kind, model_class, tiny_dirs):
    model = model_class.from_pretrained(tiny_dirs[kind])
    assert model.config.num_hidden_layers == 2 and model.config.hidden_size == 128
    assert not any("decoder" in name for name in model.state_dict())
    tok = AutoTokenizer.from_pretrained(tiny_dirs[kind])
    batch = tok([SCRIPT_SAMPLES["bengali"], "hi"], return_tensors="pt", padding=True)
    with torch.no_grad():
        hidden = model(**batch).last_hidden_state
    assert hidden.shape == (2, batch["input_ids"].shape[1], 128)
    assert torch.isfinite(hidden).all()


@pytest.mark.parametrize("kind", ["llama", "qwen2"])
def test_a_few_training_steps_reduce_loss_on_a_repeated_sentence(kind, tiny_dirs):
    torch.manual_seed(0)
    model = AutoModelForCausalLM.from_pretrained(tiny_dirs[kind])
    tok = AutoTokenizer.from_pretrained(tiny_dirs[kind])
    batch = tok([MATH] * 4, return_tensors="pt")
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3)
    model.train()
    losses = []
    for _ in range(15):
        loss = model(**batch, labels=batch["input_ids"]).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        losses.append(loss.item())
    assert losses[0] > 0.9 * torch.log(torch.tensor(float(model.config.vocab_size))).item()  # random init
    assert losses[-1] < 0.5 * losses[0]


def test_unknown_kind_is_a_clear_error(tmp_path):
    with pytest.raises(CrossliftError, match="unknown tiny-model kind 'gpt2'.*llama, qwen2"):
        build_tiny_model("gpt2", tmp_path / "x")
    with pytest.raises(CrossliftError, match="unknown tiny-model kind"):
        resolve_model_path("tiny:gpt2")
    with pytest.raises(CrossliftError, match="unknown tiny-model kind"):
        build_tiny_models(tmp_path, ["llama", "bert"])


def test_build_refuses_to_overwrite_a_directory_that_is_not_a_tiny_model(tmp_path):
    precious = tmp_path / "precious"
    precious.mkdir()
    (precious / "notes.txt").write_text("keep me")
    with pytest.raises(CrossliftError, match="not a tiny-model directory"):
        build_tiny_model("qwen2", precious)
    assert (precious / "notes.txt").read_text() == "keep me"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["precious"]  # no temporary directory left behind


def test_rebuilding_replaces_an_earlier_tiny_model(tmp_path):
    target = build_tiny_model("qwen2", tmp_path / "qwen2", seed=1)
    before = _files(target)
    build_tiny_model("qwen2", target, seed=2)
    assert json.loads((target / MANIFEST).read_text())["seed"] == 2
    assert _files(target)["model.safetensors"] != before["model.safetensors"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["qwen2"]


def test_extra_corpus_files_shape_the_tokenizer(tmp_path):
    extra = tmp_path / "extra.txt"
    extra.write_text("\n".join(["Zanzibarian kaleidoscope"] * 300) + "\n", encoding="utf-8")
    plain, extended = build_tiny_tokenizer("qwen2"), build_tiny_tokenizer("qwen2", [extra])
    assert len(plain.tokenize("Zanzibarian kaleidoscope")) > 4
    assert extended.tokenize("Zanzibarian kaleidoscope") == ["Zanzibarian", "Ġkaleidoscope"]


def test_bad_corpus_files_name_the_file_and_line(tmp_path):
    with pytest.raises(DataError, match="missing.txt.*not found"):
        build_tiny_tokenizer("qwen2", [tmp_path / "missing.txt"])
    bad = tmp_path / "bad.txt"
    bad.write_bytes(b"fine\nalso fine\n" + b"\xff\xfe broken\n")
    with pytest.raises(DataError, match=r"bad.txt, line 3: not valid UTF-8"):
        build_tiny_tokenizer("qwen2", [bad])


def test_resolve_model_path_builds_once_into_the_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("CROSSLIFT_CACHE", str(tmp_path / "cache"))
    assert resolve_model_path("Qwen/Qwen2.5-0.5B") == "Qwen/Qwen2.5-0.5B"
    assert resolve_model_path(str(tmp_path)) == str(tmp_path)

    path = Path(resolve_model_path("tiny:qwen2"))
    assert path == tmp_path / "cache" / "tiny-models" / f"qwen2-v{KIT_VERSION}-seed0"
    assert json.loads((path / MANIFEST).read_text())["kind"] == "qwen2"
    assert AutoTokenizer.from_pretrained(path).eos_token == "<|im_end|>"

    def no_rebuild(*args, **kwargs):
        raise AssertionError("a cached tiny model must not be built again")

    monkeypatch.setattr(cache, "_build_into", no_rebuild)
    assert resolve_model_path("tiny:qwen2") == str(path)
    assert sorted(p.name for p in path.parent.iterdir()) == [path.name]  # no temporary directories left


def test_resolve_model_path_uses_the_winner_when_two_builds_race(tmp_path, monkeypatch):
    monkeypatch.setenv("CROSSLIFT_CACHE", str(tmp_path))
    real_build = cache._build_into
    target = tmp_path / "tiny-models" / f"qwen2-v{KIT_VERSION}-seed0"

    def other_process_finishes_first(kind, directory, seed, corpus):
        real_build(kind, directory, seed, corpus)
        winner = tmp_path / "winner"
        real_build(kind, winner, seed, corpus)
        (winner / "winner.txt").write_text("first")
        os.replace(winner, target)

    monkeypatch.setattr(cache, "_build_into", other_process_finishes_first)
    assert resolve_model_path("tiny:qwen2") == str(target)
    assert (target / "winner.txt").read_text() == "first"
    assert sorted(p.name for p in target.parent.iterdir()) == [target.name]
