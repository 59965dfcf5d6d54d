"""`crosslift demo`: the tier gap and what LinguaLIFT, CrossIn and PLUG do to it, in a synthetic world, on a CPU.

Reads top to bottom:

    world       generate the synthetic world (crosslift.synth.world) into OUT/world and register its languages
    pretrain    a tokenizer on the world's balanced text; a tiny Llama on the imbalanced corpus (the "English-strong
                LLM") and a same-size causal LM on balanced text (the multilingual encoder), side by side; both
                cached under $CROSSLIFT_CACHE/synth/<hash> so a second demo skips them
    methods     per seed, through the ordinary recipes (each step is a config under OUT/configs/ that
                `crosslift train` runs, so every step can be rerun by hand):
                  baseline    SFT on English instructions only
                  lingualift  stage 1 (alignment layer on code-switched questions -> English CoT) + the alignment
                              check (a failed check restarts stage 1 with another seed, counted) + stage 2
                  crossin     SFT on English + CrossIn's en2x / x2en / trans modes of the translated data
                  plug        SFT on pivot-first targets (English answer, then the target language's)
                  control     the LLM itself trained on the stage-1 pairs, then the same English SFT: what the
                              bridge achieves without the encoder
    evaluate    `crosslift eval` of every model on the world's math task (test split; dev for calibration)
    report      OUT/report.md, OUT/comparison.json, OUT/accuracy_by_tier.png (crosslift.synth.report)

Every step reuses a finished result, so a killed demo resumes where it stopped.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import Field

from crosslift.config import ConfigSource, Section, load_config, resolve_config, validate_config
from crosslift.data.plug import MONOLINGUAL_SYSTEM, PLUG_SYSTEM, response_marker
from crosslift.io import atomic_write_jsonl, atomic_write_text, read_jsonl_tolerant
from crosslift.languages import register_languages
from crosslift.synth.jobs import Job, run_jobs
from crosslift.synth.world import World, build_world, load_world_config

# ---------------------------------------------------------------------------------------------------- config


class Steps(Section):
    max_steps: int | None = Field(None, gt=0, description="optimizer steps; unset: `epochs` over the data")
    epochs: float = Field(1.0, gt=0)
    batch_size: int = Field(gt=0)
    learning_rate: float = Field(gt=0)
    warmup_ratio: float = Field(0.0, ge=0, lt=1)
    lr_scheduler: Literal["linear", "cosine", "constant", "constant_with_warmup"] = "cosine"


class PretrainSettings(Section):
    vocab_size: int = Field(2048, ge=512)
    block_size: int = Field(128, gt=8)
    llm: Steps
    encoder: Steps


class Stage1Settings(Steps):
    ratio: float = Field(0.4, ge=0, le=1, description="share of dictionary-covered words switched")
    sentence_ratio: float = Field(
        0.5, ge=0, le=1, description="chance a sentence is rendered whole (translated data)"
    )
    encoder_layer: int = Field(2, ge=-1, description="which hidden state of the encoder the bridge reads")
    examples: int = Field(
        4000, gt=0, description="code-switched questions built from the English instructions"
    )
    holdout_share: float = Field(
        0.2,
        ge=0,
        lt=1,
        description="dictionary entries never switched: the alignment "
        "check's word retrieval is measured on them",
    )
    restarts: int = Field(2, ge=0, description="stage-1 restarts (new seed) when the alignment check fails")


class DemoConfig(Section):
    """A demo run: the world, the model sizes and the steps of every phase."""

    world: str = Field("default", description="a bundled world (default, quick) or a world YAML path")
    seeds: list[int] = Field([0], min_length=1)
    split: Literal["test", "dev"] = "test"
    pretrain: PretrainSettings
    sft: Steps = Field(description="baseline, stage 2, PLUG and the control's English step")
    crossin: Steps | None = Field(
        None, description="CrossIn's own schedule (default: as sft); its mix is ~3x larger"
    )
    plug: Steps | None = Field(
        None, description="PLUG's own schedule (default: as sft); its examples answer twice, ~2x longer"
    )
    stage1: Stage1Settings
    template: Literal["qa", "metamath_en"] = Field(
        "qa",
        description="the prompt every method but PLUG trains and is evaluated with: qa ('Question: ...\\nAnswer:') "
        "or LinguaLIFT's metamath prompt (44 tokens with a 21-token question in this world; qa: 26)",
    )
    packing: bool = Field(
        True,
        description="padding-free batches in every fine-tuning step (training.packing): the padded loss, without "
        "computing on padding (random batches of this world's mixes are up to half padding)",
    )
    max_length: int = Field(256, gt=16)
    eval_batch_size: int = Field(64, gt=0)
    max_new_tokens: int = Field(64, gt=0)


def load_demo_config(name_or_path: str | Path, overrides: list[str] = ()) -> DemoConfig:
    """A bundled demo config by name ("default", "quick") or a YAML path, with `key=value` overrides."""
    return load_config(DemoConfig, resolve_config(name_or_path, "demo"), list(overrides))


# ---------------------------------------------------------------------------------------------------- helpers


def write_step_config(verb: Literal["train", "eval"], path: Path, tree: dict[str, Any], header: str) -> Path:
    """A step's config, built as the object `crosslift <verb>` loads (the recipe's `Config`, or `EvalConfig`) and
    written to `path` as YAML a user can rerun with that command.

    Raises:
        ConfigError: the config is invalid (naming `path` and the key): the demo stops before any step runs.
    """
    from crosslift.eval.config import EvalConfig
    from crosslift.train import recipe_module

    schema = recipe_module(tree["recipe"]).Config if verb == "train" else EvalConfig
    source = ConfigSource(None)
    source.path, source.tree = path, tree  # validated as if read from the file it becomes
    config = validate_config(schema, source)
    text = f"# {header}\n# Written by `crosslift demo`; rerun this step alone with: crosslift {verb} {path}\n"
    dumped = config.model_dump(mode="json", exclude_unset=True)
    atomic_write_text(path, text + yaml.safe_dump(dumped, sort_keys=False, allow_unicode=True))
    return path


def _training(steps: Steps, save_steps: int | None = None, packing: bool = False) -> dict[str, Any]:
    every = max((steps.max_steps or 500) // 10, 1)
    return {
        "packing": packing,
        "max_steps": steps.max_steps,
        "epochs": steps.epochs,
        "batch_size": steps.batch_size,
        "learning_rate": steps.learning_rate,
        "lr_scheduler": steps.lr_scheduler,
        "warmup_ratio": steps.warmup_ratio,
        "save_steps": save_steps or 5 * every,
        "save_total_limit": 1,
        "logging_steps": every,
    }


def _cache_root() -> Path:
    from crosslift.models.tiny.cache import cache_dir

    return cache_dir() / "synth"


# ---------------------------------------------------------------------------------------------------- pretrain


# How often the tokenizer sees the templates' text: at 50 copies among the corpus's ~26k lines BPE left "Below" in
# five pieces and the metamath prompt cost 112 tokens for a 21-token question; at 500, 44.
SCAFFOLD_COPIES = 500


def _scaffold_texts() -> list[str]:
    """The prompt templates' fixed English text, so the tokenizer has whole-word tokens for it, as a real LLM's
    tokenizer has for common English (it is in every prompt)."""
    from crosslift.data.plug import PIVOT_INSTRUCTION_LABEL
    from crosslift.data.templates import MetamathTemplate

    metamath = MetamathTemplate.prompt.format(question_word="Question:", question="")
    qa = "Question:\nAnswer:"
    tulu = "<|system|>\n<|user|>\n<|assistant|>\n"
    return [metamath, qa, tulu, PLUG_SYSTEM, MONOLINGUAL_SYSTEM, PIVOT_INSTRUCTION_LABEL, "English response:"]


def _tokenizer_lines(world: World) -> list[str]:
    """The balanced corpus, with a high-fertility language's text at a tenth of its share.

    A language the tokenizer saw little of is split into many pieces per word, as real low-resource scripts
    are; keeping this to the languages marked ``fertility: high`` makes it one explicit factor of the world.
    """
    high = {spec.code for spec in world.config.languages if spec.fertility == "high"}
    lines, seen = [], dict.fromkeys(high, 0)
    for record in read_jsonl_tolerant(world.encoder_corpus):
        if record["lang"] in high:
            seen[record["lang"]] += 1
            if seen[record["lang"]] % 10:
                continue
        lines.append(record["text"])
    return lines


def prepare_pretraining(world: World, cfg: DemoConfig) -> tuple[Path, list[Job]]:
    """Initial models (tokenizer + random weights) and the two pretraining jobs, in the world's cache folder."""
    from crosslift.models.tiny.architectures import random_tiny_model
    from crosslift.models.tiny.tokenizers import train_llama_tokenizer

    key = hashlib.sha256(
        json.dumps(
            [world.hash, cfg.pretrain.model_dump(), _scaffold_texts(), SCAFFOLD_COPIES], sort_keys=True
        ).encode()
    ).hexdigest()
    root = _cache_root() / key[:16]
    init = root / "init"
    if not (init / "encoder" / "config.json").is_file():
        lines = _tokenizer_lines(world) + _scaffold_texts() * SCAFFOLD_COPIES
        for language in world.languages[1:]:  # PLUG's response markers name the languages
            lines += [response_marker(language)] * 20
        tokenizer = train_llama_tokenizer(lines, vocab_size=cfg.pretrain.vocab_size)
        for name, seed in (("llm", 0), ("encoder", 1)):
            model = random_tiny_model("llama", tokenizer, seed)
            model.save_pretrained(init / name)
            tokenizer.save_pretrained(init / name)
    jobs = []
    for name, corpus, steps in (
        ("llm", world.pretrain_corpus, cfg.pretrain.llm),
        ("encoder", world.encoder_corpus, cfg.pretrain.encoder),
    ):
        # The corpus is copied beside the runs, so their configs are the same whichever folder the world is in.
        cached_corpus = root / "corpus" / corpus.name
        if not cached_corpus.is_file():
            atomic_write_text(cached_corpus, corpus.read_text(encoding="utf-8"))
        corpus = cached_corpus
        run_dir = root / name
        config = write_step_config(
            "train",
            root / "configs" / f"pretrain_{name}.yaml",
            {
                "recipe": "pretrain",
                "name": f"synth_{name}",
                "output_dir": str(run_dir),
                "seed": 0,
                "model": {"name_or_path": str(init / name), "dtype": "float32"},
                "data": {"train": [{"path": str(corpus)}], "block_size": cfg.pretrain.block_size},
                "training": _training(steps),
            },
            f"pretraining of the synthetic world's {name}",
        )
        jobs.append(
            Job(f"pretrain-{name}", [["train", str(config)]], root / "logs" / f"{name}.log", configs=[config])
        )
    return root, jobs


