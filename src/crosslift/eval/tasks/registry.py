"""The task registry: benchmarks as YAML files, in the style of lm-evaluation-harness.

Files under ``crosslift/eval/tasks/`` (and any folder given as a task path) are of three kinds:

- a **template** (name starts with ``_``): shared settings of a benchmark family, never loaded on its own,
  only through ``include:``;
- a **task**: ``task: mgsm_sw`` + ``language: sw`` (usually ``include:`` of its family template and nothing
  else), or ``task: mmwp`` + ``languages: [af, ar, ...]``, which defines one task per language
  (``mmwp_af``, ...) and a group ``mmwp`` of them in a single file;
- a **group**: ``group: mgsm`` + ``task: [mgsm_en, ...]`` (tasks or other groups); ``tier: low`` keeps only the
  members whose language the run's tier rule puts in that tier (``mmwp_low``: ``task: [mmwp]``).

``include:`` names a file relative to the including one, or a built-in family (``include: parallel_math`` is
``tasks/parallel_math/_template.yaml``). Included settings are merged key by key; the including file wins.
A task file is read as a config is (`crosslift.config.read_yaml`): UTF-8, each key once per mapping.

Any value may differ by language: ``{by_language: {sw: ..., te: ...}, default: ...}`` stands for the value of the
task's language (or ``default`` for a language the table lacks; without one, a missing language is an error).
A ``languages:`` file so holds per-language instructions, subsets or option words in one place.

A task file's keys::

    dataset:            path (with {lang} = the code or {lang_name} = the English name, "test_{lang_name}.json",
                        {split} = the split, {level} = a difficulty level of `levels`, "{lang}/{level}.jsonl";
                        relative to the run's data_dir; or hf:ORG/NAME, a Hugging Face hub dataset, with subset,
                        split (default test) and revision, which may hold {lang} / {lang_name} too), source (the
                        data catalogue's dataset holding the files, read from the download cache when no data_dir
                        is given), format (auto: by the path; json|jsonl|tsv|csv|parquet|arrow|hf-disk, or
                        seaeval_cross|xquad_mc for the cross-lingual multiple-choice sets),
                        question_field, answer_field (names, or 0-based columns without a header; "a.b" reads a
                        nested field), header, answer_regex (take the gold number from group 1), answer_type
                        (number|math|choice|none), id_field, choices_field, choices (the same options for every
                        item), context_field, levels and level_field (difficulty levels: one file per level
                        with {level} in the path, or a field of each record), language_field (one file for
                        every language: the field naming a record's language); xquad_mc: options, seed,
                        reference_language
    fewshot:            path, format (mgsm_exemplars|json|jsonl|tsv|csv), question_field, answer_field, header
    prompt:             template (metamath|qa|mcq|instruction|tulu), cot, shots, instruction_language
                        (native|en), words (mmwp|mgsm: the table of localised words), chat, system ("{language}"
                        is the item's language name), cot_trigger, fewshot_language (native|en), mcq_format,
                        mcq_prompt (SeaEval's wording 1-5), mcq_prompt_set (cross_mmlu|cross_logiqa|cross_xquad),
                        question_words / answer_words (per language, a word replacing the table's),
                        instruction (appended to the question, or wrapped around it when it holds {question})
    output_type:        generate_until (generate, then filter and score the text) or multiple_choice (score each
                        option by the log-likelihood a local model gives it, as lm-evaluation-harness does)
    multiple_choice:    context ({question}, {context}), choice ({choice}, {question}, {context}) and
                        target_delimiter: the text scored for each option is context, then delimiter + choice
    level_weights:      {level: weight} of the weighted mean over difficulty levels (default: equal weights)
    generation_kwargs:  max_new_tokens, max_length (prompt + answer tokens, Hugging Face's max_length: the answer
                        has what the prompt leaves; with max_new_tokens too, the tighter applies), until (stop
                        strings; "{question_word}" is the "Question:" word in use)
    fidelity:           response-language fidelity: enabled (default: on unless multiple choice), filter (the
                        pipeline whose answer is scored; default the raw output), drop_final_number, candidates
    filter_list:        [{name, filter: [{function, ...arguments}]}]   (registered filters, crosslift.eval.scoring.filters)
    metric_list:        [{metric, name?, filter?, ...arguments}]       (registered metrics, crosslift.eval.scoring.metrics)
    tier_rule:          the tier rule a report groups languages by (default: crosslift.languages.DEFAULT_TIER_RULE)
"""

