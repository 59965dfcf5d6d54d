"""Planning an evaluation: each task entry of the config resolved into per-language plans, before any model loads.

Resolve the task name to language tasks (their language codes must be known to the registry); read each
language's items (a parallel set's languages must have as many); build every prompt and the decoding settings;
fix the generation chunks.

Chunks are fixed by the full item list, not by what is left, so a resumed run feeds the model exactly the batches
an uninterrupted run would have: the same outputs, the same summary.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from crosslift.console import stderr_console as console
from crosslift.data.hub import HubSource, is_hub_id
from crosslift.errors import ConfigError
from crosslift.eval.config import EvalConfig, EvalGenerationConfig, EvalTaskConfig
from crosslift.eval.items import Item
from crosslift.eval.results.summary import language_name, tier_of
from crosslift.eval.runner.shards import Shards
from crosslift.eval.scoring.metrics import CORPUS_METRICS
from crosslift.eval.tasks.data import load_items
from crosslift.eval.tasks.prompts import (
    InstructionWords,
    Prompt,
    PromptSettings,
    apply_instruction,
    build_prompt,
    instruction_words,
    read_exemplars,
)
from crosslift.eval.tasks.registry import LanguageTask, PromptSpec, TaskRegistry
from crosslift.languages import (
    DEFAULT_TIER_RULE,
    TierRule,
    UnknownLanguageError,
    get_language,
    load_tier_rule,
    same_language,
)
from crosslift.models.generation import GenerationSettings

DEFAULT_MAX_NEW_TOKENS = 512


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
    long_prompts: str = (
        "cut"  # a prompt longer than the context: "cut" or "refuse" (crosslift.eval.runner.context)
    )
    # output_type multiple_choice: per item, the texts scored after its prompt (delimiter + each option)
    continuations: list[list[str]] | None = None

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

    def chunks(self) -> list[list[int]]:
        """Item positions in fixed generation batches: longest prompts first, ties by position."""
        order = sorted(range(len(self.items)), key=lambda i: (-len(prompt_text(self.prompts[i])), i))
        size = self.settings.batch_size
        return [order[i : i + size] for i in range(0, len(order), size)]

    def key(self, position: int) -> tuple[str, int]:
        """The (task, index) key in items.jsonl of the item at `position`."""
        return (self.task.name, self.items[position].index)

    def keys(self) -> list[tuple[str, int]]:
        """The keys of this language's items, in order."""
        return [self.key(i) for i in range(len(self.items))]


@dataclass
class TaskPlan:
    name: str
    description: str | None
    directory: Path
    tier_rule: TierRule
    languages: list[LanguagePlan]
    warnings: list[str] = field(default_factory=list)  # printed at planning, kept in the summary and report

    def generation_order(self) -> list[tuple[str, int]]:
        """Every item's key in the order one process generates them: language by language, chunk by chunk."""
        return [lp.key(i) for lp in self.languages for chunk in lp.chunks() for i in chunk]


def prompt_text(prompt: Prompt) -> str:
    """A prompt as items.jsonl stores it: its text, or its chat messages as JSON."""
    return prompt.text if prompt.text is not None else json.dumps(prompt.messages, ensure_ascii=False)


def _safe_name(name: str) -> str:
    return Path(name).stem if name.endswith((".yaml", ".yml")) else name.replace("/", "_")


def _prompt_settings(*layers: PromptSpec) -> PromptSettings:
    values: dict[str, Any] = {}
    for layer in layers:
        values |= layer.model_dump(exclude_none=True)
    return PromptSettings(**values)


def _with_language(pattern: str, language: str, split: str = "test", level: str | None = None) -> str:
    """A pattern with {lang} (the code), {lang_name} (the English name: "test_{lang_name}.json"), {split} and
    {level} (a difficulty level: "{lang}/{level}.jsonl") filled in."""
    if "{lang_name}" in pattern:
        pattern = pattern.replace("{lang_name}", language_name(language))
    if level is not None:
        pattern = pattern.replace("{level}", level)
    return pattern.replace("{split}", split).replace("{lang}", language)


