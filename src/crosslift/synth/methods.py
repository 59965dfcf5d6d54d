"""The methods the demo compares, and the matched controls that make a comparison mean something.

Every method is trained and evaluated in one job per *run* (a pretraining seed x a fine-tuning seed), through the
ordinary recipes: each step is a config under OUT/configs/<run>/ that `crosslift train` / `crosslift eval` runs.

    baseline        SFT of the LLM on the English instructions
    lingualift      stage 1: an alignment layer from the multilingual encoder into the frozen LLM, trained on
                    code-switched questions -> English chain of thought, then the alignment check (a failed check
                    restarts stage 1 with another seed, at most `stage1.restarts` times); stage 2: the LLM on the
                    English instructions through the frozen bridge
    crossin         SFT on the English instructions + CrossIn's en2x / x2en / translation examples of each
                    language's translated instructions
    plug            SFT on pivot-first targets: the English answer, then the answer in the question's language
    self_encoder    control: LinguaLIFT exactly (same alignment layer, stage-1 data and steps, check and restart
                    policy, stage 2), with the LLM itself as the encoder. Only the encoder's knowledge differs,
                    so LinguaLIFT minus self_encoder is what the encoder gives
    codeswitch_sft  control: one SFT of the LLM on the stage-1 pairs mixed with the English instructions, with
                    stage 2's optimizer steps and batch: LinguaLIFT's data and LLM updates, without a bridge

Stage 1 switches words with the world's dictionaries (LinguaLIFT's paper) and renders a sentence whole in the
record's language where the world's parallel set has it: a FLORES-like set of the same size in every language,
so the whole-sentence exposure does not depend on a tier's translated data (`sentence_ratio: 0` is the paper's
words-only setting).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml

from crosslift.data.plug import MONOLINGUAL_SYSTEM
from crosslift.io import atomic_write_jsonl
from crosslift.synth.config import BRIDGES, LABELS, DemoConfig
from crosslift.synth.jobs import Job
from crosslift.synth.steps import Steps, training_section, write_step_config
from crosslift.synth.world import World

DATA_FILES = ("english", "stage1", "stage1_sft", "codeswitch_mix", "crossin", "plug")


def run_name(pretraining_seed: int, seed: int) -> str:
    return f"pretrain{pretraining_seed}_seed{seed}"


# ---------------------------------------------------------------------------------------------------- data


def data_files(runs: Path) -> dict[str, Path]:
    """Where one run's training files are (known before they are built: the step configs name them)."""
    return {name: runs / "data" / f"{name}.jsonl" for name in DATA_FILES}


def translated_languages(world: World) -> dict[str, str]:
    """language -> "human" or "machine": the languages CrossIn and PLUG have translated instructions for."""
    kinds = {lang: world.translation(lang) for lang in world.languages[1:]}
    return {lang: kind for lang, kind in kinds.items() if kind}


