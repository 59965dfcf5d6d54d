"""What each `crosslift data` verb takes: one typed spec per verb (its reading options are `ReadOptions`).

    codeswitch      LinguaLIFT stage-1 data: code-switched text -> original English
    crossin         CrossIn mixes (base, en2x, x2en, trans, x2x) from a parallel instruction set
    plug            PLUG pivot targets (or the monolingual baseline) from parallel instruction data
    qalign          QAlign stage-1 data: question translation x -> English, from parallel questions
    mindmerger      MindMerger / LayAlign data: mapping pairs x -> English, or query-translated task data
    toy             a toy parallel set of arithmetic problems made in code (tiny configs and tests)
    mix             a weighted mixture of example files, reseeded per epoch
    translate       translate instruction + response jointly through an OpenAI-compatible endpoint
    lexicon-stats   entries and corpus coverage of bilingual lexicons, per language
    validate        check an example file: every record, ids, language codes, PLUG markers
    download        fetch catalogued benchmarks and lexicons (MMWP, MGSM, MUSE, ...) into the cache, verified

The verbs that write data (`BUILD_SPECS`) may also build a training source: its `build:` is such a spec as a
YAML mapping, `verb:` naming it (`crosslift.data.sources`). `crosslift.data.commands` runs a spec;
`crosslift.cli.data` puts each spec on the command line, one option per field (`command_line_flags`).

The old form of `build:`, the command line of `crosslift data VERB ...` as a list, is read by `spec_from_argv`
through the same options.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal, get_args, get_origin

from pydantic import BaseModel, BeforeValidator, Field, PrivateAttr, ValidationError, model_validator
from pydantic.fields import FieldInfo

from crosslift.config import Section
from crosslift.data.options import (
    ONE_ARGUMENT,
    LanguageFiles,
    Names,
    OneArgument,
    ReadOptions,
    Weights,
    split_language_files,
)
from crosslift.errors import ConfigError

Mode = Literal["base", "en2x", "x2en", "trans", "x2x"]
MODES: tuple[str, ...] = get_args(Mode)
Sampling = Literal["coupled", "independent"]
MODE_NUMBERS = {"base": 0, "en2x": 1, "x2en": 2, "trans": 3, "x2x": 4}  # 0-3 are the original --stage values


def parse_modes(text: str | Sequence[str]) -> list[str]:
    """CrossIn modes from names or the original stage numbers: "base,en2x,trans" or "0 1 3" or "0-1-3".

    Raises:
        ConfigError: an unknown mode, or none.
    """
    items = text.replace(",", " ").replace("-", " ").split() if isinstance(text, str) else list(text)
    by_number = {str(n): m for m, n in MODE_NUMBERS.items()}
    modes = [by_number.get(str(item), item) for item in items]
    unknown = [m for m in modes if m not in MODES]
    if unknown or not modes:
        raise ConfigError(
            f"unknown CrossIn mode(s) {unknown or text!r}; choose from {', '.join(MODES)} (or 0-3)"
        )
    return list(dict.fromkeys(modes))


def _modes(value: Any) -> Any:
    try:
        return parse_modes(value) if isinstance(value, str | list | tuple) else value
    except ConfigError as e:
        raise ValueError(str(e)) from None


def _weighted_files(value: Any) -> Any:
    """['a.jsonl:1', 'b.jsonl:3', 'c.jsonl'] -> {'a.jsonl': 1, 'b.jsonl': 3, 'c.jsonl': 1}; a mapping is left as
    it is. A suffix that is not a number belongs to the path."""
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list):
        return value
    files: dict[str, str] = {}
    for item in map(str, value):
        path, sep, weight = item.rpartition(":")
        try:
            float(weight)
        except ValueError:
            sep = ""
        files[path if sep else item] = weight if sep else "1"
    return files


Modes = Annotated[list[Mode], BeforeValidator(_modes), ONE_ARGUMENT]
# One LANG=FILE (a mapping of one language in YAML).
LanguageFile = Annotated[dict[str, Path], BeforeValidator(split_language_files), ONE_ARGUMENT]
# FILE[:WEIGHT], repeated on the command line; a mapping of file to weight in YAML.
WeightedFiles = Annotated[dict[str, float], BeforeValidator(_weighted_files)]


class Spec(Section):
    """What every verb's spec has: the verb's name, and where it came from when it was a command line."""

    verb: str
    _argv: list[str] | None = PrivateAttr(None)

    @property
    def argv(self) -> list[str] | None:
        """The list of command-line arguments this spec was read from (`spec_from_argv`), if it was."""
        return self._argv


class BuildingSpec(ReadOptions, Spec):
    """A verb that reads records and writes examples."""

    skip_invalid: bool = Field(
        False,
        description="skip (and count, by reason) invalid input records instead of stopping at the first",
    )


class ToyInput(Section):
    """The toy set (`crosslift data toy`) as a verb's input instead of its files."""

    toy_items: int | None = Field(
        None,
        ge=1,
        description="instead of input files: this many problems of the toy set made in code (crosslift data "
        "toy: English, and word ciphers of it in the other languages; not real languages)",
    )
    toy_seed: int = Field(0, ge=0, description="the toy set's seed")


