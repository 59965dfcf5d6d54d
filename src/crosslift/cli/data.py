"""crosslift data COMMAND: build and check training data.

    codeswitch      LinguaLIFT stage-1 data: code-switched text -> original English
    crossin         CrossIn mixes (base, en2x, x2en, trans, x2x) from a parallel instruction set
    plug            PLUG pivot targets (or the monolingual baseline) from parallel instruction data
    mix             a weighted mixture of example files, reseeded per epoch
    translate       translate instruction + response jointly through an OpenAI-compatible endpoint
    lexicon-stats   entries and corpus coverage of bilingual lexicons, per language
    validate        check an example file: every record, ids, language codes, PLUG markers
    download        fetch catalogued benchmarks and lexicons (MMWP, MGSM, MUSE, ...) into the cache, verified

Every command that writes data writes JSONL atomically plus `<out>.manifest.json` next to it (inputs' hashes,
parameters, counts per language, package versions).
"""

from __future__ import annotations

import argparse
from collections import Counter
from pathlib import Path
from typing import Any

HELP = "Build training data: code-switching, CrossIn, PLUG, mixtures, LLM translation; lexicon stats; validation."


# ---------------------------------------------------------------------------------------------- arguments


def _input_options(p: argparse.ArgumentParser, prefix: str = "", what: str = "input") -> None:
    """How to read a data file: format, field mapping, CSV/TSV rules, limit."""
    p.add_argument(f"--{prefix}format", default="auto", help=f"format of the {what} (auto: by extension)")
    p.add_argument(f"--{prefix}fields", default=None, metavar="EXAMPLE=KEY,...",
                   help=f"map Example fields to the {what}'s keys, e.g. instruction=question,output=answer")  # fmt: skip
    p.add_argument(f"--{prefix}columns", default=None, metavar="NAME,...",
                   help=f"CSV/TSV {what} without a header row: its column names")  # fmt: skip
    p.add_argument(f"--{prefix}quoting", choices=("none", "csv"), default=None,
                   help="CSV/TSV quoting: none (a \" is a plain character; TSV default) or csv (RFC 4180; CSV default)")  # fmt: skip
    p.add_argument(
        f"--{prefix}limit", type=int, default=None, help=f"read only the first N records of the {what}"
    )


def _output_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--out", required=True, type=Path, help="output JSONL (a manifest is written beside it)")
    p.add_argument("--skip-invalid", action="store_true",
                   help="skip (and count, by reason) invalid input records instead of stopping at the first")  # fmt: skip