def build_data(world: World, cfg: DemoConfig, seed: int, paths: dict[str, Path]) -> None:
    """Every method's training files for one run, built with crosslift's own data builders."""
    from crosslift.data.codeswitch import CodeSwitcher, codeswitch_example, parallel_table
    from crosslift.data.crossin import build_crossin
    from crosslift.data.examples import read_examples, read_parallel, read_parallel_text, write_examples
    from crosslift.data.lexicon import load_lexicons
    from crosslift.data.plug import build_plug

    if all(paths[name].is_file() for name in DATA_FILES):
        return
    targets = world.languages[1:]
    english_path = world.instructions("en")
    english, _ = read_examples(english_path, instruction_lang="en", output_lang="en")
    write_examples(paths["english"], english)

    # Stage 1: dictionary words switched; a sentence rendered whole where the parallel set has it.
    sentences = {}
    if cfg.stage1.sentence_ratio and world.config.sizes.parallel:
        texts = read_parallel_text({lang: world.parallel_text(lang) for lang in world.languages})
        sentences = parallel_table(texts, pivot="en")
    switcher = CodeSwitcher(
        load_lexicons([world.dictionaries], targets),
        ratio=cfg.stage1.ratio,
        seed=seed,
        languages=targets,
        parallel=sentences,
        sentence_ratio=cfg.stage1.sentence_ratio,
        holdout_share=cfg.stage1.holdout_share,
    )
    records = [{"id": ex.id, "question": ex.instruction, "answer": ex.output} for ex in english]
    switched = [
        codeswitch_example(r, i, field="question", switcher=switcher)
        for i, r in enumerate(records[: cfg.stage1.examples])
    ]
    write_examples(paths["stage1"], switched)
    pairs = [
        {
            "id": ex.id,
            "instruction": ex.instruction,
            "input": "",
            "output": ex.meta["answer"],
            "instruction_lang": ex.instruction_lang,
            "output_lang": "en",
        }
        for ex in switched
    ]
    atomic_write_jsonl(paths["stage1_sft"], pairs)
    mixed = pairs + [ex.to_record() for ex in english]
    random.Random(f"{seed}/codeswitch_mix").shuffle(mixed)
    atomic_write_jsonl(paths["codeswitch_mix"], mixed)

    # CrossIn and PLUG: each language's translated instructions (human, or machine where none exist).
    parallel = {
        lang: read_parallel({lang: world.instructions(lang), "en": english_path}, align="id")
        for lang in translated_languages(world)
    }
    crossin = list(english)
    for lang, p in parallel.items():
        crossin += build_crossin(p, modes=("en2x", "x2en", "trans"), targets=[lang], pivot="en", seed=seed)
    write_examples(paths["crossin"], crossin)
    plug = [replace(ex, meta={"system": MONOLINGUAL_SYSTEM.format(language="English")}) for ex in english]
    for lang, p in parallel.items():
        plug += build_plug(p, targets=[lang], pivot="en")
    write_examples(paths["plug"], plug)


def task_files(world: World, cfg: DemoConfig, out: Path) -> dict[str, Path]:
    """The world's task YAML for the split with the demo's prompt (`template`), and PLUG's variants of it: PLUG's
    prompt (tulu + its system prompt) with the target-language part of the bilingual answer extracted before every
    filter (`plug_target`), and English alone (`plug_en`)."""
    from crosslift.data.plug import PLUG_SYSTEM
    from crosslift.eval.tasks.registry import TaskRegistry
    from crosslift.io import atomic_write_text

    base_path = world.task_yaml(cfg.split)
    base = yaml.safe_load(base_path.read_text(encoding="utf-8"))
    resolved = TaskRegistry().resolve(str(base_path)).tasks[0]
    # The evaluation's form of each training template: qa without chain of thought says "Answer:" (with it,
    # MGSM's "Step-by-Step Answer:"); metamath with the English "Question:" (the task's instruction_language: en)
    prompt = {"qa": {"template": "qa", "cot": False}, "metamath_en": {"template": "metamath", "cot": True}}
    trees = {
        "base": {**base, "prompt": {**base.get("prompt", {}), **prompt[cfg.template]}},
        "plug": {
            **base,
            "task": f"{base['task']}_plug",
            "languages": [x for x in base["languages"] if x != "en"],
            "prompt": {**base.get("prompt", {}), "template": "tulu", "cot": False, "system": PLUG_SYSTEM},
            "filter_list": [
                {"name": f["name"], "filter": [{"function": "plug_target", "pivot": "en"}, *f["filter"]]}
                for f in resolved.filter_list
            ],
        },
        # CrossIn's x2en examples ask for the response language with a tag after the question ("\n[en]" as the
        # input); asked without it, a CrossIn model translates the question (dev: 1-5% on the synthetic
        # languages). English questions, as its English base data, come without one.
        "crossin": {
            **base,
            "task": f"{base['task']}_crossin",
            "prompt": {
                **base.get("prompt", {}),
                **prompt[cfg.template],
                "instruction": {"by_language": {"en": ""}, "default": "\n\n[en]"},
            },
        },
        "plug_en": {
            **base,
            "task": f"{base['task']}_plug_en",
            "languages": ["en"],
            "prompt": {
                **base.get("prompt", {}),
                "template": "tulu",
                "cot": False,
                "system": MONOLINGUAL_SYSTEM,
            },
        },
    }
    files = {}
    for key, tree in trees.items():
        files[key] = out / "tasks" / f"{tree['task']}.yaml"
        header = f"# The world's math task ({key}: the prompt of the methods that use it), written by `crosslift demo`\n"
        atomic_write_text(files[key], header + yaml.safe_dump(tree, sort_keys=False, allow_unicode=True))
    return files