# ---------------------------------------------------------------------------------------------------- data


# The training files build_method_data writes; stage1_as_sft adds "stage1_sft"
METHOD_DATA = ("english", "stage1", "crossin", "plug")


def method_data_files(out: Path, seed: int) -> dict[str, Path]:
    """Where one seed's training files are (known before they are built: the step configs name them)."""
    folder = out / f"seed{seed}" / "data"
    return {name: folder / f"{name}.jsonl" for name in (*METHOD_DATA, "stage1_sft")}


def build_method_data(world: World, cfg: DemoConfig, seed: int, paths: dict[str, Path]) -> None:
    """The training files of every method for one seed (`method_data_files`), built with crosslift's own data
    builders."""
    from crosslift.data.codeswitch import CodeSwitcher, codeswitch_example
    from crosslift.data.crossin import build_crossin
    from crosslift.data.examples import Example, read_examples, read_parallel, write_examples
    from crosslift.data.lexicon import load_lexicons
    from crosslift.data.plug import build_plug

    if all(paths[name].is_file() for name in METHOD_DATA):
        return
    targets = world.languages[1:]
    english_path = world.instructions("en")
    english, _ = read_examples(english_path, instruction_lang="en", output_lang="en")
    write_examples(paths["english"], english)

    # Stage 1: English questions, words switched by the world's dictionaries; a sentence is rendered whole in a
    # language where that language's translated data has it (as much as CrossIn and PLUG get: falls with tier).
    parallel = {
        lang: read_parallel({lang: world.instructions(lang), "en": english_path}, align="id")
        for lang in targets
    }
    tables = {
        lang: {p.items[i]["en"].instruction: p.items[i][lang].instruction for i in p.ids}
        for lang, p in parallel.items()
    }
    switcher = CodeSwitcher(
        load_lexicons([world.dictionaries], targets),
        ratio=cfg.stage1.ratio,
        seed=seed,
        languages=targets,
        parallel=tables,
        sentence_ratio=cfg.stage1.sentence_ratio,
        holdout_share=cfg.stage1.holdout_share,
    )
    records = [{"id": ex.id, "question": ex.instruction, "answer": ex.output} for ex in english]
    switched = [
        codeswitch_example(r, i, field="question", switcher=switcher)
        for i, r in enumerate(records[: cfg.stage1.examples])
    ]
    write_examples(paths["stage1"], switched)

    # CrossIn: the English base, then en2x / x2en / trans per language, as many as its translated data allows.
    crossin = list(english)
    for lang, p in parallel.items():
        crossin += build_crossin(p, modes=("en2x", "x2en", "trans"), targets=[lang], pivot="en", seed=seed)
    write_examples(paths["crossin"], crossin)

    # PLUG: pivot-first targets per language; English items answer in English (PLUG's monolingual prompt).
    plug = [
        Example(
            id=ex.id,
            instruction=ex.instruction,
            output=ex.output,
            instruction_lang="en",
            output_lang="en",
            meta={"system": MONOLINGUAL_SYSTEM.format(language="English")},
        )
        for ex in english
    ]
    for lang, p in parallel.items():
        plug += build_plug(p, targets=[lang], pivot="en")
    write_examples(paths["plug"], plug)


