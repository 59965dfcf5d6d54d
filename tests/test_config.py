from pathlib import Path

import pytest

from crosslift.config import LoraConfig, load_config, parse_override
from crosslift.errors import ConfigError
from crosslift.train.sft import SFTConfig

GOOD = """\
recipe: sft
name: t
output_dir: runs/t
model:
  name_or_path: tiny:llama
data:
  train:
    - path: data.jsonl
training:
  learning_rate: 1.0e-3
  max_steps: 5
"""


def write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "c.yaml"
    p.write_text(text)
    return p


def test_valid_config_and_defaults(tmp_path):
    cfg = load_config(SFTConfig, write(tmp_path, GOOD))
    assert cfg.training.learning_rate == 1e-3
    assert cfg.training.batch_size == 8
    assert cfg.model.trust_remote_code is False
    assert cfg.lora is None


def test_overrides_are_typed_and_nested(tmp_path):
    cfg = load_config(
        SFTConfig,
        write(tmp_path, GOOD),
        ["training.max_steps=7", "data.train.0.limit=3", "lora.r=4", "training.precision=bf16"],
    )
    assert cfg.training.max_steps == 7 and isinstance(cfg.training.max_steps, int)
    assert cfg.data.train[0].limit == 3
    assert isinstance(cfg.lora, LoraConfig) and cfg.lora.r == 4


def test_unknown_key_names_file_line_and_suggests(tmp_path):
    text = GOOD.replace("  max_steps: 5", "  max_step: 5")
    with pytest.raises(ConfigError) as e:
        load_config(SFTConfig, write(tmp_path, text))
    msg = str(e.value)
    assert "c.yaml, line 11" in msg
    assert "unknown key 'training.max_step'" in msg
    assert "did you mean 'training.max_steps'" in msg


def test_wrong_type_names_key_value_and_expectation(tmp_path):
    with pytest.raises(ConfigError) as e:
        load_config(SFTConfig, write(tmp_path, GOOD), ["training.learning_rate=fast"])
    msg = str(e.value)
    assert "command-line override" in msg
    assert "training.learning_rate" in msg and "'fast'" in msg and "number" in msg


def test_out_of_range_and_bad_choice(tmp_path):
    with pytest.raises(ConfigError) as e:
        load_config(SFTConfig, write(tmp_path, GOOD), ["training.batch_size=0", "training.precision=fp8"])
    msg = str(e.value)
    assert "training.batch_size" in msg and "greater than 0" in msg
    assert "training.precision" in msg and "'fp8'" in msg and "bf16" in msg


def test_missing_key(tmp_path):
    with pytest.raises(ConfigError, match="missing required key 'model'"):
        load_config(SFTConfig, write(tmp_path, GOOD.replace("model:\n  name_or_path: tiny:llama\n", "")))


def test_missing_file_and_invalid_yaml(tmp_path):
    with pytest.raises(ConfigError, match="config file not found"):
        load_config(SFTConfig, tmp_path / "nope.yaml")
    with pytest.raises(ConfigError, match=r"line 2: not valid YAML"):
        load_config(SFTConfig, write(tmp_path, "recipe: sft\nname: a: b\n"))


def test_override_syntax():
    assert parse_override("a.b=[1, 2]") == (["a", "b"], [1, 2])
    assert parse_override("a=null") == (["a"], None)
    assert parse_override("a=### Response:") == (["a"], "### Response:")
    assert parse_override("a=[unclosed") == (["a"], "[unclosed")
    with pytest.raises(ConfigError, match="key.sub=value"):
        parse_override("novalue")


def test_override_into_a_missing_list_index(tmp_path):
    with pytest.raises(ConfigError, match="not an index"):
        load_config(SFTConfig, write(tmp_path, GOOD), ["data.train.3.limit=1"])


def test_bundled_training_configs_validate():
    from crosslift.train import load_run_config

    root = Path(__file__).resolve().parents[1] / "configs"
    # eval/ holds evaluation configs, accelerate/ launch configs (tests/train/test_launch_configs.py)
    configs = sorted(p for p in root.rglob("*.yaml") if not {"eval", "accelerate"} & set(p.relative_to(root).parts))
    assert len(configs) >= 5, "bundled training configs missing"
    for path in configs:
        load_run_config(path)
