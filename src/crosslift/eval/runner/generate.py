"""Generating a task's missing items: the model loads only if something is left; the chunks that have a missing item
are shared among the processes (`crosslift.eval.runner.shards`; one process takes them all); a prompt longer than
the model's context is cut or refused first (`crosslift.eval.runner.context`); each finished chunk is scored and
appended to items.jsonl or the process's shard file (so kill -9 loses at most a chunk per process).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from crosslift.console import stderr_console as console
from crosslift.errors import ConfigError
from crosslift.eval.config import EvalModelConfig
from crosslift.eval.results.folder import RUN
from crosslift.eval.results.formatting import progress_bar
from crosslift.eval.runner.context import context_window, fit_prompt
from crosslift.eval.runner.plan import LanguagePlan, TaskPlan, prompt_text
from crosslift.eval.runner.resume import check_stored
from crosslift.eval.runner.shards import Shards
from crosslift.eval.scoring.record import rescore, specs_of
from crosslift.io import append_jsonl, atomic_write_json
from crosslift.models.generate import choose_backend, load_generator
from crosslift.models.generation import (
    ChatGenerator,
    Generator,
    LoglikelihoodScorer,
    answer_room,
    cut_at_stop,
)

Records = dict[tuple[str, int], dict[str, Any]]


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
            options = self._options(choose_backend(m.name_or_path, m.backend))
            console.print(f"loading {m.name_or_path} ...")
            self._generator = load_generator(
                m.name_or_path,
                trust_remote_code=m.trust_remote_code,
                dtype=m.dtype,
                backend=m.backend,
                **options,
            )
        return self._generator

    def _options(self, backend: str) -> dict[str, Any]:
        """The config's options for the backend that serves the model."""
        m = self.config
        if backend == "endpoint":
            return m.endpoint.model_dump()
        if backend == "vllm":
            if Shards().world > 1:
                raise ConfigError(
                    "the vLLM backend schedules its own batches over its GPUs: evaluate with one "
                    "process and set model.vllm.tensor_parallel_size instead of launching several"
                )
            return m.vllm.model_dump(exclude_none=True) | {"base_model": m.base_model}
        device = m.device
        if device == "auto" and Shards().world > 1:
            device = str(Shards().state().device)  # this process's GPU (cuda:LOCAL_RANK), or the CPU
        return {"device": device, "attn_implementation": m.attn_implementation, "base_model": m.base_model}


def generate_missing(plan: TaskPlan, run: dict[str, Any], records: Records, generator: LazyGenerator) -> int:
    """Generate, score and store every selected item not in `records`, which ends complete on every process.
    Returns how many items were generated (by all processes)."""
    shards = Shards()
    shards.gather(plan.directory, plan.generation_order(), records)  # a killed sharded run's items count
    check_stored(plan, records)
    before = len(records)
    pending = [
        (lp, chunk)
        for lp in plan.languages
        for chunk in lp.chunks()
        if any(lp.key(i) not in records for i in chunk)
    ]
    if not pending:
        return 0
    model = generator.get()
    run["model_id"] = model.model_id
    if shards.is_main:
        atomic_write_json(plan.directory / RUN, run)  # the folder is this evaluation's from its first item on
    lines = _LanguageLines(plan, run, records)
    _generate_share(plan, run, records, model, pending[shards.rank :: shards.world], shards, lines)
    shards.gather(plan.directory, plan.generation_order(), records)
    if shards.is_main:
        lines.print_finished()
    return len(records) - before


def _generate_share(
    plan: TaskPlan,
    run: dict[str, Any],
    records: Records,
    model: Generator,
    share: list[tuple[LanguagePlan, list[int]]],
    shards: Shards,
    lines: _LanguageLines,
) -> None:
    """Generate this process's chunks, appending each chunk's missing items to its items file and to `records`."""
    out = shards.items_file(plan.directory)
    label = plan.name if shards.world == 1 else f"{plan.name}, process 1 of {shards.world}"
    selected = [key for lp in plan.languages for key in lp.keys() if key in records]
    done, correct = len(selected), sum(bool(records[key].get("correct")) for key in selected)
    total = done + sum(lp.key(i) not in records for lp, chunk in share for i in chunk)
    with progress_bar() as progress:
        progress.disable = not shards.is_main  # the main process shows its own share
        bar = progress.add_task(plan.name, total=total, completed=done, acc=_acc(correct, done))
        if shards.is_main:
            lines.print_finished()
        for lp, chunk in share:
            progress.update(bar, description=f"{label} ({lp.language})")
            missing = [i for i in chunk if lp.key(i) not in records]
            run_chunk = _score_options if lp.continuations is not None else _generate_chunk
            outputs = dict(zip(chunk, run_chunk(model, lp, chunk), strict=True))
            for i in missing:
                record = _record(lp, i, *outputs[i], run["languages"][lp.language]["task_spec"])
                append_jsonl(out, record)
                records[lp.key(i)] = record
                correct += bool(record["correct"])
            done += len(missing)
            progress.update(bar, completed=done, acc=_acc(correct, done))
            if shards.is_main:
                lines.print_finished()


