"""crosslift data VERB: build and check training data.

Each verb's options are the fields of its spec (`crosslift.data.specs`, which a training source's `build:` is
too), put on the command line by `crosslift.cli.spec_args`; this module says what the fields do not (option
spellings, positional arguments, --out) and prints what each verb returns.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from crosslift.cli.spec_args import SpecLine, SpecParser

__all__ = ["HELP", "add_arguments", "run"]

HELP = (
    "Build training data: code-switching, CrossIn, PLUG, QAlign, MindMerger, mixtures, LLM translation, a toy "
    "set; lexicon stats; validation."
)

SPECS = "crosslift.data.specs"
HUB = frozenset({"subset", "split", "revision"})  # reading options of training sources, not of these verbs
METAVARS = {
    "format": "FORMAT",
    "fields": "EXAMPLE=KEY,...",
    "columns": "NAME,...",
    "lexicon": "PATH",
    "weights": "LANG=W,...",
    "tier_weights": "TIER=W,...",
    "protect": "REGEX",
    "parallel": "LANG=FILE",
    "pivot": "LANG=FILE",
    "target": "LANG=FILE",
    "source": "FILE[:WEIGHT]",
    "names": "NAME",
    "from_dir": "DIR",
}
WRITES = "output JSONL (a manifest is written beside it)"


def _line(spec: str, help: str, out: str | None = WRITES, *, required: bool = True, **kwargs) -> SpecLine:
    """A verb's spec on the command line; `out`: the help of its --out (a verb that writes data requires it)."""
    extra = (("--out", {"type": Path, "required": required, "help": out}),) if out else ()
    return SpecLine(f"{SPECS}:{spec}", help, metavars=METAVARS, extra=extra, **{"hidden": HUB} | kwargs)


VERBS = {
    "codeswitch": _line("CodeswitchSpec", "LinguaLIFT stage-1 data: code-switched text -> original English"),
    "crossin": _line(
        "CrossinSpec",
        "CrossIn mixes from a parallel instruction set",
        what={"": "parallel files", "base_options": "base files"},
    ),
    "plug": _line("PlugSpec", "PLUG pivot targets from parallel instruction data"),
    "qalign": _line(
        "QalignSpec", "QAlign stage-1 data: question translation x -> English", what={"": "parallel files"}
    ),
    "mindmerger": _line(
        "MindmergerSpec",
        "MindMerger / LayAlign data: mapping pairs x -> English, or query-translated task data",
        what={"": "parallel files"},
    ),
    "toy": _line("ToySpec", "a toy parallel set of arithmetic problems made in code (tiny configs, tests)"),
    "mix": _line(
        "MixSpec",
        "a weighted mixture of example files, reseeded per epoch",
        what={"": "sources"},
        hidden=HUB | {"format", "fields", "columns", "quoting", "limit"},
    ),
    "translate": _line(
        "TranslateSpec",
        "translate instruction + response jointly through an LLM endpoint",
        "output JSONL; rerunning the command resumes it",
    ),
    "lexicon-stats": _line(
        "LexiconStatsSpec",
        "entries and corpus coverage of lexicons",
        "also write the figures as JSON",
        required=False,
        what={"": "corpus"},
        hidden=HUB | {"coerce_types"},
    ),
    "validate": _line(
        "ValidateSpec",
        "check an example file",
        "also write the report as JSON",
        required=False,
        positional={"path": {}},
    ),
    "download": _line(
        "DownloadSpec",
        "fetch catalogued benchmarks and lexicons into the cache, verified",
        None,
        positional={"names": {"nargs": "*"}},
    ),
}


def add_arguments(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="data_command", metavar="COMMAND", required=True, parser_class=SpecParser)
    for verb, line in VERBS.items():
        sub.add_parser(verb, help=line.help, line=line)