class CodeswitchSpec(ToyInput, BuildingSpec):
    """LinguaLIFT stage-1 data: code-switched text -> original English."""

    verb: Literal["codeswitch"] = "codeswitch"
    input: Path | None = Field(
        None,
        description="English records (JSONL, JSON, CSV, TSV, parquet, ...); or --toy-items (records with the "
        "fields question and answer)",
    )
    field: str = Field(description="the field holding the English text, e.g. question")
    lexicon: list[str] = Field(
        min_length=1,
        description="lexicon directory or file, or a downloaded catalogue lexicon (muse, wechsel, gatitos), or "
        "toy (the toy set's cipher); repeat, highest priority first; xx=FILE names a file's language",
    )
    download: bool = Field(False, description="download a catalogue lexicon named by --lexicon if missing")
    merge: Literal["priority", "union"] = Field("priority", description="how to merge several lexicons")
    languages: Names = Field(min_length=1, description="target languages, e.g. sw,te,bn,th,zh,de")
    weights: Weights | None = Field(None, description="language weights (default uniform)")
    tier_weights: Weights | None = Field(
        None, description="weights by resource tier, e.g. low=3,medium=2,high=1 (see --tier-rule)"
    )
    tier_rule: str | None = Field(None, description="tier rule for --tier-weights (default: mmwp-llama2)")
    ratio: float = Field(0.4, ge=0, le=1, description="fraction of lexicon-covered words to switch")
    seed: int = Field(0, ge=0)
    pick: Literal["random", "first"] = Field("random", description="which translation of a word")
    style: Literal["plain", "instruct"] = Field(
        "plain",
        description="plain: instruction = code-switched text; instruct: 'Translate the following code-switched "
        "<Language> sentence to pure English:' with the text as input",
    )
    protect_names: bool = Field(
        True,
        description="false (--no-protect-names): also switch capitalised words inside sentences, which are "
        "otherwise kept (likely names)",
    )
    protect: list[str] | None = Field(
        None,
        description="never switch matches of this pattern (repeat; replaces the defaults: URLs, <<...>>)",
    )
    parallel: LanguageFiles = Field(
        default_factory=dict,
        description="line-aligned parallel text for sentence-level switching (needs en=FILE too)",
    )
    parallel_field: str = Field("text", description="field of the parallel records (not .txt files)")
    sentence_ratio: float = Field(
        0.0, ge=0, le=1, description="probability of rendering a sentence whole when parallel text has it"
    )
    holdout_share: float = Field(
        0.05,
        ge=0,
        lt=1,
        description="share of each lexicon never switched, so that LinguaLIFT's alignment check tests word "
        "retrieval on unseen pairs (0: none)",
    )
    holdout_seed: int | None = Field(None, ge=0, description="seed of the held-out choice (default: --seed)")
    lexicon_skip_invalid: bool = Field(False, description="count malformed lexicon lines instead of failing")

    @model_validator(mode="after")
    def _one_input(self) -> CodeswitchSpec:
        if (self.input is None) == (self.toy_items is None):
            raise ValueError("give the English records (--input FILE) or --toy-items, one of them")
        return self