def add_arguments(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="data_command", metavar="COMMAND", required=True)

    c = sub.add_parser("codeswitch", help="LinguaLIFT stage-1 data: code-switched text -> original English",
                       description=_doc("codeswitch"))  # fmt: skip
    c.add_argument(
        "--input", required=True, type=Path, help="English records (JSONL, JSON, CSV, TSV, parquet, ...)"
    )
    c.add_argument("--field", required=True, help="the field holding the English text, e.g. question")
    _input_options(c)
    c.add_argument("--lexicon", action="append", required=True, metavar="PATH",
                   help="lexicon directory or file, or a downloaded catalogue lexicon (muse, wechsel, gatitos); repeat, "
                        "highest priority first; xx=FILE names a file's language")  # fmt: skip
    c.add_argument(
        "--download", action="store_true", help="download a catalogue lexicon named by --lexicon if missing"
    )
    c.add_argument(
        "--merge", choices=("priority", "union"), default="priority", help="how to merge several lexicons"
    )
    c.add_argument("--languages", required=True, help="target languages, e.g. sw,te,bn,th,zh,de")
    c.add_argument("--weights", default=None, metavar="LANG=W,...", help="language weights (default uniform)")
    c.add_argument("--tier-weights", default=None, metavar="TIER=W,...",
                   help="weights by resource tier, e.g. low=3,medium=2,high=1 (see --tier-rule)")  # fmt: skip
    c.add_argument("--tier-rule", default=None, help="tier rule for --tier-weights (default: mmwp-llama2)")
    c.add_argument("--ratio", type=float, default=0.4, help="fraction of lexicon-covered words to switch")
    c.add_argument("--seed", type=int, default=0)
    c.add_argument(
        "--pick", choices=("random", "first"), default="random", help="which translation of a word"
    )
    c.add_argument("--style", choices=("plain", "instruct"), default="plain",
                   help="plain: instruction = code-switched text; instruct: 'Translate the following code-switched "
                        "<Language> sentence to pure English:' with the text as input")  # fmt: skip
    c.add_argument(
        "--no-protect-names", action="store_true", help="also switch capitalised words inside sentences"
    )
    c.add_argument("--protect", action="append", default=None, metavar="REGEX",
                   help="never switch matches of this pattern (repeat; replaces the defaults: URLs, <<...>>)")  # fmt: skip
    c.add_argument("--parallel", action="append", default=[], metavar="LANG=FILE",
                   help="line-aligned parallel text for sentence-level switching (needs en=FILE too)")  # fmt: skip
    c.add_argument("--parallel-field", default="text", help="field of the parallel records (not .txt files)")
    c.add_argument("--sentence-ratio", type=float, default=0.0,
                   help="probability of rendering a sentence whole when parallel text has it")  # fmt: skip
    c.add_argument("--holdout-share", type=float, default=0.05,
                   help="share of each lexicon never switched, so that LinguaLIFT's alignment check tests word "
                        "retrieval on unseen pairs (0: none)")  # fmt: skip
    c.add_argument(
        "--holdout-seed", type=int, default=None, help="seed of the held-out choice (default: --seed)"
    )
    c.add_argument(
        "--lexicon-skip-invalid", action="store_true", help="count malformed lexicon lines instead of failing"
    )
    _output_options(c)

    x = sub.add_parser(
        "crossin", help="CrossIn mixes from a parallel instruction set", description=_doc("crossin")
    )
    x.add_argument("--parallel", action="append", default=[], metavar="LANG=FILE",
                   help="one file per language of the parallel instruction set (repeat; en=FILE required)")  # fmt: skip
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
        "--size", type=int, default=None, help="examples per parallel mode (default: size of the set)"
    )
    x.add_argument(
        "--targets", default=None, help="the languages x (default: all non-English parallel languages)"
    )
    x.add_argument("--seed", type=int, default=0)
    x.add_argument("--sampling", choices=("coupled", "independent"), default="coupled",
                   help="coupled: one (item, language) draw per example shared by every mode, as released; "
                        "independent: each mode draws its own")  # fmt: skip
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
    m.add_argument("--size", type=int, required=True, help="examples per epoch")
    m.add_argument("--epochs", type=int, default=1, help="epochs to write, each a fresh sample")
    m.add_argument("--seed", type=int, default=0)
    _output_options(m)

    t = sub.add_parser("translate", help="translate instruction + response jointly through an LLM endpoint",
                       description=_doc("translate"))  # fmt: skip
    t.add_argument("--input", required=True, type=Path, help="English instruction data")
    _input_options(t)
    t.add_argument("--language", required=True, help="target language")
    t.add_argument(
        "--base-url", required=True, help="OpenAI-compatible endpoint, e.g. http://localhost:8000/v1"
    )
    t.add_argument("--model", required=True, help="model name at the endpoint")
    t.add_argument("--api-key-env", default="OPENAI_API_KEY", help="environment variable holding the API key")
    t.add_argument("--concurrency", type=int, default=8)
    t.add_argument(
        "--max-retries", type=int, default=4, help="retries per request (HTTP errors and failed splits)"
    )
    t.add_argument("--timeout", type=float, default=60.0, help="seconds per request")
    t.add_argument("--temperature", type=float, default=0.0)
    t.add_argument("--max-tokens", type=int, default=2048)
    t.add_argument("--out", required=True, type=Path, help="output JSONL; rerunning the command resumes it")
    t.add_argument("--skip-invalid", action="store_true", help="skip invalid input records")

    s = sub.add_parser(
        "lexicon-stats", help="entries and corpus coverage of lexicons", description=_doc("lexicon-stats")
    )
    s.add_argument("--lexicon", action="append", required=True, metavar="PATH",
                   help="lexicon directory or file, or a downloaded catalogue lexicon (muse, wechsel, gatitos); repeat")  # fmt: skip
    s.add_argument(
        "--download", action="store_true", help="download a catalogue lexicon named by --lexicon if missing"
    )
    s.add_argument("--merge", choices=("priority", "union"), default="priority")
    s.add_argument("--languages", default=None, help="languages to report (default: every language found)")
    s.add_argument("--corpus", type=Path, default=None, help="English corpus to measure coverage on")
    s.add_argument("--field", default="text", help="the corpus field holding the text")
    _input_options(s, what="corpus")
    s.add_argument(
        "--skip-invalid", action="store_true", help="count malformed lexicon lines instead of failing"
    )
    s.add_argument("--out", type=Path, default=None, help="also write the figures as JSON")

    v = sub.add_parser("validate", help="check an example file", description=_doc("validate"))
    v.add_argument("path", type=Path)
    _input_options(v)
    v.add_argument("--max-errors", type=int, default=20, help="list at most this many problems")
    v.add_argument("--out", type=Path, default=None, help="also write the report as JSON")

    d = sub.add_parser("download", help="fetch catalogued benchmarks and lexicons into the cache, verified",
                       description=_doc("download"))  # fmt: skip
    d.add_argument("names", nargs="*", metavar="NAME", help="datasets: mmwp, mgsm, xquad, seaeval, gsm8k, alpaca_eval, "
                   "muse, wechsel, gatitos, ntrex (--list shows them all)")  # fmt: skip
    d.add_argument("--to", type=Path, default=None,
                   help="data folder (default: $CROSSLIFT_CACHE/data, else ~/.cache/crosslift/data)")  # fmt: skip
    d.add_argument("--from", dest="from_dir", type=Path, default=None, metavar="DIR",
                   help="take the files from DIR (fetched elsewhere) instead of the network; verified the same way")  # fmt: skip
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