def run_codeswitch(args: argparse.Namespace) -> int:
    from rich.table import Table

    from crosslift.console import stderr_console
    from crosslift.data.commands import build

    manifest = build(args.spec, args.out)
    columns = ("language", "records", "covered words", "switched", "fraction", "sentences")
    table = Table(*columns, title=f"codeswitch -> {args.out}")
    for lang, s in manifest["codeswitch"].items():
        table.add_row(
            lang,
            str(s.get("records", 0)),
            str(s.get("covered_words", 0)),
            str(s.get("switched_words", 0)),
            f"{s['switched_fraction']:.3f}",
            str(s.get("sentences", 0)),
        )
    stderr_console.print(table)
    stderr_console.print(manifest["read"])
    return 0


def run_crossin(args: argparse.Namespace) -> int:
    from crosslift.console import stderr_console
    from crosslift.data.commands import build

    manifest = build(args.spec, args.out)
    counts = ", ".join(f"{m} {n}" for m, n in manifest["modes"].items())
    stderr_console.print(f"crossin -> {args.out}: {manifest['records']} examples ({counts})")
    for line in [*manifest["parallel_read"], *manifest["base_read"]]:
        stderr_console.print(line)
    return 0


def run_plug(args: argparse.Namespace) -> int:
    from crosslift.console import stderr_console
    from crosslift.data.commands import build

    manifest = build(args.spec, args.out)
    languages = len(manifest["languages"])  # every target language gives examples of its own, lang->lang
    stderr_console.print(
        f"plug -> {args.out}: {manifest['records']} examples "
        f"({manifest['items']} items x {languages} languages)"
    )
    for line in manifest["read"]:
        stderr_console.print(line)
    return 0


def run_to_english(args: argparse.Namespace) -> int:
    from crosslift.console import stderr_console
    from crosslift.data.commands import build

    manifest = build(args.spec, args.out)
    pairs = ", ".join(f"{pair} {n}" for pair, n in manifest["languages"].items())
    stderr_console.print(f"{args.spec.verb} -> {args.out}: {manifest['records']} examples ({pairs})")
    for line in manifest["read"]:
        stderr_console.print(line)
    return 0


def run_toy(args: argparse.Namespace) -> int:
    from crosslift.console import stderr_console
    from crosslift.data.commands import build

    manifest = build(args.spec, args.out)
    stderr_console.print(
        f"toy -> {args.out}: {manifest['records']} examples ({manifest['items']} items x "
        f"{len(manifest['languages'])} languages; not real languages: English and word ciphers of it)"
    )
    return 0


def run_mix(args: argparse.Namespace) -> int:
    from crosslift.console import stderr_console
    from crosslift.data.commands import build

    manifest = build(args.spec, args.out)
    stderr_console.print(
        f"mix -> {args.out}: {manifest['records']} examples ({args.spec.epochs} epochs of {args.spec.size})"
    )
    for line in manifest["read"]:
        stderr_console.print(line)
    return 0


def run_translate(args: argparse.Namespace) -> int:
    from rich.progress import Progress

    from crosslift.console import stderr_console
    from crosslift.data.commands import build
    from crosslift.languages import normalize_code

    with Progress(console=stderr_console, transient=True) as progress:
        task = progress.add_task(f"translating into {normalize_code(args.spec.language)}", total=None)
        manifest = build(
            args.spec,
            args.out,
            progress=lambda done, total: progress.update(task, completed=done, total=total),
        )
    report = manifest["report"]
    failed = sum(report["failed_splits"].values()) + sum(report["failed_requests"].values())
    stderr_console.print(
        f"translate -> {args.out}: {report['translated']} translated now, {report['resumed']} from before, "
        f"{failed} failed ({report['failed_splits'] or ''}{report['failed_requests'] or ''}) "
        f"in {report['seconds']:.1f} s; rerun the command to retry the failed ones"
        if failed
        else f"translate -> {args.out}: {report['translated']} translated now, {report['resumed']} from before, in {report['seconds']:.1f} s"
    )
    return 0


