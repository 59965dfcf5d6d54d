"""The `crosslift data` verbs: what each one makes of its spec (`crosslift.data.specs`).

Every verb that writes data writes JSONL atomically plus `<out>.manifest.json` next to it (inputs' hashes,
the spec, counts per language, package versions): `build(spec, out)` runs one and writes both.

`crosslift.cli.data` puts the verbs on the command line and prints what they return; `crosslift.data.sources`
runs one for a training source's `build:`. Heavy imports stay inside the functions.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from crosslift.data.specs import (
    BuildSpec,
    CodeswitchSpec,
    CrossinSpec,
    LexiconStatsSpec,
    MindmergerSpec,
    MixSpec,
    ParallelInputSpec,
    PlugSpec,
    QalignSpec,
    ToyInput,
    ToySpec,
    TranslateSpec,
    ValidateSpec,
)
from crosslift.errors import ConfigError

if TYPE_CHECKING:
    from crosslift.data.examples import Example, ParallelSet
    from crosslift.data.translate import TranslationReport


def manifest_path(out: Path) -> Path:
    """cs.jsonl -> cs.manifest.json"""
    return out.with_name(f"{out.stem}.manifest.json")


def _language_files(files: Mapping[str, Path]) -> dict[str, Path]:
    """{'eng': a.json} -> {'en': Path('a.json')}: codes normalized through the language registry."""
    from crosslift.languages import normalize_code

    return {normalize_code(lang): Path(path) for lang, path in files.items()}


def _manifest(
    examples: list[Example], *, spec: BuildSpec, inputs: list, seed: int | None = None, **extra: Any
) -> dict[str, Any]:
    """The manifest of an example file: provenance, the spec, counts per language (`build` adds the output)."""
    from crosslift.runs import provenance

    langs = Counter(f"{ex.instruction_lang}->{ex.output_lang}" for ex in examples)
    return provenance(
        seed=seed,
        data_files=inputs,
        data_command=spec.verb,
        parameters=spec.model_dump(mode="json"),
        records=len(examples),
        languages=dict(sorted(langs.items())),
        **extra,
    )


# ---------------------------------------------------------------------------------------------- builders


def _weights(spec: CodeswitchSpec, languages: list[str]) -> dict[str, float]:
    from crosslift.languages import DEFAULT_TIER_RULE, load_tier_rule, normalize_code

    if spec.weights and spec.tier_weights:
        raise ConfigError("give --weights or --tier-weights, not both")
    if spec.weights:
        return {normalize_code(k): v for k, v in spec.weights.items()}
    if not spec.tier_weights:
        return {}
    rule = load_tier_rule(spec.tier_rule or DEFAULT_TIER_RULE)
    weights = {}
    for lang in languages:
        tier = rule.tier_of(lang)
        if tier not in spec.tier_weights:
            raise ConfigError(
                f"language {lang} is in tier {tier!r} of rule {rule.name}, which --tier-weights does not weigh"
            )
        weights[lang] = spec.tier_weights[tier]
    return weights


def _toy_parallel(spec: ToyInput, languages: list[str]) -> tuple[ParallelSet, list[str]]:
    """The toy parallel set a spec asks for (English and `languages`), and what its manifest says was read."""
    from crosslift.data.toy import toy_parallel

    parallel = toy_parallel(languages, spec.toy_items, spec.toy_seed)
    return parallel, [f"toy parallel set: {spec.toy_items} items, seed {spec.toy_seed}"]


def codeswitch_data(spec: CodeswitchSpec) -> tuple[list[Example], dict[str, Any]]:
    """`crosslift data codeswitch`: the code-switched examples, and a manifest with per-language switching
    statistics, what was skipped, the held-out lexicon share and the lexicons read."""
    from crosslift.data.codeswitch import (
        DEFAULT_PROTECT,
        CodeSwitcher,
        codeswitch_file,
        codeswitch_records,
        parallel_table,
        switching_stats,
    )
    from crosslift.data.examples import read_parallel_text
    from crosslift.data.lexicon import load_lexicons
    from crosslift.data.options import ReadOptions
    from crosslift.languages import normalize_code

    languages = [normalize_code(code) for code in spec.languages]
    lexicons = load_lexicons(
        spec.lexicon,
        languages,
        merge=spec.merge,
        skip_invalid=spec.lexicon_skip_invalid,
        download=spec.download,
    )
    parallel_files = _language_files(spec.parallel)
    parallel = None
    if parallel_files:
        texts = read_parallel_text(
            parallel_files, ReadOptions(encoding=spec.encoding), field=spec.parallel_field
        )
        parallel = parallel_table(texts)
    switcher = CodeSwitcher(
        lexicons,
        ratio=spec.ratio,
        languages=languages,
        weights=_weights(spec, languages),
        seed=spec.seed,
        pick=spec.pick,
        protect_names=spec.protect_names,
        protect=DEFAULT_PROTECT if spec.protect is None else spec.protect,
        parallel=parallel,
        sentence_ratio=spec.sentence_ratio,
        holdout_share=spec.holdout_share,
        holdout_seed=spec.holdout_seed,
    )
    if spec.input is not None:
        examples, report = codeswitch_file(
            spec.input,
            spec,
            field=spec.field,
            switcher=switcher,
            style=spec.style,
            skip_invalid=spec.skip_invalid,
        )
        inputs = [spec.input]
    else:
        from crosslift.data.toy import SOURCE, toy_records

        records = toy_records(spec.toy_items, spec.toy_seed)
        examples, report = codeswitch_records(
            (({"path": SOURCE, "record": i}, r) for i, r in enumerate(records)),
            spec,
            source=SOURCE,
            field=spec.field,
            switcher=switcher,
            style=spec.style,
            skip_invalid=spec.skip_invalid,
        )
        inputs = []
    manifest = _manifest(
        examples,
        spec=spec,
        seed=spec.seed,
        inputs=[*inputs, *[f for lex in lexicons.values() for f in lex.files], *parallel_files.values()],
        read=report.summary(),
        skipped=dict(report.skipped),
        codeswitch=switching_stats(examples),
        held_out=switcher.holdout
        and switcher.holdout | {"entries": {k: len(v) for k, v in switcher.held_out.items()}},
        lexicons={
            lang: {"entries": len(lex), "files": lex.files, "stats": dict(lex.stats)}
            for lang, lex in lexicons.items()
        },
    )
    return examples, manifest


def crossin_data(spec: CrossinSpec) -> tuple[list[Example], dict[str, Any]]:
    """`crosslift data crossin`: the CrossIn mix, and a manifest with the examples per mode."""
    from crosslift.data.crossin import build_crossin
    from crosslift.data.examples import read_examples, read_parallel
    from crosslift.languages import normalize_code

    files = _language_files(spec.parallel)
    targets = [normalize_code(t) for t in spec.targets] if spec.targets else None
    parallel, parallel_read = None, []
    if files:
        parallel = read_parallel(files, spec, align=spec.align)
        parallel_read = [r.summary() for r in parallel.reports]
    elif spec.toy_items is not None:
        parallel, parallel_read = _toy_parallel(spec, targets)
    base, reports = [], []
    for path in spec.base:
        got, report = read_examples(
            path, spec.base_options, skip_invalid=spec.skip_invalid, instruction_lang="en", output_lang="en"
        )
        base += got
        reports.append(report.summary())
    if spec.base_toy_items is not None:
        from crosslift.data.toy import PIVOT, toy_parallel

        toy = toy_parallel([], spec.base_toy_items, spec.toy_seed + 1)
        base += [toy.get(item_id, PIVOT) for item_id in toy.ids]
        reports.append(f"toy English problems: {spec.base_toy_items} items, seed {spec.toy_seed + 1}")
    examples = build_crossin(
        parallel,
        base,
        modes=spec.modes,
        size=spec.size,
        targets=targets,
        seed=spec.seed,
        sampling=spec.sampling,
    )
    counts = Counter(ex.meta["crossin"]["mode"] for ex in examples)
    manifest = _manifest(
        examples,
        spec=spec,
        seed=spec.seed,
        inputs=[*files.values(), *spec.base],
        modes=dict(counts),
        parallel_items=len(parallel) if parallel else 0,
        base_read=reports,
        parallel_read=parallel_read,
    )
    return examples, manifest


def plug_data(spec: PlugSpec) -> tuple[list[Example], dict[str, Any]]:
    """`crosslift data plug`: PLUG examples (or the monolingual baseline), and a manifest with the item count."""
    from crosslift.data.examples import read_parallel
    from crosslift.data.plug import build_plug
    from crosslift.data.toy import PIVOT
    from crosslift.languages import normalize_code

    if spec.toy_items is not None:
        pivot, targets, files = PIVOT, [normalize_code(t) for t in spec.targets or []], {}
        parallel, read = _toy_parallel(spec, targets)
    else:
        pivot_files, target_files = _language_files(spec.pivot), _language_files(spec.target)
        pivot, targets, files = next(iter(pivot_files)), list(target_files), pivot_files | target_files
        parallel = read_parallel(files, spec, align=spec.align)
        read = [r.summary() for r in parallel.reports]
    if pivot in targets:
        raise ConfigError(f"the pivot language {pivot} is also a target")
    examples = build_plug(
        parallel,
        targets=targets,
        pivot=pivot,
        monolingual=spec.monolingual,
        pivot_instruction_label=spec.pivot_label if spec.pivot_instruction else None,
    )
    manifest = _manifest(examples, spec=spec, inputs=list(files.values()), items=len(parallel), read=read)
    return examples, manifest


def _parallel_input(spec: ParallelInputSpec) -> tuple[ParallelSet, str, list[str], list[Path], list[str]]:
    """The parallel set a spec names (its files, or the toy set), its pivot, the languages mapped onto it (none
    given: every other one), the files read, and what reading each did."""
    from crosslift.data.examples import read_parallel
    from crosslift.data.toy import PIVOT
    from crosslift.languages import normalize_code

    pivot = normalize_code(spec.pivot_language)
    languages = [normalize_code(code) for code in spec.languages or []]
    if spec.toy_items is not None:
        if pivot != PIVOT:
            raise ConfigError(f"the toy parallel set is English and ciphers of it: its pivot is {PIVOT}")
        parallel, read = _toy_parallel(spec, languages)
        return parallel, pivot, languages, [], read
    files = _language_files(spec.parallel)
    if pivot not in files:
        raise ConfigError(f"--parallel needs the pivot's file ({pivot}=FILE)")
    parallel = read_parallel(files, spec, align=spec.align)
    return parallel, pivot, languages, list(files.values()), [r.summary() for r in parallel.reports]


def qalign_data(spec: QalignSpec) -> tuple[list[Example], dict[str, Any]]:
    """`crosslift data qalign`: QAlign's question-translation examples, and a manifest with the item count."""
    from crosslift.data.to_english import question_translation

    parallel, pivot, languages, files, read = _parallel_input(spec)
    examples = question_translation(parallel, pivot=pivot, languages=languages, instruction=spec.instruction)
    return examples, _manifest(examples, spec=spec, inputs=files, items=len(parallel), read=read)


