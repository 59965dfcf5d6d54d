"""Typed run configs: one YAML file is one run, validated by pydantic before any work starts.

    crosslift train configs/sft_tiny.yaml training.learning_rate=3e-4 data.train.0.limit=64

`key.sub=value` overrides are parsed as YAML scalars/lists (`3` is an int, `true` a bool, `[a, b]` a list,
`null` clears). An invalid config fails with one message per problem naming the file, the line, the key,
the bad value and what was expected, e.g.

    configs/sft_tiny.yaml, line 14, key 'training.learning_rate': got 'fast'; expected a number

Numbers are checked when the config is loaded, not when training reaches them: counts, sizes and lengths are
positive, rates > 0, ratios and shares in [0, 1], and no number is NaN or infinite (`.nan`, `.inf`). A
config file is UTF-8 (a byte-order mark is dropped) and names each key once per mapping (YAML would let the
last of two win silently).

The sections shared by several recipes (model, LoRA, training loop) live here, a data source in
`crosslift.data.sources`; each recipe declares its own top-level model from them (see `crosslift.train`).
"""

from __future__ import annotations

import copy
import difflib
import importlib.util
import types
import typing
from collections.abc import Mapping, Sequence
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from crosslift.errors import ConfigError, DataError
from crosslift.io import read_text

# ----------------------------------------------------------------------------------------------------------
# Shared sections


class Section(BaseModel):
    """Base of every config section: unknown keys (and NaN, infinity) are errors, never silently accepted."""

    model_config = ConfigDict(extra="forbid", protected_namespaces=(), allow_inf_nan=False)


class ModelConfig(Section):
    """Which causal LM to load and how."""

    name_or_path: str = Field(
        description="local directory, hub id (needs network), or tiny:<kind> for the tiny-model kit"
    )
    revision: str | None = None
    trust_remote_code: bool = False
    dtype: Literal["auto", "float32", "bfloat16", "float16"] = "auto"
    attn_implementation: str | None = None


class LoraConfig(Section):
    """LoRA adapters (peft); absent means full fine-tuning."""

    r: int = Field(8, gt=0)
    alpha: int = Field(16, gt=0)
    dropout: float = Field(0.05, ge=0.0, lt=1.0)
    target_modules: list[str] | Literal["all-linear"] = ["q_proj", "k_proj", "v_proj", "o_proj"]
    modules_to_save: list[str] | None = None
    merge_at_end: bool = Field(
        False,
        description="also write merged full weights to model_merged/ (the adapter is always saved to model/)",
    )