# ---------------------------------------------------------------------------------------------- helpers


def _pairs(text: str | None, what: str) -> dict[str, str]:
    """'a=1,b=2' -> {'a': '1', 'b': '2'}."""
    from crosslift.errors import ConfigError

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
    from crosslift.errors import ConfigError
    from crosslift.languages import normalize_code

    files: dict[str, Path] = {}
    for spec in specs:
        lang, sep, path = spec.partition("=")
        if not sep or not lang or not path:
            raise ConfigError(f"{what}: expected LANG=FILE, got {spec!r}")
        files[normalize_code(lang)] = Path(path)
    return files


def _read_kwargs(args: argparse.Namespace, prefix: str = "") -> dict[str, Any]:
    get = lambda name: getattr(args, prefix + name)  # noqa: E731
    columns = get("columns")
    return {
        "format": get("format"),
        "fields": _pairs(get("fields"), f"--{prefix}fields") or None,
        "columns": columns.split(",") if columns else None,
        "quoting": get("quoting"),
        "limit": get("limit"),
    }


def _write(out: Path, examples: list, *, command: str, args: argparse.Namespace, inputs: list, seed: int | None = None,
           **extra: Any) -> dict[str, Any]:  # fmt: skip
    """Write examples + manifest; returns the manifest."""
    from crosslift.data.examples import write_examples
    from crosslift.io import atomic_write_json
    from crosslift.runs import provenance

    write_examples(out, examples)
    langs = Counter(f"{ex.instruction_lang}->{ex.output_lang}" for ex in examples)
    manifest = provenance(
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
    atomic_write_json(manifest_path(out), manifest)
    return manifest


def manifest_path(out: Path) -> Path:
    """cs.jsonl -> cs.manifest.json"""
    return out.with_name(f"{out.stem}.manifest.json")


def _console():
    from rich.console import Console

    # No markup (data holds "[zh]" tags) and no wrapping (messages name files and lines that must stay whole).
    return Console(stderr=True, highlight=False, markup=False, soft_wrap=True)


# ---------------------------------------------------------------------------------------------- codeswitch


def _weights(args: argparse.Namespace, languages: list[str]) -> dict[str, float]:
    from crosslift.errors import ConfigError
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


def run_codeswitch(args: argparse.Namespace) -> int:
    from crosslift.data.codeswitch import DEFAULT_PROTECT, CodeSwitcher, codeswitch_example, parallel_table
    from crosslift.data.examples import ReadReport, iter_records, read_parallel_text
    from crosslift.data.lexicon import load_lexicons
    from crosslift.errors import DataError
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
        parallel_table(read_parallel_text(parallel_files, field=args.parallel_field))
        if parallel_files
        else None
    )
    switcher = CodeSwitcher(
        lexicons, ratio=args.ratio, languages=languages, weights=_weights(args, languages), seed=args.seed,
        pick=args.pick, protect_names=not args.no_protect_names,
        protect=DEFAULT_PROTECT if args.protect is None else args.protect, parallel=parallel,
        sentence_ratio=args.sentence_ratio, holdout_share=args.holdout_share, holdout_seed=args.holdout_seed,
    )  # fmt: skip
    kw = _read_kwargs(args)
    report = ReadReport(path=str(args.input))
    examples = []
    for index, (location, record) in enumerate(
        iter_records(args.input, kw["format"], columns=kw["columns"], quoting=kw["quoting"])
    ):
        if kw["limit"] is not None and index >= kw["limit"]:
            break
        try:
            if not isinstance(record, dict):
                raise DataError(
                    f"expected an object, got {type(record).__name__}", path=args.input, **location
                )
            text = record.get(args.field)
            if not isinstance(text, str) or not text.strip():
                why = "missing field" if text is None else "expected a non-empty string"
                raise DataError(why, path=args.input, field=args.field, **location)
            examples.append(codeswitch_example(record, index, field=args.field, switcher=switcher, style=args.style,
                                               source=str(args.input)))  # fmt: skip
        except DataError as e:
            if not args.skip_invalid:
                raise
            report.skip(e)
    report.read = len(examples)

    per_lang: dict[str, Counter] = {}
    for ex in examples:
        cs = ex.meta["codeswitch"]
        c = per_lang.setdefault(cs["lang"], Counter())
        c.update(records=1, covered_words=cs["covered_words"], switched_words=cs["switched_words"],
                 covered_units=cs["covered_units"], switched_units=cs["switched_units"], sentences=cs["sentences"])  # fmt: skip
    total = sum(per_lang.values(), Counter())
    stats = {lang: dict(c) | {"switched_fraction": c["switched_words"] / c["covered_words"] if c["covered_words"] else 0.0}
             for lang, c in sorted(per_lang.items())}  # fmt: skip
    stats["all"] = dict(total) | {
        "switched_fraction": total["switched_words"] / max(total["covered_words"], 1)
    }
    _write(
        args.out, examples, command="codeswitch", args=args, seed=args.seed,
        inputs=[args.input, *[f for lex in lexicons.values() for f in lex.files], *parallel_files.values()],
        read=report.summary(), skipped=dict(report.skipped), codeswitch=stats,
        held_out=switcher.holdout and switcher.holdout | {"entries": {k: len(v) for k, v in switcher.held_out.items()}},
        lexicons={lang: {"entries": len(lex), "files": lex.files, "stats": dict(lex.stats)} for lang, lex in lexicons.items()},
    )  # fmt: skip
    from rich.table import Table

    table = Table(
        "language",
        "records",
        "covered words",
        "switched",
        "fraction",
        "sentences",
        title=f"codeswitch -> {args.out}",
    )
    for lang, s in stats.items():
        table.add_row(lang, str(s.get("records", 0)), str(s.get("covered_words", 0)), str(s.get("switched_words", 0)),
                      f"{s['switched_fraction']:.3f}", str(s.get("sentences", 0)))  # fmt: skip
    console = _console()
    console.print(table)
    console.print(report.summary())
    return 0


