"""crosslift data VERB: build and check training data.

Each verb's options are the fields of its spec (`crosslift.data.specs`, which a training source's `build:` is
too), put on the command line by `crosslift.cli.spec_args`; this module says what the fields do not (option
spellings, positional arguments, --out) and prints what each verb returns.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from crosslift.cli.data_checks import run_download, run_lexicon_stats, run_validate
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