from __future__ import annotations

import copy
import difflib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from crosslift.config import ConfigSource, Section, read_yaml, validate_config
from crosslift.errors import ConfigError
from crosslift.eval.scoring import filters as filter_registry
from crosslift.eval.scoring import metrics as metric_registry

# ---------------------------------------------------------------------------------------------------- schema


class DatasetSpec(Section):
    path: str = Field(
        description="file pattern with {lang} (code) or {lang_name} (English name), relative to "
        "data_dir (or absolute); or hf:ORG/NAME, a Hugging Face hub dataset"
    )
    subset: str | None = Field(None, description="hf: the subset (config) name; {lang} / {lang_name} allowed")
    split: str | None = Field(
        None, description="hf: the split (default test); saved DatasetDict folders: the split"
    )
    revision: str | None = Field(None, description="hf: a branch, tag or commit of the dataset repository")
    source: str | None = Field(
        None,
        description="the data catalogue's dataset holding the files (crosslift data "
        "download NAME): read from the download cache when no data_dir is given",
    )
    format: Literal[
        "auto", "json", "jsonl", "tsv", "csv", "parquet", "arrow", "hf-disk", "seaeval_cross", "xquad_mc"
    ] = Field("auto", description="auto: hf: ids, folders (hf-disk) and file extensions")
    question_field: str | int = "question"
    answer_field: str | int = "answer"
    header: bool = False
    answer_regex: str | None = None
    answer_type: Literal["number", "math", "choice", "none"] = Field(
        "number",
        description="number (math), math (any mathematical answer: LaTeX or plain, compared by equivalence), "
        "choice (an option letter, index or text), none (no gold: instructions)",
    )
    id_field: str | int | None = Field(
        None, description="an item id shared across languages (default: the position)"
    )
    choices_field: str | int | None = Field(None, description="answer_type choice: the list of options")
    choices: list[str] | None = Field(
        None, min_length=2, description="answer_type choice: the same options for every item (XNLI's labels)"
    )
    levels: list[str] | None = Field(
        None,
        min_length=1,
        description="difficulty levels, in report order: with {level} in the path, one file per level; "
        "with level_field, the values it may take",
    )
    level_field: str | int | None = Field(None, description="the field holding an item's difficulty level")
    language_field: str | int | None = Field(
        None,
        description="a file holding several languages: the field naming each record's language (its records "
        "of the task's language are read, in file order)",
    )
    context_field: str | int | None = Field(None, description="a passage shown before the question")
    options: int = Field(4, ge=2, le=26, description="xquad_mc: options per question")
    seed: int = Field(0, description="xquad_mc: seed of the distractor choice and the gold position")
    reference_language: str = Field(
        "en", description="xquad_mc: the language whose answers pick distinct distractors"
    )


class FewshotSpec(Section):
    path: str = Field(description="exemplar file ({lang} allowed), relative to data_dir (or absolute)")
    format: Literal["mgsm_exemplars", "json", "jsonl", "tsv", "csv"] = "mgsm_exemplars"
    question_field: str | int = "question"
    answer_field: str | int = "answer"
    header: bool = False


class PromptSpec(Section):
    """Prompt options; None means "not set here" (a later layer or the default decides)."""

    template: Literal["metamath", "qa", "mcq", "instruction", "tulu"] | None = None
    cot: bool | None = None
    shots: int | None = Field(None, ge=0)
    instruction_language: Literal["native", "en"] | None = None
    words: Literal["mmwp", "mgsm"] | None = None
    chat: bool | None = None
    system: str | None = None
    cot_trigger: str | None = None
    fewshot_language: Literal["native", "en"] | None = None
    mcq_format: str | None = Field(
        None, description="mcq: the prompt, with {question}, {choices} and {context}"
    )
    mcq_prompt: int | None = Field(None, ge=1, le=5, description="mcq: SeaEval's wording 1-5 (default 1)")
    mcq_prompt_set: Literal["cross_mmlu", "cross_logiqa", "cross_xquad"] | None = Field(
        None,
        description="mcq: whose SeaEval wordings (default: cross_logiqa's with a passage, else cross_mmlu's)",
    )
    question_words: dict[str, str] | None = Field(
        None,
        description="per language (code: word), the \"Question:\" word instead of the table's, e.g. {fr: 'Question :'}",
    )
    answer_words: dict[str, str] | None = Field(
        None, description='per language (code: word), the "Answer:" word instead of the table\'s'
    )
    instruction: str | None = Field(
        None,
        description="appended to the question on its own line, or wrapped around it where it holds {question}",
    )


