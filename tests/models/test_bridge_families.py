"""The augment (MindMerger) and fusion (LayAlign) families on the tiny models: what the LM reads, shapes,
padding, the fusion's zero gates and its encoder mask, options, and save -> load; replace and insert are in
test_bridge.py."""

from __future__ import annotations

import functools
import json

import pytest
import torch

from crosslift.errors import ConfigError, CrossliftError
from crosslift.models.bridge import FAMILIES, BridgeOptions
from crosslift.models.build import build_bridge, load_bridge
from crosslift.models.generate import load_generator
from crosslift.models.generation import GenerationSettings
from crosslift.models.labels import IGNORE_INDEX
from crosslift.train.common import save_final

PROMPT = (
    "Below is an instruction that describes a task. Write a response that appropriately completes the request.\n\n"
    "### Instruction:\nQuestion: {q}\n\n### Response: Let's think step by step."
)
PATTERN = r"### Instruction:\n(.*?)\n\n### Response"
QUESTIONS = [
    "Tom has 3 apples and buys 5 more. How many?",
    "What is 2 + 3?",
    "A farmer has 12 cows and sells 4.",
]
TARGETS = ["3 + 5 = 8.", "2 + 3 = 5.", "12 - 4 = 8 cows."]


@functools.cache
def bridge(family: str, pattern: str | None = PATTERN):
    torch.manual_seed(0)
    model, processor = build_bridge(
        "tiny:mt5-encoder",
        "tiny:llama",
        dtype="float32",
        family=family,
        encoder_pattern=pattern,
        activation="relu",
        begin_boundary=False,
    )
    model.alignment.reset_parameters(boundary_std=0.02)
    return model, processor


def prompts() -> list[str]:
    return [PROMPT.format(q=q) for q in QUESTIONS]


def batch(processor, with_targets: bool = True, **encode) -> dict[str, torch.Tensor]:
    targets = TARGETS if with_targets else [None] * len(QUESTIONS)
    return processor.collate(
        [processor.encode(p, t, **encode) for p, t in zip(prompts(), targets, strict=True)]
    )


def with_gates(model, value: float):
    """Set every fusion gate (a context: restores zero)."""

    class Gates:
        def __enter__(self):
            with torch.no_grad():
                for gate in model.fusion.gates:
                    gate.gate.fill_(value)

        def __exit__(self, *exc):
            with torch.no_grad():
                for gate in model.fusion.gates:
                    gate.gate.zero_()

    return Gates()


# ---------------------------------------------------------------------------------------------------- what the LM reads


@pytest.mark.parametrize("family", ["augment", "fusion"])
def test_the_lm_reads_the_soft_tokens_then_the_whole_prompt_as_its_own_tokens(family):
    model, processor = bridge(family)
    tok = processor.lm_tokenizer
    before, encoder_text, after = processor.split(prompts()[0])
    assert encoder_text == f"Question: {QUESTIONS[0]}" and before == "" and after == prompts()[0]
    f = processor.encode(prompts()[0], TARGETS[0])
    prompt_ids = tok(prompts()[0], add_special_tokens=False)["input_ids"]
    assert f["input_ids"][: f["prefix_length"]] == processor.lm_prefix  # <s>, then the soft tokens
    assert f["input_ids"][f["prefix_length"] : f["prefix_length"] + len(prompt_ids)] == prompt_ids
    assert f["encoder_input_ids"] == processor.encoder_tokenizer(encoder_text)["input_ids"]
    # The assembled LM input: <s>, soft tokens of the question, the end boundary, the prompt's own token
    # embeddings, the response; the loss only on the response.
    with torch.no_grad():
        out = model.embed(**processor.collate([f]))
        tokens = model.lm.get_input_embeddings()(torch.tensor([f["input_ids"]]))[0]
        soft, _, end = model.encode(
            torch.tensor([f["encoder_input_ids"]]),
            torch.ones(1, len(f["encoder_input_ids"]), dtype=torch.long),
        )
    row, n_enc = out["inputs_embeds"][0], len(f["encoder_input_ids"])
    assert torch.equal(row[0], tokens[0])
    assert torch.allclose(row[1 : 1 + n_enc], soft[0]) and torch.allclose(row[1 + n_enc], end[0])
    assert torch.equal(row[2 + n_enc : 2 + n_enc + len(prompt_ids)], tokens[1 : 1 + len(prompt_ids)])
    labels = out["labels"][0].tolist()
    first = 2 + n_enc + len(prompt_ids)
    assert labels[:first] == [IGNORE_INDEX] * first and IGNORE_INDEX not in labels[first:]


