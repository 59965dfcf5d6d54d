"""A task's results in lm-evaluation-harness's own layout, beside crosslift's files, for the tools that read them
(leaderboard loaders, comparison scripts, `datasets.load_dataset("json", ...)` of the samples).

    <output_dir>/eval/<task>/
      results_<timestamp>.json             results, groups, group_subtasks, configs, versions, n-shot,
                                           higher_is_better, n-samples, config, model and version fields
      samples_<language task>_<timestamp>.jsonl   one line per item and filter: doc_id, doc, target, arguments,
                                           resps, filtered_resps, filter, metrics, doc/prompt/target hashes and
                                           the item's metric values

The mapping (checked against lm-eval's `EvalResults` / `SampleResult` schema and its evaluation tracker):

- every language is an lm-eval task (``mmwp_sw``), the evaluated task or group (``mmwp``) is a group, and every
  resource tier present is a group too (``mmwp_low``, ...);
- metric keys are ``"<metric>,<filter>"`` with ``"<metric>_stderr,<filter>"`` beside them (the standard error of
  the mean, as lm-eval's ``mean_stderr``; "N/A" for one item and for corpus metrics); crosslift's ``accuracy``
  is lm-eval's ``acc``; a metric that reads the raw output has the filter ``none``;
- group values are crosslift's (the unweighted mean over languages, as summary.json reports them; the standard
  error is that of a mean of independent means), not lm-eval's size-weighted default;
- a filter that found no answer is written as ``"[invalid]"`` (lm-eval's regex filters' fallback);
- file names carry the time they were written, as lm-eval's do (its tools read the task name and the date from
  them); writing again replaces the previous pair.

`crosslift report --format lm-eval RUN` writes them for runs made before this existed.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from datetime import datetime
from pathlib import Path
from typing import Any

from crosslift.eval.items import LETTERS
from crosslift.eval.scoring.metrics import MetricSpec
from crosslift.eval.scoring.record import rescore, specs_of
from crosslift.io import atomic_write_json, atomic_write_jsonl

LM_EVAL_NAMES = {"accuracy": "acc"}  # crosslift metric -> lm-eval's name for the same thing
NO_FILTER = "none"  # lm-eval's name for the unfiltered output
INVALID = "[invalid]"


def _hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _stderr(values: list[float]) -> float | str:
    """lm-eval's mean_stderr: the sample standard deviation over sqrt(n); "N/A" below two values."""
    n = len(values)
    if n < 2:
        return "N/A"
    mean = sum(values) / n
    return math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1) / n)


def _scores_options(entry: dict[str, Any]) -> bool:
    return entry["task_spec"].get("output_type") == "multiple_choice"


def metric_keys(specs: list[MetricSpec], options: bool = False) -> dict[str, tuple[str, str]]:
    """crosslift metric key -> (lm-eval metric name, filter name); the crosslift key where two would clash. A task
    that scores `options` by log-likelihood names its metrics as lm-eval does (``acc``, ``acc_norm``), on the
    unfiltered responses."""
    keys: dict[str, tuple[str, str]] = {}
    for s in specs:
        if options:
            keys[s.key] = (s.key, NO_FILTER)
            continue
        name = (LM_EVAL_NAMES.get(s.metric, s.metric), s.filter or NO_FILTER)
        keys[s.key] = name if name not in keys.values() else (s.key, s.filter or NO_FILTER)
    return keys


def _model_fields(model: dict[str, Any], model_id: str | None) -> tuple[str, str, str]:
    """(lm-eval model type, model_args string, model name) for the run's model record."""
    name = str(model.get("name_or_path"))
    backend = model.get("backend", "auto")
    if backend == "endpoint" or name.startswith(("http://", "https://")):
        api = (model.get("endpoint") or {}).get("api", "completions")
        source = "local-chat-completions" if api == "chat" else "local-completions"
        served = (model.get("endpoint") or {}).get("served_model") or model_id or name
        return source, f"model={served},base_url={name}", served
    source = "vllm" if backend == "vllm" or name.startswith("vllm:") else "hf"
    args = [
        f"pretrained={model['base_model']},peft={name}" if model.get("base_model") else f"pretrained={name}"
    ]
    args += [f"{k}={model[k]}" for k in ("dtype", "trust_remote_code") if model.get(k) is not None]
    return source, ",".join(args), name


