"""crosslift data's verbs that read data without writing training data: lexicon-stats, validate, download.

Their options come from their specs, as every verb's do (`crosslift.cli.data`); these functions print what each
returns.
"""

from __future__ import annotations

import argparse
from pathlib import Path

__all__ = ["run_download", "run_lexicon_stats", "run_validate"]


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