# ---------------------------------------------------------------------------------------------------- methods


def stage1_as_sft(stage1: Path, out: Path) -> Path:
    """The control's first step: the stage-1 pairs (code-switched question -> English CoT) as plain SFT data."""
    if not out.is_file():
        rows = [
            {
                "id": r["id"],
                "instruction": r["instruction"],
                "input": "",
                "output": r["answer"],
                "instruction_lang": r.get("instruction_lang"),
                "output_lang": "en",
            }
            for r in read_jsonl_tolerant(stage1)
        ]
        atomic_write_jsonl(out, rows)
    return out


def _task_files(world: World, cfg: DemoConfig, out: Path) -> dict[str, Path]:
    """The world's task YAML for the split with the demo's prompt (`template`), and PLUG's variants of it: PLUG's
    prompt (tulu + its system prompt), and the target-language part of the bilingual answer extracted before every
    filter (`plug_target`)."""
    from crosslift.eval.tasks.registry import TaskRegistry

    base_path = world.task_yaml(cfg.split)
    base = yaml.safe_load(base_path.read_text(encoding="utf-8"))
    resolved = TaskRegistry().resolve(str(base_path)).tasks[0]
    # The evaluation's form of each training template: qa without chain of thought says "Answer:" (with it,
    # MGSM's "Step-by-Step Answer:"); metamath with the English "Question:" (the task's instruction_language: en)
    prompt = {"qa": {"template": "qa", "cot": False}, "metamath_en": {"template": "metamath", "cot": True}}
    main = {**base, "prompt": {**base.get("prompt", {}), **prompt[cfg.template]}}
    plug = {
        **base,
        "task": f"{base['task']}_plug",
        "languages": [x for x in base["languages"] if x != "en"],
        "prompt": {**base.get("prompt", {}), "template": "tulu", "cot": False, "system": PLUG_SYSTEM},
        "filter_list": [
            {"name": f["name"], "filter": [{"function": "plug_target", "pivot": "en"}, *f["filter"]]}
            for f in resolved.filter_list
        ],
    }
    plug_en = {
        **base,
        "task": f"{base['task']}_plug_en",
        "languages": ["en"],
        "prompt": {**base.get("prompt", {}), "template": "tulu", "cot": False, "system": MONOLINGUAL_SYSTEM},
    }
    files = {
        "base": out / "tasks" / f"{main['task']}.yaml",
        "plug": out / "tasks" / f"{plug['task']}.yaml",
        "plug_en": out / "tasks" / f"{plug_en['task']}.yaml",
    }
    headers = {
        "base": f"# The world's math task with the demo's prompt ({cfg.template}), written by `crosslift demo`\n",
        "plug": "# PLUG's variant of the world's math task, written by `crosslift demo`\n",
    }
    for key, tree in (("base", main), ("plug", plug), ("plug_en", plug_en)):
        header = headers.get(key, headers["plug"])
        atomic_write_text(files[key], header + yaml.safe_dump(tree, sort_keys=False, allow_unicode=True))
    return files