def write_lm_eval(
    task_dir: Path,
    run: dict[str, Any],
    records: dict[tuple[str, int], dict[str, Any]],
    summary: dict[str, Any],
    selected: dict[str, list[int]] | None = None,
    *,
    timestamp: str | None = None,
) -> list[Path]:
    """Write results_<timestamp>.json and one samples_<task>_<timestamp>.jsonl per language into `task_dir`.

    Args:
        run, records: the folder's run.json and items.jsonl records (by (task, index)).
        summary: the summary of these records (`crosslift.eval.results.summary.build_summary`): its languages, tiers
            and group figures are the ones written.
        selected: language -> the item indices the summary covers (default: every record of its languages).
        timestamp: the files' time stamp (default: now, as lm-eval writes it).

    Returns:
        The files written, the results file first.
    """
    stamp = timestamp or datetime.now().isoformat().replace(":", "-")
    group = summary["task"] if isinstance(summary.get("task"), str) else task_dir.name
    tables = _Tables(run, records, selected)
    samples_files = []
    for lang in summary["languages"]:
        task, samples = tables.add_language(lang)
        samples_files.append(atomic_write_jsonl(task_dir / f"samples_{task}_{stamp}.jsonl", samples))
    tables.add_groups(re.sub(r"[^\w.-]", "_", group), summary)
    document = tables.sections() | _run_fields(run, summary, selected) | {"task_hashes": tables.task_hashes}
    document |= _crosslift_fields(run, summary)
    written = [atomic_write_json(task_dir / f"results_{stamp}.json", document), *samples_files]
    for old in [*task_dir.glob("results_*.json"), *task_dir.glob("samples_*.jsonl")]:
        if old not in written:  # one pair per folder, as summary.json: the latest
            old.unlink()
    return written