class TrainingConfig(Section):
    """The optimisation loop (HF Trainer underneath)."""

    epochs: float = Field(1.0, gt=0)
    max_steps: int | None = Field(None, description="optimizer steps; unset (null): train for `epochs`")
    batch_size: int = Field(8, gt=0, description="per device")
    grad_accum: int = Field(1, gt=0)
    learning_rate: float = Field(2e-5, gt=0)
    weight_decay: float = Field(0.0, ge=0)
    warmup_ratio: float = Field(0.0, ge=0, lt=1, description="share of the steps with linear warm-up")
    lr_scheduler: Literal["linear", "cosine", "constant", "constant_with_warmup"] = "cosine"
    max_grad_norm: float = Field(1.0, gt=0)
    loss_average: Literal["token", "micro_batch"] = Field(
        "token",
        description="token: the loss is the mean over every target token of the accumulated batch (on every "
        "device), as transformers >= 4.46 computes it; micro_batch: the mean of each micro-batch's own token mean "
        "(each micro-batch weighs the same, as the papers' released code trained)",
    )
    save_steps: int = Field(50, gt=0)
    save_total_limit: int | None = Field(2, gt=0)
    logging_steps: int = Field(10, gt=0)
    precision: Literal["auto", "fp32", "bf16", "fp16"] = Field(
        "auto",
        description="auto: the accelerate launch config's mixed_precision under `accelerate launch`, else fp32; "
        "an explicit value must agree with a launch config's",
    )
    torch_compile: bool = Field(
        False, description="torch.compile the model (GPU machines: faster steps after a compile)"
    )
    gradient_checkpointing: bool = False
    use_liger_kernel: bool = Field(
        False,
        description="Liger's Triton kernels (fused linear + cross-entropy, RMSNorm, SwiGLU, RoPE) for the model "
        "types Liger supports (GPU machines; pip install crosslift[liger])",
    )
    group_by_length: bool = Field(
        False,
        description="batches of similar lengths (less padding; order still random, and reproducible on resume)",
    )
    packing: bool = Field(
        False,
        description="padding-free batches: a batch's examples share rows with their own position ids and no "
        "attention across them; the loss is the padded one (crosslift.models.packing)",
    )
    deepspeed: str | None = Field(
        None,
        description="path to a DeepSpeed JSON config (GPU machines); or launch with configs/accelerate/deepspeed_*.yaml",
    )
    fsdp: str | None = Field(
        None, description="FSDP option string passed to TrainingArguments, e.g. 'full_shard auto_wrap'"
    )
    dataloader_num_workers: int = Field(0, ge=0)
    report_to: list[Literal["tensorboard", "wandb", "none"]] = Field(
        default_factory=lambda: ["none"],
        description="where losses go besides manifest.json: tensorboard (run/logs/tensorboard), wandb (run/logs)",
    )
    wandb_project: str = Field("crosslift", description="report_to wandb: the W&B project")
    wandb_mode: Literal["offline", "online"] = Field(
        "offline",
        description="report_to wandb: offline writes run/logs/wandb only (upload later: wandb sync DIR)",
    )
    eval_steps: int | None = Field(
        None,
        gt=0,
        description="with data.validation: its loss every N optimizer steps (default: save_steps) and at the end",
    )

    @field_validator("max_steps")
    @classmethod
    def _steps_or_unset(cls, value: int | None) -> int | None:
        if value is not None and value < 1:
            raise ValueError("at least 1, or null (unset) to train for `epochs`")
        return value

    @field_validator("report_to", mode="before")
    @classmethod
    def _report_to_list(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value

    @field_validator("report_to")
    @classmethod
    def _loggers_installed(cls, value: list[str]) -> list[str]:
        if "none" in value and len(value) > 1:
            raise ValueError("'none' cannot be combined with a logger")
        for name in value:
            if name != "none" and importlib.util.find_spec(name) is None:
                raise ValueError(f"{name} is not installed: pip install 'crosslift[logging]' (or {name})")
        return value


class RunConfig(Section):
    """Fields every run has."""

    recipe: str
    name: str
    output_dir: str = Field(description="the run directory; rerunning the same config there resumes")
    seed: int = Field(42, ge=0, lt=2**32, description="numpy takes seeds in [0, 2**32)")

    @field_validator("name")
    @classmethod
    def _name_is_a_file_name(cls, v: str) -> str:
        if not v or "/" in v or v.startswith("."):
            raise ValueError("a run name is a plain file name (no '/', not starting with '.')")
        return v


# ----------------------------------------------------------------------------------------------------------
# Loading: YAML + overrides -> dict (with line numbers) -> pydantic model


def parse_override(text: str) -> tuple[list[str], Any]:
    """Split 'a.b.0.c=value' into (['a', 'b', '0', 'c'], parsed value)."""
    if "=" not in text:
        raise ConfigError(f"override '{text}' is not of the form key.sub=value")
    key, raw = text.split("=", 1)
    keys = key.strip().split(".")
    if not all(keys):
        raise ConfigError(f"override '{text}': empty key component")
    try:
        value = yaml.safe_load(raw) if raw.strip() else ""
    except yaml.YAMLError:
        value = raw  # not YAML (e.g. an unbalanced bracket): keep the literal string
    if value is None and raw.strip() not in ("null", "Null", "NULL", "~"):
        value = raw  # YAML reads "### Response:" as a comment; only an explicit null clears a value
    return keys, value


def _set_in(tree: Any, keys: list[str], value: Any, text: str) -> None:
    node = tree
    for i, k in enumerate(keys):
        last = i == len(keys) - 1
        if isinstance(node, list):
            if not k.isdigit() or int(k) >= len(node):
                raise ConfigError(
                    f"override '{text}': '{'.'.join(keys[: i + 1])}' is not an index of a list of {len(node)}"
                )
            if last:
                node[int(k)] = value
            else:
                node = node[int(k)]
        elif isinstance(node, dict):
            if last:
                node[k] = value
            else:
                if not isinstance(node.get(k), dict | list):
                    node[k] = {}  # a new (or null) section
                node = node[k]
        else:
            raise ConfigError(f"override '{text}': '{'.'.join(keys[:i])}' is a value, not a section")


def _key_lines(node: yaml.Node, path: Path, prefix: tuple[str, ...] = ()) -> dict[tuple[str, ...], int]:
    """Map each key path of a composed YAML document to its 1-based line; a key repeated in a mapping is an
    error."""
    lines: dict[tuple[str, ...], int] = {}
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key = (*prefix, str(key_node.value))
            line = key_node.start_mark.line + 1
            if key in lines and key_node.value != "<<":  # "<<" is YAML's merge key, which may repeat
                raise ConfigError(
                    f"{path}, line {line}: key '{'.'.join(key)}' is given twice (also at line "
                    f"{lines[key]}); YAML would keep the last one silently"
                )
            lines[key] = line
            lines.update(_key_lines(value_node, path, key))
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            key = (*prefix, str(i))
            lines[key] = item.start_mark.line + 1
            lines.update(_key_lines(item, path, key))
    return lines


def read_yaml(path: Path) -> tuple[Any, dict[tuple[str, ...], int]]:
    """A YAML file's value, and the 1-based line of every key path in it (("training", "max_steps") -> 14).

    Raises:
        ConfigError: a byte that is not UTF-8, invalid YAML, or a key given twice in one mapping, naming the
            file and the line.
    """
    try:
        text = read_text(path)
    except DataError as e:
        raise ConfigError(str(e)) from None
    try:
        tree = yaml.safe_load(text)
        node = yaml.compose(text)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f", line {mark.line + 1}" if mark else ""
        raise ConfigError(f"{path}{where}: not valid YAML ({getattr(e, 'problem', e)})") from None
    return tree, _key_lines(node, path) if node is not None else {}


class ConfigSource:
    """A config tree read from a YAML file with overrides applied, remembering where each key came from.

    Args:
        path: the YAML file (None: overrides only, or `tree`).
        overrides: ``key.sub=value`` texts, applied in order.
        tree: the config's keys and values when they are not read from a file (a mapping written in Python, a
            config object's values); `path` then only names it in messages.
    """

    def __init__(
        self, path: str | Path | None, overrides: Sequence[str] = (), tree: dict[str, Any] | None = None
    ) -> None:
        self.path = Path(path) if path is not None else None
        self.lines: dict[tuple[str, ...], int] = {}
        self.overridden: set[tuple[str, ...]] = set()
        if tree is None:
            tree = self._read(self.path) if self.path is not None else {}
        self.tree = tree
        for text in overrides:
            keys, value = parse_override(text)
            self.override(".".join(keys), value, text)

    def _read(self, path: Path) -> dict[str, Any]:
        """The tree of the YAML file at `path`; the lines of its keys are kept for messages."""
        if not path.is_file():
            raise ConfigError(f"config file not found: {path}")
        tree, self.lines = read_yaml(path)
        tree = {} if tree is None else tree
        if not isinstance(tree, dict):
            raise ConfigError(f"{path}: a config is a mapping of keys to values, got {type(tree).__name__}")
        return tree

    def override(self, key: str, value: Any, text: str | None = None) -> None:
        """Set `key` ("a.b.0.c": list items by index) to `value` as a `key.sub=value` override does, for a value
        that is already typed (a command-line flag's); `text`: the override as written, for error messages."""
        keys = key.split(".")
        _set_in(self.tree, keys, value, text or f"{key}={value}")
        self.overridden.add(tuple(keys))

    def keys(self, loc: tuple[str, ...]) -> tuple[str, ...]:
        """A pydantic error location as keys of the tree: the tag pydantic puts after a tagged union's key (the
        `verb` of a data source's `build:`) is a value of that mapping, not one of its keys, and is left out."""
        keys, node = [], self.tree
        for i, key in enumerate(loc):
            inner = i < len(loc) - 1
            if inner and isinstance(node, dict) and key not in node and key in node.values():
                continue
            keys.append(key)
            if isinstance(node, dict):
                node = node.get(key)
            elif isinstance(node, list) and key.isdigit() and int(key) < len(node):
                node = node[int(key)]
            else:
                node = None
        return tuple(keys)

    def where(self, loc: tuple[str, ...]) -> str:
        """'configs/x.yaml, line 12' or 'command-line override' for the deepest known prefix of loc."""
        for n in range(len(loc), 0, -1):
            if loc[:n] in self.overridden:
                return "command-line override"
            if loc[:n] in self.lines:
                return f"{self.path}, line {self.lines[loc[:n]]}"
        return str(self.path) if self.path else "config"


def _unwrap(annotation: Any) -> list[Any]:
    """The concrete types inside Optional/Union/list annotations."""
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        return [t for a in typing.get_args(annotation) for t in _unwrap(a)]
    if origin in (list, tuple):
        return [t for a in typing.get_args(annotation) for t in _unwrap(a)]
    return [annotation]


def _sibling_keys(schema: type[BaseModel], loc: tuple[str, ...]) -> list[str]:
    """Field names of the section at `loc` (list indices skipped), for 'did you mean' hints."""
    models = [schema]
    for key in loc:
        if key.isdigit():
            continue
        nxt = []
        for m in models:
            field = m.model_fields.get(key)
            if field is not None:
                nxt += [
                    t for t in _unwrap(field.annotation) if isinstance(t, type) and issubclass(t, BaseModel)
                ]
        models = nxt
    return sorted({name for m in models for name in m.model_fields})


def _describe_error(err: dict[str, Any], schema: type[BaseModel], source: ConfigSource) -> str:
    loc = source.keys(tuple(str(p) for p in err["loc"]))
    key = ".".join(loc)
    where = source.where(loc)
    if err["type"] == "extra_forbidden":
        close = difflib.get_close_matches(loc[-1], _sibling_keys(schema, loc[:-1]), n=1, cutoff=0.5)
        hint = f" (did you mean '{'.'.join((*loc[:-1], close[0]))}'?)" if close else ""
        return f"{where}: unknown key '{key}'{hint}"
    if err["type"] == "missing":
        return f"{where}: missing required key '{key}'"
    msg = err["msg"]
    if msg.startswith("Value error, "):
        msg = msg[len("Value error, ") :]
    return f"{where}, key '{key}': got {err.get('input')!r}; expected: {msg}"


def validate_config(schema: type[BaseModel], source: ConfigSource) -> Any:
    """Build `schema` from the source tree or raise one ConfigError listing every problem."""
    try:
        return schema.model_validate(source.tree)
    except ValidationError as e:
        problems = [_describe_error(err, schema, source) for err in e.errors()]
        raise ConfigError("invalid config:\n  " + "\n  ".join(problems)) from None


def load_config(schema: type[BaseModel], path: str | Path | None, overrides: list[str] = ()) -> Any:
    """Read YAML at `path` (may be None: overrides only), apply overrides, validate against `schema`."""
    return validate_config(schema, ConfigSource(path, list(overrides)))


def config_to_dict(config: BaseModel) -> dict[str, Any]:
    """The resolved config as plain data, the form written to a run directory's config.yaml."""
    return config.model_dump(mode="json")


# ----------------------------------------------------------------------------------------------------------
# Bundled configs: the one place that knows where crosslift/configs/ is and how it is laid out

ConfigKind = Literal["train", "eval", "demo", "world"]
# Every kind but train has its own folder of crosslift/configs/; train configs are the rest of the tree
# (sft_tiny, crossin/tiny, ...) except accelerate/, whose launch configs are named by path.
_KIND_FOLDERS = ("eval", "demo", "world")
_NOT_A_KIND = ("accelerate",)


def _yaml_names(folder: Traversable, prefix: str = "") -> dict[str, Traversable]:
    """name (folder/stem below `folder`) -> file, for every YAML file under `folder`."""
    found: dict[str, Traversable] = {}
    for entry in folder.iterdir():
        if entry.is_dir():
            found |= _yaml_names(entry, f"{prefix}{entry.name}/")
        elif entry.name.endswith(".yaml"):
            found[prefix + entry.name.removesuffix(".yaml")] = entry
    return found


def bundled_configs(kind: ConfigKind) -> dict[str, Path]:
    """The configs of `kind` shipped with crosslift, by name: {"sft_tiny": .../configs/sft_tiny.yaml, ...}.

    Read through importlib.resources, so an installed wheel finds them as a checkout does.
    """
    root = resources.files("crosslift").joinpath("configs")
    if kind == "train":
        skipped = (*_KIND_FOLDERS, *_NOT_A_KIND)
        files = {n: f for n, f in _yaml_names(root).items() if n.split("/")[0] not in skipped}
    else:
        files = _yaml_names(root.joinpath(kind))
    return {name: Path(str(files[name])) for name in sorted(files)}


def resolve_config(name_or_path: str | Path, kind: ConfigKind) -> Path:
    """`name_or_path` as given when it is a file, else the bundled config of `kind` of that name (".yaml" may
    be left off): `resolve_config("sft_tiny", "train")`, `resolve_config("quick", "world")`.

    Raises:
        ConfigError: neither a file nor a bundled name; the message lists the bundled configs of `kind`.
    """
    path = Path(name_or_path)
    if path.is_file():
        return path
    bundled = bundled_configs(kind)
    name = str(name_or_path).removesuffix(".yaml")
    if name in bundled:
        return bundled[name]
    raise ConfigError(
        f"config file not found: {name_or_path} is neither a bundled {kind} config nor a file "
        f"(bundled: {', '.join(bundled)})"
    )


# A config as the Python API (`crosslift.api`) takes it: a YAML file, the name of a bundled config, its keys and
# values as a mapping (what the YAML file would hold), or a config object (validated already).
ConfigLike = str | Path | Mapping[str, Any] | BaseModel


def config_source(config: ConfigLike, kind: ConfigKind, overrides: Sequence[str] = ()) -> ConfigSource:
    """The source of a config given in any `ConfigLike` form, with `key.sub=value` overrides applied: a path or a
    bundled name of `kind` is read (`resolve_config`), a mapping is taken as a YAML file's contents (copied, never
    changed), a config object by the values that were set on it (`model_dump(exclude_unset=True)`). Validating the
    source (`validate_config`) builds the object; from a config object, an equal one when no override changed it.

    Raises:
        ConfigError: neither a file nor a bundled name, or a bad override.
    """
    if isinstance(config, BaseModel):
        return ConfigSource(None, overrides, tree=config.model_dump(mode="json", exclude_unset=True))
    if isinstance(config, Mapping):
        return ConfigSource(None, overrides, tree=copy.deepcopy(dict(config)))
    return ConfigSource(resolve_config(config, kind), overrides)
