"""configs/accelerate/: every launch config is one accelerate reads, and what it generates for the processes it
starts (environment -> DeepSpeed / FSDP plugin -> the Trainer's DeepSpeed config) is what the config promises.

DeepSpeed and FSDP cannot run on this CPU machine through accelerate (stack.md section 3b), so these tests stop at
the generated configuration; the runs themselves are for a GPU machine (README: Training on many GPUs).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch
from accelerate.commands.config.config_args import load_config_from_file
from accelerate.commands.launch import _validate_launch_command, launch_command_parser
from accelerate.utils import DeepSpeedPlugin, FullyShardedDataParallelPlugin
from accelerate.utils.fsdp_utils import fsdp2_prepare_auto_wrap_policy
from accelerate.utils.launch import (
    prepare_deepspeed_cmd_env,
    prepare_multi_gpu_env,
    prepare_simple_launcher_cmd_env,
)

from crosslift.config import TrainingConfig
from crosslift.errors import ConfigError
from crosslift.models.build import build_bridge
from crosslift.runs import RunDir
from crosslift.train.common import training_arguments

CONFIGS = Path(__file__).resolve().parents[2] / "src" / "crosslift" / "configs" / "accelerate"
EXPECTED = {
    # name: (distributed_type, processes, mixed precision)
    "single_gpu": ("NO", 1, "bf16"),
    "ddp": ("MULTI_GPU", 8, "bf16"),
    "ddp_cpu2": ("MULTI_GPU", 2, "no"),
    "deepspeed_zero2": ("DEEPSPEED", 8, "bf16"),
    "deepspeed_zero3": ("DEEPSPEED", 8, "bf16"),
    "deepspeed_zero3_offload": ("DEEPSPEED", 8, "bf16"),
    "fsdp2": ("FSDP", 8, "bf16"),
}


def launch_env(name: str) -> dict[str, str]:
    """The environment `accelerate launch --config_file <name>.yaml` gives each process it starts."""
    args = launch_command_parser().parse_args(
        ["--config_file", str(CONFIGS / f"{name}.yaml"), "-m", "crosslift", "x"]
    )
    args, defaults, mp_from_config = _validate_launch_command(args)
    if args.use_deepspeed:
        fields = list(defaults.deepspeed_config) + (["mixed_precision"] if mp_from_config else [])
        args.deepspeed_fields_from_accelerate_config = ",".join(fields)  # as launch_command sets it
        _, env = prepare_deepspeed_cmd_env(args)
    elif args.use_fsdp or args.multi_gpu:
        env = prepare_multi_gpu_env(args)
    else:
        _, env = prepare_simple_launcher_cmd_env(args)
    return {k: v for k, v in env.items() if k.startswith(("ACCELERATE_", "FSDP_"))}


@pytest.fixture
def launched(monkeypatch):
    """Apply a config's launch environment to this process (as the started processes see it)."""

    def apply(name: str) -> dict[str, str]:
        for key in [k for k in os.environ if k.startswith(("ACCELERATE_", "FSDP_"))]:
            monkeypatch.delenv(key)
        env = launch_env(name)
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        return env

    return apply


def test_every_config_is_listed():
    assert sorted(p.stem for p in CONFIGS.glob("*.yaml")) == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_accelerate_reads_the_config(name):
    config = load_config_from_file(str(CONFIGS / f"{name}.yaml"))  # unknown keys would raise
    distributed_type, processes, precision = EXPECTED[name]
    assert str(config.distributed_type.value) == distributed_type
    assert config.num_processes == processes and str(config.mixed_precision) == precision


def test_ddp_cpu2_starts_two_cpu_processes_over_the_multi_process_launcher():
    args = launch_command_parser().parse_args(
        ["--config_file", str(CONFIGS / "ddp_cpu2.yaml"), "-m", "crosslift"]
    )
    args, _, _ = _validate_launch_command(args)
    # --multi_gpu selects torchrun (two processes, gloo on a CPU machine); --cpu would start one process only
    assert args.multi_gpu and not args.cpu and args.num_processes == 2
    assert launch_env("ddp_cpu2")["ACCELERATE_MIXED_PRECISION"] == "no"


@pytest.mark.parametrize(
    "name, stage, offload, gather_on_save",
    [
        ("deepspeed_zero2", 2, "none", False),
        ("deepspeed_zero3", 3, "none", True),
        ("deepspeed_zero3_offload", 3, "cpu", True),
    ],
)
def test_deepspeed_configs_generate_the_zero_setting(launched, name, stage, offload, gather_on_save):
    env = launched(name)
    assert env["ACCELERATE_USE_DEEPSPEED"] == "true"
    # models load whole on every process first, so the bridge is built and frozen on real weights
    assert env["ACCELERATE_DEEPSPEED_ZERO3_INIT"] == "false"
    ds = DeepSpeedPlugin().deepspeed_config
    zero = ds["zero_optimization"]
    assert zero["stage"] == stage
    assert zero["offload_optimizer"]["device"] == offload and zero["offload_param"]["device"] == offload
    # ZeRO-3: the final save gathers the full weights (save_final writes them as safetensors on rank 0)
    assert zero["stage3_gather_16bit_weights_on_model_save"] is gather_on_save
    # batch sizes, accumulation and clipping are left to the Trainer, i.e. to the run config
    for key in (
        "train_batch_size",
        "train_micro_batch_size_per_gpu",
        "gradient_accumulation_steps",
        "gradient_clipping",
    ):
        assert ds[key] == "auto"


