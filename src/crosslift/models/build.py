"""Load tokenizers, causal LMs and encoders from Hugging Face checkpoints, and add LoRA adapters.

Every recipe and every evaluation loads models through these functions, so the security defaults live here:
custom code from a checkpoint (``trust_remote_code``) runs only when the caller asks for it, and weights are
read only from safetensors files, never unpickled from ``.bin``. ``"tiny:<kind>"`` names a model of the
tiny-model kit (``crosslift.models.tiny``), built on first use. Failures the user can fix (a wrong path, a hub
id while offline, a checkpoint that needs custom code) raise ``CrossliftError`` with what to do about it.

The bridge of LinguaLIFT, LangBridge, MindMerger and LayAlign (``crosslift.models.bridge``) is built from a
pretrained encoder and LM, or loaded from a saved bridge directory, here as well (`build_bridge`, `load_bridge`).
"""

from __future__ import annotations

import logging
import os
import re
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from crosslift.errors import ConfigError, CrossliftError
from crosslift.models.model_types import BRIDGE_MODEL_TYPE, ENCODER_ONLY_CLASSES, saved_model_type
from crosslift.models.tiny import TINY_PREFIX
from crosslift.models.tiny.cache import cached_tiny_model

if TYPE_CHECKING:
    from peft import PeftModel
    from transformers import PreTrainedModel, PreTrainedTokenizerBase

    from crosslift.models.bridge import BridgeModel, BridgeProcessor

logger = logging.getLogger(__name__)

DTYPES = ("auto", "float32", "bfloat16", "float16")
# A hub id is "name" or "namespace/name"; anything else that does not exist is a missing local path.
_HUB_ID = re.compile(r"[A-Za-z0-9][\w.-]*(/[\w.-]+)?")


def resolve_model_path(name_or_path: str) -> str:
    """Turn ``"tiny:<kind>"`` into a built tiny-model directory; return any other name unchanged.

    A tiny model is built once into the cache and reused (`crosslift.models.tiny.cache.cached_tiny_model`).

    Args:
        name_or_path: ``"tiny:llama"``, ``"tiny:qwen2"``, ``"tiny:mt5-encoder"``, ``"tiny:xlmr"``, or a local
            directory or hub id (returned as is).

    Returns:
        A directory or hub id for ``from_pretrained``.

    Raises:
        CrossliftError: ``tiny:`` with an unknown kind.
    """
    if not name_or_path.startswith(TINY_PREFIX):
        return name_or_path
    return str(cached_tiny_model(name_or_path[len(TINY_PREFIX) :]))


def _hub_offline() -> bool:
    import huggingface_hub

    legacy_switch = os.environ.get("TRANSFORMERS_OFFLINE", "").lower() in {"1", "true", "yes", "on"}
    return huggingface_hub.is_offline_mode() or legacy_switch


def _locate(name_or_path: str) -> str:
    """Resolve ``tiny:*`` and ``~``; fail early on a local path that does not exist."""
    resolved = resolve_model_path(name_or_path)
    path = Path(resolved).expanduser()
    if path.is_dir():
        return str(path)
    if path.exists():
        raise CrossliftError(
            f"{resolved} is a file; expected a model directory (config.json, weights, tokenizer files)"
        )
    looks_local = resolved.startswith(("/", "./", "../", "~")) or not _HUB_ID.fullmatch(resolved)
    if looks_local:
        raise CrossliftError(f"model directory not found: {resolved}")
    return resolved