def test_without_a_pattern_the_encoder_reads_the_whole_prompt_too():
    _, processor = bridge("augment", None)
    assert processor.split(prompts()[1]) == ("", prompts()[1], prompts()[1])


@pytest.mark.parametrize("family", ["augment", "fusion"])
def test_a_stage_may_keep_the_prompt_from_the_lm(family):
    model, processor = bridge(family)
    f = processor.encode(prompts()[0], TARGETS[0], lm_reads_prompt=False)
    target = [t for t in f["labels"] if t != IGNORE_INDEX]
    assert f["input_ids"] == processor.lm_prefix + target  # <s>, (soft tokens), the response
    _, replace = bridge("replace", None)
    with pytest.raises(ConfigError, match="applies to the augment and fusion families"):
        replace.encode(prompts()[0], TARGETS[0], lm_reads_prompt=False)


@pytest.mark.parametrize("family", ["augment", "fusion"])
@pytest.mark.parametrize("side", ["left", "right"])
def test_padding_changes_nothing_for_any_row(family, side):
    """Rows of different lengths (LM and encoder side) give the logits they give alone; for fusion this is the test
    of the cross-attention's encoder mask."""
    model, processor = bridge(family)
    features = [processor.encode(p, t) for p, t in zip(prompts(), TARGETS, strict=True)]
    with torch.no_grad(), with_gates(model, 0.7) if family == "fusion" else torch.no_grad():
        together = model.embed(**processor.collate(features), padding_side=side)
        together.pop("labels")
        logits = model.lm(**together).logits
        for row, f in enumerate(features):
            alone = model.embed(**processor.collate([f]), padding_side=side)
            alone.pop("labels")
            expected = model.lm(**alone).logits[0]
            real = together["attention_mask"][row].bool()
            assert torch.allclose(logits[row][real], expected, atol=1e-5), f"row {row}"


# ---------------------------------------------------------------------------------------------------- the fusion


def test_untrained_fusion_leaves_the_lm_exactly_as_it_was():
    model, processor = bridge("fusion")
    assert all(gate.gate.item() == 0.0 for gate in model.fusion.gates)
    with torch.no_grad():
        inputs = model.embed(**batch(processor))  # hands this batch's encoder states to the fusion
        inputs.pop("labels")
        fused = model.lm(**inputs).logits
        model.fusion.clear()
        plain = model.lm(**inputs).logits
        assert torch.equal(fused, plain)
        # ... and an open gate does change it: the hooks are in place
        with with_gates(model, 1.0):
            model.embed(**batch(processor))
            assert not torch.allclose(model.lm(**inputs).logits, plain)


def test_fusion_shapes_and_parameters():
    model, processor = bridge("fusion")
    lm_layers, encoder_layers = model.lm.config.num_hidden_layers, model.encoder.config.num_layers
    assert model.fusion_encoder_layers() == list(range(encoder_layers))  # as released: 0..E-1
    assert len(model.fusion.gates) == lm_layers
    b = batch(processor)
    with torch.no_grad():
        out = model.encoder(
            input_ids=b["encoder_input_ids"],
            attention_mask=b["encoder_attention_mask"],
            output_hidden_states=True,
        )
        states = model.fusion([out.hidden_states[i] for i in model.fusion_encoder_layers()])
    d_lm = model.lm.config.hidden_size
    assert states.shape == (3, b["encoder_input_ids"].shape[1], 2 * lm_layers, d_lm)
    assert model.fusion.mix.weight.shape == (2 * lm_layers, encoder_layers)
    with torch.no_grad():
        logits = model(**b).logits
    assert logits.shape[:2] == model.embed(**b)["attention_mask"].shape