def run_lexicon_stats(args: argparse.Namespace) -> int:
    from rich.table import Table

    from crosslift.console import stderr_console
    from crosslift.data.commands import lexicon_stats

    figures = lexicon_stats(args.spec, args.out)
    table = Table(
        "language", "entries", "phrases", "translations", "dropped", "token cov.", "type cov.", "files"
    )
    for lang, f in figures.items():
        dropped = sum(n for k, n in f["stats"].items() if k.startswith("dropped"))
        cov = f.get("coverage")
        table.add_row(
            lang,
            f"{f['entries']:,}",
            f"{f['phrases']:,}",
            f"{f['translations']:,}",
            f"{dropped:,}",
            f"{cov['token_coverage']:.3f}" if cov else "-",
            f"{cov['type_coverage']:.3f}" if cov else "-",
            ", ".join(Path(p).name for p in f["files"]),
        )
    stderr_console.print(table)
    return 0


def run_validate(args: argparse.Namespace) -> int:
    from collections import Counter

    from crosslift.console import stderr_console
    from crosslift.data.commands import validation_report
    from crosslift.errors import CrossliftError

    report = validation_report(args.spec, args.out)
    stderr_console.print(f"{args.spec.path}: {report['valid']} valid, {report['invalid']} invalid record(s)")
    for line in report["problems"]:
        stderr_console.print(f"  {line}")
    if report["duplicate_ids"]:
        stderr_console.print(
            f"  note: {report['duplicate_ids']} id(s) occur more than once "
            f"(e.g. {', '.join(report['duplicate_id_sample'][:3])})"
        )
    stderr_console.print("  languages: " + ", ".join(f"{k} {n}" for k, n in report["languages"].items()))
    if report["coerced"]:
        fields = ", ".join(f"{n} in {key}" for key, n in report["coerced"].items())
        stderr_console.print(f"  read {sum(report['coerced'].values())} numbers as text ({fields})")
    if report["invalid"]:
        reasons = ", ".join(f"{n} {r}" for r, n in Counter(report["reasons"]).most_common())
        raise CrossliftError(f"{report['invalid']} invalid record(s) in {args.spec.path} ({reasons})")
    return 0


def run_download(args: argparse.Namespace) -> int:
    from crosslift.catalogue import data_cache_dir
    from crosslift.console import stderr_console
    from crosslift.data.download import catalogue_rows, dataset_urls, fetch_datasets
    from crosslift.errors import ConfigError

    spec = args.spec
    if spec.catalogue:
        from rich.table import Table

        columns = ("name", "kind", "files", "MB", "license", "restrictions", "downloaded")
        table = Table(*columns, title=f"data catalogue (downloads in {spec.to or data_cache_dir()})")
        for row in catalogue_rows(spec.to):
            license = row.license if len(row.license) <= 40 else row.license[:37] + "..."
            table.add_row(
                row.name,
                row.kind,
                str(row.files),
                f"{row.bytes / 1e6:.1f}",
                license,
                ", ".join(row.restrictions),
                "yes" if row.downloaded else "",
            )
        stderr_console.print(table)
        return 0
    if not spec.names:
        raise ConfigError("name the datasets to download (crosslift data download --list shows them)")
    if spec.urls:
        print("\n".join(dataset_urls(spec.names)))
        return 0
    fetch_datasets(
        spec.names, root=spec.to, from_dir=spec.from_dir, console=stderr_console, timeout=spec.timeout
    )
    return 0


COMMANDS = {
    "codeswitch": run_codeswitch,
    "crossin": run_crossin,
    "plug": run_plug,
    "qalign": run_to_english,
    "mindmerger": run_to_english,
    "toy": run_toy,
    "mix": run_mix,
    "translate": run_translate,
    "lexicon-stats": run_lexicon_stats,
    "validate": run_validate,
    "download": run_download,
}


def run(args: argparse.Namespace) -> int:
    return COMMANDS[args.data_command](args)