# ---------------------------------------------------------------------------------------------------- steps


@dataclass
class RunSteps:
    """What one run's steps are built from, and a builder per kind of step (`write_step_config`)."""

    world: World
    cfg: DemoConfig
    models: dict[str, Path]  # "llm", "encoder": the pretrained models of the run's pretraining seed
    pretraining_seed: int
    seed: int
    out: Path
    tasks: dict[str, Path]
    evals: dict[str, list[Path]] = field(default_factory=dict)  # method -> its result folders, one per task

    @property
    def name(self) -> str:
        return run_name(self.pretraining_seed, self.seed)

    @property
    def configs(self) -> Path:
        return self.out / "configs" / self.name

    @property
    def runs(self) -> Path:
        return self.out / self.name

    @property
    def data(self) -> dict[str, Path]:
        return data_files(self.runs)

    def model(self, run: str) -> Path:
        return self.runs / run / "model"

    def _write(self, verb: str, name: str, tree: dict[str, Any], header: str) -> Path:
        path = self.configs / f"{name}.yaml"
        return write_step_config(verb, path, tree, header, languages=self.world.languages_file)

    def sft(
        self,
        name: str,
        train: Path,
        header: str,
        *,
        template: str | None = None,
        max_length: int | None = None,
        steps: Steps | None = None,
    ) -> Path:
        """An SFT run of the LLM on `train`; the demo's template, length and schedule unless given."""
        cfg = self.cfg
        return self._write(
            "train",
            name,
            {
                "recipe": "sft",
                "name": name,
                "output_dir": str(self.runs / name),
                "seed": self.seed,
                "model": {"name_or_path": str(self.models["llm"]), "dtype": "float32"},
                "lora": None,
                "data": {
                    "train": [{"path": str(train)}],
                    "template": template or cfg.template,
                    "max_length": max_length or cfg.max_length,
                },
                "training": training_section(steps or cfg.sft, packing=cfg.packing),
            },
            header,
        )

    def evaluate(self, method: str, model: Path, task: str = "base") -> Path:
        """An evaluation of `model` on one of the task files (`task_files`); its folder is added to `evals`."""
        cfg = self.cfg
        task_name = yaml.safe_load(self.tasks[task].read_text(encoding="utf-8"))["task"]
        result_dir = self.runs / "eval" / method
        folders = self.evals.setdefault(method, [])
        if result_dir / "eval" / task_name not in folders:
            folders.append(result_dir / "eval" / task_name)
        return self._write(
            "eval",
            f"eval_{method}_{task}",
            {
                "output_dir": str(result_dir),
                "seed": self.seed,
                "model": {"name_or_path": str(model), "dtype": "float32"},
                "data_dir": str(self.world.math("test", "en").parent),
                "tasks": [{"name": str(self.tasks[task])}],
                "generation": {
                    "batch_size": cfg.eval_batch_size,
                    "max_new_tokens": cfg.max_new_tokens * (3 if task == "plug" else 1),
                },
                "tier_rule": str(self.world.tier_rule),
            },
            f"evaluation of {method} on the world's {cfg.split} split",
        )

    def stage1(self, method: str, attempt: int) -> Path:
        """Stage 1 of a bridge method: the alignment layer between its encoder and the LLM on the code-switched
        questions, then the alignment check; a restart (`attempt` > 0) has its own name and seed."""
        cfg, s1 = self.cfg, self.cfg.stage1
        name = stage1_name(method, attempt)
        world = self.world
        sentences = {
            "english": str(world.math("dev", "en")),
            "languages": {lang: str(world.math("dev", lang)) for lang in world.languages[1:]},
            "prompt_field": "question",
            "target_field": "cot",
            "per_language": s1.check.sentences_per_language,
            "max_loss_ratio": s1.check.language_loss_ratio,
            "min_retrieval": s1.check.sentence_retrieval,
        }
        return self._write(
            "train",
            name,
            {
                "recipe": "lingualift_stage1",
                "name": name,
                "output_dir": str(self.runs / name),
                "seed": self.seed + 1000 * attempt,
                "model": {
                    "encoder": str(self.models[BRIDGES[method]]),
                    "lm": str(self.models["llm"]),
                    "dtype": "float32",
                    "alignment": "linear",
                    "encoder_layer": s1.encoder_layer,
                    "encoder_max_length": cfg.max_length,
                },
                "init": {"method": "least_squares", "texts": 256},
                "data": {
                    "train": [{"path": str(self.data["stage1"])}],
                    "template": cfg.template,
                    "target": "continue",
                    "answer_field": "answer",
                    "lm_max_length": cfg.max_length,
                },
                "optim": {"alignment": {"lr": s1.learning_rate, "weight_decay": 0.0}},
                "check": {
                    "holdout": 64,
                    "max_loss_ratio": s1.check.max_loss_ratio,
                    "lexicons": [str(world.dictionaries)],
                    "words_per_language": 100,
                    "sentences": sentences,
                },
                "training": training_section(s1, packing=cfg.packing, learning_rate=False),
            },
            f"{LABELS[method]}, stage 1: the alignment layer on code-switched questions -> English chain of thought",
        )

    def stage2(self, method: str, stage1: str) -> Path:
        """Stage 2 of a bridge method: the LLM on the English instructions through the stage-1 run's bridge."""
        cfg = self.cfg
        name = f"{method}_stage2"
        return self._write(
            "train",
            name,
            {
                "recipe": "lingualift_stage2",
                "name": name,
                "output_dir": str(self.runs / name),
                "seed": self.seed,
                "stage1": str(self.runs / stage1),
                "on_failed_alignment": "warn",
                "model": {"dtype": "float32"},
                "lora": None,
                "data": {
                    "train": [{"path": str(self.data["english"])}],
                    "template": cfg.template,
                    "lm_max_length": cfg.max_length,
                },
                "optim": {"lm": {"lr": cfg.sft.learning_rate, "weight_decay": 0.0}},
                "training": training_section(cfg.sft, packing=cfg.packing, learning_rate=False),
            },
            f"{LABELS[method]}, stage 2: the LLM on English instructions through the frozen bridge",
        )

    def job(self, name: str, steps: list[tuple[str, Path]], after: list[str] = ()) -> Job:
        """The steps (verb, config) run one after the other in one child process."""
        return Job(
            f"{self.name}:{name}",
            [[verb, str(path)] for verb, path in steps],
            self.runs / "logs" / f"{name}.log",
            list(after),
            configs=[path for _, path in steps],
        )


