"""The evaluation runner. Reads top to bottom:

    plan      resolve the task name to language tasks (their language codes must be known to the registry); read
              each language's items (a parallel set's languages must have as many); build every prompt and the
              decoding settings (no model needed yet)
    check     reopen <output_dir>/eval/<task>/: once it holds a result, a different model, prompt or decoding
              setting there is an error (a start that failed before its first item claims nothing); finished
              items are skipped (their stored prompt must equal the new one)
    generate  load the model only if something is left; per language, items sorted by prompt length go in fixed
              chunks of batch_size; a prompt longer than the model's context is cut or refused first
              (`crosslift.eval.context`); each finished chunk is appended to items.jsonl (so kill -9 loses at
              most a chunk)
    summarize score every selected item from its raw output; write summary.json, report.md and plots atomically

Chunks are fixed by the full item list, not by what is left, so a resumed run feeds the model exactly the batches
an uninterrupted run would have: the same outputs, the same summary.

    from crosslift.eval import evaluate, load_eval_config
    summaries = evaluate(load_eval_config("configs/eval/mmwp_tiny.yaml"))
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import asdict, dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from crosslift.console import stderr_console as console
from crosslift.data.hub import HubSource, is_hub_id
from crosslift.errors import ConfigError, CrossliftError
from crosslift.eval.config import EvalConfig, EvalModelConfig, EvalTaskConfig
from crosslift.eval.context import context_window, fit_prompt
from crosslift.eval.data import load_items
from crosslift.eval.formatting import progress_bar
from crosslift.eval.items import Item
from crosslift.eval.lm_eval_format import write_lm_eval
from crosslift.eval.metrics import CORPUS_METRICS
from crosslift.eval.prompts import (
    InstructionWords,
    Prompt,
    PromptSettings,
    build_prompt,
    instruction_words,
    read_exemplars,
)
from crosslift.eval.report import write_report
from crosslift.eval.results import (
    ITEMS,
    RUN,
    build_summary,
    item_key,
    language_name,
    load_records,
    rescore,
    specs_of,
    tier_of,
    write_summary,
)
from crosslift.eval.tasks import LanguageTask, PromptSpec, TaskRegistry
from crosslift.io import (
    append_jsonl,
    atomic_write_json,
    check_writable,
    read_jsonl_tolerant,
    truncate_torn_tail,
)
from crosslift.languages import (
    DEFAULT_TIER_RULE,
    TierRule,
    UnknownLanguageError,
    get_language,
    load_tier_rule,
    same_language,
)
from crosslift.models.generate import load_generator
from crosslift.models.generation import ChatGenerator, GenerationSettings, Generator, cut_at_stop
from crosslift.runs import config_differences, provenance

DEFAULT_MAX_NEW_TOKENS = 512

# ---------------------------------------------------------------------------------------------------- plan


@dataclass
class LanguagePlan:
    """Everything needed to evaluate one language, built before any model is loaded."""

    task: LanguageTask
    items: list[Item]
    prompts: list[Prompt]
    prompt_settings: PromptSettings
    words: InstructionWords
    settings: GenerationSettings
    files: list[Path]
    n_available: int | None = None  # the items in the data, before `limit`
    long_prompts: str = "cut"  # a prompt longer than the context: "cut" or "refuse" (crosslift.eval.context)

    @property
    def language(self) -> str:
        return self.task.language

    def run_entry(self) -> dict[str, Any]:
        """This language's part of run.json."""
        return {
            "task": self.task.name,
            "task_spec": self.task.spec(),
            "prompt": self.prompt_settings.to_dict(),
            "words": asdict(self.words),
            "generation": self.settings.to_dict(),
            "long_prompts": self.long_prompts,
            "data": [str(f) for f in self.files],
            "n_items_available": self.n_available,
        }


@dataclass
class TaskPlan:
    name: str
    description: str | None
    directory: Path
    tier_rule: TierRule
    languages: list[LanguagePlan]
    warnings: list[str] = field(default_factory=list)  # printed at planning, kept in the summary and report


def _safe_name(name: str) -> str:
    return Path(name).stem if name.endswith((".yaml", ".yml")) else name.replace("/", "_")