def mindmerger_data(spec: MindmergerSpec) -> tuple[list[Example], dict[str, Any]]:
    """`crosslift data mindmerger`: mapping pairs or query-translated task data, and a manifest."""
    from crosslift.data.to_english import mapping_pairs, query_translated

    if spec.stage == "mapping" and spec.include_pivot:
        raise ConfigError(
            "--include-pivot applies to the augmentation stage (a pivot -> pivot pair maps nothing)"
        )
    parallel, pivot, languages, files, read = _parallel_input(spec)
    if spec.stage == "mapping":
        examples = mapping_pairs(parallel, pivot=pivot, languages=languages)
    else:
        examples = query_translated(
            parallel, pivot=pivot, languages=languages, include_pivot=spec.include_pivot
        )
    return examples, _manifest(examples, spec=spec, inputs=files, items=len(parallel), read=read)


def toy_data(spec: ToySpec) -> tuple[list[Example], dict[str, Any]]:
    """`crosslift data toy`: the toy problems in each language (item by item), and a manifest."""
    from crosslift.data.toy import toy_parallel
    from crosslift.languages import normalize_code

    languages = list(dict.fromkeys(normalize_code(code) for code in spec.languages))
    parallel = toy_parallel(languages, spec.items, spec.seed)
    examples = [parallel.get(item_id, lang) for item_id in parallel.ids for lang in languages]
    return examples, _manifest(examples, spec=spec, seed=spec.seed, inputs=[], items=len(parallel))