class CrossinSpec(ToyInput, BuildingSpec):
    """CrossIn mixes (base, en2x, x2en, trans, x2x) from a parallel instruction set."""

    verb: Literal["crossin"] = "crossin"
    parallel: LanguageFiles = Field(
        default_factory=dict,
        description="one file per language of the parallel instruction set (repeat; en=FILE required); or "
        "--toy-items with --targets",
    )
    align: Literal["index", "id"] = Field("index", description="how parallel files line up")
    base: list[Path] = Field(default_factory=list, description="English complex-task file(s) of mode base")
    base_options: ReadOptions = Field(default_factory=ReadOptions, description="how to read the base files")
    base_toy_items: int | None = Field(
        None,
        ge=1,
        description="instead of --base files: this many English problems of the toy set, drawn with "
        "--toy-seed + 1 (other draws than the parallel items)",
    )
    modes: Modes = Field(
        ["base", "en2x", "x2en", "trans"], description="modes (names or stage numbers 0-3), e.g. 0-1-3"
    )
    size: int | None = Field(None, ge=0, description="examples per parallel mode (default: size of the set)")
    targets: Names | None = Field(
        None, description="the languages x (default: all non-English parallel languages)"
    )
    seed: int = Field(0, ge=0)
    sampling: Sampling = Field(
        "coupled",
        description="coupled: one (item, language) draw per example shared by every mode, as released; "
        "independent: each mode draws its own",
    )

    @model_validator(mode="after")
    def _one_input(self) -> CrossinSpec:
        if self.parallel and self.toy_items is not None:
            raise ValueError(
                "give the parallel files (--parallel LANG=FILE, repeated) or --toy-items, not both"
            )
        if self.toy_items is not None and not self.targets:
            raise ValueError("--toy-items needs --targets (the toy set's languages besides English)")
        if self.base and self.base_toy_items is not None:
            raise ValueError("give the base files (--base FILE) or --base-toy-items, not both")
        return self


class PlugSpec(ToyInput, BuildingSpec):
    """PLUG pivot targets (or the monolingual baseline) from parallel instruction data."""

    verb: Literal["plug"] = "plug"
    pivot: LanguageFile = Field(
        default_factory=dict, max_length=1, description="the pivot-language (English) file"
    )
    target: LanguageFiles = Field(
        default_factory=dict, description="a target-language file (repeat); or --toy-items with --targets"
    )
    targets: Names | None = Field(
        None, description="with --toy-items: the target languages (the pivot is English)"
    )
    align: Literal["index", "id"] = Field("id", description="how the files line up (shared id, or order)")
    monolingual: bool = Field(False, description="build the monolingual baseline instead")
    pivot_label: str = Field("English instruction:", description="label of the pivot-instruction line")
    pivot_instruction: bool = Field(
        True,
        description="false (--no-pivot-instruction): leave the pivot-instruction line out",
    )

    @model_validator(mode="after")
    def _one_input(self) -> PlugSpec:
        files = bool(self.pivot) or bool(self.target)
        if files == (self.toy_items is not None):
            raise ValueError(
                "give the files (--pivot LANG=FILE and --target LANG=FILE) or --toy-items, one of them"
            )
        if files and not (self.pivot and self.target):
            missing = "--pivot" if not self.pivot else "--target"
            raise ValueError(f"the files need {missing} too (one pivot file, and a file per target language)")
        if self.toy_items is not None and not self.targets:
            raise ValueError("--toy-items needs --targets (the target languages)")
        return self