def test_the_fusion_refuses_a_batch_that_is_not_its_own():
    model, processor = bridge("fusion")
    with torch.no_grad():
        model.embed(**batch(processor))
        inputs = model.embed(**processor.collate([processor.encode(prompts()[0])]))
        model.embed(**batch(processor))  # three rows of encoder states, for a one-row LM batch below
        with pytest.raises(CrossliftError, match="batch of 1 rows but the fusion holds encoder states of 3"):
            model.lm(**inputs)
    model.fusion.clear()


def test_fusion_and_packing_do_not_combine():
    model, processor = bridge("fusion")
    with pytest.raises(ConfigError, match="packing"):
        model(**batch(processor), packed=True)


def test_fusion_layers_can_be_chosen():
    model, processor = build_bridge(
        "tiny:mt5-encoder",
        "tiny:llama",
        dtype="float32",
        family="fusion",
        fusion_encoder_layers=[-1, 1],
        fusion_lm_layers=[2, 3],
        fusion_structure="mlp",
    )
    assert model.fusion_encoder_layers() == [-1, 1] and model.fusion.lm_layers == [2, 3]
    assert model.fusion.mix.weight.shape == (4, 2) and len(model.fusion.gates) == 2
    with torch.no_grad():
        assert torch.isfinite(model(**batch(processor)).loss)


def test_fusion_on_qwen2_with_an_xlmr_encoder():
    """Another LM family (biased q/k/v projections, no BOS) and an encoder-only encoder."""
    model, processor = build_bridge("tiny:xlmr", "tiny:qwen2", dtype="float32", family="fusion")
    b = batch(processor)
    with torch.no_grad():
        inputs = model.embed(**b)
        inputs.pop("labels")
        fused = model.lm(**inputs).logits
        model.fusion.clear()
        assert torch.equal(fused, model.lm(**inputs).logits)
        assert torch.isfinite(model(**b).loss)


def test_an_lm_without_attention_projections_is_refused_for_fusion(monkeypatch):
    from crosslift.models import fusion

    monkeypatch.setattr(fusion, "PROJECTIONS", ("q_proj", "k_proj", "v_proj", "out_proj"))
    with pytest.raises(
        ConfigError, match="one attention module with q_proj, k_proj, v_proj, out_proj per layer"
    ):
        build_bridge("tiny:mt5-encoder", "tiny:llama", dtype="float32", family="fusion")


# ---------------------------------------------------------------------------------------------------- options


def test_families_are_one_table_and_one_options_section():
    assert list(FAMILIES) == ["replace", "insert", "augment", "fusion"]
    assert BridgeOptions(family="fusion").begin_boundary is True  # ffn: a begin vector unless said otherwise
    assert BridgeOptions(alignment="linear").begin_boundary is False
    with pytest.raises(ValueError, match="`variant` is now `family`"):
        BridgeOptions.model_validate({"variant": "insert"})


# ---------------------------------------------------------------------------------------------------- save, load


@pytest.mark.parametrize("family", ["augment", "fusion"])
def test_save_then_load_gives_bit_identical_logits_and_generation(tmp_path, family):
    model, processor = bridge(family)
    with with_gates(model, 0.5) if family == "fusion" else torch.no_grad():
        save_final(model, processor.tokenizers(), tmp_path / "bridge")
        config = json.loads((tmp_path / "bridge" / "config.json").read_text())
        assert config["bridge"] == model.config.bridge and config["bridge"]["family"] == family
        assert (tmp_path / "bridge" / "encoder_tokenizer").is_dir() and (
            tmp_path / "bridge" / "tokenizer.json"
        ).is_file()
        loaded, loaded_processor = load_bridge(tmp_path / "bridge")
        for p, t in zip(prompts(), TARGETS, strict=True):
            assert loaded_processor.encode(p, t) == processor.encode(
                p, t
            )  # options and tokenizers round-trip
        b = batch(processor)
        with torch.no_grad():
            assert torch.equal(model(**b).logits, loaded(**b).logits)
        if family == "fusion":
            assert all(g.gate.item() == 0.5 for g in loaded.fusion.gates)
    generator = load_generator(str(tmp_path / "bridge"), device="cpu")
    settings = GenerationSettings(max_new_tokens=4)
    together = generator.generate(prompts(), settings)
    assert together == [generator.generate([p], settings)[0] for p in prompts()]  # batching changes nothing
    if family == "fusion":
        assert generator.model.fusion._states is None  # generation lets go of its encoder states