class MultipleChoiceSpec(Section):
    """How output_type multiple_choice scores an item: the log-likelihood of each option after the context."""

    context: str = Field(
        "Question: {question}\nAnswer:", description="the text before the option ({question}, {context})"
    )
    choice: str = Field("{choice}", description="an option's text ({choice}, {question}, {context})")
    target_delimiter: str = Field(" ", description="between the context and each option (lm-eval's)")


class GenerationKwargs(Section):
    max_new_tokens: int | None = Field(None, gt=0)
    max_length: int | None = Field(
        None,
        gt=1,
        description="prompt + answer tokens (Hugging Face's max_length): the answer has what the prompt leaves",
    )
    until: list[str] = Field(default_factory=list)


class FilterStep(BaseModel):
    model_config = ConfigDict(extra="allow")
    function: str


class FilterPipeline(Section):
    name: str
    filter: list[FilterStep] = Field(min_length=1)


class MetricEntry(BaseModel):
    model_config = ConfigDict(extra="allow")
    metric: str
    name: str | None = Field(None, description="the key in results; default: the metric's name")
    filter: str | None = Field(None, description="the filter pipeline it scores; default: the first")


class FidelitySpec(Section):
    """Response-language fidelity of a task's answers (`crosslift.eval.scoring.fidelity`); on for every generative task."""

    enabled: bool | None = Field(
        None, description="default: on, except for multiple choice (answers are letters)"
    )
    filter: str | None = Field(
        None, description="score this filter pipeline's answer (default: the raw output)"
    )
    drop_final_number: bool = Field(False, description="remove the final number first (math answers)")
    candidates: list[str] = Field(
        default_factory=list, description="languages besides the expected one and English"
    )


class TaskFile(Section):
    include: str | None = None
    task: str
    description: str | None = None
    language: str | None = None
    languages: list[str] | None = None
    dataset: DatasetSpec
    fewshot: FewshotSpec | None = None
    prompt: PromptSpec = Field(default_factory=PromptSpec)
    generation_kwargs: GenerationKwargs = Field(default_factory=GenerationKwargs)
    filter_list: list[FilterPipeline] = Field(min_length=1)
    metric_list: list[MetricEntry] = Field(min_length=1)
    fidelity: FidelitySpec = Field(default_factory=FidelitySpec)
    tier_rule: str | None = None
    output_type: Literal["generate_until", "multiple_choice"] = "generate_until"
    multiple_choice: MultipleChoiceSpec = Field(default_factory=MultipleChoiceSpec)
    level_weights: dict[str, float] | None = Field(
        None, description="weights of the difficulty levels in their weighted mean (default: equal)"
    )


class GroupFile(Section):
    include: str | None = None
    group: str
    task: list[str] = Field(min_length=1)
    description: str | None = None
    tier: Literal["low", "medium", "high"] | None = None
    tier_rule: str | None = None


# ---------------------------------------------------------------------------------------------------- resolved