@dataclass
class SeedSteps:
    """What one seed's steps are built from, and a builder per kind of step: each builds its config as the object
    `crosslift train` / `crosslift eval` loads and writes it under OUT/configs/seed<N>/ (`write_step_config`)."""

    world: World
    cfg: DemoConfig
    models: dict[str, Path]
    seed: int
    out: Path
    data: dict[str, Path]
    tasks: dict[str, Path]
    evals: dict[str, list[Path]] = field(default_factory=dict)  # method -> its result folders, one per task

    @property
    def configs(self) -> Path:
        return self.out / "configs" / f"seed{self.seed}"

    @property
    def runs(self) -> Path:
        return self.out / f"seed{self.seed}"

    def model(self, run: str) -> Path:
        """The final model of a run of this seed."""
        return self.runs / run / "model"

    def sft(
        self,
        name: str,
        model: Path,
        train: Path,
        header: str,
        *,
        template: str | None = None,
        max_length: int | None = None,
        steps: Steps | None = None,
    ) -> Path:
        """An SFT run of `model` on `train`; the demo's template, length and schedule unless given."""
        cfg = self.cfg
        return write_step_config(
            "train",
            self.configs / f"{name}.yaml",
            {
                "recipe": "sft",
                "name": name,
                "output_dir": str(self.runs / name),
                "seed": self.seed,
                "model": {"name_or_path": str(model), "dtype": "float32"},
                "lora": None,
                "data": {
                    "train": [{"path": str(train)}],
                    "template": template or cfg.template,
                    "max_length": max_length or cfg.max_length,
                },
                "training": _training(steps or cfg.sft, packing=cfg.packing),
            },
            header,
        )

    def evaluate(self, method: str, model: Path, task: str = "base") -> Path:
        """An evaluation of `model` on one of the world's task files (`_task_files`: base, plug, plug_en); its
        result folder is added to `evals`."""
        cfg = self.cfg
        task_name = yaml.safe_load(self.tasks[task].read_text(encoding="utf-8"))["task"]
        result_dir = self.runs / "eval" / method
        self.evals.setdefault(method, []).append(result_dir / "eval" / task_name)
        return write_step_config(
            "eval",
            self.configs / f"eval_{method}_{task}.yaml",
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

    def lingualift_stage1(self, name: str, attempt: int) -> Path:
        """LinguaLIFT's stage 1: the alignment layer between the encoder and the LLM, trained on the code-switched
        questions, then the alignment check; a restart (`attempt` > 0) has its own name and seed."""
        cfg, s1 = self.cfg, self.cfg.stage1
        return write_step_config(
            "train",
            self.configs / f"{name}.yaml",
            {
                "recipe": "lingualift_stage1",
                "name": name,
                "output_dir": str(self.runs / name),
                "seed": self.seed + 1000 * attempt,
                "model": {
                    "encoder": str(self.models["encoder"]),
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
                    "max_loss_ratio": 1.10,
                    "lexicons": [str(self.world.dictionaries)],
                    "words_per_language": 100,
                },
                "training": _bridge_training(s1, packing=cfg.packing),
            },
            "LinguaLIFT stage 1: the alignment layer on code-switched questions -> English chain of thought",
        )

    def lingualift_stage2(self, stage1: str) -> Path:
        """LinguaLIFT's stage 2: the LLM on English instructions through the bridge of the stage-1 run `stage1`."""
        cfg = self.cfg
        return write_step_config(
            "train",
            self.configs / "lingualift_stage2.yaml",
            {
                "recipe": "lingualift_stage2",
                "name": "lingualift_stage2",
                "output_dir": str(self.runs / "lingualift_stage2"),
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
                "training": _bridge_training(cfg.sft, packing=cfg.packing),
            },
            "LinguaLIFT stage 2: the LM on English instructions through the frozen bridge",
        )

    def job(self, name: str, steps: list[tuple[str, Path]], after: list[str] = ()) -> Job:
        """The steps (verb, config) run one after the other in one child process."""
        return Job(
            name,
            [[verb, str(path)] for verb, path in steps],
            self.runs / "logs" / f"{name}.log",
            list(after),
            configs=[path for _, path in steps],
        )


def _bridge_training(steps: Steps, packing: bool) -> dict[str, Any]:
    """`_training` for the LinguaLIFT recipes, which take the learning rate per part (`optim`), not here."""
    return {k: v for k, v in _training(steps, packing=packing).items() if k != "learning_rate"}


def control_stage1_job(s: SeedSteps) -> Job:
    header = "control, step 1: the LLM itself on the stage-1 pairs (no encoder)"
    return s.job(
        "control_stage1", [("train", s.sft("control_stage1", s.models["llm"], s.data["stage1_sft"], header))]
    )


def baseline_job(s: SeedSteps) -> Job:
    train = s.sft("baseline", s.models["llm"], s.data["english"], "baseline: English-only SFT")
    return s.job("baseline", [("train", train), ("eval", s.evaluate("baseline", s.model("baseline")))])


def crossin_job(s: SeedSteps) -> Job:
    header = "CrossIn: English + mixed-language data"
    train = s.sft("crossin", s.models["llm"], s.data["crossin"], header, steps=s.cfg.crossin)
    return s.job("crossin", [("train", train), ("eval", s.evaluate("crossin", s.model("crossin")))])


def plug_job(s: SeedSteps) -> Job:
    """PLUG trains with its own prompt (tulu) on answers twice as long, and is evaluated on the target-language
    part of its answers (`plug`) and on English (`plug_en`)."""
    train = s.sft(
        "plug",
        s.models["llm"],
        s.data["plug"],
        "PLUG: pivot-first targets",
        template="tulu",
        max_length=2 * s.cfg.max_length,
        steps=s.cfg.plug,
    )
    evaluations = [("eval", s.evaluate("plug", s.model("plug"), task)) for task in ("plug", "plug_en")]
    return s.job("plug", [("train", train), *evaluations])


def control_job(s: SeedSteps) -> Job:
    header = "control, step 2: the same English SFT as the baseline"
    train = s.sft("control", s.model("control_stage1"), s.data["english"], header)
    return s.job(
        "control",
        [("train", train), ("eval", s.evaluate("control", s.model("control")))],
        after=["control_stage1"],
    )


@dataclass
class SeedPlan:
    """One seed's jobs: `first` need only the pretrained models; `stage1` is LinguaLIFT's stage 1 (its run in
    `stage1_dir`), `stage2` its stage 2 and evaluation, run once stage 1 passed its check; `evals`: method -> its
    result folders."""

    first: list[Job]
    stage1: Job
    stage1_dir: Path
    stage2: Job
    evals: dict[str, list[Path]]


def method_jobs(
    world: World,
    cfg: DemoConfig,
    models: dict[str, Path],
    seed: int,
    out: Path,
    data: dict[str, Path],
    tasks: dict[str, Path],
    stage1_attempt: int = 0,
) -> SeedPlan:
    """The configs and jobs of one seed: each method trains and is evaluated in one job."""
    s = SeedSteps(world, cfg, models, seed, out, data, tasks)
    stage1 = f"lingualift_stage1_try{stage1_attempt}" if stage1_attempt else "lingualift_stage1"
    stage1_job = s.job(stage1, [("train", s.lingualift_stage1(stage1, stage1_attempt))])
    stage2_config = s.lingualift_stage2(stage1)
    first = [control_stage1_job(s), baseline_job(s), crossin_job(s), plug_job(s), control_job(s)]
    # LinguaLIFT's evaluation is built last: `evals` keeps the order baseline, crossin, plug, control, lingualift
    evaluation = s.evaluate("lingualift", s.model("lingualift_stage2"))
    stage2_job = s.job("lingualift", [("train", stage2_config), ("eval", evaluation)])
    return SeedPlan(first, stage1_job, s.runs / stage1, stage2_job, s.evals)


# ---------------------------------------------------------------------------------------------------- run


def run_demo(cfg: DemoConfig, out: str | Path, *, echo=print) -> Path:
    """Run the whole comparison (every seed), write the report, and return the report's path."""
    from crosslift.synth.report import write_report

    out = Path(out)
    started = time.monotonic()
    timings: dict[str, float] = {}
    quiet = ("FutureWarning", "warnings.warn", "UserWarning", "Loading weights")

    echo(f"world: generating '{cfg.world}' into {out / 'world'}")
    t = time.monotonic()
    world = build_world(load_world_config(cfg.world), out / "world")
    register_languages(world.languages_file)
    timings["world"] = time.monotonic() - t

    echo(
        "pretraining: a tokenizer, the LLM (imbalanced corpus) and the encoder (balanced corpus), side by side"
    )
    cache, jobs = prepare_pretraining(world, cfg)
    models = {"llm": cache / "llm" / "model", "encoder": cache / "encoder" / "model"}
    tasks = _task_files(world, cfg, out)
    # Every step's config is built now: an invalid one stops the demo before any step runs.
    plans = {
        seed: method_jobs(world, cfg, models, seed, out, method_data_files(out, seed), tasks)
        for seed in cfg.seeds
    }
    timings |= {f"pretrain:{k}": v for k, v in run_jobs(jobs, echo=echo, quiet_lines=quiet).items()}

    results: dict[int, dict[str, Any]] = {}
    for seed in cfg.seeds:
        echo(f"seed {seed}: training and evaluating the five methods ({len(cfg.seeds)} seed(s) in all)")
        done, results[seed] = _run_seed(
            world, cfg, models, seed, out, tasks, plans[seed], echo=echo, quiet=quiet
        )
        timings |= {f"seed{seed}:{k}": v for k, v in done.items() if v}
    timings["total"] = time.monotonic() - started
    return write_report(world, cfg, out, results, timings)


def _run_seed(
    world: World,
    cfg: DemoConfig,
    models: dict[str, Path],
    seed: int,
    out: Path,
    tasks: dict[str, Path],
    plan: SeedPlan,
    *,
    echo,
    quiet: tuple[str, ...],
) -> tuple[dict[str, float], dict[str, Any]]:
    """Every method of one seed: (job -> wall seconds, where its results and its stage 1 are)."""
    data = method_data_files(out, seed)
    build_method_data(world, cfg, seed, data)
    stage1_as_sft(data["stage1"], data["stage1_sft"])
    restarts = 0

    def after_stage1() -> list[Job]:
        """Stage 2 once stage 1 passed its check (or ran out of restarts), else stage 1 again."""
        nonlocal plan, restarts
        if _check_passed(plan.stage1_dir) or restarts >= cfg.stage1.restarts:
            return [plan.stage2]
        restarts += 1
        echo(
            f"seed {seed}: stage 1 failed its alignment check; restarting it with another seed "
            f"({restarts}/{cfg.stage1.restarts}), as the check advises"
        )
        plan = method_jobs(world, cfg, models, seed, out, data, tasks, stage1_attempt=restarts)
        plan.stage1.then = after_stage1
        return [plan.stage1]

    # stage 1 first: it and stage 2 after it are the longest chain; the other methods fill the second slot
    plan.stage1.then = after_stage1
    done = run_jobs([plan.stage1, *plan.first], echo=echo, quiet_lines=quiet)
    return done, {
        "task_dirs": plan.evals,
        "stage1": str(plan.stage1_dir),
        "stage1_restarts": restarts,
        "stage1_passed": _check_passed(plan.stage1_dir),
    }


def _check_passed(stage1_run: Path) -> bool:
    path = stage1_run / "alignment_check.json"
    return path.is_file() and bool(json.loads(path.read_text(encoding="utf-8")).get("passed"))
