"""The Python API: what the `crosslift` verbs do, as functions that return what they made. The package exports them
(`crosslift.fit`, `crosslift.evaluate`, `crosslift.report`, `crosslift.demo`, `crosslift.load_model`), and the
command line calls them.

    import crosslift

    run = crosslift.fit("configs/sft_tiny.yaml", ["training.max_steps=20"])   # -> RunDir: run.model, run.manifest()
    summaries = crosslift.evaluate("configs/eval/mmwp_tiny.yaml", [f"model.name_or_path={run.model}"])
    summaries["mmwp"]["overall"]["metrics"]["accuracy_strict"]["value"]

Each function takes a config as the command line does — a YAML path or the name of a bundled config — or as a
mapping of the same keys, or as a config object (a recipe's `Config`, `EvalConfig`, `DemoConfig`), plus
``key.sub=value`` overrides (`crosslift.config.config_source`); it is validated before any work starts, with the
command line's errors (`ConfigError`, naming the file, line and key).

Training is `fit`, not `train`: `crosslift.train` is the package of the recipes, and importing any of its modules
sets that attribute of `crosslift`. Heavy modules (torch, transformers) are imported inside the functions.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from crosslift.config import ConfigLike, config_source, validate_config
from crosslift.errors import ConfigError

if TYPE_CHECKING:
    from crosslift.eval.config import EvalModelConfig
    from crosslift.models.generation import Generator
    from crosslift.runs import RunDir


def fit(config: ConfigLike, overrides: Sequence[str] = ()) -> RunDir:
    """Train with a recipe config, as `crosslift train CONFIG [key.sub=value ...]` does; rerunning resumes.

    Args:
        config: a run config (YAML path, bundled name such as ``"sft_tiny"``, mapping, or a recipe's `Config`);
            its ``recipe:`` key picks the recipe.
        overrides: ``key.sub=value`` changes to it (``"training.max_steps=20"``).

    Returns:
        The run directory (`crosslift.runs.RunDir`): ``.path``, ``.model`` (the final weights, or the LoRA
        adapter), ``.config_path`` and ``.manifest()`` (manifest.json: versions, data hashes, losses, status).

    Raises:
        CrossliftError: an invalid config or bad data (before any training); another process writing the run
            folder (`crosslift.runs.RunFolderBusy`).
    """
    from crosslift.train import train

    return train(config, overrides)


def evaluate(
    config: ConfigLike, overrides: Sequence[str] = (), *, generator: Generator | None = None
) -> dict[str, dict[str, Any]]:
    """Evaluate a model on benchmarks, as `crosslift eval CONFIG [key.sub=value ...]` does; rerunning resumes.

    Args:
        config: an evaluation config (YAML path, bundled name such as ``"mmwp_tiny"``, mapping, or `EvalConfig`).
        overrides: ``key.sub=value`` changes to it (``"model.name_or_path=runs/x/model"``, ``"tasks.0.limit=5"``).
        generator: a model already loaded (`load_model`) to use instead of loading ``model.name_or_path``, which
            still names it in the results.

    Returns:
        Task name -> its summary, as written to ``<output_dir>/eval/<task>/summary.json`` (beside items.jsonl,
        report.md and the plots): ``summary["overall"]["metrics"][summary["primary_metric"]]["value"]``, and the
        same per tier (``summary["tiers"]``) and language (``summary["languages"]``).

    Raises:
        CrossliftError: an invalid config, bad data, a model that cannot be loaded, or the results folder of
            another evaluation.
    """
    from crosslift.eval import EvalConfig
    from crosslift.eval import evaluate as run

    return run(validate_config(EvalConfig, config_source(config, "eval", overrides)), generator)


@dataclass(frozen=True)
class Report:
    """What `report` recomputed and where it wrote it.

    Attributes:
        summaries: each task's results folder -> its summary, recomputed from items.jsonl and rewritten there
            (summary.json, report.md, the plots; with ``lm_eval``, results_*.json and samples_*.jsonl).
        comparison: comparison.md (several runs side by side), or paired.md (``paired``); None for one run.
        paired: with ``paired``: the comparison B - A as written to paired.json.
        notes: what was left as it was, and why.
    """

    summaries: dict[Path, dict[str, Any]] = field(default_factory=dict)
    comparison: Path | None = None
    paired: dict[str, Any] | None = None
    notes: list[str] = field(default_factory=list)


def report(
    runs: str | Path | Sequence[str | Path],
    out: str | Path = "comparison",
    *,
    tier_rule: str | None = None,
    lm_eval: bool = False,
    paired: bool = False,
    task: str | None = None,
    metric: str | None = None,
) -> Report:
    """Recompute evaluation reports from the stored outputs (nothing is generated), as `crosslift report` does.

    Args:
        runs: a run folder, its eval/ folder or one task's results folder; or several, to compare.
        out: where the comparison of several runs goes (comparison.md and a plot per task; paired.md and
            paired.json with ``paired``).
        tier_rule: regroup languages with this tier rule (name or mapping file).
        lm_eval: also write lm-evaluation-harness's results_*.json and samples_*.jsonl into each task folder.
        paired: two runs of one task, B - A on the same items (paired bootstrap, McNemar, Holm) instead.
        task: with ``paired``: the task compared, when the runs hold several.
        metric: with ``paired``: the 0/1 item metric compared (default: the task's primary one).

    Returns:
        The recomputed summaries and the files written (`Report`).

    Raises:
        CrossliftError: a folder without results, runs that share no task, or options that do not go together.
    """
    from crosslift.eval.results.folder import task_dirs
    from crosslift.eval.results.report import compare, recompute

    runs = [runs] if isinstance(runs, str | Path) else list(runs)
    if paired:
        return _paired_report(runs, Path(out), tier_rule=tier_rule, task=task, metric=metric)
    if task or metric:
        raise ConfigError(
            "task and metric (--task, --metric) choose what a paired report compares; add paired"
        )
    summaries, notes = {}, []
    if len(runs) == 1 or lm_eval:
        for run in runs:
            for task_dir in task_dirs(run):
                if lm_eval and (task_dir / "judge.json").is_file():
                    notes.append(f"{task_dir}: a pairwise judgement has no lm-eval form; left as it is")
                    continue
                summaries[task_dir] = recompute(task_dir, tier_rule, lm_eval=lm_eval)
    comparison = compare(runs, out, tier_rule) if len(runs) > 1 else None
    return Report(summaries, comparison, notes=notes)


def _paired_report(runs: list[str | Path], out: Path, **options: Any) -> Report:
    from crosslift.eval.results.paired_report import write_paired

    if len(runs) != 2:
        raise ConfigError(f"a paired report (--paired) compares two runs, A and B (got {len(runs)})")
    result, _ = write_paired(runs[0], runs[1], out, **options)
    return Report(comparison=out / "paired.md", paired=result)


@dataclass(frozen=True)
class DemoResult:
    """What `demo` wrote.

    Attributes:
        report: report.md (method x tier tables with intervals); comparison.json, details.json and
            accuracy_by_tier.png are beside it.
        comparison: comparison.json's content, the figures of the report.
    """

    report: Path
    comparison: dict[str, Any]


def demo(
    config: ConfigLike = "default", out: str | Path = "runs/demo", overrides: Sequence[str] = ()
) -> DemoResult:
    """Run the synthetic-world comparison of every method, as `crosslift demo` does (progress on stdout;
    rerunning resumes, and the pretrained models are cached).

    Args:
        config: a demo config (bundled name ``"default"`` or ``"quick"``, YAML path, mapping, or `DemoConfig`).
        out: the output folder, held by one process at a time (`crosslift.runs.run_folder_lock`).
        overrides: ``key.sub=value`` changes to the config (``"seeds=[0,1,2]"``, ``"split=dev"``).

    Returns:
        The report's path and the comparison's figures (`DemoResult`).

    Raises:
        CrossliftError: an invalid config (before any step runs), a step that failed, or another process
            writing `out`.
    """
    from crosslift.runs import run_folder_lock
    from crosslift.synth.config import DemoConfig, load_demo_config
    from crosslift.synth.demo import run_demo

    if isinstance(config, str | Path):
        cfg = load_demo_config(config, overrides)
    else:
        cfg = validate_config(DemoConfig, config_source(config, "demo", overrides))
    with run_folder_lock(out):  # one demo per folder (each step holds its own run folder's lock)
        path = run_demo(cfg, out)
    return DemoResult(path, json.loads((path.parent / "comparison.json").read_text(encoding="utf-8")))


def load_model(
    model: str | Path | Mapping[str, Any] | EvalModelConfig, overrides: Sequence[str] = ()
) -> Generator:
    """Load a model for generation, by the backend that serves it, as `crosslift eval` loads its ``model:``.

    It returns a `Generator` rather than a model and tokenizer: every kind of model an evaluation takes has one —
    a model directory, hub id or ``tiny:llama`` (`HFGenerator`: ``.model`` and ``.tokenizer`` are the
    transformers objects), a LoRA adapter directory (merged into its base model), a saved bridge
    (`BridgeGenerator`: ``.model`` and ``.processor``), ``vllm:<dir>`` or an OpenAI-compatible URL, which have no
    local model at all — and it is what `evaluate` takes, so a model loaded once serves several evaluations.

    Args:
        model: a model name as ``model.name_or_path`` takes it, or the ``model:`` section of an evaluation config
            (a mapping or `EvalModelConfig`: backend, dtype, device, endpoint and vLLM options).
        overrides: ``key.sub=value`` changes to that section (``"dtype=float32"``, ``"device=cpu"``).

    Returns:
        The generator: ``generate(prompts, GenerationSettings(...))`` -> the new text of each prompt.

    Raises:
        CrossliftError: an invalid section, a backend that is not installed, or a model that cannot be loaded.
    """
    from crosslift.eval.config import EvalModelConfig
    from crosslift.eval.runner.generate import LazyGenerator

    if isinstance(model, str | Path):
        model = {"name_or_path": str(model)}
    source = config_source(model, "eval", overrides)
    return LazyGenerator(validate_config(EvalModelConfig, source)).get()


__all__ = ["DemoResult", "Report", "demo", "evaluate", "fit", "load_model", "report"]