@dataclass(frozen=True)
class LanguageTask:
    """One benchmark in one language, fully resolved from its YAML."""

    name: str
    language: str
    dataset: DatasetSpec
    fewshot: FewshotSpec | None
    prompt: PromptSpec
    generation: GenerationKwargs
    filter_list: list[dict[str, Any]]
    metric_list: list[dict[str, Any]]
    tier_rule: str | None
    source: str
    description: str | None = None
    fidelity: FidelitySpec = field(default_factory=FidelitySpec)
    output_type: str = "generate_until"
    multiple_choice: MultipleChoiceSpec = field(default_factory=MultipleChoiceSpec)
    level_weights: dict[str, float] | None = None

    def fidelity_spec(self) -> dict[str, Any] | None:
        """The resolved fidelity settings, or None when fidelity is off for this task."""
        enabled = self.fidelity.enabled
        if enabled is None:
            enabled = self.dataset.answer_type != "choice"
        return self.fidelity.model_dump(exclude={"enabled"}) if enabled else None

    def spec(self) -> dict[str, Any]:
        """The task definition as plain data (stored with results, so reports can re-score without the YAML)."""
        return {
            "name": self.name,
            "language": self.language,
            "source": self.source,
            "dataset": self.dataset.model_dump(),
            "fewshot": self.fewshot.model_dump() if self.fewshot else None,
            "prompt": self.prompt.model_dump(),
            "generation_kwargs": self.generation.model_dump(),
            "filter_list": self.filter_list,
            "metric_list": self.metric_list,
            "tier_rule": self.tier_rule,
            "fidelity": self.fidelity_spec(),
            **(
                {"output_type": self.output_type, "multiple_choice": self.multiple_choice.model_dump()}
                if self.scores_options
                else {}
            ),
            **({"level_weights": self.level_weights} if self.level_weights else {}),
        }

    @property
    def scores_options(self) -> bool:
        """Whether items are scored by the log-likelihood of each option instead of by generated text."""
        return self.output_type == "multiple_choice"


@dataclass(frozen=True)
class Selection:
    """What a task name stands for: its language tasks, and the group settings that apply to them."""

    name: str
    tasks: list[LanguageTask]
    tier: str | None = None
    tier_rule: str | None = None
    description: str | None = None


@dataclass
class _Group:
    name: str
    members: list[str]
    source: str
    tier: str | None = None
    tier_rule: str | None = None
    description: str | None = None


def builtin_task_dir() -> Path:
    """The folder of the task YAMLs shipped with crosslift."""
    return Path(str(resources.files("crosslift.eval").joinpath("tasks")))


def _merge(base: dict[str, Any], top: dict[str, Any]) -> dict[str, Any]:
    """Deep merge: mappings merge key by key, anything else (lists included) is replaced by `top`."""
    out = copy.deepcopy(base)
    for key, value in top.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