def _prompt_settings(*layers: PromptSpec) -> PromptSettings:
    values: dict[str, Any] = {}
    for layer in layers:
        values |= layer.model_dump(exclude_none=True)
    return PromptSettings(**values)


def _with_language(pattern: str, language: str) -> str:
    """A pattern with {lang} (the code) and {lang_name} (the English name: "test_{lang_name}.json") filled in."""
    if "{lang_name}" in pattern:
        pattern = pattern.replace("{lang_name}", language_name(language))
    return pattern.replace("{lang}", language)


def _data_path(
    pattern: str, data_dir: str | None, language: str, task: LanguageTask, what: str, download: bool = False
) -> Path | HubSource:
    if is_hub_id(pattern):
        if what != "data":
            raise ConfigError(
                f"task '{task.name}': the {what} are read from a file, not from a hub dataset ({pattern})"
            )
        spec = task.dataset
        return HubSource.parse(
            _with_language(pattern, language),
            split=_with_language(spec.split or "test", language),
            subset=spec.subset and _with_language(spec.subset, language),
            revision=spec.revision,
        )
    path = Path(_with_language(pattern, language)).expanduser()
    if path.is_absolute():
        return path
    if data_dir is None and task.dataset.source is not None:
        return _cached_dataset_dir(task, path, what, download) / path
    if data_dir is None:
        raise ConfigError(
            f"task '{task.name}' reads its {what} from '{pattern}' relative to a data folder: pass --data-dir "
            f"(or data_dir in the config) with the folder that holds {path.name}"
        )
    return Path(data_dir).expanduser() / path


def _cached_dataset_dir(task: LanguageTask, path: Path, what: str, download: bool) -> Path:
    """The download cache's folder of the task's catalogued dataset (`dataset.source`), downloaded when asked."""
    from crosslift.catalogue import get_dataset
    from crosslift.data.download import NotDownloaded, dataset_dir

    dataset = get_dataset(str(task.dataset.source))
    if dataset.file(str(path)) is None:
        raise ConfigError(
            f"task '{task.name}' reads its {what} from {path}, which dataset '{dataset.name}' of the data "
            "catalogue does not have: pass --data-dir (or data_dir in the config) with the folder that "
            "holds it"
        )
    try:
        return dataset_dir(dataset.name, download=download)
    except NotDownloaded as e:
        raise ConfigError(
            f"task '{task.name}' reads its {what} from dataset '{dataset.name}', which is not downloaded "
            f"(looked in {e.directory}). Get it with one command:\n  {e.command}\nor rerun with --download "
            f"(download: true in a config), or pass --data-dir with the folder that holds {path}"
        ) from None


def plan_task(task_cfg: EvalTaskConfig, config: EvalConfig, registry: TaskRegistry) -> TaskPlan:
    """Resolve one task entry of the config into per-language plans (reads data, builds prompts)."""
    selection = registry.resolve(task_cfg.name)
    tier_rule = load_tier_rule(config.tier_rule or selection.tier_rule or DEFAULT_TIER_RULE)
    tasks = selection.tasks
    if selection.tier:
        tasks = [t for t in tasks if tier_of(tier_rule, t.language) == selection.tier]
    if task_cfg.languages:
        unknown = [c for c in task_cfg.languages if not any(same_language(c, t.language) for t in tasks)]
        if unknown:
            raise ConfigError(
                f"task '{task_cfg.name}' has no language {', '.join(unknown)}; it has: "
                f"{', '.join(t.language for t in tasks)}"
            )
        tasks = [t for t in tasks if any(same_language(c, t.language) for c in task_cfg.languages)]
    if not tasks:
        raise ConfigError(
            f"task '{task_cfg.name}' selects no language (tier {selection.tier} under {tier_rule.name})"
        )
    seen: dict[str, str] = {}
    for t in tasks:
        if t.language in seen:
            raise ConfigError(
                f"'{task_cfg.name}' has two tasks for language {t.language} ({seen[t.language]}, "
                f"{t.name}); evaluate them as separate tasks"
            )
        seen[t.language] = t.name
        _check_language(t)
    data_dir = task_cfg.data_dir or config.data_dir
    plans = [_plan_language(t, task_cfg, config, data_dir) for t in tasks]
    name = task_cfg.label or selection.name
    directory = Path(config.output_dir).expanduser() / "eval" / _safe_name(name)
    return TaskPlan(name, selection.description, directory, tier_rule, plans, _check_parallel(name, plans))


