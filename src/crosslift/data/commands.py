"""The `crosslift data` commands: their arguments, and what each one makes of them.

    codeswitch      LinguaLIFT stage-1 data: code-switched text -> original English
    crossin         CrossIn mixes (base, en2x, x2en, trans, x2x) from a parallel instruction set
    plug            PLUG pivot targets (or the monolingual baseline) from parallel instruction data
    mix             a weighted mixture of example files, reseeded per epoch
    translate       translate instruction + response jointly through an OpenAI-compatible endpoint
    lexicon-stats   entries and corpus coverage of bilingual lexicons, per language
    validate        check an example file: every record, ids, language codes, PLUG markers
    download        fetch catalogued benchmarks and lexicons (MMWP, MGSM, MUSE, ...) into the cache, verified

Every command that writes data writes JSONL atomically plus `<out>.manifest.json` next to it (inputs' hashes,
parameters, counts per language, package versions): `build(args)` runs one and writes both.

The commands live in the data layer, not in `crosslift.cli`, because a training source's `build:` is such a
command line (`crosslift.data.sources` runs it in-process through `parse_command` and `build`);
`crosslift.cli.data` puts the same commands on the command line and prints what they return. Heavy imports stay
inside the functions, so that `crosslift --help` stays fast.
"""

from __future__ import annotations

import argparse
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from crosslift.errors import ConfigError
from crosslift.io import codec_name

if TYPE_CHECKING:
    from crosslift.data.examples import Example
    from crosslift.data.translate import TranslationReport


# ---------------------------------------------------------------------------------------------- arguments


