from pathlib import Path

import pytest
import yaml

from crosslift.config import (
    LoraConfig,
    bundled_configs,
    config_source,
    load_config,
    parse_override,
    read_yaml,
    resolve_config,
    validate_config,
)
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

    configs = list(bundled_configs("train").values())
    assert len(configs) >= 5, "bundled training configs missing"
    for path in configs:
        load_run_config(path)


def test_max_steps_is_at_least_one_or_unset(tmp_path):
    path = write(tmp_path, GOOD)
    assert load_config(SFTConfig, path, ["training.max_steps=null"]).training.max_steps is None
    unset = write(tmp_path, GOOD.replace("  max_steps: 5\n", ""))
    assert load_config(SFTConfig, unset).training.max_steps is None
    for value in ("-5", "0"):
        with pytest.raises(
            ConfigError,
            match=rf"{path}, line 11, key 'training.max_steps': got {value}; "
            r"expected: at least 1, or null \(unset\)",
        ):
            load_config(SFTConfig, write(tmp_path, GOOD.replace("max_steps: 5", f"max_steps: {value}")))


def test_no_number_is_nan_or_infinite_and_encodings_are_known(tmp_path):
    with pytest.raises(ConfigError) as e:
        load_config(
            SFTConfig,
            write(tmp_path, GOOD.replace("1.0e-3", ".inf")),
            ["lora.dropout=.nan", "data.train.0.encoding=utf-9"],
        )
    msg = str(e.value)
    assert "line 10, key 'training.learning_rate': got inf; expected: Input should be a finite" in msg
    assert "key 'lora.dropout': got nan" in msg and "unknown encoding 'utf-9'" in msg
    cfg = load_config(SFTConfig, write(tmp_path, GOOD), ["data.train.0.encoding=latin-1"])
    assert (cfg.data.train[0].encoding, cfg.data.train[0].coerce_types) == ("latin-1", False)


def test_read_yaml_is_strict_about_bytes_and_repeated_keys(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_bytes(b"\xef\xbb\xbfa: 1\nb:\n  c: 2\n  d: [3]\n")
    lines = {("a",): 1, ("b",): 2, ("b", "c"): 3, ("b", "d"): 4, ("b", "d", "0"): 4}
    assert read_yaml(path) == ({"a": 1, "b": {"c": 2, "d": [3]}}, lines)
    path.write_bytes(b"a: 1\nb:\n  c: 2\n  c: 3\n")
    with pytest.raises(ConfigError, match=r"c.yaml, line 4: key 'b.c' is given twice \(also at line 3\)"):
        read_yaml(path)
    path.write_bytes(b"a: 1\n# \xe9t\xe9\n")
    with pytest.raises(ConfigError, match=r"c.yaml, line 2: not valid UTF-8 \(byte 0xe9 at column 3\)"):
        read_yaml(path)
    path.write_bytes(b"base: &b {x: 1}\nuse:\n  <<: *b\n  <<: *b\n")  # YAML's merge key may repeat
    assert read_yaml(path)[0]["use"] == {"x": 1}


# ---------------------------------------------------------------------------------------------- bundled configs


def test_bundled_configs_by_kind():
    root = Path(__file__).resolve().parents[1] / "src" / "crosslift" / "configs"
    train = bundled_configs("train")
    assert train["sft_tiny"] == root / "sft_tiny.yaml"
    assert train["crossin/tiny"] == root / "crossin" / "tiny.yaml"
    # the other kinds' folders and the accelerate launch configs are not train configs
    assert not [name for name in train if name.split("/")[0] in ("eval", "demo", "world", "accelerate")]
    assert bundled_configs("eval")["mmwp_tiny"] == root / "eval" / "mmwp_tiny.yaml"
    assert list(bundled_configs("demo")) == ["default", "quick"]
    assert list(bundled_configs("world")) == ["default", "low_untranslated", "quick"]
    every_yaml = {p for p in root.rglob("*.yaml") if p.parent.name != "accelerate"}
    assert every_yaml == {
        p for kind in ("train", "eval", "demo", "world") for p in bundled_configs(kind).values()
    }


def test_no_bundled_config_reads_the_development_data_folder():
    """A user's clone has no ../shared beside it: every bundled config's data comes from what the package makes, the
    download cache or the hub (comments may cite ../shared/docs; no value may name it)."""

    def strings(value):
        if isinstance(value, dict):
            return [s for k, v in value.items() for s in [str(k), *strings(v)]]
        if isinstance(value, list):
            return [s for v in value for s in strings(v)]
        return [value] if isinstance(value, str) else []

    for kind in ("train", "eval", "demo", "world"):
        for name, path in bundled_configs(kind).items():
            values = strings(read_yaml(path)[0])
            assert not [v for v in values if "shared/" in v], f"{kind} config {name}"


def test_resolve_config_takes_a_path_as_given_else_a_bundled_name(tmp_path, monkeypatch):
    assert resolve_config("quick", "world") == bundled_configs("world")["quick"]
    assert resolve_config("crossin/tiny.yaml", "train") == bundled_configs("train")["crossin/tiny"]
    monkeypatch.chdir(tmp_path)
    (tmp_path / "quick").write_text("name: mine\n")
    assert resolve_config("quick", "world") == Path("quick")  # a file of that name wins
    path = write(tmp_path, GOOD)
    assert resolve_config(path, "train") == path
    with pytest.raises(
        ConfigError,
        match=r"config file not found: nope\.yaml is neither a bundled train config nor a file "
        r"\(bundled: crossin/paper_llama2_7b_lora, crossin/tiny, .*, sft_tiny\)",
    ):
        resolve_config("nope.yaml", "train")
    with pytest.raises(ConfigError, match=r"bundled: default, quick\)"):
        resolve_config("mmwp_tiny", "demo")  # a name of another kind is not found


def test_a_config_in_any_form_validates_alike_with_its_overrides(tmp_path, monkeypatch):
    """A path, a bundled name, a mapping and a config object (`crosslift.config.config_source`) give one config."""
    monkeypatch.chdir(tmp_path)
    path = write(tmp_path, GOOD)
    from_file = validate_config(SFTConfig, config_source(path, "train", ["lora.r=4"]))
    mapping = yaml.safe_load(GOOD)
    from_mapping = validate_config(SFTConfig, config_source(mapping, "train", ["lora.r=4"]))
    assert from_mapping == from_file and "lora" not in mapping  # the mapping itself is left as it was
    from_object = validate_config(
        SFTConfig, config_source(load_config(SFTConfig, path), "train", ["lora.r=4"])
    )
    assert from_object == from_file and from_object.lora.r == 4
    assert validate_config(SFTConfig, config_source(from_object, "train")) == from_object
    bundled = validate_config(SFTConfig, config_source("sft_tiny", "train"))
    assert bundled == load_config(SFTConfig, bundled_configs("train")["sft_tiny"])
    with pytest.raises(ConfigError, match=r"command-line override, key 'training\.max_steps': got 0"):
        validate_config(SFTConfig, config_source(from_object, "train", ["training.max_steps=0"]))
    with pytest.raises(ConfigError, match=r"config, key 'training\.learning_rate': got 'fast'"):
        validate_config(SFTConfig, config_source(mapping | {"training": {"learning_rate": "fast"}}, "train"))