def _check_language(task: LanguageTask) -> None:
    """The registry's rule for a task's language code (`crosslift.languages.get_language`): a code it cannot resolve
    is an error that suggests close ones; one it resolves through langcodes is evaluated as an unlisted language
    (tier "unlisted"), with the registry's warning."""
    try:
        get_language(task.language)
    except UnknownLanguageError as e:
        raise ConfigError(f"task file {task.source}: task '{task.name}': {e}") from None


def _check_parallel(name: str, plans: list[LanguagePlan]) -> list[str]:
    """The languages of one task are one parallel set: item i is the same question in each. Different item counts
    in their data break that: an error where a metric compares languages question by question (consistency, AC3),
    else a warning, returned for the summary."""
    counts = {lp.language: lp.n_available for lp in plans}
    if len(set(counts.values())) < 2:
        return []
    listed = ", ".join(f"{lang} {n}" for lang, n in counts.items())
    corpus = sorted(
        {m["metric"] for lp in plans for m in lp.task.metric_list if m["metric"] in CORPUS_METRICS}
    )
    if corpus:
        raise ConfigError(
            f"task '{name}': {' and '.join(corpus)} compare each question across languages, but the "
            f"languages' data hold different numbers of items ({listed}); give every language the same "
            "questions, or evaluate the languages as separate tasks"
        )
    warning = (
        f"task '{name}': the languages' data hold different numbers of items ({listed}): they are not one "
        "parallel set, so their figures do not compare question for question"
    )
    if Shards().is_main:
        console.print(f"warning: {warning}", style="bold yellow")
    return [warning]


def _plan_language(
    task: LanguageTask, task_cfg: EvalTaskConfig, config: EvalConfig, data_dir: str | None
) -> LanguagePlan:
    lang = task.language
    items, files = load_items(
        task.dataset,
        lang,
        lambda code: _data_path(task.dataset.path, data_dir, code, task, "data", config.download),
    )
    available = len(items)
    if task_cfg.limit:
        items = items[: task_cfg.limit]
    prompt_settings = _prompt_settings(task.prompt, config.prompt, task_cfg.prompt)
    words = instruction_words(lang, prompt_settings)
    exemplars = []
    if prompt_settings.shots:
        fewshot = task_cfg.fewshot or task.fewshot
        if fewshot is None:
            raise ConfigError(
                f"task '{task.name}' has no few-shot exemplars; set fewshot (path, format) for it "
                "in the config, or use shots: 0"
            )
        source_lang = lang if prompt_settings.fewshot_language == "native" else "en"
        path = _data_path(fewshot.path, data_dir, source_lang, task, "few-shot exemplars", config.download)
        exemplars = read_exemplars(
            path,
            format=fewshot.format,
            language=source_lang,
            question_field=fewshot.question_field,
            answer_field=fewshot.answer_field,
            header=fewshot.header,
        )
        if len(exemplars) < prompt_settings.shots:
            raise ConfigError(
                f"{path} has {len(exemplars)} exemplars for '{source_lang}'; "
                f"{prompt_settings.shots} shots asked for"
            )
        exemplars = exemplars[: prompt_settings.shots]
        files.append(path)
    prompts = [
        build_prompt(
            item.question,
            prompt_settings,
            words,
            exemplars,
            choices=item.choices,
            context=item.context,
            language=lang,
        )
        for item in items
    ]
    stop = [
        s.replace("{question_word}", words.question) for s in task.generation.until
    ] + config.generation.stop
    gen = config.generation
    settings = GenerationSettings(
        max_new_tokens=gen.max_new_tokens or task.generation.max_new_tokens or DEFAULT_MAX_NEW_TOKENS,
        min_new_tokens=gen.min_new_tokens,
        do_sample=gen.do_sample,
        temperature=gen.temperature,
        top_p=gen.top_p,
        stop=list(dict.fromkeys(stop)),
        batch_size=gen.batch_size,
        seed=config.seed,
        repetition_penalty=gen.repetition_penalty,
    )
    return LanguagePlan(
        task,
        items,
        prompts,
        prompt_settings,
        words,
        settings,
        files,
        available,
        config.generation.long_prompts,
    )


