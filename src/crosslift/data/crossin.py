"""CrossIn's cross-lingual instruction mixes (methods.md §2.2), and weighted mixtures of data sources.

Input: an English "complex task" set (Platypus in the paper; CTD) and a *parallel* instruction set (Alpaca in
en, zh, vi, es: item i is the same in every language; LUD). Each mode builds `size` examples from the parallel
set, drawing the item index uniformly WITH replacement and the other language x uniformly over the targets:

    base   (mode 0)  the English complex-task set, every example, unchanged
    en2x   (mode 1)  instruction = en instruction; input = en input + "\\n[x]"; output = x output
    x2en   (mode 2)  instruction = x instruction;  input = x input + "\\n[en]"; output = en output
    trans  (mode 3)  instruction = "Translate the following sentence into English."; input = x instruction;
                     output = en instruction
    x2x    (ours)    instruction in language a, response in language b != a, both uniform over en + targets;
                     input = a input + "\\n[b]". Not in the released builder: our reading of the paper's x2x.

The language tag goes on the *input* field, as in the released code, so an item without input gets input
"\\n[x]". The paper's sizes are N in {3000, 6000, 15000, all}; `size=None` means all (as many draws as the
parallel set has items).

Sampling (`sampling=`):

    coupled      (default, as released) ONE draw per example k, an (item, x) pair, used by every mode: en2x[k],
                 x2en[k] and trans[k] are the same item in the same language x, so in the paper's 0-1-3 mixture
                 the translation pairs cover exactly the items and languages of the en2x examples. x2x[k] takes the
                 same item, its language pair from a generator of its own. Modes of different sizes take the
                 first n of the shared draws. Dropping a mode never changes the others.
    independent  each mode draws from its own generator seeded by (seed, mode number): the modes cover different
                 items and languages (crosslift's earlier behaviour).

`mix` samples a weighted mixture of sources with exact per-source counts, reseeded per epoch.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import get_args

import numpy as np

from crosslift.data.examples import Example, ParallelSet
from crosslift.data.specs import MODE_NUMBERS, MODES, Sampling, parse_modes
from crosslift.errors import ConfigError, DataError

SAMPLING = get_args(Sampling)
TRANS_INSTRUCTION = "Translate the following sentence into English."


def _tagged(text: str, lang: str) -> str:
    return f"{text}\n[{lang}]"


def build_crossin(
    parallel: ParallelSet | None,
    base: Sequence[Example] = (),
    *,
    modes: Sequence[str] = ("base", "en2x", "x2en", "trans"),
    size: int | Mapping[str, int] | None = None,
    targets: Sequence[str] | None = None,
    pivot: str = "en",
    seed: int = 0,
    sampling: str = "coupled",
) -> list[Example]:
    """Build a CrossIn training set: the base examples, then each parallel mode in the order given.

    Args:
        parallel: the parallel instruction set (needed by every mode but base).
        base: the English complex-task examples of mode "base".
        size: examples per parallel mode (one number, or per mode); None = len(parallel).
        targets: the non-English languages x (default: every language of `parallel` but the pivot).
        pivot: the English side.
        sampling: "coupled" (one (item, language) draw per example shared by every mode, as released) or
            "independent" (one generator per mode); see the module docstring.

    Returns:
        Examples with `meta["crossin"] = {"mode", "item", "langs"}` and instruction/output languages set.
    """
    modes = parse_modes(modes)
    if sampling not in SAMPLING:
        raise ValueError(f"sampling must be one of {', '.join(SAMPLING)}, got '{sampling}'")
    examples: list[Example] = []
    if "base" in modes:
        if not base:
            raise DataError("mode 'base' needs the English complex-task examples (base)")
        examples += [
            replace(
                ex,
                meta=ex.meta | {"crossin": {"mode": "base"}},
                instruction_lang=ex.instruction_lang or pivot,
                output_lang=ex.output_lang or pivot,
            )
            for ex in base
        ]
    parallel_modes = [m for m in modes if m != "base"]
    if not parallel_modes:
        return examples
    if parallel is None or not len(parallel):
        raise DataError(f"modes {', '.join(parallel_modes)} need a parallel instruction set")
    if pivot not in parallel.languages:
        raise DataError(f"the parallel set has no {pivot} side (languages: {', '.join(parallel.languages)})")
    targets = list(targets or [lang for lang in parallel.languages if lang != pivot])
    missing = [t for t in targets if t not in parallel.languages or t == pivot]
    if missing or not targets:
        raise DataError(
            f"target languages {missing or targets} are not non-{pivot} languages of the parallel set "
            f"({', '.join(parallel.languages)})"
        )
    sizes = {}
    for mode in parallel_modes:
        n = size.get(mode) if isinstance(size, Mapping) else size
        sizes[mode] = len(parallel) if n is None else n
        if sizes[mode] < 0:
            raise ConfigError(f"size of mode {mode} must be >= 0, got {sizes[mode]}")
    if sampling == "coupled":  # the released builder: one (item, x) draw per example, shared by every mode
        # Row k is drawn after rows 0..k-1, so the first n rows do not depend on how many are drawn in all.
        shared = np.random.default_rng([seed, len(MODES)]).integers(
            0, [len(parallel), len(targets)], size=(max(sizes.values()), 2)
        )
    for mode in parallel_modes:
        n = sizes[mode]
        rng = np.random.default_rng([seed, MODE_NUMBERS[mode]])
        if sampling == "coupled":
            items, xs = shared[:n, 0], shared[:n, 1]
        else:
            items = rng.integers(0, len(parallel), size=n)
            xs = None if mode == "x2x" else rng.integers(0, len(targets), size=n)
        if mode == "x2x":
            pairs = _language_pairs(rng, [pivot, *targets], n)
        else:
            pairs = [(targets[x], pivot) if mode in ("x2en", "trans") else (pivot, targets[x]) for x in xs]
        for k, (item, (a, b)) in enumerate(zip(items, pairs, strict=True)):
            item_id = parallel.ids[item]
            examples.append(_mode_example(mode, parallel.items[item_id], a, b, item_id, k))
    return examples


def _language_pairs(rng: np.random.Generator, languages: list[str], n: int) -> list[tuple[str, str]]:
    """n pairs (a, b), a uniform over `languages`, b uniform over the others."""
    if len(languages) < 2:
        raise DataError("x2x needs at least two languages")
    a = rng.integers(0, len(languages), size=n)
    b = rng.integers(0, len(languages) - 1, size=n)
    b = b + (b >= a)  # skip a itself: uniform over the other languages
    return [(languages[i], languages[j]) for i, j in zip(a, b, strict=True)]


def _mode_example(mode: str, item: Mapping[str, Example], a: str, b: str, item_id: str, k: int) -> Example:
    """One example of `mode` from a parallel item; instruction side in `a`, response side in `b`."""
    src, tgt = item[a], item[b]
    if mode == "trans":
        instruction, input_, output = TRANS_INSTRUCTION, src.instruction, tgt.instruction
    else:
        instruction, input_, output = src.instruction, _tagged(src.input, b), tgt.output
    return Example(
        id=f"{mode}-{k}-{item_id}",
        instruction=instruction,
        input=input_,
        output=output,
        instruction_lang=a,
        output_lang=b,
        source=src.source,
        meta={"crossin": {"mode": mode, "item": item_id, "langs": [a, b]}},
    )


# ---------------------------------------------------------------------------------------------- mixtures


def apportion(total: int, weights: Sequence[float]) -> list[int]:
    """Split `total` into integer counts proportional to `weights` (largest remainder; sums to `total`)."""
    if total < 0 or not weights or any(w < 0 for w in weights) or not sum(weights):
        raise ConfigError(
            f"need total >= 0 and weights >= 0 that are not all 0, got {total} and {list(weights)}"
        )
    shares = [total * w / sum(weights) for w in weights]
    counts = [int(s) for s in shares]
    by_remainder = sorted(range(len(shares)), key=lambda i: (counts[i] - shares[i], i))
    for i in by_remainder[: total - sum(counts)]:
        counts[i] += 1
    return counts


def mix(
    sources: Sequence[Sequence[Example]],
    weights: Sequence[float],
    *,
    size: int,
    seed: int = 0,
    epoch: int = 0,
) -> list[Example]:
    """One epoch of a weighted mixture: `size` examples, shuffled, source i contributing apportioned counts.

    A source is drawn without replacement while it lasts (full passes, then a random remainder), so a small
    source is repeated evenly rather than some of its examples many times. Epoch e is drawn with the generator
    seeded by (seed, e): each epoch sees a different sample, and the same (seed, epoch) the same one.
    """
    if len(sources) != len(weights):
        raise ValueError(f"{len(sources)} sources but {len(weights)} weights")
    rng = np.random.default_rng([seed, epoch])
    picked: list[Example] = []
    for k, (source, count) in enumerate(zip(sources, apportion(size, weights), strict=True)):
        if count and not source:
            raise DataError(f"source {k} is empty but has weight {weights[k]}")
        passes, remainder = divmod(count, len(source)) if source else (0, 0)
        order = [i for _ in range(passes) for i in rng.permutation(len(source))]
        order += list(rng.permutation(len(source))[:remainder])
        picked += [source[i] for i in order]
    return [picked[i] for i in rng.permutation(len(picked))]


def mix_epochs(
    sources: Sequence[Sequence[Example]], weights: Sequence[float], *, size: int, epochs: int, seed: int = 0
) -> list[Example]:
    """`epochs` consecutive epochs of `mix`, each reseeded (train the result for one epoch)."""
    return [
        replace(ex, meta=ex.meta | {"epoch": e})
        for e in range(epochs)
        for ex in mix(sources, weights, size=size, seed=seed, epoch=e)
    ]