def mix_data(spec: MixSpec) -> tuple[list[Example], dict[str, Any]]:
    """`crosslift data mix`: the epochs of a weighted mixture, and a manifest with the examples per source."""
    from crosslift.data.crossin import mix_epochs
    from crosslift.data.examples import read_examples

    sources, reports = [], []
    for path in spec.source:
        examples, report = read_examples(path, spec, skip_invalid=spec.skip_invalid)
        sources.append(examples)
        reports.append(report.summary())
    weights = list(spec.source.values())
    examples = mix_epochs(sources, weights, size=spec.size, epochs=spec.epochs, seed=spec.seed)
    manifest = _manifest(
        examples,
        spec=spec,
        seed=spec.seed,
        inputs=[Path(path) for path in spec.source],
        per_source=dict(Counter(ex.source for ex in examples)),
        read=reports,
    )
    return examples, manifest


def translate_data(
    spec: TranslateSpec, out: Path, progress: Callable[[int, int], None] | None = None
) -> tuple[TranslationReport, dict[str, Any]]:
    """`crosslift data translate`: translate into `out` (resuming what is there), and return what happened and
    the manifest. The translations are appended as they arrive, so unlike the other builders this one writes
    its output itself.

    Args:
        progress: called with (done, total) as items finish.
    """
    from crosslift.data.examples import read_examples
    from crosslift.data.translate import GENERIC_PROMPT, PROMPTS, translate_examples
    from crosslift.languages import normalize_code
    from crosslift.models.endpoint import EndpointClient
    from crosslift.runs import provenance

    lang = normalize_code(spec.language)
    examples, read_report = read_examples(
        spec.input, spec, skip_invalid=spec.skip_invalid, instruction_lang="en", output_lang="en"
    )
    client = EndpointClient(
        spec.base_url,
        spec.model,
        api_key_env=spec.api_key_env,
        timeout_s=spec.timeout,
        max_retries=spec.max_retries,
        concurrency=spec.concurrency,
    )
    report = translate_examples(
        examples,
        lang,
        client,
        out,
        split_retries=spec.max_retries,
        progress=progress,
        temperature=spec.temperature,
        max_tokens=spec.max_tokens,
    )
    manifest = provenance(
        data_files=[spec.input],
        output=str(out),
        data_command="translate",
        language=lang,
        models={"translator": spec.model},
        endpoint=spec.base_url,
        prompt=PROMPTS.get(lang, GENERIC_PROMPT),
        generation={"temperature": spec.temperature, "max_tokens": spec.max_tokens},
        read=read_report.summary(),
        records=report.resumed + report.translated,
        report=vars(report)
        | {
            "failed_splits": dict(report.failed_splits),
            "failed_requests": dict(report.failed_requests),
            "failed_ids": report.failed_ids[:100],
        },
    )
    return report, manifest