class ParallelInputSpec(ToyInput, BuildingSpec):
    """A verb that reads a parallel set: one file per language (the same items in each), or the toy set."""

    parallel: LanguageFiles = Field(
        default_factory=dict,
        description="one file per language of the parallel set (repeat; the pivot's is required), e.g. "
        "parallel questions, or `crosslift data translate` output beside its English input (--align id)",
    )
    align: Literal["index", "id"] = Field("index", description="how the parallel files line up")
    pivot_language: str = Field("en", description="the language everything is mapped onto")
    languages: Names | None = Field(
        None, description="the languages mapped onto the pivot (default: every other language of the set)"
    )

    @model_validator(mode="after")
    def _one_input(self) -> ParallelInputSpec:
        if bool(self.parallel) == (self.toy_items is not None):
            raise ValueError(
                "give the parallel files (--parallel LANG=FILE, repeated) or --toy-items, one of them"
            )
        if self.toy_items is not None and not self.languages:
            raise ValueError("--toy-items needs --languages (the toy set's languages besides the pivot)")
        return self


class QalignSpec(ParallelInputSpec):
    """QAlign stage-1 data: question translation x -> English, from parallel questions."""

    verb: Literal["qalign"] = "qalign"
    instruction: str = Field(
        "Translate the following sentences from {source} to {target}.",
        description="the instruction before the x text ({source}, {target}: the languages' English names)",
    )


class MindmergerSpec(ParallelInputSpec):
    """MindMerger / LayAlign data: mapping pairs x -> English, or query-translated task data."""

    verb: Literal["mindmerger"] = "mindmerger"
    stage: Literal["mapping", "augmentation"] = Field(
        description="mapping: the x text -> the English text; augmentation: the x question -> the English response"
    )
    include_pivot: bool = Field(
        False,
        description="augmentation: also the pivot's own questions (English question -> English response)",
    )


class ToySpec(Spec):
    """A toy parallel set of arithmetic problems made in code (tiny configs and tests; not real languages)."""

    verb: Literal["toy"] = "toy"
    languages: Names = Field(
        ["en"],
        min_length=1,
        description="the languages written, one example per item each (en: the English text)",
    )
    items: int = Field(64, ge=1, description="problems per language")
    seed: int = Field(0, ge=0)


class MixSpec(BuildingSpec):
    """A weighted mixture of example files, reseeded per epoch."""

    verb: Literal["mix"] = "mix"
    source: WeightedFiles = Field(min_length=1, description="example file and its weight (repeat)")
    size: int = Field(ge=1, description="examples per epoch")
    epochs: int = Field(1, ge=1, description="epochs to write, each a fresh sample")
    seed: int = Field(0, ge=0)


class TranslateSpec(BuildingSpec):
    """Translate instruction + response jointly through an OpenAI-compatible endpoint."""

    verb: Literal["translate"] = "translate"
    input: Path = Field(description="English instruction data")
    language: str = Field(description="target language")
    base_url: str = Field(description="OpenAI-compatible endpoint, e.g. http://localhost:8000/v1")
    model: str = Field(description="model name at the endpoint")
    api_key_env: str = Field("OPENAI_API_KEY", description="environment variable holding the API key")
    concurrency: int = Field(8, ge=1)
    max_retries: int = Field(4, ge=0, description="retries per request (HTTP errors and failed splits)")
    timeout: float = Field(60.0, gt=0, description="seconds per request")
    temperature: float = Field(0.0, ge=0)
    max_tokens: int = Field(2048, ge=1)
    skip_invalid: bool = Field(False, description="skip invalid input records")


