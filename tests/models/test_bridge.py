"""The bridge on the tiny models: masks and positions (replace and insert families, both padding sides), the
alignment layer, save -> load, and batched generation. The augment and fusion families: test_bridge_families.py."""

from __future__ import annotations

import functools
import json

import pytest
import torch
from safetensors.torch import load_file

from crosslift.errors import ConfigError, CrossliftError
from crosslift.models.alignment import AlignmentLayer
from crosslift.models.bridge import BridgeConfig, BridgeModel, BridgeProcessor
from crosslift.models.build import build_bridge, load_bridge
from crosslift.models.generate import BridgeGenerator, load_generator
from crosslift.models.generation import GenerationSettings
from crosslift.models.labels import IGNORE_INDEX
from crosslift.train.common import save_final

METAMATH = (
    "Below is an instruction that describes a task. Write a response that appropriately completes the request.\n\n"
    "### Instruction:\nQuestion: {q}\n\n### Response: Let's think step by step."
)
INSTRUCTION = r"### Instruction:\n(.*?)\n\n### Response"
QUESTIONS = [
    "Tom ana matofaa 3 and buys 5 zaidi. How many matofaa does Tom have?",
    "What is 2 + 3?",
    "A farmer has 12 cows, sells 4 of them and then buys 9 more cows at the market. How many cows are left?",
]
TARGETS = ["Tom has 3 + 5 = 8 apples.", "2 + 3 = 5.", "12 - 4 + 9 = 17 cows."]


@functools.cache
def bridge(
    family: str = "replace",
    alignment: str = "ffn",
    encoder: str = "tiny:mt5-encoder",
    lm: str = "tiny:llama",
):
    torch.manual_seed(0)
    pattern = INSTRUCTION if family == "insert" else None
    model, processor = build_bridge(
        encoder,
        lm,
        dtype="float32",
        alignment=alignment,
        family=family,
        encoder_pattern=pattern,
        begin_boundary=alignment == "ffn",
    )
    # A realistic scale for the boundaries (N(0, 1) would drown the tiny LM's embeddings).
    model.alignment.reset_parameters(boundary_std=0.02)
    return model, processor


def prompts() -> list[str]:
    return [METAMATH.format(q=q) for q in QUESTIONS]


def batch_of(processor: BridgeProcessor, with_targets: bool = True) -> dict[str, torch.Tensor]:
    targets = TARGETS if with_targets else [None] * len(QUESTIONS)
    return processor.collate([processor.encode(p, t) for p, t in zip(prompts(), targets, strict=True)])


# ------------------------------------------------------------------------------------------------ masks, positions


@pytest.mark.parametrize("family", ["replace", "insert"])
@pytest.mark.parametrize("side", ["left", "right"])
def test_mask_covers_exactly_bos_begin_encoder_end_response(family, side):
    model, processor = bridge(family)
    features = [processor.encode(p, t) for p, t in zip(prompts(), TARGETS, strict=True)]
    with torch.no_grad():
        out = model.embed(**processor.collate(features), padding_side=side)
    mask, labels, positions = out["attention_mask"], out["labels"], out["position_ids"]
    width = mask.shape[1]
    for row, f in enumerate(features):
        prefix = f["prefix_length"]
        n_enc = len(f["encoder_input_ids"])
        target = [t for t in f["labels"] if t != IGNORE_INDEX]
        suffix = len(f["input_ids"]) - prefix - len(target)
        # [<bos> (+ LM text before), begin, encoder tokens, end, (LM text after,) response]: one 1 per vector.
        expected = prefix + 1 + n_enc + 1 + suffix + len(target)
        assert int(mask[row].sum()) == expected
        # The released code's mask counted one boundary vector only: it would be one short.
        assert expected == (prefix + 1 + n_enc + suffix + len(target)) + 1
        real = mask[row].bool()
        start = 0 if side == "right" else width - expected
        assert real[start : start + expected].all() and int(real.sum()) == expected  # one contiguous block
        assert positions[row][real].tolist() == list(range(expected))  # positions from the mask: 0..n-1
        row_labels = labels[row][real].tolist()
        first = prefix + 1 + n_enc + 1 + suffix  # the first response token follows `end` (+ text after)
        assert row_labels[:first] == [IGNORE_INDEX] * first
        assert row_labels[first:] == target
        assert (labels[row][~real] == IGNORE_INDEX).all()
    if family == "replace":
        assert all(f["prefix_length"] == 1 for f in features)  # Llama's <s> and nothing else before `begin`