BUILDERS: dict[str, Callable[[Any], tuple[list[Example], dict[str, Any]]]] = {
    "codeswitch": codeswitch_data,
    "crossin": crossin_data,
    "plug": plug_data,
    "qalign": qalign_data,
    "mindmerger": mindmerger_data,
    "toy": toy_data,
    "mix": mix_data,
}


def build(
    spec: BuildSpec, out: Path, *, progress: Callable[[int, int], None] | None = None
) -> dict[str, Any]:
    """Run a verb that writes data (codeswitch, crossin, plug, qalign, mindmerger, toy, mix, translate), write its
    output and manifest;
    returns the manifest.

    Args:
        progress: translate only: called with (done, total) as items finish.

    Raises:
        ConfigError: a spec of a verb that writes no data file.
    """
    from crosslift.data.examples import write_examples
    from crosslift.io import atomic_write_json

    out = Path(out)
    if isinstance(spec, TranslateSpec):
        _, manifest = translate_data(spec, out, progress)
    elif spec.verb in BUILDERS:
        examples, manifest = BUILDERS[spec.verb](spec)
        manifest["output"] = str(out)
        write_examples(out, examples)
    else:
        raise ConfigError(
            f"`crosslift data {spec.verb}` writes no data file (the ones that do: "
            f"{', '.join([*BUILDERS, 'translate'])})"
        )
    atomic_write_json(manifest_path(out), manifest)
    return manifest