class TaskRegistry:
    """All tasks and groups of the built-in folder plus extra task paths.

    Args:
        task_paths: extra folders (searched recursively for ``*.yaml``) or single YAML files.

    Raises:
        ConfigError: a bad YAML file (naming file, line and key), or two definitions of one name.
    """

    def __init__(self, task_paths: list[str | Path] = ()) -> None:
        self.tasks: dict[str, LanguageTask] = {}
        self.groups: dict[str, _Group] = {}
        self._where: dict[str, str] = {}
        self._yaml: dict[Path, tuple[Any, dict[tuple[str, ...], int]]] = {}  # each file parsed once
        for root in [builtin_task_dir(), *map(Path, task_paths)]:
            if root.is_file():
                self._load_file(root)
            elif root.is_dir():
                for path in sorted(root.rglob("*.yaml")):
                    if not path.name.startswith("_"):
                        self._load_file(path)
            else:
                raise ConfigError(f"task path not found: {root}")

    # -- loading

    def _read(self, path: Path, seen: tuple[Path, ...] = ()) -> dict[str, Any]:
        """A file's mapping with its includes merged in (innermost first)."""
        if path in seen:
            raise ConfigError(f"{path}: include cycle ({' -> '.join(map(str, (*seen, path)))})")
        tree = copy.deepcopy(self._parsed(path)[0])
        tree = {} if tree is None else tree
        if not isinstance(tree, dict):
            raise ConfigError(f"{path}: a task file is a mapping of keys to values")
        include = tree.pop("include", None)
        if include is None:
            return tree
        target = path.parent / include
        if not target.is_file():
            target = builtin_task_dir() / str(include) / "_template.yaml"
        if not target.is_file():
            raise ConfigError(
                f"{path}: include '{include}' is neither a file next to it nor a built-in family"
            )
        return _merge(self._read(target, (*seen, path)), tree)

    def _parsed(self, path: Path) -> tuple[Any, dict[tuple[str, ...], int]]:
        """A file's YAML value and the lines of its keys (`crosslift.config.read_yaml`), read once per registry:
        templates are included by many files."""
        if path not in self._yaml:
            self._yaml[path] = read_yaml(path)
        return self._yaml[path]

    def _validate(self, schema: type[BaseModel], path: Path, tree: dict[str, Any]) -> Any:
        source = ConfigSource(None)  # for the line numbers of keys set in this file itself
        source.path, source.lines, source.tree = path, self._parsed(path)[1], tree
        try:
            return validate_config(schema, source)
        except ConfigError as e:
            raise ConfigError(f"task file {path}: {e}") from None

    def _add(self, kind: str, name: str, obj: Any, source: str) -> None:
        if name in self.tasks or name in self.groups:
            raise ConfigError(f"{source}: {kind} '{name}' is already defined in {self._where[name]}")
        (self.tasks if kind == "task" else self.groups)[name] = obj
        self._where[name] = source

    def _load_file(self, path: Path) -> str:
        """Register a file's task(s) or group; returns the name it defines."""
        tree = self._read(path)
        if "group" in tree:
            spec = self._validate(GroupFile, path, tree)
            self._add(
                "group",
                spec.group,
                _Group(spec.group, spec.task, str(path), spec.tier, spec.tier_rule, spec.description),
                str(path),
            )
            return spec.group
        codes = _languages_of(tree, path)
        if has_tables(tree):  # values that differ by language: one validated spec per language
            specs = {code: self._validate(TaskFile, path, for_language(tree, code, path)) for code in codes}
        else:
            spec = self._validate(TaskFile, path, tree)
            specs = dict.fromkeys(codes, spec)
        first: TaskFile = next(iter(specs.values()))
        for spec in {id(s): s for s in specs.values()}.values():
            self._check_registered(spec, path)
        single = first.language is not None
        pairs = [(first.task if single else f"{first.task}_{code}", code) for code in codes]
        for name, language in pairs:
            spec = specs[language]
            task = LanguageTask(
                name=name,
                language=str(language),
                dataset=spec.dataset,
                fewshot=spec.fewshot,
                prompt=spec.prompt,
                generation=spec.generation_kwargs,
                filter_list=[p.model_dump() for p in spec.filter_list],
                metric_list=[m.model_dump(exclude_none=True) for m in spec.metric_list],
                tier_rule=spec.tier_rule,
                source=str(path),
                description=spec.description,
                fidelity=spec.fidelity,
                output_type=spec.output_type,
                multiple_choice=spec.multiple_choice,
                level_weights=spec.level_weights,
            )
            self._add("task", name, task, str(path))
        if not single:
            self._add(
                "group",
                first.task,
                _Group(
                    first.task,
                    [n for n, _ in pairs],
                    str(path),
                    tier_rule=first.tier_rule,
                    description=first.description,
                ),
                str(path),
            )
        return first.task

    @staticmethod
    def _check_registered(spec: TaskFile, path: Path) -> None:
        """Filters and metrics must exist and accept the arguments given (checked now, not after generating)."""
        hub = spec.dataset.path.startswith("hf:")
        if (spec.dataset.subset or spec.dataset.revision) and not hub:
            raise ConfigError(
                f"task file {path}: dataset.subset and dataset.revision apply to hub datasets "
                f"(path: hf:ORG/NAME), not to '{spec.dataset.path}'"
            )
        if hub and spec.dataset.format != "auto":
            raise ConfigError(
                f"task file {path}: a hub dataset is read as a table; leave dataset.format unset "
                f"(it is '{spec.dataset.format}')"
            )
        if spec.dataset.source is not None:
            from crosslift.catalogue import get_dataset

            try:
                get_dataset(spec.dataset.source)
            except ConfigError as e:
                raise ConfigError(f"task file {path}: dataset.source: {e}") from None
        _check_levels(spec, path)
        if spec.output_type == "multiple_choice" and spec.dataset.answer_type != "choice":
            raise ConfigError(
                f"task file {path}: output_type multiple_choice scores options; it needs dataset.answer_type: "
                f"choice (it is '{spec.dataset.answer_type}')"
            )
        pipelines = [p.name for p in spec.filter_list]
        if spec.fidelity.filter is not None and spec.fidelity.filter not in pipelines:
            raise ConfigError(
                f"task file {path}: fidelity scores filter '{spec.fidelity.filter}', which is not in "
                f"filter_list ({', '.join(pipelines)})"
            )
        from crosslift.languages import UnknownLanguageError, get_language

        for code in spec.fidelity.candidates:
            try:
                get_language(code)
            except UnknownLanguageError as e:
                raise ConfigError(f"task file {path}: fidelity.candidates: {e}") from None
        try:
            for p in spec.filter_list:
                filter_registry.check_pipeline(p.model_dump()["filter"])
            for m in spec.metric_list:
                metric_registry.check_entry(m.model_dump(exclude_none=True), pipelines)
        except ConfigError as e:
            raise ConfigError(f"task file {path}: {e}") from None

    # -- lookup

    def names(self) -> dict[str, list[str]]:
        return {"tasks": sorted(self.tasks), "groups": sorted(self.groups)}

    def resolve(self, name: str) -> Selection:
        """The language tasks a task name, group name or task YAML path stands for.

        Raises:
            ConfigError: an unknown name (with the closest known names).
        """
        if name.endswith((".yaml", ".yml")) and Path(name).is_file():
            name = self._load_file(Path(name))
        if name in self.tasks:
            task = self.tasks[name]
            return Selection(name, [task], tier_rule=task.tier_rule, description=task.description)
        if name in self.groups:
            group = self.groups[name]
            tasks = self._expand(name, ())
            rule = group.tier_rule or next((t.tier_rule for t in tasks if t.tier_rule), None)
            description = group.description or next((t.description for t in tasks if t.description), None)
            return Selection(name, tasks, tier=self._tier(name), tier_rule=rule, description=description)
        close = difflib.get_close_matches(name, [*self.tasks, *self.groups], n=3, cutoff=0.6)
        hint = (
            f"; did you mean {', '.join(close)}?" if close else "; `crosslift eval --list-tasks` lists them"
        )
        raise ConfigError(f"unknown task or group '{name}'{hint}")

    def _tier(self, name: str) -> str | None:
        """A group's own tier filter, or the first one among the groups it includes."""
        group = self.groups[name]
        if group.tier:
            return group.tier
        return next((t for m in group.members if m in self.groups and (t := self._tier(m))), None)

    def _expand(self, name: str, seen: tuple[str, ...]) -> list[LanguageTask]:
        if name in seen:
            raise ConfigError(f"group cycle: {' -> '.join((*seen, name))}")
        if name in self.tasks:
            return [self.tasks[name]]
        if name not in self.groups:
            raise ConfigError(f"group '{seen[-1]}' ({self._where[seen[-1]]}) lists unknown task '{name}'")
        out: list[LanguageTask] = []
        for member in self.groups[name].members:
            out += [t for t in self._expand(member, (*seen, name)) if t not in out]
        return out