@pytest.mark.parametrize("family", ["replace", "insert"])
@pytest.mark.parametrize("side", ["left", "right"])
def test_padded_batch_gives_each_row_its_unpadded_logits(family, side):
    """The functional test of masks and positions: padding (on either side) changes nothing for any row."""
    model, processor = bridge(family)
    features = [processor.encode(p, t) for p, t in zip(prompts(), TARGETS, strict=True)]
    with torch.no_grad():
        batch = model.embed(**processor.collate(features), padding_side=side)
        labels = batch.pop("labels")
        logits = model.lm(**batch).logits
        for row, f in enumerate(features):
            alone = model.embed(**processor.collate([f]), padding_side=side)
            alone.pop("labels")
            expected = model.lm(**alone).logits[0]
            real = batch["attention_mask"][row].bool()
            assert torch.allclose(logits[row][real], expected, atol=1e-5), f"row {row}"
    assert labels.shape == logits.shape[:2]


def left_pad(t: torch.Tensor, mask: torch.Tensor, pad: int) -> torch.Tensor:
    """Move each row's kept entries to the right end of the row (left padding)."""
    width = t.shape[1]
    return torch.stack(
        [
            torch.cat([r.new_full((width - int(m.sum()),), pad), r[m.bool()]])
            for r, m in zip(t, mask, strict=True)
        ]
    )


def test_inputs_padded_on_the_left_assemble_like_right_padded_ones():
    model, processor = bridge("insert")
    right = batch_of(processor)
    text, enc = right["attention_mask"], right["encoder_attention_mask"]
    left = {
        "input_ids": left_pad(right["input_ids"], text, processor.lm_tokenizer.pad_token_id),
        "attention_mask": left_pad(text, text, 0),
        "labels": left_pad(right["labels"], text, IGNORE_INDEX),
        "prefix_lengths": right["prefix_lengths"],
        "encoder_input_ids": left_pad(
            right["encoder_input_ids"], enc, processor.encoder_tokenizer.pad_token_id
        ),
        "encoder_attention_mask": left_pad(enc, enc, 0),
    }
    assert not torch.equal(left["attention_mask"], text)  # the rows really differ in length
    with torch.no_grad():
        a, b = model.embed(**right), model.embed(**left)
    for key in a:
        assert torch.allclose(a[key].float(), b[key].float(), atol=1e-5), key


def test_boundaries_and_soft_tokens_reach_the_response():
    model, processor = bridge()
    batch = batch_of(processor)
    with torch.no_grad():
        base = model(**batch).logits
        saved = model.alignment.end.clone()
        try:
            model.alignment.end.add_(1.0)
            moved = model(**batch).logits
        finally:
            model.alignment.end.copy_(saved)
    assert not torch.allclose(base, moved)


def test_encoder_text_changes_the_lm_output_but_lm_text_is_not_read_in_replace():
    model, processor = bridge()
    a = processor.collate([processor.encode(METAMATH.format(q="What is 2 + 3?"))])
    b = processor.collate([processor.encode(METAMATH.format(q="What is 7 + 9?"))])
    assert a["input_ids"].tolist() == b["input_ids"].tolist() == [processor.lm_prefix]  # the LM sees only <s>
    with torch.no_grad():
        assert not torch.allclose(model(**a).logits, model(**b).logits)


def test_insert_splits_the_prompt_by_the_pattern():
    _, processor = bridge("insert")
    before, encoder_text, after = processor.split(prompts()[1])
    assert encoder_text == "Question: What is 2 + 3?"
    assert before.endswith("### Instruction:\n") and after.startswith("\n\n### Response")
    f = processor.encode(prompts()[1])
    tok = processor.lm_tokenizer
    assert (
        f["input_ids"][: f["prefix_length"]]
        == processor.lm_prefix + tok(before, add_special_tokens=False)["input_ids"]
    )
    assert f["input_ids"][f["prefix_length"] :] == tok(after, add_special_tokens=False)["input_ids"]
    assert f["encoder_input_ids"] == processor.encoder_tokenizer(encoder_text)["input_ids"]
    with pytest.raises(CrossliftError, match="does not match the bridge's encoder_pattern"):
        processor.encode("no instruction section here")


def test_qwen2_lm_gets_no_bos_and_xlmr_encoder_works():
    model, processor = bridge(encoder="tiny:xlmr", lm="tiny:qwen2")
    f = processor.encode(prompts()[0], TARGETS[0])
    assert f["prefix_length"] == 0 and processor.lm_prefix == []
    assert f["input_ids"][-1] == processor.lm_tokenizer.eos_token_id  # the target ends with <|im_end|>
    with torch.no_grad():
        out = model(**processor.collate([f]))
    assert torch.isfinite(out.loss)


