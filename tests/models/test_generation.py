"""The generation interface: settings, stop strings, and the batching every local backend shares (input order,
longest first, halving a batch that runs out of GPU memory)."""

from __future__ import annotations

import logging

import pytest
import torch

from crosslift.errors import ConfigError
from crosslift.models.generation import GenerationSettings, answer_room, cut_at_stop, generate_in_batches


@pytest.mark.parametrize(
    "bad",
    [
        {"max_new_tokens": 0},
        {"batch_size": 0},
        {"do_sample": True, "temperature": 0},
        {"top_p": 0},
        {"stop": [""]},
        {"min_new_tokens": 9, "max_new_tokens": 8},
        {"repetition_penalty": 0},
    ],
)
def test_invalid_settings_are_config_errors(bad):
    with pytest.raises(ConfigError):
        GenerationSettings(**bad)


def test_settings_record_everything_they_decode_with():
    decoding = {"max_new_tokens", "max_length", "stop", "batch_size", "seed", "min_new_tokens"}
    sampling = {"do_sample", "temperature", "top_p", "repetition_penalty"}
    assert set(GenerationSettings().to_dict()) == decoding | sampling
    # the model's own decoding: what it decides is not recorded as ours (nor use_model_defaults when off)
    assert set(GenerationSettings(use_model_defaults=True).to_dict()) == decoding | {"use_model_defaults"}


def test_the_answers_room_under_max_length():
    assert answer_room(GenerationSettings(max_new_tokens=64), 4000) == 64  # no max_length: the room is fixed
    within = GenerationSettings(max_new_tokens=4096, max_length=4096)
    assert [answer_room(within, n) for n in (1, 96, 4095, 4096, 5000)] == [4095, 4000, 1, 0, 0]
    tighter = GenerationSettings(max_new_tokens=100, max_length=4096)  # both: the tighter applies
    assert [answer_room(tighter, n) for n in (96, 4000)] == [100, 96]
    with pytest.raises(ConfigError, match="max_length must be >= 2"):
        GenerationSettings(max_length=1)


@pytest.mark.parametrize(
    ("text", "stop", "expected"),
    [
        ("a Question: b", ["Question:"], "a "),
        ("abc", [], "abc"),
        ("x [END] y </s>", ["</s>", "[END]"], "x "),
        ("no stop", ["Q:"], "no stop"),
    ],
)
def test_cut_at_stop_takes_the_earliest(text, stop, expected):
    assert cut_at_stop(text, stop) == expected


def test_batches_run_longest_first_and_results_come_back_in_input_order():
    sizes = [3, 9, 1, 7, 5]
    batches = []

    def generate_batch(indices: list[int]) -> list[str]:
        batches.append(indices)
        return [f"text {i}" for i in indices]

    out = generate_in_batches(sizes, GenerationSettings(batch_size=2), generate_batch)
    assert out == [f"text {i}" for i in range(5)]
    assert batches == [[1, 3], [4, 0], [2]]
    assert generate_in_batches([], GenerationSettings(), generate_batch) == []


def test_a_batch_out_of_gpu_memory_is_retried_in_halves(caplog):
    batches = []

    def generate_batch(indices: list[int]) -> list[str]:
        batches.append(indices)
        if len(indices) > 1:
            raise torch.cuda.OutOfMemoryError("CUDA out of memory")
        return [f"text {i}" for i in indices]

    with caplog.at_level(logging.WARNING, logger="crosslift.models.generation"):
        out = generate_in_batches([4, 3, 2], GenerationSettings(batch_size=3), generate_batch)
    assert out == ["text 0", "text 1", "text 2"]
    assert batches == [[0, 1, 2], [0], [1, 2], [1], [2]]
    assert "out of GPU memory at batch size 3" in caplog.text


def test_a_single_prompt_out_of_gpu_memory_is_an_error():
    def generate_batch(indices: list[int]) -> list[str]:
        raise torch.cuda.OutOfMemoryError("CUDA out of memory")

    with pytest.raises(torch.cuda.OutOfMemoryError):
        generate_in_batches([4, 3], GenerationSettings(batch_size=2), generate_batch)
