"""The bridge: any Hugging Face encoder + an alignment layer + any Hugging Face causal LM, in four families.

The encoder (multilingual: mT5, XLM-R, ...) reads the prompt; the alignment layer (`models/alignment.py`) maps
its states into the LM's input-embedding space; the LM reads them as soft tokens and writes the answer. How the
LM meets the encoder is the bridge's *family* (`FAMILIES`; methods.md §1.2 and §4):

    replace  the soft tokens *replace* the prompt text (LinguaLIFT's released code, LangBridge):
                 LM input = [<bos>] [begin] soft(prompt) [end] response
    insert   the LM reads its own instruction text and the soft tokens are inserted where the user's text was
             (LinguaLIFT's figure; the authors' dev repo):
                 LM input = [<bos>] text-before [begin] soft(user text) [end] text-after response
    augment  the LM reads both views of the question: the soft tokens, then the whole prompt as its own tokens
             (MindMerger):
                 LM input = [<bos>] [begin] soft(user text) [end] prompt response
    fusion   augment, and every encoder layer read by the LM through gated cross-attention inside its own
             layers (LayAlign; `models/fusion.py`); the gates start at zero

`encoder_pattern` (a regular expression with one group) says which part of a rendered prompt is the user's text,
the part the encoder reads: required by insert, optional for augment and fusion (without it the encoder reads
the whole prompt), refused by replace. The same rule splits prompts in training and in generation. A training
stage may keep the prompt from the LM (`BridgeProcessor.encode(..., lm_reads_prompt=False)`): MindMerger's and
LayAlign's first stage, which map translation pairs before the LM ever reads a prompt of its own.

All options of a bridge are one section, `BridgeOptions`: the recipes' configs take it (`model:` of a recipe that
builds a bridge), and a saved bridge's config.json carries it as its `bridge` mapping, so both say the same
thing in the same words, and a new family is one entry of `FAMILIES` (plus its modules).

Masks and positions are built per row from the lengths of the pieces actually concatenated, so the attention
mask always covers exactly `[1 <bos>, 1 begin, enc_mask, 1 end, response]` — the released LinguaLIFT code adds
two boundary vectors but only one mask entry, shifting every mask by one; here that cannot happen (tested).
Position ids come from the attention mask (cumsum - 1), so left padding (generation) gives the same positions
as right padding (training).

The encoder must see the prompt's layout. mT5's SentencePiece normaliser turns tabs and new lines into spaces and
collapses runs of spaces, so a metamath prompt ("### Instruction:\n...") would reach it as one line. As in the
released recipe (`add_new_lines_to_enc: True`, LangBridge's section D.1), `build_bridge` adds "\t \n \r \x0b \x0c"
and runs of 2, 3 and 4 spaces to the encoder tokenizer as special tokens, matched in the raw text before
normalisation (`encoder_new_line_tokens`, on by default). Only strings the tokenizer loses are added (a
round trip decides): a byte-level or byte-fallback tokenizer that keeps "\n", e.g. a causal LM's used as the
encoder, gets nothing, so its tokenization does not change. The encoder's embedding matrix gets rows for the new
tokens (mT5's has spare rows; otherwise it is resized, new rows at the mean embedding), and the tokenizer is saved
with the bridge (`encoder_tokenizer/`). New rows train only with `trainable.encoder_embeddings`, as released.

`BridgeModel` is a `PreTrainedModel` with its own config class (`model_type: lingualift_bridge`):
`save_pretrained` writes one safetensors file with encoder, alignment layer (and fusion) and LM (tied weights
handled by transformers), and a config that embeds both sub-models' configs and names where they came from, so a
saved bridge directory loads offline by itself. `BridgeProcessor` holds both tokenizers (the LM's at the top of
the directory, the encoder's in `encoder_tokenizer/`) and turns prompts into model inputs.

Building a bridge from pretrained parts (`build_bridge`) and loading a saved one (`load_bridge`) go through
the loaders of `crosslift.models.build`; `crosslift.models.generate.BridgeGenerator` generates through a
saved one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal

import torch
from pydantic import Field, ValidationError, model_validator
from torch import nn
from transformers import AutoConfig, AutoModel, AutoModelForCausalLM, PreTrainedConfig, PreTrainedModel
from transformers.configuration_utils import SubConfigSpec

from crosslift.config import Section
from crosslift.errors import ConfigError, CrossliftError
from crosslift.models.alignment import AlignmentLayer
from crosslift.models.fusion import STRUCTURES, LayerFusion
from crosslift.models.labels import IGNORE_INDEX
from crosslift.models.model_types import BRIDGE_MODEL_TYPE, encoder_from_config
from crosslift.models.packing import pack_batch

ENCODER_TOKENIZER_DIR = "encoder_tokenizer"
# The released recipe's encoder tokens: string.whitespace without the single space, and runs of 2-4 spaces.
ENCODER_WHITESPACE = ("\t", "\n", "\r", "\x0b", "\x0c", "  ", "   ", "    ")


# ------------------------------------------------------------------------------------------------ families


@dataclass(frozen=True)
class Family:
    """How one family joins encoder and LM.

    Attributes:
        summary: one line for docs and errors.
        lm_reads: what of the prompt the LM reads as its own tokens: "nothing", "around" (the text before and
            after the encoder's part), or "prompt" (all of it, after the soft tokens).
        pattern: whether `encoder_pattern` is "refused", "required" or "optional".
        fusion: the LM also reads every encoder layer through gated cross-attention (`models/fusion.py`).
    """

    summary: str
    lm_reads: Literal["nothing", "around", "prompt"]
    pattern: Literal["refused", "required", "optional"]
    fusion: bool = False


FAMILIES: dict[str, Family] = {
    "replace": Family(
        "soft tokens replace the prompt (LinguaLIFT's released code, LangBridge)", "nothing", "refused"
    ),
    "insert": Family(
        "the LM reads its instruction, soft tokens where the user's text was (LinguaLIFT's figure)",
        "around",
        "required",
    ),
    "augment": Family(
        "soft tokens, then the whole prompt as the LM's own tokens (MindMerger)", "prompt", "optional"
    ),
    "fusion": Family(
        "augment, plus every encoder layer through gated cross-attention in the LM's layers (LayAlign)",
        "prompt",
        "optional",
        fusion=True,
    ),
}
FamilyName = Literal[tuple(FAMILIES)]


# ------------------------------------------------------------------------------------------------ options


class BridgeOptions(Section):
    """Everything that says how a bridge joins its encoder and LM: a recipe's `model:` section and a saved
    bridge's `bridge` mapping (config.json) are this, field for field."""

    family: FamilyName = Field(
        "replace",
        description="how the LM meets the encoder: "
        + "; ".join(f"{name}: {f.summary}" for name, f in FAMILIES.items()),
    )
    alignment: Literal["linear", "ffn"] = Field(
        "ffn", description="linear (LangBridge) | ffn (LinguaLIFT, MindMerger)"
    )
    alignment_hidden_size: int | None = Field(
        None, gt=0, description="ffn inner width (default 2 x encoder width)"
    )
    activation: Literal["gelu", "relu"] = Field(
        "gelu", description="the ffn's nonlinearity (LinguaLIFT: gelu; MindMerger, LayAlign: relu)"
    )
    begin_boundary: bool | None = Field(
        None, description="learned vector before the soft tokens (default: ffn yes, linear no)"
    )
    end_boundary: bool = Field(True, description="learned vector after the soft tokens")
    encoder_pattern: str | None = Field(
        None,
        description="regex whose group 1 is the part of a prompt the encoder reads (insert: required; augment, "
        "fusion: optional, default the whole prompt; replace: refused)",
    )
    encoder_layer: int = Field(
        -1,
        ge=-1,
        description="the hidden state the soft tokens come from: -1 the final output, k after layer k",
    )
    encoder_max_length: int = Field(1024, gt=0, description="the encoder's input is cut to this many tokens")
    encoder_new_line_tokens: bool = Field(
        True,
        description="add tab, new-line and 2-4-space tokens to the encoder tokenizer where it loses them "
        "(released LinguaLIFT and LangBridge: add_new_lines_to_enc)",
    )
    fusion_encoder_layers: list[int] | None = Field(
        None,
        description="fusion: the encoder hidden states mixed (0 the embeddings, k after layer k; default 0..E-1 "
        "for an E-layer encoder, as released)",
    )
    fusion_lm_layers: list[int] | None = Field(
        None, description="fusion: the LM layers that read them (default all)"
    )
    fusion_structure: Literal[STRUCTURES] = Field(
        "linear", description="fusion: projection d_enc -> d_lm, linear (released) or mlp"
    )

    @model_validator(mode="before")
    @classmethod
    def _renamed(cls, data: Any) -> Any:
        if isinstance(data, dict) and "variant" in data:
            raise ValueError(
                f"`variant` is now `family` (family: {data['variant']}; the families: {', '.join(FAMILIES)})"
            )
        return data

    @model_validator(mode="after")
    def _consistent(self) -> BridgeOptions:
        family = FAMILIES[self.family]
        if self.begin_boundary is None:
            self.begin_boundary = self.alignment == "ffn"
        if family.pattern == "refused" and self.encoder_pattern is not None:
            raise ValueError(
                f"encoder_pattern does not apply to the {self.family} family (the encoder reads the whole prompt)"
            )
        if family.pattern == "required" and not self.encoder_pattern:
            raise ValueError(
                f"the {self.family} family needs encoder_pattern: a regular expression whose group 1 is the part of "
                r"the prompt the encoder reads, e.g. '### Instruction:\n(.*?)\n\n### Response'"
            )
        if self.encoder_pattern is not None:
            try:
                groups = re.compile(self.encoder_pattern, re.DOTALL).groups
            except re.error as e:
                raise ValueError(
                    f"encoder_pattern {self.encoder_pattern!r} is not a valid regular expression: {e}"
                ) from None
            if groups < 1:
                raise ValueError(
                    f"encoder_pattern {self.encoder_pattern!r} has no group: group 1 marks the encoder's text"
                )
        if not family.fusion:
            fusion = [
                k for k in ("fusion_encoder_layers", "fusion_lm_layers") if getattr(self, k) is not None
            ]
            if fusion:
                raise ValueError(f"{', '.join(fusion)} apply to the fusion family only")
        for key in ("fusion_encoder_layers", "fusion_lm_layers"):
            value = getattr(self, key)
            if value is not None and (not value or len(set(value)) != len(value)):
                raise ValueError(f"{key} must name at least one layer, each once")
        return self


def check_bridge_options(
    options: BridgeOptions | dict[str, Any], *, encoder_layers: int | None, lm_layers: int | None
) -> BridgeOptions:
    """Validated options, also checked against the encoder's and the LM's number of layers where known.

    Raises:
        ConfigError: an option is invalid, or names a layer the models do not have.
    """
    if not isinstance(options, BridgeOptions):
        try:
            options = BridgeOptions.model_validate(options)
        except ValidationError as e:
            problems = "; ".join(
                ".".join(map(str, p["loc"])) + ": " + p["msg"].removeprefix("Value error, ")
                if p["loc"]
                else p["msg"].removeprefix("Value error, ")
                for p in e.errors()
            )
            raise ConfigError(f"bridge options: {problems}") from None
    if encoder_layers is not None:
        if not -1 <= options.encoder_layer <= encoder_layers:
            raise ConfigError(
                f"encoder_layer must be -1 or in 0..{encoder_layers} (the encoder's layers), got {options.encoder_layer}"
            )
        bad = [i for i in options.fusion_encoder_layers or [] if not -1 <= i <= encoder_layers]
        if bad:
            raise ConfigError(
                f"fusion_encoder_layers {bad} do not exist: the encoder has hidden states -1 and 0..{encoder_layers}"
            )
    if lm_layers is not None:
        bad = [i for i in options.fusion_lm_layers or [] if not -lm_layers <= i < lm_layers]
        if bad:
            raise ConfigError(f"fusion_lm_layers {bad} do not exist: the LM has layers 0..{lm_layers - 1}")
    return options


def _layers(config: Any) -> int | None:
    config = config.get_text_config() if hasattr(config, "get_text_config") else config
    return getattr(config, "num_hidden_layers", None)


# Options of bridges saved before they were one `bridge` section (flat keys in config.json; `variant` for family).
_FLAT_KEYS = (
    "alignment",
    "alignment_hidden_size",
    "begin_boundary",
    "end_boundary",
    "variant",
    "encoder_pattern",
    "encoder_layer",
    "encoder_max_length",
    "encoder_new_line_tokens",
)


class BridgeConfig(PreTrainedConfig):
    """Configuration of a bridge: both sub-models' configs embedded, plus how they are joined.

    Attributes:
        encoder_config, lm_config: the encoder's and the causal LM's own configs.
        encoder_name_or_path, lm_name_or_path: where they were loaded from (provenance; loading does not need them).
        bridge: the `BridgeOptions`, as a mapping (read them as `config.options`; change them with
            `update_options`, which validates).
        encoder_added_tokens: the whitespace tokens `build_bridge` added to the encoder tokenizer (module docstring).
    """

    model_type = BRIDGE_MODEL_TYPE
    sub_configs_defaults = {
        "encoder_config": SubConfigSpec(config_class=AutoConfig, model_type="mt5"),
        "lm_config": SubConfigSpec(config_class=AutoConfig, model_type="llama"),
    }

    encoder_config: dict | PreTrainedConfig | None = None
    lm_config: dict | PreTrainedConfig | None = None
    encoder_name_or_path: str | None = None
    lm_name_or_path: str | None = None
    bridge: dict | None = None
    encoder_added_tokens: list[str] | None = None

    def __post_init__(self, **kwargs: Any) -> None:
        flat = {key: kwargs.pop(key) for key in _FLAT_KEYS if key in kwargs}
        super().__post_init__(**kwargs)
        if self.bridge is None and flat:
            flat["family"] = flat.pop("variant", "replace")
            self.bridge = flat
        self.update_options()

    @property
    def options(self) -> BridgeOptions:
        """The bridge's options (a validated copy: change them with `update_options`)."""
        return BridgeOptions.model_validate(self.bridge)

    def update_options(self, **changes: Any) -> None:
        """Set options (all validated together, also against the sub-models' layers).

        Raises:
            ConfigError: the result is not a valid bridge.
        """
        options = check_bridge_options(
            (self.bridge or {}) | changes,
            encoder_layers=_layers(self.encoder_config),
            lm_layers=_layers(self.lm_config),
        )
        self.bridge = options.model_dump(mode="json")


# ------------------------------------------------------------------------------------------------ model


class BridgeModel(PreTrainedModel):
    """Encoder + alignment layer (+ fusion) + causal LM, trained and saved as one model.

    Build one from pretrained parts with `BridgeModel.from_parts`, load a saved one with `from_pretrained`.
    Frozen parts run in eval mode (no dropout) even while the bridge trains; the encoder always does (its
    body is frozen in every stage, so dropout there would only add noise to fixed features).
    """

    config_class = BridgeConfig
    base_model_prefix = "bridge"
    main_input_name = "input_ids"
    supports_gradient_checkpointing = True
    _supports_sdpa = True
    _supports_flash_attn = True
    _supports_flex_attn = True
    _supports_attention_backend = True
    # The alignment layer and the fusion are small and train with large learning rates: they stay float32
    # (master weights) when encoder and LM are loaded in half precision; their outputs are cast to the LM's dtype.
    _keep_in_fp32_modules_strict = ["alignment", "fusion"]

    def __init__(
        self, config: BridgeConfig, encoder: PreTrainedModel | None = None, lm: PreTrainedModel | None = None
    ) -> None:
        super().__init__(config)
        self.encoder = encoder if encoder is not None else encoder_from_config(config.encoder_config)
        self.lm = lm if lm is not None else AutoModelForCausalLM.from_config(config.lm_config)
        # One config object per sub-model, shared with the bridge's, so that changes stay in sync.
        self.config.encoder_config, self.config.lm_config = self.encoder.config, self.lm.config
        options = config.options
        encoder_size = self.config.encoder_config.hidden_size
        lm_size = self.config.lm_config.get_text_config().hidden_size
        self.alignment = AlignmentLayer(
            options.alignment,
            encoder_size,
            lm_size,
            hidden_size=options.alignment_hidden_size,
            begin=options.begin_boundary,
            end=options.end_boundary,
            activation=options.activation,
        )
        self.fusion = None
        if FAMILIES[options.family].fusion:
            lm_layers = _layers(self.config.lm_config)
            self.fusion = LayerFusion(
                len(self.fusion_encoder_layers()),
                options.fusion_lm_layers or range(lm_layers),
                encoder_size,
                lm_size,
                options.fusion_structure,
            )
            self.fusion.attach(self.lm)
        self.post_init()
        self.train(self.training)  # frozen parts (the encoder) to eval mode

    @classmethod
    def from_parts(cls, encoder: PreTrainedModel, lm: PreTrainedModel, **options: Any) -> BridgeModel:
        """A new bridge around loaded models; `options` are `BridgeOptions` fields (family, alignment, ...).

        The alignment layer starts from torch's default init (boundary vectors ~ N(0, 1)) in float32; see
        `AlignmentLayer.reset_parameters` and `crosslift.models.least_squares` for others. A fusion's gates start
        at zero.
        """
        names = {
            "encoder_name_or_path": options.pop("encoder_name_or_path", None)
            or getattr(encoder, "name_or_path", None)
            or None,
            "lm_name_or_path": options.pop("lm_name_or_path", None)
            or getattr(lm, "name_or_path", None)
            or None,
        }
        # Copies: a composite config resets its sub-configs' attention implementation, and these belong to
        # the loaded models (the bridge adopts the models' own config objects in __init__).
        config = BridgeConfig(
            encoder_config=encoder.config.to_dict(), lm_config=lm.config.to_dict(), bridge=options, **names
        )
        return cls(config, encoder=encoder, lm=lm).eval()  # eval, as from_pretrained returns models

    def _init_weights(self, module: nn.Module) -> None:
        # Only the alignment layer and the fusion are ours; the sub-models initialise themselves (and keep
        # loaded weights).
        if isinstance(module, AlignmentLayer | LayerFusion):
            module.reset_parameters()

    # -- parts

    def get_input_embeddings(self) -> nn.Module:
        return self.lm.get_input_embeddings()

    def get_output_embeddings(self) -> nn.Module | None:
        return self.lm.get_output_embeddings()

    def encoder_input_embeddings(self) -> nn.Embedding:
        return self.encoder.get_input_embeddings()

    def fusion_encoder_layers(self) -> list[int]:
        """The encoder hidden states a fusion mixes (default 0..E-1, as released: the embeddings and every layer's
        output but the last, which the soft tokens carry)."""
        chosen = self.config.options.fusion_encoder_layers
        return list(chosen) if chosen is not None else list(range(_layers(self.config.encoder_config)))

    def set_trainable(
        self, *, alignment: bool, lm: bool, encoder_embeddings: bool, fusion: bool = False
    ) -> None:
        """Freeze everything except the named parts (the encoder body is always frozen).

        Raises:
            ConfigError: `fusion` on a bridge of another family.
        """
        if fusion and self.fusion is None:
            raise ConfigError(
                f"this bridge is of the {self.config.options.family} family: it has no fusion to train"
            )
        self.requires_grad_(False)
        self.alignment.requires_grad_(alignment)
        self.lm.requires_grad_(lm)
        self.encoder_input_embeddings().requires_grad_(encoder_embeddings)
        if self.fusion is not None:
            self.fusion.requires_grad_(fusion)
        self.train(self.training)

    def train(self, mode: bool = True) -> BridgeModel:
        super().train(mode)
        self.encoder.eval()
        for part in (self.alignment, self.lm, self.fusion):
            if part is not None and not any(p.requires_grad for p in part.parameters()):
                part.eval()
        return self

    # -- forward

    def encode(
        self, encoder_input_ids: torch.Tensor, encoder_attention_mask: torch.Tensor
    ) -> tuple[torch.Tensor, ...]:
        """Encoder states of the chosen layer, projected: ([B, L, d_lm] soft tokens, begin, end).

        A fusion bridge also hands the mixed states of its layers to the fusion (`LayerFusion.attend_to`), which
        the LM's layers read in the LM's next forward pass.
        """
        layer = self.config.options.encoder_layer
        fusion_layers = self.fusion_encoder_layers() if self.fusion is not None else []
        needs_grad = torch.is_grad_enabled() and any(p.requires_grad for p in self.encoder.parameters())
        with torch.set_grad_enabled(needs_grad):
            out = self.encoder(
                input_ids=encoder_input_ids,
                attention_mask=encoder_attention_mask,
                output_hidden_states=layer != -1 or bool(fusion_layers),
            )
        if self.fusion is not None:
            hidden = [out.last_hidden_state if i == -1 else out.hidden_states[i] for i in fusion_layers]
            self.fusion.attend_to(self.fusion(hidden), encoder_attention_mask)
        states = out.last_hidden_state if layer == -1 else out.hidden_states[layer]
        return self.alignment(states.to(self.alignment.output_layer.weight.dtype))

    def embed(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor,
        prefix_lengths: torch.Tensor,
        encoder_input_ids: torch.Tensor,
        encoder_attention_mask: torch.Tensor,
        labels: torch.Tensor | None = None,
        padding_side: str = "right",
    ) -> dict[str, torch.Tensor]:
        """Assemble the LM's inputs, row by row: text[:prefix], begin, soft tokens, end, text[prefix:].

        Args:
            input_ids, attention_mask: the LM's own tokens of each row (either padding side), i.e. the text
                before the soft tokens followed by the text after them (and the response, in training).
            prefix_lengths: [B] how many of a row's (non-padding) tokens come before the soft tokens.
            encoder_input_ids, encoder_attention_mask: the encoder's tokens (either padding side).
            labels: aligned with input_ids; the soft tokens and boundaries get IGNORE_INDEX.
            padding_side: where the assembled rows are padded ("left" for generation).

        Returns:
            inputs_embeds [B, T, d], attention_mask [B, T], position_ids [B, T] and, with labels, labels [B, T].
        """
        soft, begin, end = self.encode(encoder_input_ids, encoder_attention_mask)
        tokens = self.lm.get_input_embeddings()(input_ids)
        soft = soft.to(tokens.dtype)
        begin, end = begin.to(tokens.dtype), end.to(tokens.dtype)
        text_keep, enc_keep = attention_mask.bool(), encoder_attention_mask.bool()
        rows, row_labels = [], []
        for i, p in enumerate(prefix_lengths.tolist()):
            text = tokens[i][text_keep[i]]
            middle = torch.cat([begin, soft[i][enc_keep[i]], end])
            rows.append(torch.cat([text[:p], middle, text[p:]]))
            if labels is not None:
                lab = labels[i][text_keep[i]]
                ignored = lab.new_full((len(middle),), IGNORE_INDEX)
                row_labels.append(torch.cat([lab[:p], ignored, lab[p:]]))
        # The mask is made from the rows themselves: one 1 per vector actually concatenated, nothing else.
        lengths = torch.tensor([len(r) for r in rows], device=tokens.device)
        width = int(lengths.max())
        span = torch.arange(width, device=tokens.device)
        if padding_side == "right":
            mask = span[None, :] < lengths[:, None]
        elif padding_side == "left":
            mask = span[None, :] >= (width - lengths)[:, None]
        else:
            raise ValueError(f"padding_side must be 'left' or 'right', got {padding_side!r}")
        embeds = tokens.new_zeros(len(rows), width, tokens.shape[-1])
        embeds[mask] = torch.cat(rows)
        out = {
            "inputs_embeds": embeds,
            "attention_mask": mask.long(),
            "position_ids": (mask.long().cumsum(-1) - 1).clamp(min=0),
        }
        if labels is not None:
            out["labels"] = labels.new_full((len(rows), width), IGNORE_INDEX)
            out["labels"][mask] = torch.cat(row_labels)
        return out

    def forward(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor,
        prefix_lengths: torch.Tensor,
        encoder_input_ids: torch.Tensor,
        encoder_attention_mask: torch.Tensor,
        labels: torch.Tensor | None = None,
        packed: bool = False,
        row_tokens: int | None = None,
        **kwargs: Any,
    ) -> Any:
        """The LM's output (loss with labels, logits) on the assembled sequence; see `embed`.

        `packed` lays the assembled rows out padding-free before the LM (`crosslift.models.packing`: rows of at
        most `row_tokens` positions, None: one row); the loss is the padded one. Extra keyword arguments (e.g.
        `num_items_in_batch` from the Trainer) go to the LM.

        Raises:
            ConfigError: `packed` with a fusion (packed rows mix examples; each reads its own encoder states).
        """
        if packed and self.fusion is not None:
            raise ConfigError(
                "padding-free packing (training.packing) does not apply to the fusion family: a packed row holds "
                "several examples, and each must read its own encoder states"
            )
        inputs = self.embed(
            input_ids, attention_mask, prefix_lengths, encoder_input_ids, encoder_attention_mask, labels
        )
        if labels is not None:
            kwargs.setdefault("use_cache", False)
        if packed:
            lengths = inputs.pop("attention_mask").sum(-1)
            del inputs["position_ids"]
            inputs = pack_batch(inputs, lengths, row_tokens=row_tokens, pad_values={"inputs_embeds": 0.0})
            kwargs["use_cache"] = False  # with a cache, transformers would not find the example boundaries
        return self.lm(**inputs, **kwargs)

    @torch.no_grad()
    def generate_tokens(
        self, batch: dict[str, torch.Tensor], generation_config: Any, tokenizer: Any = None
    ) -> torch.Tensor:
        """New token ids for a collated batch (no labels): left-padded soft prompts, decoded with the KV cache."""
        inputs = self.embed(**batch, padding_side="left")
        try:
            # generate() derives the same position ids from the attention mask, also for the new tokens.
            return self.lm.generate(
                inputs_embeds=inputs["inputs_embeds"],
                attention_mask=inputs["attention_mask"],
                generation_config=generation_config,
                tokenizer=tokenizer,
            )
        finally:
            if self.fusion is not None:
                self.fusion.clear()


AutoConfig.register(BridgeConfig.model_type, BridgeConfig, exist_ok=True)
AutoModel.register(BridgeConfig, BridgeModel, exist_ok=True)


# ------------------------------------------------------------------------------------------------ inputs


def special_prefix(tokenizer: Any) -> list[int]:
    """The ids a tokenizer puts before any text by itself (e.g. Llama's <s>; nothing for Qwen2)."""
    with_special = tokenizer("a", add_special_tokens=True)["input_ids"]
    plain = tokenizer("a", add_special_tokens=False)["input_ids"]
    if plain and with_special[len(with_special) - len(plain) :] == plain:
        return list(with_special[: len(with_special) - len(plain)])
    return []


class BridgeProcessor:
    """Both tokenizers, and the rules that turn a prompt (and a training target) into bridge inputs.

    The encoder reads the whole prompt, or group 1 of `encoder_pattern`; the LM reads its own special prefix
    (BOS) and, by the family, nothing more (replace), the text before and after that group (insert), or the whole
    prompt after the soft tokens (augment, fusion); each piece is tokenized on its own, exactly the same way in
    training and in generation. A target is tokenized on its own and ends with EOS.

    Args:
        lm_tokenizer, encoder_tokenizer: the two tokenizers.
        config: the bridge's config (family, encoder_pattern, encoder_max_length, boundary vectors).
    """

    def __init__(self, lm_tokenizer: Any, encoder_tokenizer: Any, config: BridgeConfig) -> None:
        self.lm_tokenizer, self.encoder_tokenizer, self.config = lm_tokenizer, encoder_tokenizer, config
        self.options = config.options
        self.family = FAMILIES[self.options.family]
        pattern = self.options.encoder_pattern
        self.pattern = re.compile(pattern, re.DOTALL) if pattern else None
        self.lm_prefix = special_prefix(lm_tokenizer)
        self.boundaries = int(self.options.begin_boundary) + int(self.options.end_boundary)
        for name, tok in (("LM", lm_tokenizer), ("encoder", encoder_tokenizer)):
            if tok.pad_token_id is None:
                raise CrossliftError(
                    f"the {name} tokenizer has no pad token (load it with crosslift.models.build.load_tokenizer)"
                )

    def tokenizers(self) -> dict[str, Any]:
        """{subfolder: tokenizer} as `crosslift.train.common.save_final` writes them."""
        return {"": self.lm_tokenizer, ENCODER_TOKENIZER_DIR: self.encoder_tokenizer}

    def split(self, prompt: str, *, lm_reads_prompt: bool = True) -> tuple[str, str, str]:
        """(LM text before, encoder text, LM text after) of a prompt, by the family (class docstring).

        `lm_reads_prompt=False` keeps the prompt from the LM of an augment or fusion bridge (their first
        training stage); other families refuse it.
        """
        if not lm_reads_prompt and self.family.lm_reads != "prompt":
            raise ConfigError(
                f"keeping the prompt from the LM applies to the augment and fusion families; this bridge is "
                f"{self.options.family}, whose LM reads {self.family.lm_reads} of the prompt anyway"
            )
        encoder_text, before, after = prompt, "", ""
        if self.pattern is not None:
            m = self.pattern.search(prompt)
            if m is None:
                raise CrossliftError(
                    f"prompt does not match the bridge's encoder_pattern {self.pattern.pattern!r}, so it is "
                    f"unclear which part the encoder reads; prompt starts: {prompt[:120]!r}"
                )
            encoder_text = m.group(1)
            if self.family.lm_reads == "around":
                before, after = prompt[: m.start(1)], prompt[m.end(1) :]
        if self.family.lm_reads == "prompt" and lm_reads_prompt:
            after = prompt
        return before, encoder_text, after

    def encode(
        self,
        prompt: str,
        target: str | None = None,
        *,
        lm_max_length: int | None = None,
        lm_reads_prompt: bool = True,
    ) -> dict[str, Any] | None:
        """Token ids for one example (`lm_reads_prompt`: see `split`).

        Returns:
            {"input_ids", "labels" (with a target), "prefix_length", "encoder_input_ids", "encoder_truncated",
            "target_truncated"}; None when `lm_max_length` leaves no room for a single target token.
        """
        before, encoder_text, after = self.split(prompt, lm_reads_prompt=lm_reads_prompt)
        lm, enc = self.lm_tokenizer, self.encoder_tokenizer
        # One token over the limit tells whether the text fits (and the tokenizer does not warn about length).
        limit = self.options.encoder_max_length
        encoder_ids = enc(encoder_text, add_special_tokens=True, truncation=True, max_length=limit + 1)[
            "input_ids"
        ]
        encoder_truncated = len(encoder_ids) > limit
        if encoder_truncated:
            encoder_ids = enc(encoder_text, add_special_tokens=True, truncation=True, max_length=limit)[
                "input_ids"
            ]
        prefix = self.lm_prefix + (lm(before, add_special_tokens=False)["input_ids"] if before else [])
        suffix = lm(after, add_special_tokens=False)["input_ids"] if after else []
        feature: dict[str, Any] = {
            "prefix_length": len(prefix),
            "encoder_input_ids": encoder_ids,
            "encoder_truncated": encoder_truncated,
            "target_truncated": False,
        }
        if target is None:
            feature["input_ids"] = prefix + suffix
            return feature
        target_ids = lm(target, add_special_tokens=False)["input_ids"]
        if lm.eos_token_id is not None:
            target_ids.append(lm.eos_token_id)
        if lm_max_length is not None:
            room = lm_max_length - len(prefix) - self.boundaries - len(encoder_ids) - len(suffix)
            if room < 1:
                return None
            feature["target_truncated"] = len(target_ids) > room
            target_ids = target_ids[:room]
        feature["input_ids"] = prefix + suffix + target_ids
        feature["labels"] = [IGNORE_INDEX] * (len(prefix) + len(suffix)) + target_ids
        return feature

    def soft_length(self, feature: dict[str, Any]) -> int:
        """How many vectors the encoder side adds to the LM sequence (soft tokens + boundaries)."""
        return len(feature["encoder_input_ids"]) + self.boundaries

    def collate(self, features: list[dict[str, Any]]) -> dict[str, torch.Tensor]:
        """Pad a list of `encode` results into a batch (right padding; `BridgeModel.embed` re-pads the LM side)."""

        def pad(rows: list[list[int]], value: int) -> torch.Tensor:
            width = max(len(r) for r in rows)
            return torch.tensor([r + [value] * (width - len(r)) for r in rows], dtype=torch.long)

        def mask(rows: list[list[int]]) -> torch.Tensor:
            return pad([[1] * len(r) for r in rows], 0)

        text = [f["input_ids"] for f in features]
        enc = [f["encoder_input_ids"] for f in features]
        batch = {
            "input_ids": pad(text, self.lm_tokenizer.pad_token_id),
            "attention_mask": mask(text),
            "prefix_lengths": torch.tensor([f["prefix_length"] for f in features], dtype=torch.long),
            "encoder_input_ids": pad(enc, self.encoder_tokenizer.pad_token_id),
            "encoder_attention_mask": mask(enc),
        }
        if "labels" in features[0]:
            batch["labels"] = pad([f["labels"] for f in features], IGNORE_INDEX)
        return batch

    __call__ = collate


# ------------------------------------------------------------------------------------------------ encoder tokens


def lost_whitespace(tokenizer: Any) -> list[str]:
    """The strings of `ENCODER_WHITESPACE` that do not survive a round trip through `tokenizer` ("a\\nb" decoding
    to "a b")."""
    lost = []
    for ws in ENCODER_WHITESPACE:
        ids = tokenizer(f"a{ws}b", add_special_tokens=False)["input_ids"]
        if ws not in tokenizer.decode(ids):
            lost.append(ws)
    return lost


def add_encoder_whitespace_tokens(tokenizer: Any, encoder: PreTrainedModel) -> list[str]:
    """Add the whitespace strings `tokenizer` loses as special tokens (matched before normalisation, as released)
    and make sure `encoder` has an embedding row for each; returns the strings added (none: nothing changed).

    Rows come from the matrix's spare rows when it has them (mT5); otherwise it is resized and the new rows start
    at the mean embedding.
    """
    from tokenizers import AddedToken

    added = lost_whitespace(tokenizer)
    if not added:
        return []
    tokenizer.add_tokens(
        [AddedToken(ws, special=True, normalized=False) for ws in added], special_tokens=True
    )
    weight = encoder.get_input_embeddings().weight
    rows = weight.shape[0]
    if len(tokenizer) > rows:
        mean = weight.detach().float().mean(0)
        encoder.resize_token_embeddings(len(tokenizer), mean_resizing=False)
        resized = encoder.get_input_embeddings().weight
        with torch.no_grad():
            resized[rows:] = mean.to(resized.dtype)
    return added