# ---------------------------------------------------------------------------------------------------- by language

BY_LANGUAGE = "by_language"


def _table_key(key: Any) -> str:
    return "no" if key is False else str(key)  # YAML reads a bare `no` (Norwegian) as False


def has_tables(node: Any) -> bool:
    """Whether a task file's tree holds a value that differs by language (``{by_language: {...}}``)."""
    if isinstance(node, dict):
        return BY_LANGUAGE in node or any(has_tables(v) for v in node.values())
    if isinstance(node, list):
        return any(has_tables(v) for v in node)
    return False


def for_language(node: Any, language: str, path: Path, where: tuple[str, ...] = ()) -> Any:
    """The tree with every ``{by_language: {code: value}, default: value}`` replaced by `language`'s value.

    Raises:
        ConfigError: a table with other keys, or without the language and without a default (naming the file and
            the key).
    """
    if isinstance(node, list):
        return [for_language(v, language, path, where) for v in node]
    if not isinstance(node, dict):
        return node
    if BY_LANGUAGE not in node:
        return {k: for_language(v, language, path, (*where, str(k))) for k, v in node.items()}
    key = ".".join(where) or BY_LANGUAGE
    extra = sorted(str(k) for k in node if k not in (BY_LANGUAGE, "default"))
    table = node[BY_LANGUAGE]
    if extra or not isinstance(table, dict):
        raise ConfigError(
            f"task file {path}, key '{key}': a by_language table is {{by_language: {{code: value, ...}}, "
            f"default: value}}" + (f"; unexpected: {', '.join(extra)}" if extra else "")
        )
    table = {_table_key(k): v for k, v in table.items()}
    if language in table:
        return for_language(table[language], language, path, where)
    if "default" in node:
        return for_language(node["default"], language, path, where)
    raise ConfigError(
        f"task file {path}, key '{key}': the by_language table has no '{language}' and no default "
        f"(it has: {', '.join(table)})"
    )


