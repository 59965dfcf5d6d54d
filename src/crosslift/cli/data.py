"""crosslift data COMMAND: build and check training data.

The commands and their arguments are `crosslift.data.commands` (a training source's `build:` runs them
too); this module puts them on the command line and prints what each one returns.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from crosslift.data.commands import add_arguments

__all__ = ["HELP", "add_arguments", "run"]

HELP = "Build training data: code-switching, CrossIn, PLUG, mixtures, LLM translation; lexicon stats; validation."


def run_codeswitch(args: argparse.Namespace) -> int:
    from rich.table import Table

    from crosslift.console import stderr_console
    from crosslift.data.commands import build

    manifest = build(args)
    table = Table(
        "language",
        "records",
        "covered words",
        "switched",
        "fraction",
        "sentences",
        title=f"codeswitch -> {args.out}",
    )
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

    manifest = build(args)
    counts = ", ".join(f"{m} {n}" for m, n in manifest["modes"].items())
    stderr_console.print(f"crossin -> {args.out}: {manifest['records']} examples ({counts})")
    for line in [*manifest["parallel_read"], *manifest["base_read"]]:
        stderr_console.print(line)
    return 0


def run_plug(args: argparse.Namespace) -> int:
    from crosslift.console import stderr_console
    from crosslift.data.commands import build

    manifest = build(args)
    languages = len(manifest["languages"])  # every target language gives examples of its own, lang->lang
    stderr_console.print(
        f"plug -> {args.out}: {manifest['records']} examples "
        f"({manifest['items']} items x {languages} languages)"
    )
    for line in manifest["read"]:
        stderr_console.print(line)
    return 0


def run_mix(args: argparse.Namespace) -> int:
    from crosslift.console import stderr_console
    from crosslift.data.commands import build

    manifest = build(args)
    stderr_console.print(
        f"mix -> {args.out}: {manifest['records']} examples ({args.epochs} epochs of {args.size})"
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
        task = progress.add_task(f"translating into {normalize_code(args.language)}", total=None)
        manifest = build(
            args, progress=lambda done, total: progress.update(task, completed=done, total=total)
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

    figures = lexicon_stats(args)
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

    report = validation_report(args)
    stderr_console.print(f"{args.path}: {report['valid']} valid, {report['invalid']} invalid record(s)")
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
        raise CrossliftError(f"{report['invalid']} invalid record(s) in {args.path} ({reasons})")
    return 0


def run_download(args: argparse.Namespace) -> int:
    from crosslift.catalogue import data_cache_dir
    from crosslift.console import stderr_console
    from crosslift.data.download import catalogue_rows, dataset_urls, fetch_datasets
    from crosslift.errors import ConfigError

    if args.list:
        from rich.table import Table

        table = Table(
            "name",
            "kind",
            "files",
            "MB",
            "license",
            "restrictions",
            "downloaded",
            title=f"data catalogue (downloads in {args.to or data_cache_dir()})",
        )
        for row in catalogue_rows(args.to):
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
    if not args.names:
        raise ConfigError("name the datasets to download (crosslift data download --list shows them)")
    if args.urls:
        print("\n".join(dataset_urls(args.names)))
        return 0
    fetch_datasets(
        args.names, root=args.to, from_dir=args.from_dir, console=stderr_console, timeout=args.timeout
    )
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