class _Tables:
    """The per-task tables of a results file, filled language by language (`add_language`), then group by group
    (`add_groups`: the evaluated task or group, and each resource tier)."""

    def __init__(
        self,
        run: dict[str, Any],
        records: dict[tuple[str, int], dict[str, Any]],
        selected: dict[str, list[int]] | None,
    ) -> None:
        self.run, self.records, self.selected = run, records, selected
        self.results: dict[str, dict[str, Any]] = {}
        self.groups: dict[str, dict[str, Any]] = {}
        self.subtasks: dict[str, list[str]] = {}
        self.configs: dict[str, Any] = {}
        self.versions: dict[str, Any] = {}
        self.n_shot: dict[str, int] = {}
        self.higher: dict[str, dict[str, bool]] = {}
        self.n_samples: dict[str, dict[str, int]] = {}
        self.task_hashes: dict[str, str] = {}
        self.language_tasks: dict[str, str] = {}
        self.language_stderr: dict[str, dict[str, float | str]] = {}

    def scored(self, lang: str) -> list[dict[str, Any]]:
        """The language's selected records, scored."""
        entry = self.run["languages"][lang]
        indices = None if self.selected is None else self.selected.get(lang)
        return [rescore(r, entry["task_spec"]) for r in _records_of(self.records, entry["task"], indices)]

    def add_language(self, lang: str) -> tuple[str, list[dict[str, Any]]]:
        """Add a language's task to every table; return the task's name and its samples."""
        entry = self.run["languages"][lang]
        task, spec = entry["task"], entry["task_spec"]
        self.language_tasks[lang] = task
        specs = specs_of(entry)
        keys = metric_keys(specs, _scores_options(entry))
        scored = self.scored(lang)
        row: dict[str, Any] = {"name": task, "alias": task, "sample_len": len(scored)}
        for s in specs:
            if s.corpus:
                continue
            metric, filt = keys[s.key]
            values = [float(r["metrics"][s.key]) for r in scored if r["metrics"].get(s.key) is not None]
            row[f"{metric},{filt}"] = sum(values) / len(values) if values else None
            row[f"{metric}_stderr,{filt}"] = _stderr(values)
            self.language_stderr.setdefault(lang, {})[s.key] = row[f"{metric}_stderr,{filt}"]
        self.results[task] = row
        samples = [s for r in scored for s in _samples(r, entry, specs, keys)]
        self.task_hashes[task] = _hash(
            "".join(s["doc_hash"] + s["prompt_hash"] + s["target_hash"] for s in samples)
        )
        self.configs[task] = _task_config(task, entry)
        self.versions[task] = spec.get("version")
        self.n_shot[task] = int(entry["prompt"].get("shots") or 0)
        self.higher[task] = {keys[s.key][0]: s.info()["higher_is_better"] for s in specs if not s.corpus}
        self.n_samples[task] = {
            "original": int(entry.get("n_items_available") or len(scored)),
            "effective": len(scored),
        }
        return task, samples

    def add_groups(self, group: str, summary: dict[str, Any]) -> None:
        """Add the evaluated task or group (a single-language selection is its task already) and each tier."""
        levels = [(group, summary["overall"])] if group not in self.results else []
        levels += [(f"{group}_{tier}", level) for tier, level in summary.get("tiers", {}).items()]
        entry = self.run["languages"][next(iter(summary["languages"]))]
        specs, options = specs_of(entry), _scores_options(entry)
        for name, level in levels:
            members = [self.language_tasks[lang] for lang in level["languages"]]
            row = self.group_row(name, group, level, members, specs, summary, options)
            self.groups[name] = row
            self.results[name] = row
            self.subtasks[name] = members
            self.versions[name] = None
            if len({self.n_shot[t] for t in members}) == 1:
                self.n_shot[name] = self.n_shot[members[0]]
            keys = metric_keys(specs, options)
            self.higher[name] = {keys[s.key][0]: s.info()["higher_is_better"] for s in specs}

    def group_row(
        self,
        name: str,
        group: str,
        level: dict[str, Any],
        members: list[str],
        specs: list[MetricSpec],
        summary: dict[str, Any],
        options: bool = False,
    ) -> dict[str, Any]:
        """A group's row: crosslift's figures for the level (summary.json's), with their standard errors."""
        keys = metric_keys(specs, options)
        row = {
            "name": name,
            "alias": name if name == group else f" - {name}",
            "sample_len": sum(self.results[t]["sample_len"] for t in members),
        }
        for s in specs:
            metric, filt = keys[s.key]
            if s.corpus:  # one figure for the languages together (consistency, AC3): a group-level metric
                for key, value in level["metrics"].items():
                    if key == s.key or summary["metrics"].get(key, {}).get("family") == s.key:
                        row[f"{metric}{key[len(s.key) :]},{filt}"] = value.get("value")
                        row[f"{metric}{key[len(s.key) :]}_stderr,{filt}"] = "N/A"
                continue
            cell = level["metrics"].get(s.key, {})
            row[f"{metric},{filt}"] = cell.get("value")
            row[f"{metric}_stderr,{filt}"] = self.group_stderr(s, level["languages"])
        return row

    def group_stderr(self, spec: MetricSpec, languages: list[str]) -> float | str:
        """The standard error of a group's figure: of the mean of the languages' means (macro), or over the pooled
        items (micro_mean)."""
        if spec.aggregation == "micro_mean":
            values = [r["metrics"].get(spec.key) for lang in languages for r in self.scored(lang)]
            return _stderr([float(v) for v in values if v is not None])
        errors = [
            self.language_stderr[lang].get(spec.key) for lang in languages if lang in self.language_stderr
        ]
        errors = [e for e in errors if isinstance(e, float)]
        if not errors or len(errors) != len(languages):
            return "N/A"
        return math.sqrt(sum(e * e for e in errors)) / len(errors)

    def sections(self) -> dict[str, Any]:
        """The results file's per-task sections, in lm-eval's order."""
        return {
            "results": self.results,
            "groups": self.groups,
            "group_subtasks": self.subtasks,
            "configs": dict(sorted(self.configs.items())),
            "versions": dict(sorted(self.versions.items())),
            "n-shot": dict(sorted(self.n_shot.items())),
            "higher_is_better": dict(sorted(self.higher.items())),
            "n-samples": self.n_samples,
        }