class LexiconStatsSpec(ReadOptions, Spec):
    """Entries and corpus coverage of bilingual lexicons, per language."""

    verb: Literal["lexicon-stats"] = "lexicon-stats"
    lexicon: list[str] = Field(
        min_length=1,
        description="lexicon directory or file, or a downloaded catalogue lexicon (muse, wechsel, gatitos); "
        "repeat",
    )
    download: bool = Field(False, description="download a catalogue lexicon named by --lexicon if missing")
    merge: Literal["priority", "union"] = Field("priority", description="how to merge several lexicons")
    languages: Names | None = Field(None, description="languages to report (default: every language found)")
    corpus: Path | None = Field(None, description="English corpus to measure coverage on")
    field: str = Field("text", description="the corpus field holding the text")
    skip_invalid: bool = Field(False, description="count malformed lexicon lines instead of failing")


class ValidateSpec(ReadOptions, Spec):
    """Check an example file: every record, ids, language codes, PLUG markers."""

    verb: Literal["validate"] = "validate"
    path: Path = Field(description="the example file")
    max_errors: int = Field(20, ge=0, description="list at most this many problems")


class DownloadSpec(Spec):
    """Fetch catalogued benchmarks and lexicons (MMWP, MGSM, MUSE, ...) into the cache, verified."""

    verb: Literal["download"] = "download"
    names: list[str] = Field(
        default_factory=list,
        description="datasets: mmwp, mgsm, xquad, seaeval, gsm8k, alpaca_eval, muse, wechsel, gatitos, ntrex "
        "(--list shows them all)",
    )
    to: Path | None = Field(
        None, description="data folder (default: $CROSSLIFT_CACHE/data, else ~/.cache/crosslift/data)"
    )
    from_dir: Path | None = Field(
        None,
        description="take the files from DIR (fetched elsewhere) instead of the network; verified the same way",
    )
    urls: bool = Field(False, description="print the upstream URLs of the datasets and exit")
    catalogue: bool = Field(False, description="list the catalogue: licenses, sizes, what is downloaded")
    timeout: float = Field(30.0, gt=0, description="seconds a connection may stay silent")


# The verbs that write a data file, and so may build a training source.
BuildSpec = (
    CodeswitchSpec | CrossinSpec | PlugSpec | QalignSpec | MindmergerSpec | ToySpec | MixSpec | TranslateSpec
)
BUILD_SPECS: dict[str, type[Spec]] = {spec.model_fields["verb"].default: spec for spec in get_args(BuildSpec)}


# ---------------------------------------------------------------------------------------------- command line

# Fields whose option is not --their-name.
FLAG_NAMES = {"from_dir": "--from", "catalogue": "--list"}


@dataclass(frozen=True)
class Flag:
    """The command-line option of one field of a spec.

    Attributes:
        name: the option, e.g. "--base-format".
        keys: where its value goes in the spec, e.g. ("base_options", "format").
        takes: "nothing" (a switch: it sets `value`), "one" argument, or "repeated" (one argument each time,
            collected in a list).
        value: what a switch sets: True, or False for a --no-... option of a field that is true by default.
    """

    name: str
    keys: tuple[str, ...]
    field: FieldInfo
    takes: Literal["nothing", "one", "repeated"]
    value: bool = True


def _one_argument(field: FieldInfo) -> bool:
    def marked(annotation: Any) -> bool:
        if get_origin(annotation) is Annotated:
            return any(isinstance(m, OneArgument) for m in annotation.__metadata__)
        return any(marked(a) for a in get_args(annotation))

    return any(isinstance(m, OneArgument) for m in field.metadata) or marked(field.annotation)


def _many(annotation: Any) -> bool:
    """A list or mapping (possibly optional)."""
    return get_origin(annotation) in (list, dict) or any(_many(a) for a in get_args(annotation))


