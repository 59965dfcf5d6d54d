"""`crosslift demo`: the tier gap and what LinguaLIFT, CrossIn and PLUG do to it, as a controlled experiment in a
synthetic world, on a CPU.

Reads top to bottom:

    world       generate the synthetic world (crosslift.synth.world) into OUT/world and register its languages;
                its no-reading floor (crosslift.synth.floor) is part of the report
    plan        every run's data and step configs (a run: a pretraining seed x a fine-tuning seed), validated
                before anything trains (crosslift.synth.methods)
    pretrain    the "English-strong LLM" and the multilingual encoder of each pretraining seed: shipped with
                crosslift for the default world, else pretrained here and cached (crosslift.synth.pretrained);
                then each model's own cross-lingual retrieval, before any bridge is trained
    methods     every run's methods and controls, two jobs side by side, each `crosslift train` then
                `crosslift eval` of the world's math task (test split; dev for choosing settings)
    report      OUT/report.md, OUT/comparison.json, OUT/details.json, OUT/accuracy_by_tier.png, with paired
                intervals and verdicts (crosslift.synth.report)

Every step reuses a finished result, so a killed demo resumes where it stopped.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from crosslift.languages import register_languages
from crosslift.synth.config import FULL, DemoConfig, load_demo_config
from crosslift.synth.jobs import run_jobs
from crosslift.synth.methods import build_data, build_peer_data, plan_run, task_files
from crosslift.synth.pretrained import prepare_pretraining, probe
from crosslift.synth.world import build_world, load_world_config

__all__ = ["FULL", "DemoConfig", "load_demo_config", "run_demo"]

# ---------------------------------------------------------------------------------------------------- run

QUIET = ("FutureWarning", "warnings.warn", "UserWarning", "Loading weights")


def run_demo(cfg: DemoConfig, out: str | Path, *, echo=print) -> Path:
    """Run the whole comparison (every run), write the report, and return the report's path."""
    from crosslift.synth.report import write_report

    out = Path(out)
    started = time.monotonic()
    timings: dict[str, float] = {}

    echo(f"world: generating '{cfg.world}' into {out / 'world'}")
    t = time.monotonic()
    world = build_world(load_world_config(cfg.world), out / "world")
    register_languages(world.languages_file)
    timings["world"] = time.monotonic() - t

    # Every step's config is built now: an invalid one stops the demo before any step runs.
    pretrainings = {p: prepare_pretraining(world, cfg, p) for p in cfg.pretraining_seeds}
    tasks = task_files(world, cfg, out)
    runs = [(p, s) for p in cfg.pretraining_seeds for s in cfg.seeds]
    plans = {
        (p, s): plan_run(world, cfg, pretrainings[p].models, p, s, out, tasks, echo=echo) for p, s in runs
    }
    t = time.monotonic()
    for (_, s), plan in plans.items():
        build_data(world, cfg, s, plan.steps.data)
        build_peer_data(world, cfg, plan.steps.data)
    timings["data"] = time.monotonic() - t

    for p, pretraining in pretrainings.items():
        echo(f"pretraining seed {p}: the LLM and the encoder, {pretraining.source} ({pretraining.root})")
    jobs = [job for pretraining in pretrainings.values() for job in pretraining.jobs]
    timings |= {f"pretrain:{k}": v for k, v in run_jobs(jobs, echo=echo, quiet_lines=QUIET).items()}
    probes = {}
    for p, pretraining in pretrainings.items():
        models = pretraining.finish()
        probes[p] = probe(world, models, cfg.stage1.encoder_layer, pretraining.root / "probe.json")

    echo(f"methods: {', '.join(cfg.methods)}; {len(runs)} run(s) (pretraining seed x fine-tuning seed)")
    jobs = [job for plan in plans.values() for job in plan.jobs]
    timings |= run_jobs(jobs, echo=echo, quiet_lines=QUIET)
    timings["total"] = time.monotonic() - started

    results: dict[tuple[int, int], dict[str, Any]] = {
        run: {
            "task_dirs": plan.evals,
            "bridges": {
                method: {"stage1": str(bridge.stage1_dir), "attempts": bridge.attempts}
                for method, bridge in plan.bridges.items()
            },
        }
        for run, plan in plans.items()
    }
    sources = {p: pretraining.source for p, pretraining in pretrainings.items()}
    return write_report(world, cfg, out, results, probes=probes, pretraining=sources, timings=timings)
