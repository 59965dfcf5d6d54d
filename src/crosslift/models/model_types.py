"""Which class serves a checkpoint, decided by the ``model_type`` of its config.

The loaders (`crosslift.models.build`), the bridge (`crosslift.models.bridge`) and the generator dispatch
(`crosslift.models.generate`) all need these answers; they live here, below all three and without torch, so
that none of them imports another only to ask.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from crosslift.errors import CrossliftError

if TYPE_CHECKING:
    from transformers import PreTrainedModel

# A saved LinguaLIFT bridge (`crosslift.models.bridge.BridgeConfig`).
BRIDGE_MODEL_TYPE = "lingualift_bridge"
# Encoder-decoders whose encoder has its own class: loading it skips the decoder's weights entirely.
ENCODER_ONLY_CLASSES = {"t5": "T5EncoderModel", "mt5": "MT5EncoderModel", "umt5": "UMT5EncoderModel"}


def saved_model_type(directory: Path) -> str | None:
    """The ``model_type`` in a directory's config.json; None when it has no config.json."""
    config = directory / "config.json"
    if not config.is_file():
        return None
    try:
        return json.loads(config.read_text(encoding="utf-8")).get("model_type")
    except (OSError, json.JSONDecodeError) as e:
        raise CrossliftError(f"{config}: not valid JSON ({e})") from None


def encoder_from_config(config: Any) -> PreTrainedModel:
    """A randomly initialised encoder for `config`: the encoder half alone for T5-family configs."""
    import transformers
    from transformers import AutoModel

    name = ENCODER_ONLY_CLASSES.get(config.model_type)
    if name is not None:
        return getattr(transformers, name)(config)
    model = AutoModel.from_config(config)
    return model.get_encoder() if getattr(config, "is_encoder_decoder", False) else model