def _encoding(text: str) -> str:
    try:
        codec_name(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None
    return text


def _at_least(low: int) -> Callable[[str], int]:
    """An argument type: a whole number >= `low` (a negative seed or limit fails here, not deep in numpy)."""

    def whole_number(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
        if value < low:
            raise argparse.ArgumentTypeError(f"expected a whole number >= {low}, got {value}")
        return value

    return whole_number


def _text_options(
    p: argparse.ArgumentParser, prefix: str = "", what: str = "input", *, records: bool = True
) -> None:
    """The encoding of a data file and, for files of examples (`records`), whether numbers in text fields are
    read as text."""
    p.add_argument(
        f"--{prefix}encoding",
        type=_encoding,
        default="utf-8",
        help=f"text encoding of the {what}, e.g. latin-1 (default: utf-8)",
    )
    if records:
        p.add_argument(
            f"--{prefix}coerce-types",
            action="store_true",
            help=f"read numbers in text fields of the {what} as text (counted)",
        )


def _input_options(
    p: argparse.ArgumentParser, prefix: str = "", what: str = "input", *, records: bool = True
) -> None:
    """How to read a data file: format, field mapping, CSV/TSV rules, limit, and `_text_options`."""
    p.add_argument(f"--{prefix}format", default="auto", help=f"format of the {what} (auto: by extension)")
    _text_options(p, prefix, what, records=records)
    p.add_argument(
        f"--{prefix}fields",
        default=None,
        metavar="EXAMPLE=KEY,...",
        help=f"map Example fields to the {what}'s keys, e.g. instruction=question,output=answer",
    )
    p.add_argument(
        f"--{prefix}columns",
        default=None,
        metavar="NAME,...",
        help=f"CSV/TSV {what} without a header row: its column names",
    )
    p.add_argument(
        f"--{prefix}quoting",
        choices=("none", "csv"),
        default=None,
        help='CSV/TSV quoting: none (a " is a plain character; TSV default) or csv (RFC 4180; CSV default)',
    )
    p.add_argument(
        f"--{prefix}limit",
        type=_at_least(1),
        default=None,
        help=f"read only the first N records of the {what}",
    )


def _output_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--out", required=True, type=Path, help="output JSONL (a manifest is written beside it)")
    p.add_argument(
        "--skip-invalid",
        action="store_true",
        help="skip (and count, by reason) invalid input records instead of stopping at the first",
    )


def add_arguments(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="data_command", metavar="COMMAND", required=True)

    c = sub.add_parser(
        "codeswitch",
        help="LinguaLIFT stage-1 data: code-switched text -> original English",
        description=_doc("codeswitch"),
    )
    c.add_argument(
        "--input", required=True, type=Path, help="English records (JSONL, JSON, CSV, TSV, parquet, ...)"
    )
    c.add_argument("--field", required=True, help="the field holding the English text, e.g. question")
    _input_options(c)
    c.add_argument(
        "--lexicon",
        action="append",
        required=True,
        metavar="PATH",
        help="lexicon directory or file, or a downloaded catalogue lexicon (muse, wechsel, gatitos); repeat, "
        "highest priority first; xx=FILE names a file's language",
    )
    c.add_argument(
        "--download", action="store_true", help="download a catalogue lexicon named by --lexicon if missing"
    )
    c.add_argument(
        "--merge", choices=("priority", "union"), default="priority", help="how to merge several lexicons"
    )
    c.add_argument("--languages", required=True, help="target languages, e.g. sw,te,bn,th,zh,de")
    c.add_argument("--weights", default=None, metavar="LANG=W,...", help="language weights (default uniform)")
    c.add_argument(
        "--tier-weights",
        default=None,
        metavar="TIER=W,...",
        help="weights by resource tier, e.g. low=3,medium=2,high=1 (see --tier-rule)",
    )
    c.add_argument("--tier-rule", default=None, help="tier rule for --tier-weights (default: mmwp-llama2)")
    c.add_argument("--ratio", type=float, default=0.4, help="fraction of lexicon-covered words to switch")
    c.add_argument("--seed", type=_at_least(0), default=0)
    c.add_argument(
        "--pick", choices=("random", "first"), default="random", help="which translation of a word"
    )
    c.add_argument(
        "--style",
        choices=("plain", "instruct"),
        default="plain",
        help="plain: instruction = code-switched text; instruct: 'Translate the following code-switched "
        "<Language> sentence to pure English:' with the text as input",
    )
    c.add_argument(
        "--no-protect-names", action="store_true", help="also switch capitalised words inside sentences"
    )
    c.add_argument(
        "--protect",
        action="append",
        default=None,
        metavar="REGEX",
        help="never switch matches of this pattern (repeat; replaces the defaults: URLs, <<...>>)",
    )
    c.add_argument(
        "--parallel",
        action="append",
        default=[],
        metavar="LANG=FILE",
        help="line-aligned parallel text for sentence-level switching (needs en=FILE too)",
    )
    c.add_argument("--parallel-field", default="text", help="field of the parallel records (not .txt files)")
    c.add_argument(
        "--sentence-ratio",
        type=float,
        default=0.0,
        help="probability of rendering a sentence whole when parallel text has it",
    )
    c.add_argument(
        "--holdout-share",
        type=float,
        default=0.05,
        help="share of each lexicon never switched, so that LinguaLIFT's alignment check tests word "
        "retrieval on unseen pairs (0: none)",
    )
    c.add_argument(
        "--holdout-seed",
        type=_at_least(0),
        default=None,
        help="seed of the held-out choice (default: --seed)",
    )
    c.add_argument(
        "--lexicon-skip-invalid", action="store_true", help="count malformed lexicon lines instead of failing"
    )
    _output_options(c)

    x = sub.add_parser(
        "crossin", help="CrossIn mixes from a parallel instruction set", description=_doc("crossin")
    )
    x.add_argument(
        "--parallel",
        action="append",
        default=[],
        metavar="LANG=FILE",
        help="one file per language of the parallel instruction set (repeat; en=FILE required)",
    )
    x.add_argument("--align", choices=("index", "id"), default="index", help="how parallel files line up")
    _input_options(x, what="parallel files")
    x.add_argument(
        "--base", action="append", default=[], type=Path, help="English complex-task file(s) of mode base"
    )
    _input_options(x, prefix="base-", what="base files")
    x.add_argument(
        "--modes", default="base,en2x,x2en,trans", help="modes (names or stage numbers 0-3), e.g. 0-1-3"
    )
    x.add_argument(
        "--size",
        type=_at_least(0),
        default=None,
        help="examples per parallel mode (default: size of the set)",
    )
    x.add_argument(
        "--targets", default=None, help="the languages x (default: all non-English parallel languages)"
    )
    x.add_argument("--seed", type=_at_least(0), default=0)
    x.add_argument(
        "--sampling",
        choices=("coupled", "independent"),
        default="coupled",
        help="coupled: one (item, language) draw per example shared by every mode, as released; "
        "independent: each mode draws its own",
    )
    _output_options(x)

    g = sub.add_parser(
        "plug", help="PLUG pivot targets from parallel instruction data", description=_doc("plug")
    )
    g.add_argument("--pivot", required=True, metavar="LANG=FILE", help="the pivot-language (English) file")
    g.add_argument(
        "--target",
        action="append",
        required=True,
        metavar="LANG=FILE",
        help="a target-language file (repeat)",
    )
    g.add_argument(
        "--align", choices=("index", "id"), default="id", help="how the files line up (shared id, or order)"
    )
    _input_options(g)
    g.add_argument("--monolingual", action="store_true", help="build the monolingual baseline instead")
    g.add_argument(
        "--pivot-label", default="English instruction:", help="label of the pivot-instruction line"
    )
    g.add_argument("--no-pivot-instruction", action="store_true", help="leave the pivot-instruction line out")
    _output_options(g)

    m = sub.add_parser(
        "mix", help="a weighted mixture of example files, reseeded per epoch", description=_doc("mix")
    )
    m.add_argument(
        "--source", action="append", required=True, metavar="FILE[:WEIGHT]", help="example file (repeat)"
    )
    m.add_argument("--size", type=_at_least(1), required=True, help="examples per epoch")
    m.add_argument("--epochs", type=_at_least(1), default=1, help="epochs to write, each a fresh sample")
    m.add_argument("--seed", type=_at_least(0), default=0)
    _text_options(m, what="sources")
    _output_options(m)

    t = sub.add_parser(
        "translate",
        help="translate instruction + response jointly through an LLM endpoint",
        description=_doc("translate"),
    )
    t.add_argument("--input", required=True, type=Path, help="English instruction data")
    _input_options(t)
    t.add_argument("--language", required=True, help="target language")
    t.add_argument(
        "--base-url", required=True, help="OpenAI-compatible endpoint, e.g. http://localhost:8000/v1"
    )
    t.add_argument("--model", required=True, help="model name at the endpoint")
    t.add_argument("--api-key-env", default="OPENAI_API_KEY", help="environment variable holding the API key")
    t.add_argument("--concurrency", type=_at_least(1), default=8)
    t.add_argument(
        "--max-retries",
        type=_at_least(0),
        default=4,
        help="retries per request (HTTP errors and failed splits)",
    )
    t.add_argument("--timeout", type=float, default=60.0, help="seconds per request")
    t.add_argument("--temperature", type=float, default=0.0)
    t.add_argument("--max-tokens", type=_at_least(1), default=2048)
    t.add_argument("--out", required=True, type=Path, help="output JSONL; rerunning the command resumes it")
    t.add_argument("--skip-invalid", action="store_true", help="skip invalid input records")

    s = sub.add_parser(
        "lexicon-stats", help="entries and corpus coverage of lexicons", description=_doc("lexicon-stats")
    )
    s.add_argument(
        "--lexicon",
        action="append",
        required=True,
        metavar="PATH",
        help="lexicon directory or file, or a downloaded catalogue lexicon (muse, wechsel, gatitos); repeat",
    )
    s.add_argument(
        "--download", action="store_true", help="download a catalogue lexicon named by --lexicon if missing"
    )
    s.add_argument("--merge", choices=("priority", "union"), default="priority")
    s.add_argument("--languages", default=None, help="languages to report (default: every language found)")
    s.add_argument("--corpus", type=Path, default=None, help="English corpus to measure coverage on")
    s.add_argument("--field", default="text", help="the corpus field holding the text")
    _input_options(s, what="corpus", records=False)
    s.add_argument(
        "--skip-invalid", action="store_true", help="count malformed lexicon lines instead of failing"
    )
    s.add_argument("--out", type=Path, default=None, help="also write the figures as JSON")

    v = sub.add_parser("validate", help="check an example file", description=_doc("validate"))
    v.add_argument("path", type=Path)
    _input_options(v)
    v.add_argument("--max-errors", type=_at_least(0), default=20, help="list at most this many problems")
    v.add_argument("--out", type=Path, default=None, help="also write the report as JSON")

    d = sub.add_parser(
        "download",
        help="fetch catalogued benchmarks and lexicons into the cache, verified",
        description=_doc("download"),
    )
    d.add_argument(
        "names",
        nargs="*",
        metavar="NAME",
        help="datasets: mmwp, mgsm, xquad, seaeval, gsm8k, alpaca_eval, "
        "muse, wechsel, gatitos, ntrex (--list shows them all)",
    )
    d.add_argument(
        "--to",
        type=Path,
        default=None,
        help="data folder (default: $CROSSLIFT_CACHE/data, else ~/.cache/crosslift/data)",
    )
    d.add_argument(
        "--from",
        dest="from_dir",
        type=Path,
        default=None,
        metavar="DIR",
        help="take the files from DIR (fetched elsewhere) instead of the network; verified the same way",
    )
    d.add_argument("--urls", action="store_true", help="print the upstream URLs of the datasets and exit")
    d.add_argument(
        "--list", action="store_true", help="list the catalogue: licenses, sizes, what is downloaded"
    )
    d.add_argument("--timeout", type=float, default=30.0, help="seconds a connection may stay silent")


def _doc(command: str) -> str:
    """The description of a command: its line in the module docstring."""
    for line in __doc__.splitlines():
        if line.strip().startswith(command + " "):
            return line.strip()[len(command) :].strip()
    return command


class _CommandParser(argparse.ArgumentParser):
    """An argument parser whose mistakes are ConfigErrors, not a usage message and an exit."""

    def error(self, message: str) -> NoReturn:
        raise ConfigError(f"{self.prog}: {message}")


def parse_command(argv: list[str]) -> argparse.Namespace:
    """The arguments of `crosslift data ARGV...`, parsed as the command line parses them.

    Raises:
        ConfigError: an unknown command or option, a missing or malformed argument.
    """
    parser = _CommandParser(prog="crosslift data")
    add_arguments(parser)
    return parser.parse_args(argv)


# ---------------------------------------------------------------------------------------------- helpers


def _pairs(text: str | None, what: str) -> dict[str, str]:
    """'a=1,b=2' -> {'a': '1', 'b': '2'}."""
    if not text:
        return {}
    pairs = {}
    for item in text.split(","):
        key, sep, value = item.partition("=")
        if not sep or not key.strip() or not value.strip():
            raise ConfigError(f"{what}: expected KEY=VALUE,..., got {item!r}")
        pairs[key.strip()] = value.strip()
    return pairs


def _lang_files(specs: list[str], what: str) -> dict[str, Path]:
    """['en=a.json', 'zh=b.json'] -> {'en': Path('a.json'), 'zh': Path('b.json')} with normalized codes."""
    from crosslift.languages import normalize_code

    files: dict[str, Path] = {}
    for spec in specs:
        lang, sep, path = spec.partition("=")
        if not sep or not lang or not path:
            raise ConfigError(f"{what}: expected LANG=FILE, got {spec!r}")
        files[normalize_code(lang)] = Path(path)
    return files


def _read_kwargs(args: argparse.Namespace, prefix: str = "") -> dict[str, Any]:
    """The reading options of `_input_options` as keyword arguments of `read_examples` (`records`: with
    coerce_types)."""
    get = lambda name: getattr(args, prefix + name)  # noqa: E731
    columns = get("columns")
    kwargs = {
        "format": get("format"),
        "fields": _pairs(get("fields"), f"--{prefix}fields") or None,
        "columns": columns.split(",") if columns else None,
        "quoting": get("quoting"),
        "limit": get("limit"),
        "encoding": get("encoding"),
    }
    if hasattr(args, prefix + "coerce_types"):
        kwargs["coerce_types"] = get("coerce_types")
    return kwargs


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def manifest_path(out: Path) -> Path:
    """cs.jsonl -> cs.manifest.json"""
    return out.with_name(f"{out.stem}.manifest.json")


def _manifest(
    out: Path,
    examples: list[Example],
    *,
    command: str,
    args: argparse.Namespace,
    inputs: list,
    seed: int | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """The manifest of a written example file: provenance, the command's parameters, counts per language."""
    from crosslift.runs import provenance

    langs = Counter(f"{ex.instruction_lang}->{ex.output_lang}" for ex in examples)
    return provenance(
        seed=seed,
        data_files=inputs,
        output=str(out),
        data_command=command,
        parameters={
            k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items() if not k.startswith("_")
        },
        records=len(examples),
        languages=dict(sorted(langs.items())),
        **extra,
    )


# ---------------------------------------------------------------------------------------------- builders


def _weights(args: argparse.Namespace, languages: list[str]) -> dict[str, float]:
    from crosslift.languages import DEFAULT_TIER_RULE, load_tier_rule, normalize_code

    if args.weights and args.tier_weights:
        raise ConfigError("give --weights or --tier-weights, not both")
    if args.weights:
        return {normalize_code(k): float(v) for k, v in _pairs(args.weights, "--weights").items()}
    if not args.tier_weights:
        return {}
    rule = load_tier_rule(args.tier_rule or DEFAULT_TIER_RULE)
    by_tier = {k: float(v) for k, v in _pairs(args.tier_weights, "--tier-weights").items()}
    weights = {}
    for lang in languages:
        tier = rule.tier_of(lang)
        if tier not in by_tier:
            raise ConfigError(
                f"language {lang} is in tier {tier!r} of rule {rule.name}, which --tier-weights does not weigh"
            )
        weights[lang] = by_tier[tier]
    return weights


def codeswitch_data(args: argparse.Namespace) -> tuple[list[Example], dict[str, Any]]:
    """`crosslift data codeswitch`: the code-switched examples, and a manifest with per-language switching
    statistics, what was skipped, the held-out lexicon share and the lexicons read."""
    from crosslift.data.codeswitch import (
        DEFAULT_PROTECT,
        CodeSwitcher,
        codeswitch_file,
        parallel_table,
        switching_stats,
    )
    from crosslift.data.examples import read_parallel_text
    from crosslift.data.lexicon import load_lexicons
    from crosslift.languages import normalize_code

    languages = [normalize_code(code) for code in args.languages.split(",") if code.strip()]
    lexicons = load_lexicons(
        args.lexicon,
        languages,
        merge=args.merge,
        skip_invalid=args.lexicon_skip_invalid,
        download=args.download,
    )
    parallel_files = _lang_files(args.parallel, "--parallel")
    parallel = (
        parallel_table(read_parallel_text(parallel_files, field=args.parallel_field, encoding=args.encoding))
        if parallel_files
        else None
    )
    switcher = CodeSwitcher(
        lexicons,
        ratio=args.ratio,
        languages=languages,
        weights=_weights(args, languages),
        seed=args.seed,
        pick=args.pick,
        protect_names=not args.no_protect_names,
        protect=DEFAULT_PROTECT if args.protect is None else args.protect,
        parallel=parallel,
        sentence_ratio=args.sentence_ratio,
        holdout_share=args.holdout_share,
        holdout_seed=args.holdout_seed,
    )
    kw = _read_kwargs(args)
    examples, report = codeswitch_file(
        args.input,
        field=args.field,
        switcher=switcher,
        style=args.style,
        skip_invalid=args.skip_invalid,
        limit=kw["limit"],
        format=kw["format"],
        columns=kw["columns"],
        quoting=kw["quoting"],
        encoding=kw["encoding"],
        coerce_types=kw["coerce_types"],
    )
    manifest = _manifest(
        args.out,
        examples,
        command="codeswitch",
        args=args,
        seed=args.seed,
        inputs=[args.input, *[f for lex in lexicons.values() for f in lex.files], *parallel_files.values()],
        read=report.summary(),
        skipped=dict(report.skipped),
        codeswitch=switching_stats(examples),
        held_out=switcher.holdout
        and switcher.holdout | {"entries": {k: len(v) for k, v in switcher.held_out.items()}},
        lexicons={
            lang: {"entries": len(lex), "files": lex.files, "stats": dict(lex.stats)}
            for lang, lex in lexicons.items()
        },
    )
    return examples, manifest


def crossin_data(args: argparse.Namespace) -> tuple[list[Example], dict[str, Any]]:
    """`crosslift data crossin`: the CrossIn mix, and a manifest with the examples per mode."""
    from crosslift.data.crossin import build_crossin, parse_modes
    from crosslift.data.examples import read_examples, read_parallel
    from crosslift.languages import normalize_code

    modes = parse_modes(args.modes)
    files = _lang_files(args.parallel, "--parallel")
    kw = _read_kwargs(args)
    parallel = read_parallel(files, align=args.align, **kw) if files else None
    base, reports = [], []
    base_kw = _read_kwargs(args, "base_")
    for path in args.base:
        got, report = read_examples(
            path, skip_invalid=args.skip_invalid, instruction_lang="en", output_lang="en", **base_kw
        )
        base += got
        reports.append(report.summary())
    targets = [normalize_code(t) for t in args.targets.split(",")] if args.targets else None
    examples = build_crossin(
        parallel, base, modes=modes, size=args.size, targets=targets, seed=args.seed, sampling=args.sampling
    )
    counts = Counter(ex.meta["crossin"]["mode"] for ex in examples)
    parallel_read = [r.summary() for r in parallel.reports] if parallel else []
    manifest = _manifest(
        args.out,
        examples,
        command="crossin",
        args=args,
        seed=args.seed,
        inputs=[*files.values(), *args.base],
        modes=dict(counts),
        parallel_items=len(parallel) if parallel else 0,
        base_read=reports,
        parallel_read=parallel_read,
    )
    return examples, manifest


def plug_data(args: argparse.Namespace) -> tuple[list[Example], dict[str, Any]]:
    """`crosslift data plug`: PLUG examples (or the monolingual baseline), and a manifest with the item count."""
    from crosslift.data.examples import read_parallel
    from crosslift.data.plug import build_plug

    pivot = _lang_files([args.pivot], "--pivot")
    targets = _lang_files(args.target, "--target")
    if set(pivot) & set(targets):
        raise ConfigError(f"the pivot language {next(iter(pivot))} is also a target")
    files = pivot | targets
    parallel = read_parallel(files, align=args.align, **_read_kwargs(args))
    examples = build_plug(
        parallel,
        targets=list(targets),
        pivot=next(iter(pivot)),
        monolingual=args.monolingual,
        pivot_instruction_label=None if args.no_pivot_instruction else args.pivot_label,
    )
    manifest = _manifest(
        args.out,
        examples,
        command="plug",
        args=args,
        inputs=list(files.values()),
        items=len(parallel),
        read=[r.summary() for r in parallel.reports],
    )
    return examples, manifest


def mix_data(args: argparse.Namespace) -> tuple[list[Example], dict[str, Any]]:
    """`crosslift data mix`: the epochs of a weighted mixture, and a manifest with the examples per source."""
    from crosslift.data.crossin import mix_epochs
    from crosslift.data.examples import read_examples

    sources, weights, paths, reports = [], [], [], []
    for spec in args.source:
        path, sep, weight = spec.rpartition(":")
        if not sep or not _is_number(weight):
            path, weight = spec, "1"
        examples, report = read_examples(
            path, skip_invalid=args.skip_invalid, encoding=args.encoding, coerce_types=args.coerce_types
        )
        sources.append(examples)
        weights.append(float(weight))
        paths.append(Path(path))
        reports.append(report.summary())
    examples = mix_epochs(sources, weights, size=args.size, epochs=args.epochs, seed=args.seed)
    counts = Counter(ex.source for ex in examples)
    manifest = _manifest(
        args.out,
        examples,
        command="mix",
        args=args,
        seed=args.seed,
        inputs=paths,
        per_source=dict(counts),
        read=reports,
    )
    return examples, manifest


def translate_data(
    args: argparse.Namespace, progress: Callable[[int, int], None] | None = None
) -> tuple[TranslationReport, dict[str, Any]]:
    """`crosslift data translate`: translate into `--out` (resuming what is there), and return what happened
    and the manifest. The translations are appended as they arrive, so unlike the other builders this one
    writes its output itself.

    Args:
        progress: called with (done, total) as items finish.
    """
    from crosslift.data.examples import read_examples
    from crosslift.data.translate import GENERIC_PROMPT, PROMPTS, translate_examples
    from crosslift.languages import normalize_code
    from crosslift.models.endpoint import EndpointClient
    from crosslift.runs import provenance

    lang = normalize_code(args.language)
    kw = _read_kwargs(args)
    examples, read_report = read_examples(
        args.input, skip_invalid=args.skip_invalid, instruction_lang="en", output_lang="en", **kw
    )
    client = EndpointClient(
        args.base_url,
        args.model,
        api_key_env=args.api_key_env,
        timeout_s=args.timeout,
        max_retries=args.max_retries,
        concurrency=args.concurrency,
    )
    report = translate_examples(
        examples,
        lang,
        client,
        args.out,
        split_retries=args.max_retries,
        progress=progress,
        temperature=args.temperature,
        max_tokens=args.max_tokens,
    )
    manifest = provenance(
        data_files=[args.input],
        output=str(args.out),
        data_command="translate",
        language=lang,
        models={"translator": args.model},
        endpoint=args.base_url,
        prompt=PROMPTS.get(lang, GENERIC_PROMPT),
        generation={"temperature": args.temperature, "max_tokens": args.max_tokens},
        read=read_report.summary(),
        records=report.resumed + report.translated,
        report=vars(report)
        | {
            "failed_splits": dict(report.failed_splits),
            "failed_requests": dict(report.failed_requests),
            "failed_ids": report.failed_ids[:100],
        },
    )
    return report, manifest


BUILDERS: dict[str, Callable[[argparse.Namespace], tuple[list[Example], dict[str, Any]]]] = {
    "codeswitch": codeswitch_data,
    "crossin": crossin_data,
    "plug": plug_data,
    "mix": mix_data,
}


def build(args: argparse.Namespace, *, progress: Callable[[int, int], None] | None = None) -> dict[str, Any]:
    """Run a command that writes data (codeswitch, crossin, plug, mix, translate) and write its output and
    manifest; returns the manifest.

    Args:
        progress: translate only: called with (done, total) as items finish.

    Raises:
        ConfigError: a command that writes no data file.
    """
    from crosslift.data.examples import write_examples
    from crosslift.io import atomic_write_json

    command = args.data_command
    if command == "translate":
        _, manifest = translate_data(args, progress)
    elif command in BUILDERS:
        examples, manifest = BUILDERS[command](args)
        write_examples(args.out, examples)
    else:
        raise ConfigError(
            f"`crosslift data {command}` writes no data file (the ones that do: {', '.join([*BUILDERS, 'translate'])})"
        )
    atomic_write_json(manifest_path(args.out), manifest)
    return manifest


# ---------------------------------------------------------------------------------------------- stats, validate


def lexicon_stats(args: argparse.Namespace) -> dict[str, dict[str, Any]]:
    """`crosslift data lexicon-stats`: per language, the lexicons' entries, phrases, translations, files, read
    statistics and, with --corpus, their coverage of it; also written to --out (with provenance) when given."""
    from crosslift.data.lexicon import coverage, load_lexicons
    from crosslift.data.records import iter_records
    from crosslift.errors import DataError
    from crosslift.io import atomic_write_json
    from crosslift.runs import provenance

    languages = args.languages.split(",") if args.languages else None
    lexicons = load_lexicons(
        args.lexicon, languages, merge=args.merge, skip_invalid=args.skip_invalid, download=args.download
    )
    texts = []
    if args.corpus is not None:
        kw = _read_kwargs(args)
        for location, record in iter_records(
            args.corpus, kw["format"], columns=kw["columns"], quoting=kw["quoting"], encoding=kw["encoding"]
        ):
            if kw["limit"] is not None and len(texts) >= kw["limit"]:
                break
            value = record.get(args.field) if isinstance(record, dict) else None
            if not isinstance(value, str):
                raise DataError(
                    "missing field" if value is None else "expected a string", field=args.field, **location
                )
            texts.append(value)
    figures = {}
    for lang, lex in sorted(lexicons.items()):
        figures[lang] = {
            "entries": len(lex),
            "phrases": lex.phrases,
            "translations": sum(map(len, lex.entries.values())),
            "max_words": lex.max_words,
            "files": lex.files,
            "stats": dict(lex.stats),
        }
        if texts:
            figures[lang]["coverage"] = coverage(lex, texts)
    if args.out is not None:
        inputs = [p for f in figures.values() for p in f["files"]] + ([args.corpus] if args.corpus else [])
        atomic_write_json(args.out, provenance(data_files=inputs, lexicons=figures, corpus_texts=len(texts)))
    return figures


def validation_report(args: argparse.Namespace) -> dict[str, Any]:
    """`crosslift data validate`: the report of `crosslift.data.validate.validate_file`, also written to --out
    when given."""
    from crosslift.data.validate import validate_file
    from crosslift.io import atomic_write_json

    report = validate_file(args.path, max_errors=args.max_errors, **_read_kwargs(args))
    if args.out is not None:
        atomic_write_json(args.out, report)
    return report
