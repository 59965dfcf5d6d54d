"""training.use_liger_kernel: passed to HF Trainer, refused clearly where it cannot work."""

from __future__ import annotations

import importlib.util

import pytest

from crosslift.config import TrainingConfig
from crosslift.errors import ConfigError
from crosslift.runs import RunDir
from crosslift.train.common import training_arguments


def test_liger_reaches_the_trainer_arguments(monkeypatch, tmp_path):
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: object() if name == "liger_kernel" else real(name, *a)
    )
    args = training_arguments(TrainingConfig(max_steps=2, use_liger_kernel=True), RunDir(tmp_path), seed=1)
    assert args.use_liger_kernel
    assert not training_arguments(TrainingConfig(max_steps=2), RunDir(tmp_path), seed=1).use_liger_kernel


def test_liger_without_the_package_says_how_to_install_it(monkeypatch, tmp_path):
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "liger_kernel" else real(name, *a)
    )
    with pytest.raises(ConfigError, match=r"pip install 'crosslift\[liger\]'"):
        training_arguments(TrainingConfig(max_steps=2, use_liger_kernel=True), RunDir(tmp_path), seed=1)


def test_liger_with_torch_compile_is_refused(tmp_path):
    with pytest.raises(ConfigError, match="cannot be combined"):
        training_arguments(
            TrainingConfig(max_steps=2, use_liger_kernel=True, torch_compile=True), RunDir(tmp_path), seed=1
        )
