"""The pretraining recipe: documents -> packed blocks -> a trained causal LM, with located data errors."""

from __future__ import annotations

import json

import pytest

from crosslift.errors import DataError
from crosslift.models.build import load_tokenizer
from crosslift.train import train
from crosslift.train.pretrain import TextSourceConfig, pack_blocks, read_documents


def _corpus(path, n=60):
    path.write_text(
        "".join(
            json.dumps({"text": f"Tom has {i % 9} apples and Ana has {i % 7} pears."}) + "\n"
            for i in range(n)
        )
    )
    return path


def test_blocks_hold_every_token_but_the_remainder(tmp_path):
    tok = load_tokenizer("tiny:llama")
    docs = read_documents([TextSourceConfig(path=str(_corpus(tmp_path / "c.jsonl")))])
    blocks, stats = pack_blocks(docs, tok, 16)
    assert blocks.shape == (stats["blocks"], 16)
    assert stats["blocks"] * 16 + stats["dropped_tokens"] == stats["tokens"]
    assert blocks[0, 0].item() == tok.bos_token_id  # each document starts with BOS and ends with EOS
    assert tok.eos_token_id in blocks.flatten().tolist()


def test_a_record_without_text_names_file_line_and_field(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text('{"text": "fine"}\n{"body": "no text"}\n')
    with pytest.raises(DataError, match=r"bad.jsonl.*line 2.*text"):
        read_documents([TextSourceConfig(path=str(path))])


@pytest.mark.slow
def test_pretrain_recipe_lowers_the_loss(tmp_path):
    corpus = _corpus(tmp_path / "c.jsonl", n=200)
    config = tmp_path / "pretrain.yaml"
    config.write_text(f"""recipe: pretrain
name: p
output_dir: {tmp_path / "run"}
model: {{name_or_path: "tiny:llama", dtype: float32}}
data: {{train: [{{path: {corpus}}}], block_size: 32}}
training: {{max_steps: 30, batch_size: 8, learning_rate: 3.0e-3, logging_steps: 5, save_steps: 30}}
""")
    run = train(config)
    manifest = json.loads((run.path / "manifest.json").read_text())
    assert manifest["status"] == "completed" and manifest["recipe"] == "pretrain"
    losses = [loss for _, loss in manifest["training"]["loss_history"]]
    assert losses[-1] < losses[0] * 0.7
    assert (run.path / "model" / "model.safetensors").is_file()