# ---------------------------------------------------------------------------------------------------- check


def _model_record(model: EvalModelConfig) -> dict[str, Any]:
    """The model settings that change outputs (device and attention kernel do not, up to float noise)."""
    record = model.model_dump(exclude={"device", "attn_implementation", "endpoint", "vllm"})
    if model.name_or_path.startswith(("http://", "https://")) or model.backend == "endpoint":
        record["endpoint"] = {"served_model": model.endpoint.served_model, "api": model.endpoint.api}
    return record


def _open_task_dir(plan: TaskPlan, model: EvalModelConfig, claimed: bool) -> dict[str, Any]:
    """The run.json of this evaluation. A folder `claimed` by a result must hold this same evaluation: its run.json
    is merged with ours and written. Another folder's run.json is a start that failed before its first item (a wrong
    model path, a server that was down): it is ignored, and ours is written once the model is loaded."""
    path = plan.directory / RUN
    run = {
        "task": plan.name,
        "description": plan.description,
        "model": _model_record(model),
        "languages": {},
        "selection": {lp.language: len(lp.items) for lp in plan.languages},
    }
    if claimed and path.is_file():
        old = json.loads(path.read_text(encoding="utf-8"))
        changes = config_differences(old.get("model"), run["model"], "model")
        for lp in plan.languages:
            if lp.language in old.get("languages", {}):
                before, now = old["languages"][lp.language], lp.run_entry()
                for key in ("prompt", "words", "generation", "long_prompts"):
                    if key not in before:  # a run.json written before the setting existed
                        continue
                    a, b = before[key], now[key]
                    if key == "generation":  # the batch size does not change what is generated
                        a, b = ({k: v for k, v in d.items() if k != "batch_size"} for d in (a, b))
                    changes += config_differences(a, b, f"{lp.language}.{key}")
        if changes:
            raise ConfigError(
                f"{plan.directory} holds results of a different evaluation:\n  "
                + "\n  ".join(changes)
                + "\nUse another output folder, or delete that one to start over."
            )
        run["languages"] = old.get("languages", {})
        run["model_id"] = old.get("model_id")
    for lp in plan.languages:
        run["languages"][lp.language] = lp.run_entry()
    if claimed:
        atomic_write_json(path, run)
    return run


def _prompt_text(prompt: Prompt) -> str:
    return prompt.text if prompt.text is not None else json.dumps(prompt.messages, ensure_ascii=False)


# ---------------------------------------------------------------------------------------------------- generate


class LazyGenerator:
    """Loads the model on first use, so a finished (or fully resumed) evaluation never loads it.

    Args:
        model: the model config.
        generator: an already loaded generator to use instead (e.g. a model just trained in this process).
    """

    def __init__(self, model: EvalModelConfig, generator: Generator | None = None) -> None:
        self.config = model
        self._generator = generator

    @property
    def loaded(self) -> Generator | None:
        return self._generator

    def get(self) -> Generator:
        if self._generator is None:
            m = self.config
            if m.backend == "endpoint" or (
                m.backend == "auto" and m.name_or_path.startswith(("http://", "https://"))
            ):
                options = m.endpoint.model_dump()
            elif m.backend == "vllm" or m.name_or_path.startswith("vllm:"):
                if Shards().world > 1:
                    raise ConfigError(
                        "the vLLM backend schedules its own batches over its GPUs: evaluate with one "
                        "process and set model.vllm.tensor_parallel_size instead of launching several"
                    )
                options = m.vllm.model_dump(exclude_none=True) | {"base_model": m.base_model}
            else:
                device = m.device
                if device == "auto" and Shards().world > 1:
                    device = str(Shards().state().device)  # this process's GPU (cuda:LOCAL_RANK), or the CPU
                options = {
                    "device": device,
                    "attn_implementation": m.attn_implementation,
                    "base_model": m.base_model,
                }
            console.print(f"loading {m.name_or_path} ...")
            self._generator = load_generator(
                m.name_or_path,
                trust_remote_code=m.trust_remote_code,
                dtype=m.dtype,
                backend=m.backend,
                **options,
            )
        return self._generator