def stage1_name(method: str, attempt: int) -> str:
    return f"{method}_stage1" + (f"_try{attempt}" if attempt else "")


# ---------------------------------------------------------------------------------------------------- methods


def baseline_job(s: RunSteps) -> Job:
    train = s.sft("baseline", s.data["english"], "baseline: English-only SFT")
    return s.job("baseline", [("train", train), ("eval", s.evaluate("baseline", s.model("baseline")))])


def crossin_job(s: RunSteps) -> Job:
    header = "CrossIn: English + mixed-language data"
    train = s.sft("crossin", s.data["crossin"], header, steps=s.cfg.crossin)
    evaluation = s.evaluate("crossin", s.model("crossin"), "crossin")
    return s.job("crossin", [("train", train), ("eval", evaluation)])


def plug_job(s: RunSteps) -> Job:
    """PLUG trains with its own prompt (tulu) on answers twice as long, and is evaluated with its prompt on every
    synthetic language (`plug`: the target-language part is what the harness scores; the report also reads the
    English part) and on English (`plug_en`)."""
    train = s.sft(
        "plug",
        s.data["plug"],
        "PLUG: pivot-first targets",
        template="tulu",
        max_length=2 * s.cfg.max_length,
        steps=s.cfg.plug,
    )
    evaluations = [("eval", s.evaluate("plug", s.model("plug"), task)) for task in ("plug", "plug_en")]
    return s.job("plug", [("train", train), *evaluations])