@contextmanager
def _loading(name_or_path: str, source: str, what: str) -> Iterator[None]:
    """Turn the errors ``from_pretrained`` raises for user mistakes into one clear ``CrossliftError``."""
    try:
        yield
    except (OSError, ValueError, ImportError) as e:
        message = str(e)
        local = Path(source).is_dir()
        if "trust_remote_code" in message:
            raise CrossliftError(
                f"{what} '{name_or_path}' needs custom code shipped with the checkpoint (auto_map in its config); "
                "crosslift does not run it unless you set trust_remote_code: true (only for checkpoints you trust)"
            ) from e
        if isinstance(e, OSError) and not local:
            if _hub_offline():
                raise CrossliftError(
                    f"{what} '{name_or_path}' was not found locally (not a directory, not in the Hugging Face cache) "
                    "and the hub is offline (HF_HUB_OFFLINE=1), so it cannot be downloaded. Pass a local directory, "
                    "a tiny model (tiny:llama, tiny:qwen2, tiny:mt5-encoder, tiny:xlmr), or unset HF_HUB_OFFLINE."
                ) from e
            raise CrossliftError(
                f"could not load {what} '{name_or_path}' from the Hugging Face hub: {message}"
            ) from e
        if "Unrecognized configuration class" in message:
            raise CrossliftError(
                f"'{name_or_path}' is not a {what} checkpoint: {message.splitlines()[0]}"
            ) from e
        raise CrossliftError(f"could not load {what} from '{name_or_path}': {message}") from e


def _torch_dtype(dtype: str) -> Any:
    import torch

    if dtype not in DTYPES:
        raise ConfigError(f"dtype '{dtype}' is not supported; expected one of: {', '.join(DTYPES)}")
    return "auto" if dtype == "auto" else getattr(torch, dtype)


def _require_safetensors(source: str) -> None:
    """A local checkpoint must have safetensors weights: a pickled ``.bin`` can run arbitrary code when loaded."""
    path = Path(source)
    if not path.is_dir() or any(path.glob("*.safetensors")):
        return  # a hub id: from_pretrained(use_safetensors=True) refuses .bin-only repos itself
    pickled = sorted(p.name for p in path.glob("*.bin")) + sorted(p.name for p in path.glob("*.pt"))
    if pickled:
        raise CrossliftError(
            f"{source} has only pickled weights ({', '.join(pickled)}), which crosslift does not load because "
            "unpickling can run arbitrary code. Convert them to safetensors (load once in a trusted environment "
            "and call save_pretrained) and try again."
        )
    raise CrossliftError(f"{source} has no model weights (*.safetensors)")


def load_tokenizer(
    name_or_path: str,
    *,
    trust_remote_code: bool = False,
    padding_side: str | None = None,
    revision: str | None = None,
) -> PreTrainedTokenizerBase:
    """Load a tokenizer and make sure it can pad.

    A tokenizer without a pad token gets its ``<unk>`` token as pad, or else its EOS (logged). ``<unk>`` comes
    first: collators that mask labels by pad id would otherwise also mask every real EOS, and the model would
    never learn to stop.

    Args:
        name_or_path: local directory, hub id, or ``tiny:<kind>``.
        trust_remote_code: run tokenizer code shipped with the checkpoint (off by default).
        padding_side: "left" (batched generation) or "right"; None keeps the tokenizer's own.
        revision: hub revision (branch, tag or commit).

    Returns:
        The tokenizer, with ``pad_token`` set.

    Raises:
        CrossliftError: not found, offline, needs custom code, or has no token usable for padding.
    """
    from transformers import AutoTokenizer

    if padding_side not in (None, "left", "right"):
        raise ConfigError(f"padding_side must be 'left' or 'right', not '{padding_side}'")
    source = _locate(name_or_path)
    with _loading(name_or_path, source, "tokenizer"):
        tokenizer = AutoTokenizer.from_pretrained(
            source, trust_remote_code=trust_remote_code, revision=revision
        )
    if tokenizer.pad_token is None:
        fallback = tokenizer.unk_token or tokenizer.eos_token
        if fallback is None:
            raise CrossliftError(f"tokenizer of '{name_or_path}' has no pad, unk or eos token to pad with")
        logger.info("tokenizer of '%s' has no pad token; padding with %r", name_or_path, fallback)
        tokenizer.pad_token = fallback
    if padding_side is not None:
        tokenizer.padding_side = padding_side
    return tokenizer