def _chunks(lp: LanguagePlan) -> list[list[int]]:
    """Item positions in fixed generation batches: longest prompts first, ties by position."""
    order = sorted(range(len(lp.items)), key=lambda i: (-len(_prompt_text(lp.prompts[i])), i))
    size = lp.settings.batch_size
    return [order[i : i + size] for i in range(0, len(order), size)]


def _generate(
    generator: Generator, lp: LanguagePlan, positions: list[int]
) -> list[tuple[str, dict[str, Any] | None]]:
    """The output for each position, and the note on a prompt longer than the context (None when it fitted)."""
    if lp.prompt_settings.chat and not isinstance(generator, ChatGenerator):
        raise ConfigError(f"{generator.model_id} cannot take chat prompts; set prompt.chat: false")
    window = context_window(generator, lp.settings.max_new_tokens)
    fitted = [fit_prompt(window, lp.prompts[i], lp.long_prompts) for i in positions]
    outputs = [""] * len(positions)  # a refused prompt is not generated: no answer
    chat = [k for k, f in enumerate(fitted) if f.prompt is not None and f.prompt.messages is not None]
    text = [k for k, f in enumerate(fitted) if f.prompt is not None and f.prompt.text is not None]
    if chat:
        answers = generator.generate_chat([fitted[k].prompt.messages for k in chat], lp.settings)
        for k, answer in zip(chat, answers, strict=True):
            outputs[k] = answer
    if text:  # text prompts, and conversations cut as the text their chat template renders
        answers = generator.generate([fitted[k].prompt.text for k in text], lp.settings)
        for k, answer in zip(text, answers, strict=True):
            outputs[k] = answer
    # Every backend cuts at the stop strings; cutting again here keeps results right with one that does not.
    return [(cut_at_stop(o, lp.settings.stop), f.long_prompt) for o, f in zip(outputs, fitted, strict=True)]


def run_task(plan: TaskPlan, generator: LazyGenerator, config: EvalConfig) -> dict[str, Any]:
    """Generate what is missing for one task, then write its summary, report and plots. Returns the summary."""
    plan.directory.mkdir(parents=True, exist_ok=True)
    truncate_torn_tail(plan.directory / ITEMS)
    records = load_records(plan.directory)
    run = _open_task_dir(plan, config.model, claimed=bool(records) or any(plan.directory.glob(SHARD_FILES)))
    _check_stored(plan, records)
    started = time.monotonic()
    generated = _generate_missing(plan, run, records, generator)
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
    write_summary(plan.directory, summary)
    write_report(plan.directory, summary)
    write_lm_eval(plan.directory, run, records, summary, selected)
    return summary


def _check_stored(plan: TaskPlan, records: dict[tuple[str, int], dict[str, Any]]) -> None:
    """A stored item must have been generated from the same prompt and scored against the same gold."""
    for lp in plan.languages:
        for item, prompt in zip(lp.items, lp.prompts, strict=True):
            old = records.get((lp.task.name, item.index))
            if old is not None and (
                old.get("prompt") != _prompt_text(prompt) or old.get("gold") != item.answer
            ):
                raise ConfigError(
                    f"{plan.directory / ITEMS} holds {lp.task.name} item {item.index} with a different prompt or "
                    "gold answer (the data file or the prompt settings changed); use another output folder"
                )