def _run_fields(
    run: dict[str, Any], summary: dict[str, Any], selected: dict[str, list[int]] | None
) -> dict[str, Any]:
    """The results file's fields about the run: lm-eval's config, versions, model and system prompt."""
    provenance = summary.get("provenance") or {}
    source, model_args, model_name = _model_fields(run["model"], run.get("model_id"))
    generation = summary.get("generation") or {}
    limits = {len(v) for v in (selected or {}).values()}
    prompt = run["languages"][next(iter(summary["languages"]))]["prompt"]
    return {
        "config": {
            "model": source,
            "model_args": model_args,
            "batch_size": generation.get("batch_size"),
            "batch_sizes": [],
            "device": run["model"].get("device"),
            "use_cache": None,
            "limit": limits.pop() if len(limits) == 1 else None,
            "bootstrap_iters": 0,
            "gen_kwargs": {k: v for k, v in generation.items() if k != "batch_size"},
            "random_seed": provenance.get("seed"),
            "numpy_seed": provenance.get("seed"),
            "torch_seed": provenance.get("seed"),
            "fewshot_seed": provenance.get("seed"),
        },
        "git_hash": ((provenance.get("git") or {}).get("commit") or "")[:7] or None,
        "date": datetime.now().timestamp(),
        "transformers_version": (provenance.get("versions") or {}).get("transformers"),
        "model_source": source,
        "model_name": model_name,
        "model_name_sanitized": re.sub(r"[\"<>:/|\\?*\[\]]+", "__", model_name),
        "system_instruction": prompt.get("system"),
        "system_instruction_sha": _hash(prompt["system"]) if prompt.get("system") else None,
        "fewshot_as_multiturn": False,
        "chat_template": None,
        "chat_template_sha": None,
    }


def _crosslift_fields(run: dict[str, Any], summary: dict[str, Any]) -> dict[str, Any]:
    """The run's time, and what lm-eval has no field for: where the rest is, and what produced it."""
    provenance = summary.get("provenance") or {}
    return {
        "total_evaluation_time_seconds": str((summary.get("timing") or {}).get("seconds", "")),
        "crosslift": {
            "summary": "summary.json",
            "items": "items.jsonl",
            "tier_rule": summary.get("tier_rule"),
            "group_aggregation": "unweighted mean over languages (macro), as summary.json",
            "versions": provenance.get("versions"),
            "data": provenance.get("data"),
            "model_id": run.get("model_id"),
        },
    }


def _records_of(records: dict[tuple[str, int], dict[str, Any]], task: str, indices: list[int] | None):
    if indices is not None:
        return [records[(task, i)] for i in indices if (task, i) in records]
    return sorted((r for (t, _), r in records.items() if t == task), key=lambda r: r["index"])