def load_causal_lm(
    name_or_path: str,
    *,
    dtype: str = "auto",
    trust_remote_code: bool = False,
    attn_implementation: str | None = None,
    revision: str | None = None,
) -> PreTrainedModel:
    """Load a decoder-only language model (``AutoModelForCausalLM``) from safetensors weights.

    Args:
        name_or_path: local directory, hub id, or ``tiny:<kind>``.
        dtype: "auto" (as stored), "float32", "bfloat16" or "float16".
        trust_remote_code: run modeling code shipped with the checkpoint (off by default).
        attn_implementation: e.g. "sdpa", "eager", "flash_attention_2"; None lets transformers choose.
        revision: hub revision (branch, tag or commit).

    Returns:
        The model, in eval mode.

    Raises:
        CrossliftError: not found, offline, only pickled weights, needs custom code, or not a causal LM.
    """
    from transformers import AutoModelForCausalLM

    torch_dtype = _torch_dtype(dtype)
    source = _locate(name_or_path)
    _require_safetensors(source)
    extra = {"attn_implementation": attn_implementation} if attn_implementation else {}
    with _loading(name_or_path, source, "causal LM"):
        return AutoModelForCausalLM.from_pretrained(
            source,
            dtype=torch_dtype,
            trust_remote_code=trust_remote_code,
            use_safetensors=True,
            revision=revision,
            **extra,
        )


def load_encoder(
    name_or_path: str,
    *,
    dtype: str = "auto",
    trust_remote_code: bool = False,
    revision: str | None = None,
) -> PreTrainedModel:
    """Load a text encoder: an encoder-only model, or the encoder half of an encoder-decoder.

    T5, mT5 and umT5 load through their ``*EncoderModel`` classes, so the decoder's weights are never read;
    other encoder-decoders (BART, mBART, ...) are loaded whole and their ``get_encoder()`` returned.
    Encoder-only models (XLM-R, BERT, ...) load with ``AutoModel``.

    Args:
        name_or_path: local directory, hub id, or ``tiny:<kind>``.
        dtype: "auto" (as stored), "float32", "bfloat16" or "float16".
        trust_remote_code: run modeling code shipped with the checkpoint (off by default).
        revision: hub revision (branch, tag or commit).

    Returns:
        A model whose forward returns ``last_hidden_state`` of width ``config.hidden_size``.

    Raises:
        CrossliftError: not found, offline, only pickled weights, or needs custom code.
    """
    import transformers
    from transformers import AutoConfig, AutoModel

    torch_dtype = _torch_dtype(dtype)
    source = _locate(name_or_path)
    with _loading(name_or_path, source, "encoder"):
        config = AutoConfig.from_pretrained(source, trust_remote_code=trust_remote_code, revision=revision)
    _require_safetensors(source)
    kwargs = dict(
        config=config,
        dtype=torch_dtype,
        trust_remote_code=trust_remote_code,
        use_safetensors=True,
        revision=revision,
    )
    with _loading(name_or_path, source, "encoder"):
        encoder_class = ENCODER_ONLY_CLASSES.get(config.model_type)
        if encoder_class is not None:
            return getattr(transformers, encoder_class).from_pretrained(source, **kwargs)
        model = AutoModel.from_pretrained(source, **kwargs)
    return model.get_encoder() if getattr(config, "is_encoder_decoder", False) else model


def _saves_tied_embeddings(model: Any, modules_to_save: list[str] | None) -> bool:
    if not modules_to_save or not getattr(model.config, "tie_word_embeddings", False):
        return False
    embeddings = {model.get_input_embeddings(), model.get_output_embeddings()}
    names = {name.rsplit(".", 1)[-1] for name, module in model.named_modules() if module in embeddings}
    return bool(names & set(modules_to_save))


def _module_names(model: Any, types: tuple[type, ...] | None = None) -> list[str]:
    return [
        name
        for name, module in model.named_modules()
        if name and (types is None or isinstance(module, types))
    ]


def _matches(name: str, target: str) -> bool:
    return name == target or name.endswith("." + target)  # peft's rule for a list of target names