# ---------------------------------------------------------------------------------------------- crossin, plug, mix


def run_crossin(args: argparse.Namespace) -> int:
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
    examples = build_crossin(parallel, base, modes=modes, size=args.size, targets=targets, seed=args.seed,
                             sampling=args.sampling)  # fmt: skip
    counts = Counter(ex.meta["crossin"]["mode"] for ex in examples)
    _write(args.out, examples, command="crossin", args=args, seed=args.seed, inputs=[*files.values(), *args.base],
           modes=dict(counts), parallel_items=len(parallel) if parallel else 0, base_read=reports)  # fmt: skip
    _console().print(
        f"crossin -> {args.out}: {len(examples)} examples ({', '.join(f'{m} {n}' for m, n in counts.items())})"
    )
    return 0


def run_plug(args: argparse.Namespace) -> int:
    from crosslift.data.examples import read_parallel
    from crosslift.data.plug import build_plug
    from crosslift.errors import ConfigError

    pivot = _lang_files([args.pivot], "--pivot")
    targets = _lang_files(args.target, "--target")
    if set(pivot) & set(targets):
        raise ConfigError(f"the pivot language {next(iter(pivot))} is also a target")
    files = pivot | targets
    parallel = read_parallel(files, align=args.align, **_read_kwargs(args))
    examples = build_plug(
        parallel, targets=list(targets), pivot=next(iter(pivot)), monolingual=args.monolingual,
        pivot_instruction_label=None if args.no_pivot_instruction else args.pivot_label,
    )  # fmt: skip
    _write(args.out, examples, command="plug", args=args, inputs=list(files.values()), items=len(parallel))
    _console().print(
        f"plug -> {args.out}: {len(examples)} examples ({len(parallel)} items x {len(targets)} languages)"
    )
    return 0