@pytest.mark.parametrize(
    "options, message",
    [
        ({"family": "insert"}, "needs encoder_pattern"),
        ({"family": "insert", "encoder_pattern": "no group"}, "has no group"),
        ({"family": "insert", "encoder_pattern": "(unclosed"}, "not a valid regular expression"),
        ({"encoder_pattern": "(x)"}, "does not apply to the replace family"),
        ({"alignment": "mlp"}, "alignment: Input should be 'linear' or 'ffn'"),
        ({"family": "bridge"}, "family: Input should be 'replace', 'insert', 'augment' or 'fusion'"),
        ({"fusion_lm_layers": [0]}, "apply to the fusion family only"),
        ({"encoder_layer": 7}, "encoder_layer must be -1 or in 0..2"),
        ({"family": "fusion", "fusion_encoder_layers": [5]}, r"fusion_encoder_layers \[5\] do not exist"),
        ({"family": "fusion", "fusion_lm_layers": [4]}, r"fusion_lm_layers \[4\] do not exist"),
    ],
)
def test_inconsistent_options_are_refused(options, message):
    with pytest.raises(ConfigError, match=message):
        build_bridge("tiny:mt5-encoder", "tiny:llama", dtype="float32", **options)


def test_encoder_layer_selects_that_hidden_state():
    model, processor = bridge()
    batch = batch_of(processor, with_targets=False)
    enc_ids, enc_mask = batch["encoder_input_ids"], batch["encoder_attention_mask"]
    with torch.no_grad():
        hidden = model.encoder(
            input_ids=enc_ids, attention_mask=enc_mask, output_hidden_states=True
        ).hidden_states
        last, _, _ = model.encode(enc_ids, enc_mask)
        model.config.update_options(encoder_layer=1)
        try:
            first_layer, _, _ = model.encode(enc_ids, enc_mask)
        finally:
            model.config.update_options(encoder_layer=-1)
        assert torch.equal(first_layer, model.alignment(hidden[1])[0])
        assert not torch.allclose(first_layer, last)


def test_frozen_encoder_stays_in_eval_mode_and_trainable_parts_are_chosen():
    model, _ = bridge()
    try:
        model.set_trainable(alignment=True, lm=False, encoder_embeddings=True)
        model.train()
        assert not model.encoder.training and not model.lm.training and model.alignment.training
        trainable = {n for n, p in model.named_parameters() if p.requires_grad}
        assert trainable == {n for n, _ in model.alignment.named_parameters(prefix="alignment")} | {
            "encoder.shared.weight"
        }
    finally:
        model.requires_grad_(True)
        model.eval()


# ------------------------------------------------------------------------------------------------ alignment layer


def test_linear_alignment_has_only_an_end_vector():
    layer = AlignmentLayer("linear", 8, 16, begin=False, end=True)
    projected, begin, end = layer(torch.randn(2, 5, 8))
    assert projected.shape == (2, 5, 16) and begin.shape == (0, 16) and end.shape == (1, 16)
    assert [n for n, _ in layer.named_parameters()] == ["end", "proj.weight", "proj.bias"]


# ------------------------------------------------------------------------------------------------ save, load


def save(model: BridgeModel, processor: BridgeProcessor, path) -> None:
    save_final(model, processor.tokenizers(), path)


@pytest.mark.parametrize("family", ["replace", "insert"])
def test_save_then_load_gives_bit_identical_logits(tmp_path, family):
    model, processor = bridge(family)
    save(model, processor, tmp_path / "bridge")
    files = {p.name for p in (tmp_path / "bridge").iterdir()}
    assert {"config.json", "model.safetensors", "encoder_tokenizer", "tokenizer.json"} <= files
    assert not any(name.endswith((".bin", ".pt")) for name in files)
    config = json.loads((tmp_path / "bridge" / "config.json").read_text())
    assert config["model_type"] == "lingualift_bridge" and config["bridge"]["family"] == family
    assert config["encoder_config"]["model_type"] == "mt5" and config["lm_config"]["model_type"] == "llama"
    assert config["lm_name_or_path"] == "tiny:llama"

    loaded, loaded_processor = load_bridge(tmp_path / "bridge")
    assert loaded.config.options == model.config.options
    for p, t in zip(prompts(), TARGETS, strict=True):
        assert loaded_processor.encode(p, t) == processor.encode(p, t)  # both tokenizers round-trip
    batch = batch_of(processor)
    with torch.no_grad():
        assert torch.equal(model(**batch).logits, loaded(**batch).logits)
    weights = load_file(tmp_path / "bridge" / "model.safetensors")
    assert any(k.startswith("alignment.") for k in weights) and any(k.startswith("encoder.") for k in weights)


