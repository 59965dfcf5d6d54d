"""Running an evaluation config, task by task. Reads top to bottom:

plan      every task entry resolved into per-language plans: items, prompts, decoding settings, fixed chunks
          (`crosslift.eval.runner.plan`; no model needed yet)
check     reopen <output_dir>/eval/<task>/: its results must be of this same evaluation, and finished items are
          skipped (`crosslift.eval.runner.resume`)
generate  load the model only if something is left; generate the missing items chunk by chunk, over one
          process or several (`crosslift.eval.runner.generate`, `crosslift.eval.runner.shards`)
summarize score every selected item from its raw output; write summary.json, report.md, plots and
          lm-evaluation-harness's files atomically (`crosslift.eval.results`)

From Python: `crosslift.evaluate("mmwp_tiny")` (`crosslift.api`).
"""

from __future__ import annotations

import time
from typing import Any

from crosslift.errors import ConfigError
from crosslift.eval.config import EvalConfig
from crosslift.eval.results.folder import ITEMS, load_records
from crosslift.eval.results.lm_eval_format import write_lm_eval
from crosslift.eval.results.report import write_report
from crosslift.eval.results.summary import build_summary, write_summary
from crosslift.eval.runner.generate import LazyGenerator, generate_missing
from crosslift.eval.runner.plan import TaskPlan, plan_task
from crosslift.eval.runner.resume import open_task_dir
from crosslift.eval.runner.shards import SHARD_FILES, Shards
from crosslift.eval.runner.variants import expand_variants, write_medians
from crosslift.eval.tasks.registry import TaskRegistry
from crosslift.io import truncate_torn_tail
from crosslift.models.generation import Generator
from crosslift.runs import provenance, run_folder_lock


def run_task(plan: TaskPlan, generator: LazyGenerator, config: EvalConfig) -> dict[str, Any]:
    """Generate what is missing for one task, then write its summary, report and plots. Returns the summary."""
    plan.directory.mkdir(parents=True, exist_ok=True)
    truncate_torn_tail(plan.directory / ITEMS)
    records = load_records(plan.directory)
    run = open_task_dir(plan, config.model, claimed=bool(records) or any(plan.directory.glob(SHARD_FILES)))
    started = time.monotonic()
    generated = generate_missing(plan, run, records, generator)
    selected = {lp.language: [item.index for item in lp.items] for lp in plan.languages}
    summary = build_summary(
        run,
        records,
        plan.tier_rule,
        selected,
        provenance=provenance(
            seed=config.seed,
            data_files=sorted({str(f) for lp in plan.languages for f in lp.files}),
            models={"model": run.get("model_id") or config.model.name_or_path},
        ),
        timing={"seconds": round(time.monotonic() - started, 2), "items_generated": generated},
        **({"warnings": plan.warnings} if plan.warnings else {}),
    )
    if Shards().is_main:  # every process of a sharded run has the summary; one writes it
        write_summary(plan.directory, summary)
        write_report(plan.directory, summary)
        write_lm_eval(plan.directory, run, records, summary, selected)
    return summary


def evaluate(config: EvalConfig, generator: Generator | None = None) -> dict[str, dict[str, Any]]:
    """Run every task of an evaluation config (resuming where a previous run stopped).

    Args:
        config: the evaluation config.
        generator: use this loaded model instead of loading ``config.model`` (``config.model.name_or_path``
            still names it in the results).

    Returns:
        task name -> its summary (also written to <output_dir>/eval/<task>/summary.json).

    Raises:
        CrossliftError: bad config, data, or a model that cannot be loaded; the results folder of another evaluation,
            or one that another process is writing (`crosslift.runs.RunFolderBusy`).
    """
    registry = TaskRegistry(config.task_paths)
    entries = [entry for t in config.tasks for entry in expand_variants(t)]
    plans = [plan_task(t, config, registry) for t in entries]  # every task checked before any generation
    names = [p.name for p in plans]
    if len(set(names)) != len(names):
        raise ConfigError(f"a task is listed twice: {', '.join(names)}")
    # one writer per results folder; a read-only or full disk is said now, not after the model loaded
    with run_folder_lock(config.output_dir):
        lazy = LazyGenerator(config.model, generator)
        summaries = {plan.name: run_task(plan, lazy, config) for plan in plans}
        return summaries | write_medians(config, summaries)