def codeswitch_sft_job(s: RunSteps) -> Job:
    header = (
        "control: one SFT on the stage-1 pairs + the English instructions, with stage 2's steps and batch"
    )
    train = s.sft("codeswitch_sft", s.data["codeswitch_mix"], header, steps=s.cfg.sft)
    evaluation = s.evaluate("codeswitch_sft", s.model("codeswitch_sft"))
    return s.job("codeswitch_sft", [("train", train), ("eval", evaluation)])


@dataclass
class Bridge:
    """A bridge method's chain in one run: stage 1 (restarted while its check fails, within `restarts`), then
    stage 2 and the evaluation. `attempts` counts the stage-1 runs so far."""

    method: str
    steps: RunSteps
    restarts: int
    echo: Callable[[str], None] = print
    attempts: int = 0

    @property
    def stage1_dir(self) -> Path:
        return self.steps.runs / stage1_name(self.method, self.attempts - 1)

    def first_job(self) -> Job:
        """Stage 1's first attempt; each finished attempt decides what follows (`_after_stage1`)."""
        return self._stage1_job()

    def _stage1_job(self) -> Job:
        name = stage1_name(self.method, self.attempts)
        job = self.steps.job(name, [("train", self.steps.stage1(self.method, self.attempts))])
        job.then = self._after_stage1
        self.attempts += 1
        return job

    def stage2_job(self) -> Job:
        stage2 = self.steps.stage2(self.method, stage1_name(self.method, max(self.attempts - 1, 0)))
        evaluation = self.steps.evaluate(self.method, self.steps.model(f"{self.method}_stage2"))
        return self.steps.job(self.method, [("train", stage2), ("eval", evaluation)])

    def _after_stage1(self) -> list[Job]:
        if check_passed(self.stage1_dir) or self.attempts > self.restarts:
            return [self.stage2_job()]
        self.echo(
            f"[{self.steps.name}:{self.method}] stage 1 failed its alignment check; restarting it with another "
            f"seed ({self.attempts}/{self.restarts}), as the check advises"
        )
        return [self._stage1_job()]


def check_passed(stage1_run: Path) -> bool:
    import json

    path = stage1_run / "alignment_check.json"
    return path.is_file() and bool(json.loads(path.read_text(encoding="utf-8")).get("passed"))


JOBS = {
    "baseline": baseline_job,
    "crossin": crossin_job,
    "plug": plug_job,
    "codeswitch_sft": codeswitch_sft_job,
}


@dataclass
class RunPlan:
    """One run's jobs (first the bridges' stage 1: they head the longest chains) and where results land."""

    steps: RunSteps
    bridges: dict[str, Bridge]
    jobs: list[Job]

    @property
    def evals(self) -> dict[str, list[Path]]:
        return self.steps.evals


def plan_run(
    world: World,
    cfg: DemoConfig,
    models: dict[str, Path],
    pretraining_seed: int,
    seed: int,
    out: Path,
    tasks: dict[str, Path],
    *,
    echo: Callable[[str], None] = print,
) -> RunPlan:
    """Build (and validate) every config of one run and return its jobs."""
    steps = RunSteps(world, cfg, models, pretraining_seed, seed, out, tasks)
    bridges = {
        method: Bridge(method, steps, cfg.stage1.restarts, echo)
        for method in cfg.methods
        if method in BRIDGES
    }
    jobs = [bridge.first_job() for bridge in bridges.values()]
    jobs += [JOBS[method](steps) for method in cfg.methods if method in JOBS]
    for bridge in bridges.values():  # built now so that an invalid stage-2 config fails before anything runs
        bridge.stage2_job()
    return RunPlan(steps, bridges, jobs)