def test_half_precision_load_keeps_the_alignment_layer_in_float32(tmp_path):
    model, processor = bridge()
    save(model, processor, tmp_path / "bridge")
    loaded, _ = load_bridge(tmp_path / "bridge", dtype="bfloat16")
    assert loaded.lm.dtype == torch.bfloat16
    assert {p.dtype for p in loaded.alignment.parameters()} == {torch.float32}
    with torch.no_grad():
        out = loaded(**batch_of(processor))
    assert out.logits.dtype == torch.bfloat16 and torch.isfinite(out.loss)


def test_load_errors_are_clear(tmp_path):
    with pytest.raises(CrossliftError, match="not a model directory"):
        load_bridge(tmp_path)
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "lingualift_bridge"}))
    with pytest.raises(CrossliftError, match="no safetensors weights"):
        load_bridge(tmp_path)


def test_bridge_config_round_trips(tmp_path):
    model, _ = bridge("insert")
    model.config.save_pretrained(tmp_path)
    again = BridgeConfig.from_pretrained(tmp_path)
    assert (
        again.options.encoder_pattern == INSTRUCTION
        and again.lm_config.hidden_size == model.config.lm_config.hidden_size
    )


def test_a_bridge_saved_with_flat_options_loads_with_the_same_options(tmp_path):
    """Bridges saved before the options were one `bridge` section carry them as flat keys (`variant` the family)."""
    model, _ = bridge("insert")
    model.config.save_pretrained(tmp_path)
    saved = json.loads((tmp_path / "config.json").read_text())
    flat = saved.pop("bridge")
    flat["variant"] = flat.pop("family")
    for key in ("activation", "fusion_encoder_layers", "fusion_lm_layers", "fusion_structure"):
        del flat[key]
    (tmp_path / "config.json").write_text(json.dumps(saved | flat))
    assert BridgeConfig.from_pretrained(tmp_path).options == model.config.options


# ------------------------------------------------------------------------------------------------ generation


@pytest.fixture(scope="module")
def saved_bridge(tmp_path_factory):
    path = tmp_path_factory.mktemp("bridge") / "model"
    save(*bridge(), path)
    return path


def test_batched_greedy_generation_equals_one_by_one(saved_bridge):
    generator = load_generator(str(saved_bridge), device="cpu", attn_implementation=None, base_model=None)
    assert isinstance(generator, BridgeGenerator) and generator.model_id == str(saved_bridge)
    many = prompts() + [METAMATH.format(q=q) for q in ("One?", "Two plus two, times three, minus one?")]
    settings = GenerationSettings(max_new_tokens=12, min_new_tokens=12, batch_size=3)
    batched = generator.generate(many, settings)
    single = [generator.generate([p], settings)[0] for p in many]
    assert batched == single
    assert all(text for text in batched) and generator.tokens_generated > 0


def test_sampling_is_seeded_and_stop_strings_cut(saved_bridge):
    generator = BridgeGenerator.from_pretrained(str(saved_bridge), device="cpu")
    sample = GenerationSettings(max_new_tokens=10, min_new_tokens=10, do_sample=True, temperature=1.5, seed=3)
    assert generator.generate(prompts(), sample) == generator.generate(prompts(), sample)
    greedy = GenerationSettings(max_new_tokens=10, min_new_tokens=10)
    full = generator.generate(prompts()[:1], greedy)[0]
    stop = full.strip()[:2]
    cut = generator.generate(
        prompts()[:1], GenerationSettings(max_new_tokens=10, min_new_tokens=10, stop=[stop])
    )[0]
    assert stop not in cut and full.startswith(cut)


def test_base_model_option_is_refused_for_a_bridge(saved_bridge):
    with pytest.raises(ConfigError, match="base_model applies to LoRA adapter"):
        BridgeGenerator.from_pretrained(str(saved_bridge), base_model="tiny:llama")


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_on_a_gpu_batched_generation_matches_and_half_precision_runs(saved_bridge):
    settings = GenerationSettings(max_new_tokens=12, min_new_tokens=12, batch_size=3)
    generator = BridgeGenerator.from_pretrained(str(saved_bridge), device="cuda", dtype="float32")
    assert generator.generate(prompts(), settings) == [
        generator.generate([p], settings)[0] for p in prompts()
    ]
    half = BridgeGenerator.from_pretrained(str(saved_bridge), device="cuda", dtype="bfloat16")
    assert (
        half.model.lm.dtype == torch.bfloat16
        and half.model.alignment.output_layer.weight.dtype == torch.float32
    )
    assert len(half.generate(prompts(), settings)) == 3
