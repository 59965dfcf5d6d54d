"""Config numbers and config files (issue 11, items 1-3): every number is checked when the config is loaded,
not when training reaches it, and every error names the file, the line and the key, the same way as any other
config error; a config file is UTF-8 (a BOM is dropped) and names each key once.

`training.max_steps: -5` used to train a whole epoch and `0` to print "step 1/0 (100%)" and report completed.
"""

from __future__ import annotations

import re

import pytest

from crosslift.cli import main
from crosslift.config import load_config
from crosslift.errors import ConfigError
from crosslift.eval.config import EvalConfig
from crosslift.train.sft import SFTConfig

CONFIG = """\
recipe: sft
name: numbers
output_dir: {run}
seed: 7
model:
  name_or_path: tiny:llama
lora:
  r: 4
  dropout: 0.1
data:
  train:
    - path: data.jsonl
      limit: 8
      encoding: utf-8
  max_length: 64
training:
  max_steps: 3
  epochs: 1.0
  batch_size: 2
  grad_accum: 1
  learning_rate: 1.0e-3
  warmup_ratio: 0.1
  weight_decay: 0.0
  max_grad_norm: 1.0
  save_steps: 3
  logging_steps: 1
"""


def _config(tmp_path, key: str, value: str) -> tuple[str, int]:
    """CONFIG with `key` (its last part, in the section before it) set to `value`; the file, the line."""
    lines = CONFIG.format(run=tmp_path / "run").splitlines()
    *sections, name = [k for k in key.split(".") if not k.isdigit()]
    start = next(i for i, line in enumerate(lines) if line.strip() == f"{sections[-1]}:") if sections else 0
    n = next(i for i in range(start, len(lines)) if re.match(rf"\s*(- )?{name}:", lines[i]))
    lines[n] = re.sub(rf"{name}:.*", f"{name}: {value}", lines[n])
    path = tmp_path / "config.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return str(path), n + 1


BAD_NUMBERS = [
    ("training.max_steps", "-5", r"at least 1, or null \(unset\) to train for `epochs`"),
    ("training.max_steps", "0", r"at least 1, or null \(unset\) to train for `epochs`"),
    ("training.max_steps", "2.5", "fractional part"),
    ("training.epochs", "0", "greater than 0"),
    ("training.epochs", ".inf", "finite number"),
    ("training.batch_size", "0", "greater than 0"),
    ("training.batch_size", "-8", "greater than 0"),
    ("training.grad_accum", "0", "greater than 0"),
    ("training.learning_rate", "0", "greater than 0"),
    ("training.learning_rate", "-1.0e-4", "greater than 0"),
    ("training.learning_rate", ".nan", "finite number"),
    ("training.learning_rate", ".inf", "finite number"),
    ("training.warmup_ratio", "1.5", "less than 1"),
    ("training.warmup_ratio", "-0.1", "greater than or equal to 0"),
    ("training.weight_decay", "-0.1", "greater than or equal to 0"),
    ("training.max_grad_norm", "0", "greater than 0"),
    ("training.save_steps", "0", "greater than 0"),
    ("training.logging_steps", "-1", "greater than 0"),
    ("lora.r", "0", "greater than 0"),
    ("lora.dropout", "1.0", "less than 1"),
    ("lora.dropout", "-0.1", "greater than or equal to 0"),
    ("data.max_length", "4", "greater than 8"),
    ("data.train.0.limit", "0", "greater than 0"),
    ("seed", "-1", "greater than or equal to 0"),
    ("seed", "4294967296", "less than 4294967296"),
    ("data.train.0.encoding", "klingon", r"unknown encoding 'klingon' \(e.g. utf-8, latin-1, cp1252\)"),
]
NUMBER_IDS = [f"{key}={value}" for key, value, _ in BAD_NUMBERS]


@pytest.mark.parametrize(("key", "value", "expected"), BAD_NUMBERS, ids=NUMBER_IDS)
def test_a_bad_number_names_the_file_the_line_and_the_key(key, value, expected, tmp_path):
    path, line = _config(tmp_path, key, value)
    with pytest.raises(ConfigError) as e:
        load_config(SFTConfig, path)
    where = re.escape(f"{path}, line {line}, key {key!r}: got ")
    assert re.search(f"{where}.*; expected: .*{expected}", str(e.value)), str(e.value)


@pytest.mark.parametrize("value", ["-5", "0"])
def test_train_refuses_max_steps_below_one_before_anything_runs(value, tmp_path, capsys):
    path, line = _config(tmp_path, "training.max_steps", value)
    assert main(["train", path]) == 2
    err = capsys.readouterr().err
    assert f"{path}, line {line}, key 'training.max_steps': got {value}; expected: at least 1" in err
    assert "Traceback" not in err and not (tmp_path / "run").exists()
    good, _ = _config(tmp_path, "training.max_steps", "3")
    assert main(["train", good, f"training.max_steps={value}"]) == 2
    assert f"command-line override, key 'training.max_steps': got {value}" in capsys.readouterr().err


def test_max_steps_unset_means_train_for_epochs(tmp_path):
    from crosslift.runs import RunDir
    from crosslift.train.common import training_arguments

    text = CONFIG.format(run=tmp_path / "run").replace("  max_steps: 3\n", "")
    (tmp_path / "unset.yaml").write_text(text, encoding="utf-8")
    null = text.replace("training:\n", "training:\n  max_steps: null\n")
    (tmp_path / "null.yaml").write_text(null, encoding="utf-8")
    for name in ("unset.yaml", "null.yaml"):
        assert load_config(SFTConfig, tmp_path / name).training.max_steps is None, name
    cfg = load_config(SFTConfig, tmp_path / "unset.yaml", ["training.epochs=2"])
    args = training_arguments(cfg.training, RunDir(tmp_path / "run"), seed=1)
    assert (args.max_steps, args.num_train_epochs) == (-1, 2.0)  # Trainer's own "unset"


# ---------------------------------------------------------------------------------------------- config files


EVAL_CONFIG = "output_dir: {run}\nmodel: {{name_or_path: tiny:llama}}\ntasks:\n  - name: mmwp\n"


@pytest.mark.parametrize(("schema", "text"), [(SFTConfig, CONFIG), (EvalConfig, EVAL_CONFIG)])
def test_config_files_decode_strictly_and_refuse_a_key_given_twice(schema, text, tmp_path):
    path = tmp_path / "c.yaml"
    good = text.format(run=tmp_path / "run").encode()
    path.write_bytes(b"\xef\xbb\xbf" + good)  # a BOM is accepted
    load_config(schema, path)
    path.write_bytes(good.replace(b"output_dir:", b"# caf\xe9\noutput_dir:"))
    where = re.escape(f"{path}, line ")
    with pytest.raises(ConfigError, match=where + r"\d+: not valid UTF-8 \(byte 0xe9 at column 6\)"):
        load_config(schema, path)
    path.write_bytes(good + b"output_dir: elsewhere\n")
    with pytest.raises(ConfigError, match=where + r"\d+: key 'output_dir' is given twice \(also at line \d"):
        load_config(schema, path)