def run_mix(args: argparse.Namespace) -> int:
    from crosslift.data.crossin import mix_epochs
    from crosslift.data.examples import read_examples

    sources, weights, paths = [], [], []
    for spec in args.source:
        path, sep, weight = spec.rpartition(":")
        if not sep or not _is_number(weight):
            path, weight = spec, "1"
        examples, _ = read_examples(path, skip_invalid=args.skip_invalid)
        sources.append(examples)
        weights.append(float(weight))
        paths.append(Path(path))
    examples = mix_epochs(sources, weights, size=args.size, epochs=args.epochs, seed=args.seed)
    counts = Counter(ex.source for ex in examples)
    _write(
        args.out, examples, command="mix", args=args, seed=args.seed, inputs=paths, per_source=dict(counts)
    )
    _console().print(f"mix -> {args.out}: {len(examples)} examples ({args.epochs} epochs of {args.size})")
    return 0


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


# ---------------------------------------------------------------------------------------------- stats, validate


def run_lexicon_stats(args: argparse.Namespace) -> int:
    from rich.table import Table

    from crosslift.data.examples import iter_records
    from crosslift.data.lexicon import coverage, load_lexicons
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
            args.corpus, kw["format"], columns=kw["columns"], quoting=kw["quoting"]
        ):
            if kw["limit"] is not None and len(texts) >= kw["limit"]:
                break
            value = record.get(args.field) if isinstance(record, dict) else None
            if not isinstance(value, str):
                raise DataError("missing field" if value is None else "expected a string", path=args.corpus,
                                field=args.field, **location)  # fmt: skip
            texts.append(value)
    figures = {}
    for lang, lex in sorted(lexicons.items()):
        figures[lang] = {
            "entries": len(lex), "phrases": lex.phrases, "translations": sum(map(len, lex.entries.values())),
            "max_words": lex.max_words, "files": lex.files, "stats": dict(lex.stats),
        }  # fmt: skip
        if texts:
            figures[lang]["coverage"] = coverage(lex, texts)
    table = Table(
        "language", "entries", "phrases", "translations", "dropped", "token cov.", "type cov.", "files"
    )
    for lang, f in figures.items():
        dropped = sum(n for k, n in f["stats"].items() if k.startswith("dropped"))
        cov = f.get("coverage")
        table.add_row(lang, f"{f['entries']:,}", f"{f['phrases']:,}", f"{f['translations']:,}", f"{dropped:,}",
                      f"{cov['token_coverage']:.3f}" if cov else "-", f"{cov['type_coverage']:.3f}" if cov else "-",
                      ", ".join(Path(p).name for p in f["files"]))  # fmt: skip
    _console().print(table)
    if args.out is not None:
        inputs = [p for f in figures.values() for p in f["files"]] + ([args.corpus] if args.corpus else [])
        atomic_write_json(args.out, provenance(data_files=inputs, lexicons=figures, corpus_texts=len(texts)))
    return 0


