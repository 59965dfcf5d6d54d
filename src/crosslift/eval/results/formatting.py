"""How results are shown to a person, shared by the evaluation report (`crosslift.eval.results.report`), the pairwise
judge's report (`crosslift.eval.judging.pairwise`), the runner's progress and the command line.

A summary's cells (``{"value", "ci_low", "ci_high", ...}``) print as "45.2 (40.1–50.3)": proportions (metrics with
Wilson intervals) in percent, other metrics as they are. `levels` gives the rows every report shows, in order.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from crosslift.console import stderr_console
from crosslift.languages import REPORT_TIERS

Cell = dict[str, Any] | None  # {"value", "ci_low", "ci_high", ...} of one metric at one level


def display_scale(summary: dict[str, Any], key: str) -> float:
    """Proportions (metrics with Wilson intervals) are shown in percent."""
    return 100.0 if summary["metrics"][key].get("interval") == "wilson" else 1.0


def _number(summary: dict[str, Any], key: str, x: float) -> str:
    return f"{x * 100:.1f}" if display_scale(summary, key) == 100 else f"{x:.3f}"


def fmt(summary: dict[str, Any], key: str, cell: Cell, interval: bool = True) -> str:
    """'45.2 (40.1–50.3)' for a metric cell; '–' when empty."""
    if not cell or cell.get("value") is None:
        return "–"
    text = _number(summary, key, cell["value"])
    if interval and cell.get("ci_low") is not None:
        text += f" ({_number(summary, key, cell['ci_low'])}–{_number(summary, key, cell['ci_high'])})"
    return text


def levels(summary: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    """(label, kind, entry) for every row a report shows: each tier, English, overall, then each language."""
    rows = [(f"tier: {t}", "tier", summary["tiers"][t]) for t in REPORT_TIERS if t in summary["tiers"]]
    if summary.get("english"):
        rows.append(("English", "english", summary["english"]))
    rows.append(("overall", "overall", summary["overall"]))
    rows += [(code, "language", entry) for code, entry in summary["languages"].items()]
    return rows


def markdown_table(header: list[str], rows: list[list[str]]) -> str:
    """A markdown table of text cells."""
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    return "\n".join([*lines, *("| " + " | ".join(r) + " |" for r in rows)])


def run_labels(runs: list[Path]) -> list[str]:
    """Short names of run folders for tables and legends: the folder's name (a run's, for its eval/ folder),
    numbered when two are alike."""
    names = [(p.resolve().parent.name if p.name == "eval" else p.name) or str(p) for p in runs]
    return names if len(set(names)) == len(names) else [f"{i + 1}:{n}" for i, n in enumerate(names)]


def pyplot():
    """matplotlib's pyplot on the Agg backend: plots are written to files, never shown."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def progress_bar(stat_label: str = "acc", stat_field: str = "acc") -> Progress:
    """Items done/total, a running figure (task field `stat_field`), elapsed time and ETA."""
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn(f"{stat_label} {{task.fields[{stat_field}]}}"),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
        console=stderr_console,
    )
