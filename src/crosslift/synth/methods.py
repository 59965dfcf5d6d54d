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

LinguaLIFT's peers (docs/bridges.md), compared when `methods` names them (`crosslift demo --methods`), each its
released recipe on the demo's models and schedules (`PEER_STAGES`; docs/demo.md says what is the demo's). The
frozen LLM of the three bridges is the baseline's model, as theirs (MetaMath-7B) is an LLM already fine-tuned on
English math instructions:

    langbridge      one `bridge` stage (replace family, linear mapping): the mapping alone on the English
                    instructions
    mindmerger      `bridge`, augment family: the mapping on the parallel set's pairs x -> English (the LLM reads
                    no prompt), then on each language's translated questions with the English chain of thought
                    (the LLM reads the prompt too); the mapping the only trained part
    qalign          `sft` twice, from the pretrained LLM: question translation (each translated question -> its
                    English question), then the English instructions
    layalign        mindmerger's two stages with the fusion family, its layer mix and gated cross-attention
                    training beside the mapping

None of their recipes has LinguaLIFT's alignment check, so none restarts.

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
# The peers' files (`build_peer_data`), built only for the peers a demo compares
PEER_DATA_FILES = {
    "qalign": ("qalign",),
    "mindmerger": ("mindmerger_mapping", "mindmerger_task"),
    "layalign": ("mindmerger_mapping", "mindmerger_task"),
}


def run_name(pretraining_seed: int, seed: int) -> str:
    return f"pretrain{pretraining_seed}_seed{seed}"


# ---------------------------------------------------------------------------------------------------- data


def data_files(runs: Path) -> dict[str, Path]:
    """Where one run's training files are (known before they are built: the step configs name them)."""
    names = [*DATA_FILES, *dict.fromkeys(n for files in PEER_DATA_FILES.values() for n in files)]
    return {name: runs / "data" / f"{name}.jsonl" for name in names}


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