def _task_config(task: str, entry: dict[str, Any]) -> dict[str, Any]:
    """An lm-eval-style task config for one language (the full crosslift definition under metadata)."""
    spec, generation = entry["task_spec"], entry["generation"]
    dataset = spec["dataset"]
    options = _scores_options(entry)
    keys = metric_keys(specs_of(entry), options)
    choice = spec.get("multiple_choice") or {}
    return {
        "task": task,
        "dataset_path": dataset.get("path"),
        "dataset_name": dataset.get("subset"),
        "test_split": dataset.get("split"),
        "output_type": spec.get("output_type", "generate_until"),
        "doc_to_text": choice.get("context") if options else entry["prompt"].get("template"),
        **(
            {"doc_to_choice": choice.get("choice"), "target_delimiter": choice.get("target_delimiter")}
            if options
            else {}
        ),
        "doc_to_target": dataset.get("answer_field"),
        "num_fewshot": int(entry["prompt"].get("shots") or 0),
        "generation_kwargs": {
            "until": generation.get("stop", []),
            "max_gen_toks": generation.get("max_new_tokens"),
            "do_sample": generation.get("do_sample"),
            "temperature": generation.get("temperature"),
            "top_p": generation.get("top_p"),
        },
        "filter_list": [{"name": p["name"], "filter": p["filter"]} for p in spec["filter_list"]],
        "metric_list": [
            {
                "metric": keys[s.key][0],
                "aggregation": "mean",
                "higher_is_better": s.info()["higher_is_better"],
            }
            for s in specs_of(entry)
            if not s.corpus
        ],
        "metadata": {
            "version": spec.get("version"),
            "language": spec.get("language"),
            "crosslift_task": spec,
        },
    }


def _samples(
    record: dict[str, Any], entry: dict[str, Any], specs: list[MetricSpec], keys: dict[str, tuple[str, str]]
) -> list[dict[str, Any]]:
    """One lm-eval sample per filter (the raw output is the filter "none") for one scored item."""
    doc = {"question": record.get("question"), "answer": record.get("gold"), "language": record["language"]}
    doc |= {k: record[k] for k in ("id", "choices") if k in record}
    target = "" if record.get("gold") is None else str(record["gold"])
    generation = entry["generation"]
    gen_kwargs = {
        "until": generation.get("stop", []),
        "max_gen_toks": generation.get("max_new_tokens"),
        "do_sample": generation.get("do_sample"),
        "temperature": generation.get("temperature"),
    }
    base = {
        "doc_id": int(record["index"]),
        "doc": doc,
        "target": target,
        "arguments": {"gen_args_0": {"arg_0": record["prompt"], "arg_1": gen_kwargs}},
        "resps": [[record["output"]]],
    }
    if record.get("loglikelihood"):  # lm-eval's multiple_choice: one loglikelihood request per option
        scored = record["loglikelihood"]
        pairs = [[value, greedy] for value, greedy in zip(scored["values"], scored["greedy"], strict=True)]
        values = {
            keys[s.key][0]: float(record["metrics"][s.key])
            for s in specs
            if not s.corpus and record["metrics"].get(s.key) is not None
        }
        arguments = {
            f"gen_args_{k}": {"arg_0": record["prompt"], "arg_1": c}
            for k, c in enumerate(scored["continuations"])
        }
        sample = base | {
            "target": LETTERS.index(target) if target in LETTERS else target,
            "arguments": arguments,
            "resps": [[pair] for pair in pairs],
            "filtered_resps": pairs,
            "filter": NO_FILTER,
            "metrics": list(values),
            "doc_hash": _hash(json.dumps(doc, indent=2, ensure_ascii=False)),
            "prompt_hash": _hash(record["prompt"]),
            "target_hash": _hash(target),
        }
        return [sample | values]
    filters = [p["name"] for p in entry["task_spec"]["filter_list"]]
    if any(s.filter is None for s in specs if not s.corpus):
        filters.append(NO_FILTER)
    out = []
    for name in filters:
        answer = record["output"] if name == NO_FILTER else record["filtered"].get(name)
        values = {
            keys[s.key][0]: float(record["metrics"][s.key])
            for s in specs
            if not s.corpus and (s.filter or NO_FILTER) == name and record["metrics"].get(s.key) is not None
        }
        sample = base | {
            "filtered_resps": [INVALID if answer is None else str(answer)],
            "filter": name,
            "metrics": list(values),
            "doc_hash": _hash(json.dumps(doc, indent=2, ensure_ascii=False)),
            "prompt_hash": _hash(record["prompt"]),
            "target_hash": _hash(target),
        }
        out.append(sample | values)
    return out