def run_validate(args: argparse.Namespace) -> int:
    from crosslift.data.examples import iter_records, record_to_example
    from crosslift.data.plug import extract_target
    from crosslift.errors import CrossliftError, DataError
    from crosslift.io import atomic_write_json
    from crosslift.languages import UnknownLanguageError, get_language

    kw = _read_kwargs(args)
    problems: list[str] = []
    reasons: Counter = Counter()
    ids: Counter = Counter()
    langs: Counter = Counter()
    valid = 0
    for index, (location, record) in enumerate(
        iter_records(args.path, kw["format"], columns=kw["columns"], quoting=kw["quoting"])
    ):
        if kw["limit"] is not None and index >= kw["limit"]:
            break
        try:
            ex = record_to_example(
                record, path=args.path, location=location, fields=kw["fields"], index=index
            )
            for name in ("instruction_lang", "output_lang"):
                code = getattr(ex, name)
                if code is not None:
                    try:
                        get_language(code)
                    except UnknownLanguageError as e:
                        raise DataError(
                            f"unknown language code ({e})", path=args.path, field=name, **location
                        ) from None
            plug = ex.meta.get("plug")
            if isinstance(plug, dict) and not plug.get("monolingual"):
                status = extract_target(
                    ex.output, plug.get("lang", ex.output_lang), pivot=plug.get("pivot", "en")
                ).status
                if status != "ok":
                    raise DataError(
                        f"PLUG target does not extract ({status})", path=args.path, field="output", **location
                    )
        except DataError as e:
            reasons[f"{e.reason} ({e.field})" if e.field else e.reason] += 1
            if len(problems) < args.max_errors:
                problems.append(str(e))
            continue
        valid += 1
        ids[ex.id] += 1
        langs[f"{ex.instruction_lang}->{ex.output_lang}"] += 1
    duplicates = {i: n for i, n in ids.items() if n > 1}
    report = {
        "path": str(args.path), "valid": valid, "invalid": sum(reasons.values()), "reasons": dict(reasons),
        "problems": problems, "duplicate_ids": len(duplicates), "duplicate_id_sample": list(duplicates)[:10],
        "languages": dict(sorted(langs.items())),
    }  # fmt: skip
    console = _console()
    console.print(f"{args.path}: {valid} valid, {report['invalid']} invalid record(s)")
    for line in problems:
        console.print(f"  {line}")
    if duplicates:
        console.print(
            f"  note: {len(duplicates)} id(s) occur more than once (e.g. {', '.join(list(duplicates)[:3])})"
        )
    console.print("  languages: " + ", ".join(f"{k} {n}" for k, n in report["languages"].items()))
    if args.out is not None:
        atomic_write_json(args.out, report)
    if report["invalid"]:
        raise CrossliftError(
            f"{report['invalid']} invalid record(s) in {args.path} ({', '.join(f'{n} {r}' for r, n in reasons.most_common())})"
        )
    return 0