def build_peer_data(world: World, cfg: DemoConfig, paths: dict[str, Path]) -> None:
    """The files of the peers `cfg.methods` names, built with crosslift's QAlign and MindMerger builders
    (`crosslift data qalign | mindmerger`) from the world's files.

        qalign               each translated language's questions -> their English questions
        mindmerger_mapping   the parallel set's sentences x -> English, every language (as many in every tier)
        mindmerger_task      each translated language's questions -> the English chain of thought

    Raises:
        CrossliftError: a world without the translated instructions or the parallel set a peer needs.
    """
    from crosslift.data.examples import read_parallel, write_examples
    from crosslift.data.options import ReadOptions
    from crosslift.data.to_english import mapping_pairs, query_translated, question_translation
    from crosslift.errors import CrossliftError

    needed = {name for method in cfg.methods for name in PEER_DATA_FILES.get(method, ())}
    needed = {name for name in needed if not paths[name].is_file()}
    if not needed:
        return
    translated = translated_languages(world)
    english = world.instructions("en")
    if needed & {"qalign", "mindmerger_task"} and not translated:
        raise CrossliftError(
            "QAlign, MindMerger and LayAlign learn from translated instructions, and this world has none "
            "(translated_items: 0 everywhere, machine_translation.items: 0)"
        )
    # One language at a time: each has its own prefix of the English instructions (same ids).
    per_language = {
        lang: read_parallel({lang: world.instructions(lang), "en": english}, align="id")
        for lang in translated
    }
    if "qalign" in needed:
        examples = [
            ex for lang, p in per_language.items() for ex in question_translation(p, languages=[lang])
        ]
        write_examples(paths["qalign"], examples)
    if "mindmerger_task" in needed:
        examples = [ex for lang, p in per_language.items() for ex in query_translated(p, languages=[lang])]
        write_examples(paths["mindmerger_task"], examples)
    if "mindmerger_mapping" in needed:
        text = ReadOptions(format="txt", fields={"instruction": "text", "output": "text"})
        parallel = read_parallel({lang: world.parallel_text(lang) for lang in world.languages}, text)
        write_examples(paths["mindmerger_mapping"], mapping_pairs(parallel, languages=world.languages[1:]))


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
        model: Path | None = None,
    ) -> Path:
        """An SFT run of the LLM (or of `model`, an earlier run's) on `train`; the demo's template, length and
        schedule unless given."""
        cfg = self.cfg
        return self._write(
            "train",
            name,
            {
                "recipe": "sft",
                "name": name,
                "output_dir": str(self.runs / name),
                "seed": self.seed,
                "model": {"name_or_path": str(model or self.models["llm"]), "dtype": "float32"},
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
            "min_mean_retrieval": s1.check.mean_sentence_retrieval,
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

    def bridge(
        self,
        name: str,
        header: str,
        *,
        model: dict[str, Any] | None = None,
        start_from: str | None = None,
        data: dict[str, Any],
        trainable: dict[str, bool],
        optim: dict[str, Any],
        steps: Steps,
    ) -> Path:
        """A run of the `bridge` recipe (a peer's stage): a new bridge of the demo's encoder and the baseline's
        model (`PEER_STAGES`) with a preset (`model`: the options besides the two models), or the bridge an earlier
        stage saved (`start_from`, with the encoder reading the question of the demo's prompt)."""
        cfg = self.cfg
        tree: dict[str, Any] = {
            "recipe": "bridge",
            "name": name,
            "output_dir": str(self.runs / name),
            "seed": self.seed,
        }
        if model is not None:
            tree["model"] = {
                "encoder": str(self.models["encoder"]),
                "lm": str(self.model("baseline")),
                "dtype": "float32",
                "encoder_layer": cfg.stage1.encoder_layer,
                "encoder_max_length": cfg.max_length,
                **model,
            }
        else:
            tree["start_from"] = {
                "path": str(self.runs / start_from),
                "dtype": "float32",
                "encoder_pattern": QUESTION_PATTERNS[cfg.template],
            }
        packing = cfg.packing and not trainable.get("fusion")  # a fusion's rows each read their own encoder
        tree |= {
            "data": data,
            "trainable": trainable,
            "optim": optim,
            "training": training_section(steps, packing=packing, learning_rate=False),
        }
        return self._write("train", name, tree, header)

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


# ---------------------------------------------------------------------------------------------------- peers

# What the encoder of MindMerger's and LayAlign's second stage reads of the demo's prompt (`template`): the
# question, as the released code's encoder reads the query and its LLM the whole prompt
QUESTION_PATTERNS = {
    "qa": r"Question: (.*)\nAnswer:",
    "metamath_en": r"### Instruction:\nQuestion: (.*?)\n\n### Response",
}
# Each peer's training runs in order, and the part each updates (the report's budget). The frozen LLM of
# LangBridge, MindMerger and LayAlign is the baseline's model: theirs, MetaMath-7B, is an LLM already fine-tuned on
# English math instructions, as the baseline is the demo's LLM fine-tuned on its English instructions.
PEER_STAGES = {
    "langbridge": (("baseline", "LLM"), ("langbridge", "alignment layer (LLM frozen)")),
    "mindmerger": (
        ("baseline", "LLM"),
        ("mindmerger_stage1", "alignment layer (LLM frozen)"),
        ("mindmerger_stage2", "alignment layer (LLM frozen)"),
    ),
    "qalign": (("qalign_stage1", "LLM"), ("qalign_stage2", "LLM")),
    "layalign": (
        ("baseline", "LLM"),
        ("layalign_stage1", "alignment layer + fusion (LLM frozen)"),
        ("layalign_stage2", "alignment layer + fusion (LLM frozen)"),
    ),
}
MAPPING_BETAS = [0.8, 0.999]  # MindMerger's and LayAlign's AdamW


def _mapping_steps(cfg: DemoConfig) -> Steps:
    """The schedule of a peer's stage that trains a mapping with the LLM frozen: `mapping`, else stage 1's."""
    return cfg.mapping or cfg.stage1


def _peer_job(s: RunSteps, method: str, trains: list[Path]) -> Job:
    """A peer's own stages, one after the other, and the evaluation of the last one's model; after the
    baseline's job where the baseline's model is its LLM (whose config then counts in the job's stamp)."""
    runs = [name for name, _ in PEER_STAGES[method]]
    evaluation = s.evaluate(method, s.model(runs[-1]))
    on_baseline = "baseline" in runs
    job = s.job(
        method,
        [*(("train", path) for path in trains), ("eval", evaluation)],
        after=[f"{s.name}:baseline"] if on_baseline else [],
    )
    if on_baseline:
        job.configs.append(s.configs / "baseline.yaml")
    return job


def langbridge_job(s: RunSteps) -> Job:
    """LangBridge: the replace family with a linear mapping, trained alone on the English instructions into the
    frozen baseline model. The released encoder's input embeddings train too because its new whitespace tokens
    need rows; the demo's encoder tokenizer loses no whitespace, gets no token, and keeps them frozen."""
    steps = _mapping_steps(s.cfg)
    train = s.bridge(
        "langbridge",
        "LangBridge: the mapping alone on the English instructions, into the frozen baseline model",
        model={"preset": "langbridge", "boundary_init_std": None},  # released N(0, 1): here the LLM's scale
        data={
            "train": [{"path": str(s.data["english"])}],
            "template": s.cfg.template,
            "lm_max_length": s.cfg.max_length,
        },
        trainable={"alignment": True},
        optim={"alignment": {"lr": steps.learning_rate, "weight_decay": 0.0}},
        steps=steps,
    )
    return _peer_job(s, "langbridge", [train])


def _two_stage_bridge(s: RunSteps, method: str, trainable: dict[str, bool]) -> Job:
    """MindMerger's two stages (LayAlign's too, with its preset and the fusion training), into the frozen
    baseline model: the mapping on the parallel set's pairs x -> English, the LLM reading only the soft tokens;
    then on the translated questions with the English chain of thought, the LLM reading the soft tokens, the
    boundary and the prompt."""
    cfg, steps = s.cfg, _mapping_steps(s.cfg)
    group = {"lr": steps.learning_rate, "weight_decay": 3.0e-7}  # released weight decay
    optim = {part: group for part, on in trainable.items() if on} | {"betas": MAPPING_BETAS}
    stage1, stage2 = f"{method}_stage1", f"{method}_stage2"
    label = LABELS[method]
    first = s.bridge(
        stage1,
        f"{label}, stage 1: the mapping on the parallel set's pairs x -> English, into the frozen baseline model",
        model={"preset": method},
        data={
            "train": [{"path": str(s.data["mindmerger_mapping"])}],
            "template": None,
            "lm_reads_prompt": False,
            "lm_max_length": cfg.max_length,
        },
        trainable=trainable,
        optim=optim,
        steps=steps,
    )
    second = s.bridge(
        stage2,
        f"{label}, stage 2: the translated questions -> English chain of thought; the LLM reads the prompt too",
        start_from=stage1,
        data={
            "train": [{"path": str(s.data["mindmerger_task"])}],
            "template": cfg.template,
            "lm_reads_prompt": True,
            "lm_max_length": 2 * cfg.max_length,  # the question twice (soft tokens, then the prompt's own)
        },
        trainable=trainable,
        optim=optim,
        steps=steps,
    )
    return _peer_job(s, method, [first, second])


def mindmerger_job(s: RunSteps) -> Job:
    return _two_stage_bridge(s, "mindmerger", {"alignment": True})


def layalign_job(s: RunSteps) -> Job:
    return _two_stage_bridge(s, "layalign", {"alignment": True, "fusion": True})


def qalign_job(s: RunSteps) -> Job:
    """QAlign: the LLM on question translation (x question -> English question), then that model on the English
    instructions; both the `sft` recipe on the demo's `sft` schedule, from the pretrained LLM as released (LLaMA-2
    base)."""
    first = s.sft(
        "qalign_stage1", s.data["qalign"], "QAlign, stage 1: the LLM on question translation x -> English"
    )
    second = s.sft(
        "qalign_stage2",
        s.data["english"],
        "QAlign, stage 2: the stage-1 model on the English instructions",
        model=s.model("qalign_stage1"),
    )
    return _peer_job(s, "qalign", [first, second])


PEER_JOBS = {
    "langbridge": langbridge_job,
    "mindmerger": mindmerger_job,
    "qalign": qalign_job,
    "layalign": layalign_job,
}


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
    jobs += [PEER_JOBS[method](steps) for method in cfg.methods if method in PEER_JOBS]  # chains: early
    jobs += [JOBS[method](steps) for method in cfg.methods if method in JOBS]
    for bridge in bridges.values():  # built now so that an invalid stage-2 config fails before anything runs
        bridge.stage2_job()
    return RunPlan(steps, bridges, jobs)