def apply_lora(
    model: PreTrainedModel,
    *,
    r: int,
    alpha: int,
    dropout: float,
    target_modules: list[str] | str,
    modules_to_save: list[str] | None = None,
) -> PeftModel:
    """Wrap a causal LM with LoRA adapters (peft); only the adapters (and ``modules_to_save``) train.

    Args:
        model: the base model.
        r: adapter rank.
        alpha: scaling numerator (the update is scaled by alpha / r).
        dropout: dropout on the adapter input.
        target_modules: module names (matched as name suffixes, e.g. "q_proj"), "all-linear", or a regular
            expression over full module names.
        modules_to_save: modules trained in full and saved with the adapter (e.g. "lm_head").

    Returns:
        The ``PeftModel``.

    Raises:
        ConfigError: bad hyperparameters, or a target / module-to-save name that matches nothing in the
            model (the message lists the model's Linear layers).
    """
    import torch
    from peft import LoraConfig, TaskType, get_peft_model

    if r <= 0 or alpha <= 0 or not 0.0 <= dropout < 1.0:
        raise ConfigError(
            f"LoRA needs r > 0, alpha > 0 and 0 <= dropout < 1 (got r={r}, alpha={alpha}, dropout={dropout})"
        )
    names = _module_names(model)
    linear = sorted({n.rsplit(".", 1)[-1] for n in _module_names(model, (torch.nn.Linear,))})
    available = f"its Linear layers are: {', '.join(linear)}"
    model_type = getattr(getattr(model, "config", None), "model_type", type(model).__name__)
    if isinstance(target_modules, str):
        try:
            found = target_modules == "all-linear" or any(re.fullmatch(target_modules, n) for n in names)
        except re.error as e:
            raise ConfigError(
                f"LoRA target_modules '{target_modules}' is not a valid regular expression: {e}"
            ) from e
        if not found:
            raise ConfigError(
                f"LoRA target_modules pattern '{target_modules}' matches no module of this {model_type} model; {available}"
            )
    else:
        if not target_modules:
            raise ConfigError(f"LoRA target_modules is empty; {available}")
        missing = [t for t in target_modules if not any(_matches(n, t) for n in names)]
        if missing:
            raise ConfigError(
                f"LoRA target_modules {missing} match no module of this {model_type} model; {available}"
            )
    for name in modules_to_save or []:
        # peft matches modules_to_save by plain name ending: "norm" also selects every "...layernorm".
        selected = [n for n in names if n.endswith(name)]
        if not selected:
            raise ConfigError(f"LoRA modules_to_save ['{name}'] matches no module of this {model_type} model")
        partial = [n for n in selected if not _matches(n, name)]
        if partial:
            logger.warning(
                "LoRA modules_to_save '%s' also selects %d modules whose names merely end in it (e.g. %s); "
                "name the full module path to train only the module meant",
                name,
                len(partial),
                partial[0],
            )
    config = LoraConfig(
        task_type=TaskType.CAUSAL_LM,
        r=r,
        lora_alpha=alpha,
        lora_dropout=dropout,
        target_modules=target_modules,
        modules_to_save=modules_to_save,
        # Tied input/output embeddings trained as modules_to_save (CrossIn's layout) must stay tied.
        ensure_weight_tying=_saves_tied_embeddings(model, modules_to_save),
    )
    try:
        with warnings.catch_warnings():  # peft still calls transformers' deprecated is_gradient_checkpointing
            warnings.filterwarnings("ignore", message=".*is_gradient_checkpointing.*", category=FutureWarning)
            return get_peft_model(model, config)
    except ValueError as e:  # e.g. a target that exists but is not a layer type LoRA supports
        raise ConfigError(f"cannot add LoRA adapters to this {model_type} model: {e}; {available}") from e


# ------------------------------------------------------------------------------------------------ the bridge