def run_translate(args: argparse.Namespace) -> int:
    from rich.progress import Progress

    from crosslift.data.examples import read_examples
    from crosslift.data.translate import GENERIC_PROMPT, PROMPTS, translate_examples
    from crosslift.io import atomic_write_json
    from crosslift.languages import normalize_code
    from crosslift.models.endpoint import EndpointClient
    from crosslift.runs import provenance

    lang = normalize_code(args.language)
    kw = _read_kwargs(args)
    examples, read_report = read_examples(args.input, skip_invalid=args.skip_invalid, instruction_lang="en",
                                          output_lang="en", **kw)  # fmt: skip
    client = EndpointClient(args.base_url, args.model, api_key_env=args.api_key_env, timeout_s=args.timeout,
                            max_retries=args.max_retries, concurrency=args.concurrency)  # fmt: skip
    with Progress(console=_console(), transient=True) as progress:
        task = progress.add_task(f"translating into {lang}", total=len(examples))
        report = translate_examples(
            examples, lang, client, args.out, split_retries=args.max_retries,
            progress=lambda done, total: progress.update(task, completed=done),
            temperature=args.temperature, max_tokens=args.max_tokens,
        )  # fmt: skip
    manifest = provenance(
        data_files=[args.input], output=str(args.out), data_command="translate", language=lang,
        models={"translator": args.model}, endpoint=args.base_url,
        prompt=PROMPTS.get(lang, GENERIC_PROMPT), generation={"temperature": args.temperature, "max_tokens": args.max_tokens},
        read=read_report.summary(), records=report.resumed + report.translated,
        report=vars(report) | {"failed_splits": dict(report.failed_splits), "failed_requests": dict(report.failed_requests),
                               "failed_ids": report.failed_ids[:100]},
    )  # fmt: skip
    atomic_write_json(manifest_path(args.out), manifest)
    failed = sum(report.failed_splits.values()) + sum(report.failed_requests.values())
    _console().print(
        f"translate -> {args.out}: {report.translated} translated now, {report.resumed} from before, "
        f"{failed} failed ({dict(report.failed_splits) or ''}{dict(report.failed_requests) or ''}) "
        f"in {report.seconds:.1f} s; rerun the command to retry the failed ones"
        if failed else
        f"translate -> {args.out}: {report.translated} translated now, {report.resumed} from before, in {report.seconds:.1f} s"
    )  # fmt: skip
    return 0


def run_download(args: argparse.Namespace) -> int:
    from crosslift.catalogue import data_cache_dir
    from crosslift.data.download import catalogue_rows, dataset_urls, fetch_datasets
    from crosslift.errors import ConfigError

    if args.list:
        from rich.table import Table

        table = Table("name", "kind", "files", "MB", "license", "restrictions", "downloaded",
                      title=f"data catalogue (downloads in {args.to or data_cache_dir()})")  # fmt: skip
        for row in catalogue_rows(args.to):
            license = row.license if len(row.license) <= 40 else row.license[:37] + "..."
            table.add_row(row.name, row.kind, str(row.files), f"{row.bytes / 1e6:.1f}", license,
                          ", ".join(row.restrictions), "yes" if row.downloaded else "")  # fmt: skip
        _console().print(table)
        return 0
    if not args.names:
        raise ConfigError("name the datasets to download (crosslift data download --list shows them)")
    if args.urls:
        print("\n".join(dataset_urls(args.names)))
        return 0
    fetch_datasets(args.names, root=args.to, from_dir=args.from_dir, console=_console(), timeout=args.timeout)
    return 0


COMMANDS = {
    "codeswitch": run_codeswitch,
    "crossin": run_crossin,
    "plug": run_plug,
    "mix": run_mix,
    "translate": run_translate,
    "lexicon-stats": run_lexicon_stats,
    "validate": run_validate,
    "download": run_download,
}


def run(args: argparse.Namespace) -> int:
    return COMMANDS[args.data_command](args)