def _data_path(
    pattern: str,
    data_dir: str | None,
    language: str,
    task: LanguageTask,
    what: str,
    download: bool = False,
    level: str | None = None,
) -> Path | HubSource:
    spec = task.dataset
    split = _with_language(spec.split or "test", language)
    if is_hub_id(pattern):
        if what != "data":
            raise ConfigError(
                f"task '{task.name}': the {what} are read from a file, not from a hub dataset ({pattern})"
            )
        return HubSource.parse(
            _with_language(pattern, language, split, level),
            split=split,
            subset=spec.subset and _with_language(spec.subset, language, split, level),
            revision=spec.revision,
        )
    path = Path(_with_language(pattern, language, split, level)).expanduser()
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
    _check_words(task_cfg, config, tasks)
    data_dir = task_cfg.data_dir or config.data_dir
    plans = [_plan_language(t, task_cfg, config, data_dir) for t in tasks]
    name = task_cfg.label or selection.name
    directory = Path(config.output_dir).expanduser() / "eval" / _safe_name(name)
    return TaskPlan(name, selection.description, directory, tier_rule, plans, _check_parallel(name, plans))


def _answer_length(gen: EvalGenerationConfig, task: LanguageTask) -> tuple[int, int | None]:
    """(max_new_tokens, max_length) of the answers: the config's when it sets either, else the task's, else the
    default. Under max_length alone an answer may take all the room its prompt leaves."""
    for new_tokens, length in (
        (gen.max_new_tokens, gen.max_length),
        (task.generation.max_new_tokens, task.generation.max_length),
    ):
        if new_tokens is not None or length is not None:
            return new_tokens or length, length
    return DEFAULT_MAX_NEW_TOKENS, None


def _check_words(task_cfg: EvalTaskConfig, config: EvalConfig, tasks: list[LanguageTask]) -> None:
    """Per-language prompt words must name a language: a task entry's, one the entry evaluates; the top-level
    ones, a known language (they apply to whichever entries have it). A mistyped code would change nothing."""
    for key in ("question_words", "answer_words"):
        for code in getattr(config.prompt, key) or {}:
            try:
                get_language(code)
            except UnknownLanguageError as e:
                raise ConfigError(f"prompt.{key}: {e}") from None
        unknown = [
            code
            for code in getattr(task_cfg.prompt, key) or {}
            if not any(same_language(code, t.language) for t in tasks)
        ]
        if unknown:
            raise ConfigError(
                f"tasks entry '{task_cfg.name}': prompt.{key} names {', '.join(unknown)}, which it does not "
                f"evaluate (it has: {', '.join(t.language for t in tasks)})"
            )


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
        lambda code, level=None: _data_path(
            task.dataset.path, data_dir, code, task, "data", config.download, level
        ),
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
    if task.scores_options:
        prompts, continuations = _option_requests(task, items, prompt_settings)
    else:
        continuations = None
        prompts = [
            build_prompt(
                apply_instruction(item.question, prompt_settings.instruction),
                prompt_settings,
                words,
                exemplars,
                choices=item.choices,
                context=item.context,
                language=lang,
            )
            for item in items
        ]
    gen = config.generation
    until = next(u for u in (task_cfg.until, gen.until, task.generation.until) if u is not None)
    stop = [s.replace("{question_word}", words.question) for s in until] + gen.stop
    max_new_tokens, max_length = _answer_length(gen, task)
    settings = GenerationSettings(
        max_new_tokens=max_new_tokens,
        max_length=max_length,
        min_new_tokens=gen.min_new_tokens,
        do_sample=gen.do_sample,
        temperature=gen.temperature,
        top_p=gen.top_p,
        use_model_defaults=gen.use_model_defaults,
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
        continuations,
    )


def _option_requests(
    task: LanguageTask, items: list[Item], settings: PromptSettings
) -> tuple[list[Prompt], list[list[str]]]:
    """output_type multiple_choice: each item's context, and the text scored after it for each option
    (lm-evaluation-harness's doc_to_text, target_delimiter + doc_to_choice)."""
    if settings.chat:
        raise ConfigError(
            f"task '{task.name}' scores options by their log-likelihood after a text context; prompt.chat does "
            "not apply to it"
        )
    spec = task.multiple_choice

    def fill(template: str, item: Item, choice: str = "") -> str:
        values = {"{question}": item.question, "{context}": item.context or "", "{choice}": choice}
        return re.sub(r"\{(?:question|context|choice)\}", lambda m: values[m.group(0)], template)

    prompts = [Prompt(text=fill(spec.context, item)) for item in items]
    continuations = [
        [spec.target_delimiter + fill(spec.choice, item, choice) for choice in item.choices] for item in items
    ]
    return prompts, continuations