def test_deepspeed_auto_values_come_from_the_run_config(launched, tmp_path):
    pytest.importorskip(
        "deepspeed", reason="the deepspeed extra is not installed (pip install -e '.[deepspeed]')"
    )
    launched("deepspeed_zero3")
    cfg = TrainingConfig(batch_size=4, grad_accum=8, max_grad_norm=0.5, learning_rate=3e-5, max_steps=10)
    args = training_arguments(cfg, RunDir(tmp_path), seed=1)
    assert args.deepspeed_plugin is not None and args.mixed_precision == "bf16"  # from the launch config
    from transformers.integrations.deepspeed import HfTrainerDeepSpeedConfig

    hf = HfTrainerDeepSpeedConfig(args.deepspeed_plugin.deepspeed_config)
    hf.trainer_config_process(args)
    ds = hf.config
    assert ds["train_micro_batch_size_per_gpu"] == 4 and ds["gradient_accumulation_steps"] == 8
    assert ds["train_batch_size"] == 4 * 8 * args.world_size and ds["gradient_clipping"] == 0.5
    assert ds["zero_optimization"]["stage"] == 3


def test_fsdp2_config_shards_every_block_of_the_bridge(launched):
    env = launched("fsdp2")
    assert env["ACCELERATE_USE_FSDP"] == "true" and env["FSDP_VERSION"] == "2"
    assert env["FSDP_AUTO_WRAP_POLICY"] == "TRANSFORMER_BASED_WRAP"
    plugin = FullyShardedDataParallelPlugin()
    assert plugin.fsdp_version == 2 and "SHARDED_STATE_DICT" in str(plugin.state_dict_type)

    torch.manual_seed(0)
    bridge, _ = build_bridge("tiny:mt5-encoder", "tiny:llama", dtype="float32")
    # the bridge declares its parts' transformer blocks (transformers collects them from the sub-models), so the
    # transformer-based policy wraps the encoder's and the LM's blocks; the small alignment layer (float32 master
    # weights, trainable in stage 1) stays in the root unit with the embeddings, whose tied copy it shares
    policy = fsdp2_prepare_auto_wrap_policy(plugin, bridge)
    wrapped = {type(m).__name__ for m in bridge.modules() if policy(m)}
    assert wrapped == {"LlamaDecoderLayer", "MT5Block"}
    assert sum(policy(m) for m in bridge.modules()) == len(bridge.lm.model.layers) + len(
        bridge.encoder.encoder.block
    )
    assert not any(policy(m) for m in bridge.alignment.modules())


def test_a_deepspeed_json_and_a_deepspeed_launch_config_conflict(launched, tmp_path):
    launched("deepspeed_zero3")
    cfg = TrainingConfig(deepspeed="configs/lingualift/ds_zero3.json")
    with pytest.raises(ConfigError, match="training.deepspeed=null"):
        training_arguments(cfg, RunDir(tmp_path), seed=1)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_precision_auto_follows_the_launch_config(launched, tmp_path, name):
    # DeepSpeed refuses TrainingArguments whose bf16 disagrees with the launch config (seen on a GPU machine before
    # training.precision had `auto`): the default must take the launch config's mixed precision.
    if name.startswith("deepspeed"):
        pytest.importorskip(
            "deepspeed", reason="the deepspeed extra is not installed (pip install -e '.[deepspeed]')"
        )
    launched(name)
    args = training_arguments(TrainingConfig(max_steps=2), RunDir(tmp_path), seed=1)
    precision = EXPECTED[name][2]
    assert (args.bf16, args.fp16) == (precision == "bf16", precision == "fp16")


def test_precision_auto_is_fp32_without_a_launcher(monkeypatch, tmp_path):
    monkeypatch.delenv("ACCELERATE_MIXED_PRECISION", raising=False)
    args = training_arguments(TrainingConfig(max_steps=2), RunDir(tmp_path), seed=1)
    assert not args.bf16 and not args.fp16


def test_explicit_precision_that_disagrees_with_the_launch_config_is_a_config_error(launched, tmp_path):
    launched("fsdp2")
    with pytest.raises(ConfigError, match=r"training.precision: fp32.*mixed_precision: bf16"):
        training_arguments(TrainingConfig(max_steps=2, precision="fp32"), RunDir(tmp_path), seed=1)
    args = training_arguments(TrainingConfig(max_steps=2, precision="bf16"), RunDir(tmp_path), seed=1)
    assert args.bf16