class _LanguageLines:
    """One line per language once all its items are in (in the plan's order), which also reaches logs where the live
    progress bar does not (CI, nohup)."""

    def __init__(self, plan: TaskPlan, run: dict[str, Any], records: Records) -> None:
        self.plan, self.run, self.records = plan, run, records
        self.printed = 0

    def print_finished(self) -> None:
        for lp in self.plan.languages[self.printed :]:
            keys = lp.keys()
            if not all(key in self.records for key in keys):
                return
            ours = [self.records[key] for key in keys]
            primary = next(
                (s.key for s in specs_of(self.run["languages"][lp.language]) if not s.corpus), "accuracy"
            )
            console.print(
                f"{self.plan.name} ({lp.language}): {len(ours)} items, {primary} "
                f"{_acc(sum(bool(r.get('correct')) for r in ours), len(ours))}"
            )
            self.printed += 1


def _generate_chunk(
    generator: Generator, lp: LanguagePlan, positions: list[int]
) -> list[tuple[str, dict[str, Any] | None, dict[str, Any]]]:
    """The output for each position, the note on a prompt longer than the context (None when it fitted), and what
    else the record keeps: under max_length, the answer's room its prompt left (`max_new_tokens`; not when the
    prompt was not measured)."""
    if lp.prompt_settings.chat and not isinstance(generator, ChatGenerator):
        raise ConfigError(f"{generator.model_id} cannot take chat prompts; set prompt.chat: false")
    settings = lp.settings
    window = context_window(generator, settings.max_new_tokens, settings.max_length)
    if window is not None and settings.max_length is not None:
        settings = replace(settings, max_length=window.length)  # never past the model's own window
    fitted = [fit_prompt(window, lp.prompts[i], lp.long_prompts) for i in positions]
    outputs = [""] * len(positions)  # a refused prompt is not generated: no answer
    chat = [k for k, f in enumerate(fitted) if f.prompt is not None and f.prompt.messages is not None]
    text = [k for k, f in enumerate(fitted) if f.prompt is not None and f.prompt.text is not None]
    if chat:
        answers = generator.generate_chat([fitted[k].prompt.messages for k in chat], settings)
        for k, answer in zip(chat, answers, strict=True):
            outputs[k] = answer
    if text:  # text prompts, and conversations cut as the text their chat template renders
        answers = generator.generate([fitted[k].prompt.text for k in text], settings)
        for k, answer in zip(text, answers, strict=True):
            outputs[k] = answer
    rooms = [
        answer_room(settings, f.tokens) if settings.max_length is not None and f.tokens is not None else None
        for f in fitted
    ]
    # Every backend cuts at the stop strings; cutting again here keeps results right with one that does not.
    return [
        (cut_at_stop(o, settings.stop), f.long_prompt, {} if room is None else {"max_new_tokens": room})
        for o, f, room in zip(outputs, fitted, rooms, strict=True)
    ]


def _score_options(
    model: Generator, lp: LanguagePlan, positions: list[int]
) -> list[tuple[str, None, dict[str, Any]]]:
    """output_type multiple_choice: the log-likelihood of each option after the item's context (nothing is
    generated: the output is empty, and the record keeps the options' scores for the loglikelihood_choice
    filter)."""
    if not isinstance(model, LoglikelihoodScorer):
        raise ConfigError(
            f"task '{lp.task.name}' scores its options by log-likelihood (output_type multiple_choice), which "
            f"needs a local Hugging Face model; {model.model_id} only generates text. Evaluate the task's "
            "generate-and-extract form instead (xnli for xnli_ll, xcsqa for xcsqa_ll)"
        )
    assert lp.continuations is not None
    requests = [(lp.prompts[i].text, c) for i in positions for c in lp.continuations[i]]
    scores = iter(model.loglikelihood(requests, lp.settings))
    delimiter = len(lp.task.multiple_choice.target_delimiter)
    out = []
    for i in positions:
        mine = [next(scores) for _ in lp.continuations[i]]
        scored = {
            "continuations": lp.continuations[i],
            "values": [value for value, _ in mine],
            "greedy": [greedy for _, greedy in mine],
            "choice_lengths": [len(c) - delimiter for c in lp.continuations[i]],
        }
        out.append(("", None, {"loglikelihood": scored}))
    return out


def _record(
    lp: LanguagePlan,
    position: int,
    output: str,
    long_prompt: dict[str, Any] | None,
    extra: dict[str, Any],
    task_spec: dict[str, Any],
) -> dict[str, Any]:
    item, prompt = lp.items[position], lp.prompts[position]
    record: dict[str, Any] = {
        "task": lp.task.name,
        "language": lp.language,
        "index": item.index,
        "prompt": prompt_text(prompt),
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
    if item.level is not None:
        record["level"] = item.level
    return rescore(record | extra, task_spec)


def _acc(correct: int, done: int) -> str:
    return f"{correct / done:.3f}" if done else "-"