def _generate_missing(
    plan: TaskPlan,
    run: dict[str, Any],
    records: dict[tuple[str, int], dict[str, Any]],
    generator: LazyGenerator,
) -> int:
    """Generate, score and append every item not in `records` (updated in place); returns how many."""
    shards = Shards()
    if shards.world > 1:
        return _generate_sharded(plan, run, records, generator, shards)
    if any(plan.directory.glob(SHARD_FILES)):  # a sharded run was killed: its finished items count
        _merge_shards(plan, records)
        _check_stored(plan, records)
    keys = {lp.language: [(lp.task.name, item.index) for item in lp.items] for lp in plan.languages}
    total = sum(len(k) for k in keys.values())
    finished = [records[k] for ks in keys.values() for k in ks if k in records]
    if len(finished) == total:
        return 0
    done, correct, generated = len(finished), sum(bool(r.get("correct")) for r in finished), 0
    model = generator.get()
    run["model_id"] = model.model_id
    atomic_write_json(plan.directory / RUN, run)  # the folder is this evaluation's from its first item on
    with progress_bar() as progress:
        bar = progress.add_task(plan.name, total=total, completed=done, acc=_acc(correct, done))
        for lp in plan.languages:
            progress.update(bar, description=f"{plan.name} ({lp.language})")
            for chunk in _chunks(lp):
                missing = [i for i in chunk if (lp.task.name, lp.items[i].index) not in records]
                if not missing:
                    continue
                outputs = dict(zip(chunk, _generate(model, lp, chunk), strict=True))
                for i in missing:
                    record = _record(lp, i, *outputs[i], run["languages"][lp.language]["task_spec"])
                    append_jsonl(plan.directory / ITEMS, record)
                    records[(lp.task.name, lp.items[i].index)] = record
                    correct += bool(record["correct"])
                done, generated = done + len(missing), generated + len(missing)
                progress.update(bar, completed=done, acc=_acc(correct, done))
            # one line per language, which also reaches logs where the live bar does not (CI, nohup)
            ours = [records[k] for k in keys[lp.language]]
            primary = next(
                (s.key for s in specs_of(run["languages"][lp.language]) if not s.corpus), "accuracy"
            )
            progress.console.print(
                f"{plan.name} ({lp.language}): {len(ours)} items, {primary} "
                f"{_acc(sum(bool(r.get('correct')) for r in ours), len(ours))}"
            )
    return generated


# ---------------------------------------------------------------------------------------------------- shards


SHARD_FILES = "items.shard-*.jsonl"


class Shards:
    """The processes of `accelerate launch -m crosslift eval ...` (or torchrun, or `crosslift eval --num-processes
    N`) evaluating one task together.

    Every process plans the same fixed chunks; process r generates every world-th chunk that has missing items into
    items.shard-<r>.jsonl. Then the main process moves those records into items.jsonl in the order one process
    writes them (language by language, chunk by chunk), and every process builds the summary from the same
    records: items.jsonl and summary.json are those of a single-process run (same batches, same outputs). A kill
    loses at most a chunk per process; the next run, with any number of processes, merges what the shards hold.
    """

    def __init__(self) -> None:
        self.rank = int(os.environ.get("RANK", "0"))
        self.world = int(os.environ.get("WORLD_SIZE", "1"))

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def state(self) -> Any:
        import torch
        from accelerate import PartialState

        # cpu=True where there is no accelerator: accelerate otherwise reads a torchrun launch on a CPU machine as
        # one process (DistributedType.NO), and every barrier below silently returns at once.
        # One process may wait long for the slowest one (a long language last): not the default 30 minutes.
        state = PartialState(cpu=not torch.accelerator.is_available(), timeout=timedelta(hours=24))
        if state.num_processes != self.world:
            raise CrossliftError(
                f"sharded evaluation: WORLD_SIZE is {self.world} but accelerate sees {state.num_processes} process(es) "
                f"({state.distributed_type}); launch with accelerate launch or torchrun"
            )
        return state

    def wait(self) -> None:
        if self.world > 1:
            self.state().wait_for_everyone()


def _merge_shards(plan: TaskPlan, records: dict[tuple[str, int], dict[str, Any]]) -> None:
    """Append the records of the shard files to items.jsonl in single-process order (`Shards`), then delete them."""
    paths = sorted(plan.directory.glob(SHARD_FILES))
    if not paths:
        return
    found: dict[tuple[str, int], dict[str, Any]] = {}
    for path in paths:
        for record in read_jsonl_tolerant(path):
            found.setdefault(item_key(record), record)
    order = [
        (lp.task.name, lp.items[i].index) for lp in plan.languages for chunk in _chunks(lp) for i in chunk
    ]
    truncate_torn_tail(plan.directory / ITEMS)
    for key in dict.fromkeys([*order, *found]):  # items of an earlier, larger selection last
        if key in found and key not in records:
            append_jsonl(plan.directory / ITEMS, found[key])
            records[key] = found[key]
    for path in paths:
        path.unlink()