# ---------------------------------------------------------------------------------------------- stats, validate


def _corpus_texts(spec: LexiconStatsSpec) -> list[str]:
    """The texts of the corpus's `field`, up to its `limit`."""
    from crosslift.data.records import iter_records
    from crosslift.errors import DataError

    texts: list[str] = []
    for location, record in iter_records(spec.corpus, spec):
        if spec.limit is not None and len(texts) >= spec.limit:
            break
        value = record.get(spec.field) if isinstance(record, dict) else None
        if not isinstance(value, str):
            raise DataError(
                "missing field" if value is None else "expected a string", field=spec.field, **location
            )
        texts.append(value)
    return texts


def lexicon_stats(spec: LexiconStatsSpec, out: Path | None = None) -> dict[str, dict[str, Any]]:
    """`crosslift data lexicon-stats`: per language, the lexicons' entries, phrases, translations, files, read
    statistics and, with a corpus, their coverage of it; also written to `out` (with provenance) when given."""
    from crosslift.data.lexicon import coverage, load_lexicons
    from crosslift.io import atomic_write_json
    from crosslift.runs import provenance

    lexicons = load_lexicons(
        spec.lexicon, spec.languages, merge=spec.merge, skip_invalid=spec.skip_invalid, download=spec.download
    )
    texts = _corpus_texts(spec) if spec.corpus is not None else []
    figures = {}
    for lang, lex in sorted(lexicons.items()):
        figures[lang] = {
            "entries": len(lex),
            "phrases": lex.phrases,
            "translations": sum(map(len, lex.entries.values())),
            "max_words": lex.max_words,
            "files": lex.files,
            "stats": dict(lex.stats),
        }
        if texts:
            figures[lang]["coverage"] = coverage(lex, texts)
    if out is not None:
        inputs = [p for f in figures.values() for p in f["files"]] + ([spec.corpus] if spec.corpus else [])
        atomic_write_json(out, provenance(data_files=inputs, lexicons=figures, corpus_texts=len(texts)))
    return figures


def validation_report(spec: ValidateSpec, out: Path | None = None) -> dict[str, Any]:
    """`crosslift data validate`: the report of `crosslift.data.validate.validate_file`, also written to `out`
    when given."""
    from crosslift.data.validate import validate_file
    from crosslift.io import atomic_write_json

    report = validate_file(spec.path, spec, max_errors=spec.max_errors)
    if out is not None:
        atomic_write_json(out, report)
    return report
