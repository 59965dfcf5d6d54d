"""The demo's pretrained models: the "English-strong LLM" and the multilingual encoder, and what they know.

In the real setting, LinguaLIFT, CrossIn and PLUG start from models someone else pretrained; so does the demo.
For the default world and settings at pretraining seed 0 the two models ship with crosslift
(`crosslift/resources/synth_models/<key>/`, half precision, with their tokenizer, config and a manifest naming
what made them); any other world, setting or seed is pretrained here through the ordinary `pretrain` recipe and
cached under $CROSSLIFT_CACHE/synth/<key>/. Either way the methods start from the same thing: the weights rounded
to half precision (`half/`), loaded as float32.

    key = pretraining_key(world, cfg, seed)      # the world's hash, the pretraining settings, the seed
    p = prepare_pretraining(world, cfg, seed)    # shipped models copied in, or the two pretraining jobs
    run_jobs(p.jobs); models = p.finish()        # {"llm": .../llm/half, "encoder": .../encoder/half}
    probe(world, models, layer)                  # cross-lingual retrieval of both, before any bridge

`python tools/ship_demo_models.py` pretrains the default world's models at seed 0 and puts them in the package
(each version stays in git history); any change to the world or the pretraining settings changes the key, and
the demo then pretrains instead of using them.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from crosslift.io import atomic_write_json, atomic_write_text, read_jsonl_tolerant, sha256_file
from crosslift.synth.config import DemoConfig
from crosslift.synth.jobs import Job
from crosslift.synth.world import World

MODELS = ("llm", "encoder")
MANIFEST = "manifest.json"
# How often the tokenizer sees the templates' text: at 50 copies among the corpus's ~26k lines BPE left "Below" in
# five pieces and the metamath prompt cost 112 tokens for a 21-token question; at 500, 44.
SCAFFOLD_COPIES = 500


def shipped_root() -> Path:
    """Where the package keeps its pretrained demo models (one folder per key)."""
    return Path(str(resources.files("crosslift").joinpath("resources", "synth_models")))


def cache_root() -> Path:
    from crosslift.models.tiny.cache import cache_dir

    return cache_dir() / "synth"


def scaffold_texts() -> list[str]:
    """The prompt templates' fixed English text, so the tokenizer has whole-word tokens for it, as a real LLM's
    tokenizer has for common English (it is in every prompt)."""
    from crosslift.data.plug import MONOLINGUAL_SYSTEM, PIVOT_INSTRUCTION_LABEL, PLUG_SYSTEM
    from crosslift.data.templates import MetamathTemplate

    metamath = MetamathTemplate.prompt.format(question_word="Question:", question="")
    qa = "Question:\nAnswer:"
    tulu = "<|system|>\n<|user|>\n<|assistant|>\n"
    return [metamath, qa, tulu, PLUG_SYSTEM, MONOLINGUAL_SYSTEM, PIVOT_INSTRUCTION_LABEL, "English response:"]


def pretraining_key(world: World, cfg: DemoConfig, seed: int) -> str:
    """sha256 of everything the pretrained models depend on: equal keys, interchangeable models. That is the two
    corpora (not the rest of the world: a world that differs only in its instructions or benchmarks, such as
    `low_untranslated`, shares the default world's models), the languages' names (PLUG's response markers are in
    the tokenizer's text), the pretraining settings and the seed."""
    files = json.loads(world.manifest.read_text(encoding="utf-8"))[
        "files"
    ]  # sha256 of every file of the world
    corpora = [
        files[str(path.relative_to(world.root))] for path in (world.pretrain_corpus, world.encoder_corpus)
    ]
    names = [(spec.code, spec.name) for spec in world.config.languages]
    settings = [corpora, names, cfg.pretrain.model_dump(), scaffold_texts(), SCAFFOLD_COPIES, seed]
    return hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()


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


@dataclass
class Pretraining:
    """One pretraining seed's models: where they are, and the jobs still to run (none when shipped or cached)."""

    root: Path
    key: str
    seed: int
    source: str  # "shipped", "cache" or "pretrained here"
    jobs: list[Job] = field(default_factory=list)

    @property
    def models(self) -> dict[str, Path]:
        return {name: self.root / name / "half" for name in MODELS}

    def finish(self) -> dict[str, Path]:
        """The models the methods start from: each pretrained model rounded to half precision (once)."""
        for name in MODELS:
            if not (self.root / name / "half" / MANIFEST).is_file():
                _export_half(self.root / name / "model", self.root / name / "half", self.key, self.seed)
        return self.models


def _export_half(model_dir: Path, out: Path, key: str, seed: int) -> None:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32).half()
    tmp = out.with_name(out.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    model.save_pretrained(tmp)
    AutoTokenizer.from_pretrained(model_dir).save_pretrained(tmp)
    files = {p.name: sha256_file(p) for p in sorted(tmp.iterdir())}
    atomic_write_json(tmp / MANIFEST, {"key": key, "pretraining_seed": seed, "files": files})
    shutil.rmtree(out, ignore_errors=True)
    tmp.replace(out)


def _shipped(key: str) -> Path | None:
    folder = shipped_root() / key[:16]
    try:
        manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return folder if manifest.get("key") == key else None


def prepare_pretraining(world: World, cfg: DemoConfig, seed: int, *, shipped: bool = True) -> Pretraining:
    """The models of one pretraining seed: the cached ones when they are there, the shipped ones when the key
    matches (and `shipped`), else a tokenizer, two random models and the two pretraining jobs (run them, then
    `finish()`)."""
    from crosslift.data.plug import response_marker
    from crosslift.models.tiny.architectures import random_tiny_model
    from crosslift.models.tiny.tokenizers import train_llama_tokenizer
    from crosslift.synth.steps import training_section, write_step_config

    key = pretraining_key(world, cfg, seed)
    root = cache_root() / key[:16]
    if all((root / name / "half" / MANIFEST).is_file() for name in MODELS):
        return Pretraining(root, key, seed, "cache")
    if shipped and (folder := _shipped(key)) is not None:
        for name in MODELS:
            shutil.rmtree(root / name / "half", ignore_errors=True)
            shutil.copytree(folder / name, root / name / "half")
        return Pretraining(root, key, seed, "shipped")

    init = root / "init"
    if not (init / "encoder" / "config.json").is_file():
        lines = _tokenizer_lines(world) + scaffold_texts() * SCAFFOLD_COPIES
        for language in world.languages[1:]:  # PLUG's response markers name the languages
            lines += [response_marker(language)] * 20
        tokenizer = train_llama_tokenizer(lines, vocab_size=cfg.pretrain.vocab_size)
        for index, name in enumerate(MODELS):
            model = random_tiny_model("llama", tokenizer, 2 * seed + index)
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
        config = write_step_config(
            "train",
            root / "configs" / f"pretrain_{name}.yaml",
            {
                "recipe": "pretrain",
                "name": f"synth_{name}",
                "output_dir": str(root / name),
                "seed": seed,
                "model": {"name_or_path": str(init / name), "dtype": "float32"},
                "data": {"train": [{"path": str(cached_corpus)}], "block_size": cfg.pretrain.block_size},
                "training": training_section(steps),
            },
            f"pretraining of the synthetic world's {name} (pretraining seed {seed})",
        )
        log = root / "logs" / f"{name}.log"
        jobs.append(Job(f"pretrain{seed}-{name}", [["train", str(config)]], log, configs=[config]))
    return Pretraining(root, key, seed, "pretrained here", jobs)


def ship(pretraining: Pretraining, world: World, cfg: DemoConfig, dest: Path | None = None) -> Path:
    """Copy finished models into the package's shipped folder (`dest`, default `shipped_root()`), replacing any
    other version there, with a manifest naming the world, the settings and every file's hash."""
    dest = dest or shipped_root()
    folder = dest / pretraining.key[:16]
    for old in (p for p in dest.iterdir() if p.is_dir()) if dest.is_dir() else ():
        shutil.rmtree(old)
    for name, path in pretraining.finish().items():
        shutil.copytree(path, folder / name)
    atomic_write_json(
        folder / MANIFEST,
        {
            "key": pretraining.key,
            "pretraining_seed": pretraining.seed,
            "world": {"name": world.config.name, "hash": world.hash},
            "pretrain": cfg.pretrain.model_dump(mode="json"),
            "dtype": "float16",
            "made_by": "python tools/ship_demo_models.py",
            "files": {
                str(p.relative_to(folder)): sha256_file(p) for p in sorted(folder.rglob("*")) if p.is_file()
            },
        },
    )
    return folder


# ---------------------------------------------------------------------------------------------------- probe


def probe(world: World, models: dict[str, Path], layer: int, out: Path) -> dict[str, Any]:
    """Cross-lingual retrieval with each model's own hidden states at `layer` (the layer a bridge reads), per
    language: dev questions against their English versions, and lexicon words against their English words.
    Written to `out` (and reused while the models and world are the same)."""
    stamp = {"world": world.hash, "models": {k: str(v) for k, v in models.items()}, "layer": layer}
    if out.is_file():
        cached = json.loads(out.read_text(encoding="utf-8"))
        if cached.get("stamp") == stamp:
            return cached
    import torch
    from transformers import AutoModel, AutoTokenizer

    from crosslift.models.probe import retrieval

    english = [item["question"] for item in json.loads(world.math("dev", "en").read_text(encoding="utf-8"))]
    result: dict[str, Any] = {"stamp": stamp, "layer": layer}
    for name, path in models.items():
        model = AutoModel.from_pretrained(path, dtype=torch.float32).eval()
        tokenizer = AutoTokenizer.from_pretrained(path)
        per_language = {}
        for lang in world.languages[1:]:
            dev = json.loads(world.math("dev", lang).read_text(encoding="utf-8"))
            sentences = list(zip((item["question"] for item in dev), english, strict=True))
            lexicon = (world.lexicons / f"en-{lang}.txt").read_text(encoding="utf-8").split("\n")
            words = [tuple(reversed(line.split(" "))) for line in lexicon if line]
            per_language[lang] = {
                "sentences": retrieval(model, tokenizer, sentences, layer),
                "words": retrieval(model, tokenizer, words, layer),
            }
        result[name] = per_language
    atomic_write_json(out, result)
    return result