def _generate_sharded(
    plan: TaskPlan,
    run: dict[str, Any],
    records: dict[tuple[str, int], dict[str, Any]],
    generator: LazyGenerator,
    shards: Shards,
) -> int:
    """`_generate_missing` over several processes (`Shards`): `records` ends complete on every process."""
    if shards.is_main:
        _merge_shards(plan, records)
    shards.wait()
    records.update(load_records(plan.directory))
    _check_stored(plan, records)
    before = len(records)
    pending = [
        (lp, chunk)
        for lp in plan.languages
        for chunk in _chunks(lp)
        if any((lp.task.name, lp.items[i].index) not in records for i in chunk)
    ]
    if pending:
        model = generator.get()
        run["model_id"] = model.model_id
        if shards.is_main:
            atomic_write_json(plan.directory / RUN, run)
        mine = pending[shards.rank :: shards.world]
        shard_file = plan.directory / SHARD_FILES.replace("*", str(shards.rank))
        with progress_bar() as progress:
            progress.disable = not shards.is_main  # the main process shows its own share
            bar = progress.add_task(
                f"{plan.name} (process 1 of {shards.world})",
                acc="-",
                total=sum(len(chunk) for _, chunk in mine),
            )
            for lp, chunk in mine:
                missing = [i for i in chunk if (lp.task.name, lp.items[i].index) not in records]
                outputs = dict(zip(chunk, _generate(model, lp, chunk), strict=True))
                for i in missing:
                    append_jsonl(
                        shard_file, _record(lp, i, *outputs[i], run["languages"][lp.language]["task_spec"])
                    )
                progress.advance(bar, len(chunk))
    shards.wait()
    if shards.is_main:
        _merge_shards(plan, records)
    shards.wait()
    records.update(load_records(plan.directory))
    if shards.is_main and pending:
        for lp in plan.languages:
            ours = [records[(lp.task.name, item.index)] for item in lp.items]
            primary = next(
                (s.key for s in specs_of(run["languages"][lp.language]) if not s.corpus), "accuracy"
            )
            console.print(
                f"{plan.name} ({lp.language}): {len(ours)} items, {primary} "
                f"{_acc(sum(bool(r.get('correct')) for r in ours), len(ours))}"
            )
    return len(records) - before


def _record(
    lp: LanguagePlan,
    position: int,
    output: str,
    long_prompt: dict[str, Any] | None,
    task_spec: dict[str, Any],
) -> dict[str, Any]:
    item, prompt = lp.items[position], lp.prompts[position]
    record: dict[str, Any] = {
        "task": lp.task.name,
        "language": lp.language,
        "index": item.index,
        "prompt": _prompt_text(prompt),
        "output": output,
        "gold": item.answer,
    }
    if long_prompt is not None:  # the prompt above is the one built; the model read its cut tail, or nothing
        record["long_prompt"] = long_prompt
    # what the scorers and the pairwise judge need without the data files: the item's id (it aligns languages),
    # the question itself (the judge shows it), the options (the choice filter maps answers to them)
    if item.id is not None:
        record["id"] = item.id
    record["question"] = item.question
    if item.choices:
        record["choices"] = list(item.choices)
    return rescore(record, task_spec)


def _acc(correct: int, done: int) -> str:
    return f"{correct / done:.3f}" if done else "-"


# ---------------------------------------------------------------------------------------------------- entry


def evaluate(config: EvalConfig, generator: Generator | None = None) -> dict[str, dict[str, Any]]:
    """Run every task of an evaluation config (resuming where a previous run stopped).

    Args:
        config: the evaluation config.
        generator: use this loaded model instead of loading ``config.model`` (``config.model.name_or_path``
            still names it in the results).

    Returns:
        task name -> its summary (also written to <output_dir>/eval/<task>/summary.json).

    Raises:
        CrossliftError: bad config, data, or a model that cannot be loaded; the results folder of another evaluation.
    """
    from crosslift.eval.variants import expand_variants, write_medians

    registry = TaskRegistry(config.task_paths)
    entries = [entry for t in config.tasks for entry in expand_variants(t)]
    plans = [plan_task(t, config, registry) for t in entries]  # every task checked before any generation
    names = [p.name for p in plans]
    if len(set(names)) != len(names):
        raise ConfigError(f"a task is listed twice: {', '.join(names)}")
    check_writable(config.output_dir)  # a read-only or full disk is said now, not after the model loaded
    lazy = LazyGenerator(config.model, generator)
    summaries = {plan.name: run_task(plan, lazy, config) for plan in plans}
    return summaries | write_medians(config, summaries)