def _languages_of(tree: dict[str, Any], path: Path) -> list[str]:
    """The language codes a task file defines tasks for: its `language`, or its `languages`."""
    language, languages = tree.get("language"), tree.get("languages")
    if (language is None) == (languages is None):
        raise ConfigError(
            f"task file {path}: set exactly one of 'language' (one task) or 'languages' (a set)"
        )
    codes = [language] if language is not None else languages
    if not isinstance(codes, list) or not all(isinstance(c, str | bool) for c in codes) or not codes:
        raise ConfigError(f"task file {path}: 'languages' is a list of language codes, got {codes!r}")
    return [_table_key(c) for c in codes]


def _check_levels(spec: TaskFile, path: Path) -> None:
    """Difficulty levels: listed when files are per level, and weighted only by the levels there are."""
    data = spec.dataset
    per_file = "{level}" in data.path or "{level}" in (data.subset or "")
    if per_file and not data.levels:
        raise ConfigError(
            f"task file {path}: dataset.path has {{level}}; list the levels (dataset.levels: [easy, ...])"
        )
    if per_file and data.level_field is not None:
        raise ConfigError(
            f"task file {path}: levels come from the file ({{level}} in the path) or from a field "
            "(dataset.level_field), not both"
        )
    if data.levels and not per_file and data.level_field is None:
        raise ConfigError(
            f"task file {path}: dataset.levels needs {{level}} in dataset.path (a file per level) or "
            "dataset.level_field (a field of each record)"
        )
    if spec.level_weights is not None:
        if data.levels is None:
            raise ConfigError(f"task file {path}: level_weights needs dataset.levels")
        unknown = sorted(set(spec.level_weights) - set(data.levels))
        if unknown or any(w < 0 for w in spec.level_weights.values()) or not any(spec.level_weights.values()):
            raise ConfigError(
                f"task file {path}: level_weights are non-negative weights, not all zero, of the levels "
                f"{', '.join(data.levels)}" + (f" (unknown: {', '.join(unknown)})" if unknown else "")
            )


@dataclass
class TaskSummaryRow:
    """One line of `crosslift eval --list-tasks`."""

    name: str
    kind: str
    languages: list[str] = field(default_factory=list)
    description: str | None = None


def list_tasks(registry: TaskRegistry) -> list[TaskSummaryRow]:
    """Groups (with their languages) and the tasks that belong to no listed group."""
    from crosslift.languages import DEFAULT_TIER_RULE, UnknownLanguageError, load_tier_rule

    rows = []
    grouped: set[str] = set()
    for name in sorted(registry.groups):
        selection = registry.resolve(name)
        grouped |= {t.name for t in selection.tasks}
        languages = [t.language for t in selection.tasks]
        description = selection.description
        if selection.tier:  # members depend on the tier rule; show them under the group's default rule
            rule = load_tier_rule(selection.tier_rule or DEFAULT_TIER_RULE)
            try:
                languages = [lang for lang in languages if rule.tier_of(lang) == selection.tier]
            except UnknownLanguageError:
                pass
            description = f"{selection.tier}-resource languages under {rule.name} (or the run's tier_rule)"
        rows.append(TaskSummaryRow(name, "group", languages, description))
    for name in sorted(set(registry.tasks) - grouped):
        task = registry.tasks[name]
        rows.append(TaskSummaryRow(name, "task", [task.language], task.description))
    return rows