def command_line_flags(spec: type[BaseModel], keys: tuple[str, ...] = (), prefix: str = "") -> list[Flag]:
    """The options of a spec's fields, its own before those it inherits: `--field-name` (`FLAG_NAMES` where
    not), `--no-field-name` for a switch that is on by default; a nested `X_options: ReadOptions` field gives
    `--X-format` and so on."""
    flags = []
    own = vars(spec).get("__annotations__", {})
    for name, field in sorted(spec.model_fields.items(), key=lambda item: item[0] not in own):
        if name == "verb":
            continue
        at = (*keys, name)
        if isinstance(field.annotation, type) and issubclass(field.annotation, ReadOptions):
            flags += command_line_flags(field.annotation, at, prefix + name.removesuffix("_options") + "-")
            continue
        flag = FLAG_NAMES.get(name, f"--{prefix}{name.replace('_', '-')}")
        if field.annotation is bool:
            on = field.default is not True
            flags.append(Flag(flag if on else f"--no-{flag[2:]}", at, field, "nothing", on))
        elif _many(field.annotation) and not _one_argument(field):
            flags.append(Flag(flag, at, field, "repeated"))
        else:
            flags.append(Flag(flag, at, field, "one"))
    return flags


def put(mapping: dict[str, Any], flag: Flag, value: Any) -> None:
    """Set a flag's value in the (nested) mapping of a spec; a repeated flag's values are collected."""
    *sections, key = flag.keys
    for section in sections:
        mapping = mapping.setdefault(section, {})
    if flag.takes == "repeated":
        mapping.setdefault(key, []).append(value)
    else:
        mapping[key] = value


def command_line_problems(error: ValidationError, flags: Sequence[Flag]) -> str:
    """A spec's validation error in the command line's words: the options that are missing, and each bad value
    with its option."""
    by_keys = {flag.keys: flag for flag in flags}
    missing, problems = [], []
    for problem in error.errors():
        loc = tuple(str(k) for k in problem["loc"])
        flag = next((by_keys[loc[:n]] for n in range(len(loc), 0, -1) if loc[:n] in by_keys), None)
        option = flag.name if flag else ".".join(loc)
        message = problem["msg"].removeprefix("Value error, ")
        if problem["type"] == "missing":
            missing.append(option)
        elif loc:
            problems.append(f"argument {option}: got {problem.get('input')!r}; expected: {message}")
        else:
            problems.append(message)
    if missing:
        problems.insert(0, f"the following arguments are required: {', '.join(missing)}")
    return "; ".join(problems)


def spec_from_argv(argv: Sequence[str]) -> BuildSpec:
    """The spec of a verb that writes data, from its command line as `crosslift data` takes it (without
    `--out`), e.g. ["crossin", "--parallel", "en=a.tsv", "--modes", "0-1"]: the old form of a source's `build:`.

    Raises:
        ConfigError: an unknown verb or option, an option without its argument, or a value the spec refuses,
            in the command line's words ("crosslift data plug: the following arguments are required: --pivot").
    """
    if not argv or argv[0] not in BUILD_SPECS:
        choices = ", ".join(repr(v) for v in BUILD_SPECS)
        raise ConfigError(
            f"crosslift data: argument COMMAND: invalid choice: {(argv or [''])[0]!r} (choose from {choices})"
        )
    verb, *args = argv
    spec_class, prog = BUILD_SPECS[verb], f"crosslift data {verb}"
    flags = {flag.name: flag for flag in command_line_flags(spec_class)}
    mapping: dict[str, Any] = {"verb": verb}
    args.reverse()
    while args:
        name, sep, value = args.pop().partition("=")
        flag = flags.get(name)
        if flag is None or (sep and flag.takes == "nothing"):
            raise ConfigError(f"{prog}: unrecognized arguments: {name}{sep}{value}")
        if flag.takes != "nothing" and not sep:
            if not args:
                raise ConfigError(f"{prog}: argument {name}: expected one argument")
            value = args.pop()
        put(mapping, flag, flag.value if flag.takes == "nothing" else value)
    try:
        spec = spec_class.model_validate(mapping)
    except ValidationError as e:
        raise ConfigError(f"{prog}: {command_line_problems(e, list(flags.values()))}") from None
    spec._argv = list(argv)
    return spec
