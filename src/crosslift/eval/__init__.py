"""Evaluation: task registry (YAML), prompts (fitted to the model's context: `context`), generation through
`crosslift.models`, answer extraction, metrics, resumable runs and reports by language and resource tier;
cross-lingual consistency and AC3 (`consistency`), response-language fidelity (`fidelity`), multiple-choice
mapping (`choices`), and the pairwise LLM judge (`pairwise`, with PLUG's protocol in `judge`).

    crosslift eval --task mmwp --data-dir ../shared/data/mmwp --model tiny:llama --languages en,sw,te --limit 20 --out runs/x
    crosslift eval --task cross_mmlu --data-dir ../shared/data/seaeval_cross --model M --out runs/x
    crosslift report runs/x
    crosslift judge --a runs/a --b runs/b --judge http://localhost:8000/v1 --out runs/a_vs_b

From Python (`crosslift.api`)::

    import crosslift
    summaries = crosslift.evaluate("mmwp_tiny", ["tasks.0.limit=5"])
"""

from __future__ import annotations

from pathlib import Path

from crosslift.eval.config import EvalConfig


def load_eval_config(path: str | Path | None, overrides: list[str] = ()) -> EvalConfig:
    """Read and validate an evaluation config (YAML + ``key.sub=value`` overrides)."""
    from crosslift.config import load_config

    return load_config(EvalConfig, path, overrides)


def evaluate(config: EvalConfig, generator=None) -> dict:
    """Run an evaluation; see `crosslift.eval.runner.evaluate.evaluate`."""
    from crosslift.eval.runner.evaluate import evaluate as run

    return run(config, generator)


__all__ = ["EvalConfig", "evaluate", "load_eval_config"]