def build_bridge(
    encoder: str,
    lm: str,
    *,
    dtype: str = "auto",
    trust_remote_code: bool = False,
    attn_implementation: str | None = None,
    **options: Any,
) -> tuple[BridgeModel, BridgeProcessor]:
    """A new bridge from a pretrained encoder and causal LM (directories, hub ids or tiny:<kind>).

    Args:
        encoder, lm: what `load_encoder` / `load_causal_lm` accept.
        options: `BridgeOptions` fields (family, alignment, encoder_pattern, encoder_layer, ...).

    Returns:
        The bridge (alignment layer freshly initialised, a fusion's gates at zero) and its processor.

    Raises:
        ConfigError: invalid options (checked before anything loads), or options the loaded models cannot take
            (a layer they do not have; a fusion on an LM without the attention layers it needs).
    """
    from crosslift.models.bridge import (
        BridgeModel,
        BridgeProcessor,
        add_encoder_whitespace_tokens,
        check_bridge_options,
    )

    checked = check_bridge_options(options, encoder_layers=None, lm_layers=None)
    encoder_model = load_encoder(encoder, dtype=dtype, trust_remote_code=trust_remote_code)
    lm_model = load_causal_lm(
        lm, dtype=dtype, trust_remote_code=trust_remote_code, attn_implementation=attn_implementation
    )
    bridge = BridgeModel.from_parts(
        encoder_model,
        lm_model,
        encoder_name_or_path=encoder,
        lm_name_or_path=lm,
        **checked.model_dump(),
    )
    processor = BridgeProcessor(
        load_tokenizer(resolve_model_path(lm), trust_remote_code=trust_remote_code),
        load_tokenizer(resolve_model_path(encoder), trust_remote_code=trust_remote_code),
        bridge.config,
    )
    if checked.encoder_new_line_tokens:
        added = add_encoder_whitespace_tokens(processor.encoder_tokenizer, bridge.encoder)
        bridge.config.encoder_added_tokens = added
        if added:
            logger.info("encoder tokenizer: added %d whitespace tokens %s", len(added), added)
    return bridge, processor


def load_bridge(
    directory: str | Path,
    *,
    dtype: str = "auto",
    trust_remote_code: bool = False,
    attn_implementation: str | None = None,
) -> tuple[BridgeModel, BridgeProcessor]:
    """Load a saved bridge directory (safetensors only) and its two tokenizers (the LM's at the top of the
    directory, the encoder's in `encoder_tokenizer/`).

    Raises:
        CrossliftError: not a bridge directory, its weights or encoder tokenizer are missing, or this
            crosslift cannot import its bridge support.
    """
    directory = Path(directory).expanduser()
    config_file = directory / "config.json"
    model_type = saved_model_type(directory)
    if model_type is None:
        raise CrossliftError(f"{directory} is not a model directory (no config.json)")
    if model_type != BRIDGE_MODEL_TYPE:
        raise CrossliftError(
            f"{config_file} describes a {model_type!r} model, not a crosslift bridge (LinguaLIFT, LangBridge, MindMerger, LayAlign)"
        )
    try:
        from crosslift.models.bridge import ENCODER_TOKENIZER_DIR, BridgeConfig, BridgeModel, BridgeProcessor
    except ImportError as e:
        raise CrossliftError(
            f"{directory} is a bridge checkpoint, but this crosslift has no bridge support "
            f"(crosslift.models.bridge could not be imported: {e})"
        ) from e
    if not any(directory.glob("*.safetensors")):
        raise CrossliftError(f"{directory} has no safetensors weights (pickled weights are never loaded)")
    if not (directory / ENCODER_TOKENIZER_DIR).is_dir():
        raise CrossliftError(f"{directory} has no {ENCODER_TOKENIZER_DIR}/ folder: not a saved bridge")
    config = BridgeConfig.from_pretrained(directory)
    extra = {"attn_implementation": attn_implementation} if attn_implementation else {}
    model = BridgeModel.from_pretrained(
        directory, config=config, dtype=_torch_dtype(dtype), use_safetensors=True, **extra
    )
    processor = BridgeProcessor(
        load_tokenizer(str(directory), trust_remote_code=trust_remote_code),
        load_tokenizer(str(directory / ENCODER_TOKENIZER_DIR), trust_remote_code=trust_remote_code),
        model.config,
    )
    return model.eval(), processor
