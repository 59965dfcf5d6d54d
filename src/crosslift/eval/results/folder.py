"""A task's results folder: what it holds, where a run's folders are, and its records.

    <output_dir>/eval/<task>/
      run.json        what produced the items: model, and per language the task definition, prompt and
                      decoding settings (a rerun with different ones is refused, so one folder = one setting);
                      the selection (items per language) of the latest run, which tells a finished run from an
                      interrupted one
      items.jsonl     one line per finished item, appended as it finishes: task, language, index, prompt, raw
                      output, extracted answer, gold, correct, every filter's answer and every item metric
      summary.json    metrics per language, per tier, for English and overall, with intervals and provenance
                      (`crosslift.eval.results.summary`)
      report.md, accuracy_by_language.png, tier_gap.png   (`crosslift.eval.results.report`)

A `crosslift judge` folder (judge.json, verdicts.jsonl, summary.json; `crosslift.eval.judging.pairwise`) is a results
folder too: reports recompute and compare it like a task's.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from crosslift.errors import CrossliftError, DataError
from crosslift.io import read_jsonl_tolerant

ITEMS, RUN, SUMMARY = "items.jsonl", "run.json", "summary.json"
JUDGE = "judge.json"  # what marks a pairwise judging folder


def task_dirs(path: str | Path) -> list[Path]:
    """The task results folders in a run folder, its eval/ folder, or a task folder itself; also the folders of a
    `crosslift judge` output (judge.json)."""
    path = Path(path)
    if (path / RUN).is_file() or (path / JUDGE).is_file():
        return [path]
    for root in (path / "eval", path):
        found = sorted({p.parent for marker in (RUN, JUDGE) for p in root.glob(f"*/{marker}")})
        if found:
            return found
    raise CrossliftError(f"{path}: no evaluation results here (expected eval/<task>/{RUN})")


def item_key(record: dict[str, Any]) -> tuple[str, int]:
    return (record["task"], int(record["index"]))


def load_records(task_dir: Path) -> dict[tuple[str, int], dict[str, Any]]:
    """Finished items by (task, index); a torn last line is ignored, a duplicate keeps the first record."""
    records: dict[tuple[str, int], dict[str, Any]] = {}
    for number, record in enumerate(read_jsonl_tolerant(task_dir / ITEMS), start=1):
        try:
            records.setdefault(item_key(record), record)
        except (KeyError, TypeError, ValueError):
            raise DataError(
                "not an items.jsonl record (needs task and index)", path=task_dir / ITEMS, line=number
            ) from None
    return records


def load_run(task_dir: Path) -> dict[str, Any]:
    path = task_dir / RUN
    if not path.is_file():
        raise DataError(f"no {RUN} here: not a crosslift evaluation folder", path=task_dir)
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise DataError(f"not valid JSON ({e.msg})", path=path, line=e.lineno) from None


def selected_items(
    run: dict[str, Any], previous: dict[str, Any], records: dict[tuple[str, int], dict[str, Any]]
) -> dict[str, list[int]]:
    """Language -> the item indices a task folder's summary covers: the first n of each language (run.json's
    `selection`). For a run.json written before the selection was kept: the items of the previous summary; without
    one (an interrupted run), every item in the data."""
    if "selection" in run:
        return {lang: list(range(n)) for lang, n in run["selection"].items()}
    stored = {lang: sorted(i for (t, i) in records if t == e["task"]) for lang, e in run["languages"].items()}
    if previous.get("languages"):
        return {lang: stored[lang][: entry["n_items"]] for lang, entry in previous["languages"].items()}
    return {
        lang: list(range(e["n_items_available"])) if e.get("n_items_available") else stored[lang]
        for lang, e in run["languages"].items()
    }
