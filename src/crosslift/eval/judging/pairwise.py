"""Pairwise LLM judge over two evaluation runs, with PLUG's X-AlpacaEval protocol (`crosslift.eval.judging.protocol`).

    crosslift eval --task xalpacaeval_plug --data-dir X_ALPACAEVAL --model runs/plug/model --out runs/plug_eval
    crosslift eval --task xalpacaeval_mono --data-dir X_ALPACAEVAL --model runs/mono/model --out runs/mono_eval
    crosslift judge --a runs/plug_eval --b runs/mono_eval --judge http://localhost:8000/v1 --out runs/plug_vs_mono

Reads top to bottom:

    pair      the items both runs answered (same language, same item id, same instruction); each side's answer is
              its task's primary filter output (for PLUG runs the target-language part, extraction status
              counted), or PLUG's extraction / the raw output when asked
    judge     every pair twice, A/B swapped, with MT-bench's pair-v2 prompt plus PLUG's fluency sentence, at
              temperature 0 on any OpenAI-compatible endpoint; a verdict that is not [[A]]/[[B]]/[[C]] is asked
              again once, then counted as an error; each finished pair is appended to verdicts.jsonl (a killed
              run resumes, losing at most the pairs in flight)
    aggregate PLUG's rule per pair (`crosslift.eval.judging.protocol.aggregate`; a slight win/loss counts as a win/loss);
              win/tie/loss/error shares per language (Wilson intervals), per tier and overall (means over
              languages), rolled up as every evaluation summary is (`crosslift.eval.scoring.metrics.roll_up`)

The judge's API key is read only from an environment variable (``--api-key-env``, default OPENAI_API_KEY) by
`crosslift.models.endpoint.EndpointClient`; it is never logged or written.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from crosslift.errors import ConfigError, CrossliftError, DataError
from crosslift.eval.items import question_key
from crosslift.eval.judging.protocol import (
    OUTCOMES,
    USER_TEMPLATE,
    aggregate,
    judge_messages,
    parse_verdict,
    prompt_version,
    system_prompt,
    winner,
)
from crosslift.eval.results.folder import JUDGE, SUMMARY, load_records, load_run, task_dirs
from crosslift.eval.results.formatting import fmt, levels, markdown_table, progress_bar, pyplot, run_labels
from crosslift.eval.results.summary import language_name, tier_of
from crosslift.eval.scoring.filters import plug_target
from crosslift.eval.scoring.metrics import item_stats, macro_mean, roll_up
from crosslift.eval.scoring.record import rescore
from crosslift.io import (
    append_jsonl,
    atomic_output,
    atomic_write_json,
    atomic_write_text,
    read_jsonl_tolerant,
    truncate_torn_tail,
)
from crosslift.languages import DEFAULT_TIER_RULE, load_tier_rule, same_language
from crosslift.runs import config_differences, provenance

# ---------------------------------------------------------------------------------------------------- the runs


@dataclass
class RunSide:
    """One of the two runs: its results folder, run.json and finished items."""

    label: str
    path: Path
    task_dir: Path
    run: dict[str, Any]
    records: dict[tuple[str, int], dict[str, Any]]
    extract: str

    @property
    def task(self) -> str:
        return self.run["task"]

    def describe(self) -> dict[str, Any]:
        return {
            "path": str(self.path),
            "task": self.task,
            "model": self.run["model"].get("name_or_path"),
            "model_id": self.run.get("model_id"),
            "extract": self.extract,
        }


EXTRACT_MODES = ("auto", "plug", "raw")


def open_side(path: str | Path, task: str | None, label: str, extract: str) -> RunSide:
    """A run folder (or its eval/ folder, or one task's folder) and the task to judge in it."""
    if extract not in EXTRACT_MODES:
        raise ConfigError(f"extract must be one of {', '.join(EXTRACT_MODES)}, not '{extract}'")
    dirs = [d for d in task_dirs(path) if (d / "run.json").is_file()]
    runs = {load_run(d)["task"]: d for d in dirs}
    if task is None:
        if len(runs) != 1:
            raise ConfigError(f"{path} holds several tasks ({', '.join(runs)}); choose one with --task")
        task = next(iter(runs))
    if task not in runs:
        raise ConfigError(f"{path} has no results of task '{task}' (it has: {', '.join(runs) or 'none'})")
    return RunSide(label, Path(path), runs[task], load_run(runs[task]), load_records(runs[task]), extract)


def _answer(side: RunSide, record: dict[str, Any]) -> tuple[str, str | None]:
    """The text the judge sees for one record, and the extraction status when there is one."""
    if side.extract == "raw":
        return record["output"].strip(), None
    if side.extract == "plug":
        found = plug_target(record["output"], language=record["language"])
        return found.text or "", found.status
    spec = side.run["languages"][record["language"]]["task_spec"]
    scored = rescore(record, spec)
    primary = spec["filter_list"][0]["name"]
    # PLUG's extraction gives an empty answer when the marker is missing; the judge sees exactly that
    return scored["extracted"] or "", scored.get("filter_status", {}).get(primary)


def pair_items(
    a: RunSide, b: RunSide, languages: list[str] | None = None, limit: int | None = None
) -> list[dict[str, Any]]:
    """The items both runs answered, as pairs to judge: same language, same item, same instruction.

    Raises:
        DataError: the two runs asked different questions for the same item, or a record lacks its question.
    """

    def by_language(side: RunSide) -> dict[str, dict[str, dict[str, Any]]]:
        out: dict[str, dict[str, dict[str, Any]]] = {}
        for record in sorted(side.records.values(), key=lambda r: r["index"]):
            out.setdefault(record["language"], {})[question_key(record)] = record
        return out

    side_a, side_b = by_language(a), by_language(b)
    shared = [lang for lang in side_a if lang in side_b]
    if languages:
        unknown = [c for c in languages if not any(same_language(c, lang) for lang in shared)]
        if unknown:
            raise ConfigError(
                f"both runs must have answers in {', '.join(unknown)}; shared: {', '.join(shared)}"
            )
        shared = [lang for lang in shared if any(same_language(c, lang) for c in languages)]
    if not shared:
        raise ConfigError(f"{a.path} ({a.task}) and {b.path} ({b.task}) share no language")
    pairs = []
    for lang in shared:
        keys = [k for k in side_a[lang] if k in side_b[lang]][:limit]
        for key in keys:
            ra, rb = side_a[lang][key], side_b[lang][key]
            if "question" not in ra or "question" not in rb:
                raise DataError(
                    f"item {key} ({lang}) has no question in items.jsonl; rerun `crosslift eval` with "
                    "this version",
                    path=(a.task_dir if "question" not in ra else b.task_dir) / "items.jsonl",
                )
            if ra["question"] != rb["question"]:
                raise DataError(
                    f"item {key} ({lang}): the runs asked different questions ({ra['question'][:60]!r} "
                    f"vs {rb['question'][:60]!r}); judge runs of the same instructions",
                    path=b.task_dir,
                )
            answer_a, status_a = _answer(a, ra)
            answer_b, status_b = _answer(b, rb)
            pairs.append(
                {
                    "language": lang,
                    "key": key,
                    "index": ra["index"],
                    "question": ra["question"],
                    "answer_a": answer_a,
                    "answer_b": answer_b,
                    "extraction_a": status_a,
                    "extraction_b": status_b,
                }
            )
    return pairs


# ---------------------------------------------------------------------------------------------------- judging


@dataclass
class JudgeSettings:
    """The judge endpoint and how it is asked.

    Attributes:
        url: the API root, e.g. ``http://localhost:8000/v1``.
        model: the judge model's name on the server (default: the only one it lists).
        api_key_env: environment variable holding the API key (unset or empty: no key).
        fluency: add PLUG's fluency sentence to the pair-v2 prompt.
        max_tokens, temperature: decoding of the judgments (PLUG/MT-bench: 2048 tokens at most, temperature 0).
        timeout_s, max_retries, concurrency: `EndpointClient` options (timeouts, 429 and 5xx are retried).
    """

    url: str
    model: str | None = None
    api_key_env: str = "OPENAI_API_KEY"
    fluency: bool = True
    max_tokens: int = 2048
    temperature: float = 0.0
    timeout_s: float = 120.0
    max_retries: int = 4
    concurrency: int = 8


VERDICTS = "verdicts.jsonl"


def _client(settings: JudgeSettings):
    from crosslift.models.endpoint import EndpointClient

    client = EndpointClient(
        settings.url,
        settings.model or "",
        api_key_env=settings.api_key_env,
        timeout_s=settings.timeout_s,
        max_retries=settings.max_retries,
        concurrency=settings.concurrency,
    )
    if not settings.model:
        models = client.list_models()
        if len(models) != 1:
            raise ConfigError(
                f"{settings.url} serves {len(models)} models ({', '.join(models) or 'none'}); name the "
                "judge with --judge-model"
            )
        client.model = models[0]
    return client


def _setting(settings: JudgeSettings, model: str, a: RunSide, b: RunSide, tier_rule: str) -> dict[str, Any]:
    """judge.json: everything that decides the verdicts (a rerun with another setting is refused)."""
    return {
        "kind": "pairwise_judge",
        "prompt_version": prompt_version(settings.fluency),
        "system_prompt": system_prompt(settings.fluency),
        "user_template": USER_TEMPLATE,
        "judge": {
            "url": settings.url,
            "model": model,
            "max_tokens": settings.max_tokens,
            "temperature": settings.temperature,
            "api_key_env": settings.api_key_env,
        },
        "runs": {"a": a.describe() | {"label": a.label}, "b": b.describe() | {"label": b.label}},
        "tier_rule": tier_rule,
    }


def _open_dir(directory: Path, setting: dict[str, Any]) -> None:
    path = directory / JUDGE
    if path.is_file():
        old = json.loads(path.read_text(encoding="utf-8"))
        keep = ("prompt_version", "judge", "runs")
        changes = [d for k in keep for d in config_differences(_stable(old.get(k)), _stable(setting[k]), k)]
        if changes:
            raise ConfigError(
                f"{directory} holds verdicts of another judging setting:\n  "
                + "\n  ".join(changes)
                + "\nUse another --out folder, or delete that one to start over."
            )
    atomic_write_json(path, setting)


def _stable(value: Any) -> Any:
    """A setting without what may change between a run and its resumption without changing verdicts: where the
    judge is served (its model name is kept), where the runs' folders are, their labels, the key's variable."""
    if isinstance(value, dict):
        return {k: _stable(v) for k, v in value.items() if k not in ("label", "api_key_env", "path", "url")}
    return value


def _pair_key(pair: dict[str, Any]) -> tuple[str, str]:
    return (pair["language"], pair["key"])


def judge_pairs(pairs: list[dict[str, Any]], directory: Path, settings: JudgeSettings, client: Any) -> int:
    """Judge every pair not yet in verdicts.jsonl, both orders; append each finished pair. Returns how many.

    Raises:
        CrossliftError: the endpoint failed for good (after its retries); finished pairs are kept, a rerun resumes.
        ConfigError: verdicts.jsonl holds a pair whose answers differ from the runs' (the runs changed).
    """
    path = directory / VERDICTS
    truncate_torn_tail(path)
    done = {}
    for record in read_jsonl_tolerant(path):
        done.setdefault((record["language"], record["key"]), record)
    for pair in pairs:
        old = done.get(_pair_key(pair))
        if old and (old["answer_a"], old["answer_b"], old["question"]) != (
            pair["answer_a"],
            pair["answer_b"],
            pair["question"],
        ):
            raise ConfigError(
                f"{path} judged item {pair['key']} ({pair['language']}) with other answers than the runs "
                "hold now; use another --out folder"
            )
    pending = [p for p in pairs if _pair_key(p) not in done]
    if not pending:
        return 0
    fields = {"max_tokens": settings.max_tokens, "temperature": settings.temperature}
    chunk_size = max(4, 2 * settings.concurrency)
    wins = sum(r["outcome"] in ("win", "slight_win") for r in done.values())
    judged = 0
    with progress_bar("A wins", "wins") as progress:
        bar = progress.add_task("judging", total=len(pairs), completed=len(pairs) - len(pending), wins=wins)
        for start in range(0, len(pending), chunk_size):
            chunk = pending[start : start + chunk_size]
            games = [(p, order) for p in chunk for order in ("ab", "ba")]
            conversations = [
                judge_messages(
                    p["question"],
                    *((p["answer_a"], p["answer_b"]) if order == "ab" else (p["answer_b"], p["answer_a"])),
                    settings.fluency,
                )
                for p, order in games
            ]
            replies: dict[int, list[str]] = {i: [] for i in range(len(games))}
            failed = _ask(client, conversations, range(len(games)), replies, fields)
            malformed = [i for i, texts in replies.items() if texts and parse_verdict(texts[-1]) is None]
            failed |= _ask(
                client, conversations, malformed, replies, fields
            )  # one more try for a malformed verdict
            for n, pair in enumerate(chunk):
                if failed.keys() & {2 * n, 2 * n + 1}:
                    continue  # a request failed for good: not judged; a rerun asks again
                record = _verdict_record(
                    pair,
                    [(order, replies[i]) for i, (_, order) in enumerate(games) if i in (2 * n, 2 * n + 1)],
                )
                append_jsonl(path, record)
                judged += 1
                wins += record["outcome"] in ("win", "slight_win")
                progress.update(bar, advance=1, wins=wins)
            if failed:
                raise CrossliftError(
                    f"the judge endpoint failed ({failed[min(failed)]}); {len(done) + judged} pairs "
                    f"are judged in {path}; rerun the same command to resume"
                )
    return judged


def _ask(
    client: Any, conversations: list, indices, replies: dict[int, list[str]], fields: dict[str, Any]
) -> dict[int, str]:
    """Send the conversations at `indices`; append each reply to ``replies[i]``; return {i: error} of failures."""
    indices = list(indices)
    failed = {}
    for j, reply in client.chat_many([conversations[i] for i in indices], **fields):
        if isinstance(reply, Exception):
            failed[indices[j]] = str(reply)
        else:
            replies[indices[j]].append(reply)
    return failed


def _verdict_record(pair: dict[str, Any], games: list[tuple[str, list[str]]]) -> dict[str, Any]:
    out = []
    for order, texts in games:
        verdict = parse_verdict(texts[-1])
        game = {
            "order": order,
            "verdict": verdict,
            "winner": winner(verdict, order),
            "attempts": len(texts),
            "judgment": texts[-1],
        }
        if len(texts) > 1:
            game["malformed"] = texts[0]  # the first judgment, which had no verdict
        out.append(game)
    return pair | {"games": out, "outcome": aggregate(out[0]["winner"], out[1]["winner"])}


# ---------------------------------------------------------------------------------------------------- summary

JUDGE_METRICS = {
    "win": (
        "share of pairs run A wins (in both orders, or once with a tie in the other: PLUG's slight win)",
        True,
    ),
    "tie": ("share of pairs tied (two ties, or opposite winners in the two orders)", None),
    "loss": ("share of pairs run A loses (both orders, or once with a tie)", False),
    "error": ("share of pairs with a verdict that stayed malformed after one retry", False),
}


def summarize_verdicts(records: list[dict[str, Any]], setting: dict[str, Any], tier_rule) -> dict[str, Any]:
    """Win/tie/loss/error per language (Wilson intervals), per tier, for English and overall (means over languages)."""
    by_language: dict[str, list[dict[str, Any]]] = {}
    for r in records:
        by_language.setdefault(r["language"], []).append(r)
    languages, stats = {}, {}
    for lang, rs in by_language.items():
        outcomes = {o: sum(r["outcome"] == o for r in rs) for o in OUTCOMES}
        shares = {
            "win": [float(r["outcome"] in ("win", "slight_win")) for r in rs],
            "tie": [float(r["outcome"] == "tie") for r in rs],
            "loss": [float(r["outcome"] in ("loss", "slight_loss")) for r in rs],
            "error": [float(r["outcome"] == "error") for r in rs],
        }
        stats[lang] = {k: item_stats(v, binary=True) for k, v in shares.items()}
        games = [g for r in rs for g in r["games"]]
        decided = [g for g in games if g["verdict"] in ("A", "B")]
        languages[lang] = {
            "name": language_name(lang),
            "tier": tier_of(tier_rule, lang),
            "n_items": len(rs),
            "extraction_failures": sum(r.get("extraction_a") == "marker_missing" for r in rs)
            + sum(r.get("extraction_b") == "marker_missing" for r in rs),
            "metrics": {k: {x: y for x, y in v.items() if x != "_var"} for k, v in stats[lang].items()},
            "outcomes": outcomes,
            "extraction": {side: _count(r.get(f"extraction_{side}") for r in rs) for side in ("a", "b")},
            "judge": {
                "games": len(games),
                "malformed_first_try": sum(g["attempts"] > 1 for g in games),
                "malformed_after_retry": sum(g["verdict"] is None for g in games),
                "first_position_preferred": (sum(g["verdict"] == "A" for g in decided) / len(decided))
                if decided
                else None,
                # among pairs with two verdicts: the same winner (or tie) in both orders; low = position-driven judge
                "orders_agree": (
                    sum(r["games"][0]["winner"] == r["games"][1]["winner"] for r in valid) / len(valid)
                    if (valid := [r for r in rs if r["outcome"] != "error"])
                    else None
                ),
            },
        }

    def aggregate_levels(langs: list[str]) -> dict[str, Any]:
        return {k: macro_mean([stats[lang][k] for lang in langs], binary=True) for k in JUDGE_METRICS}

    runs = setting["runs"]
    return {
        "kind": "pairwise",
        "task": f"{runs['a']['task']} vs {runs['b']['task']}"
        if runs["a"]["task"] != runs["b"]["task"]
        else runs["a"]["task"],
        "description": f"Pairwise judge: A = {runs['a']['label']} ({runs['a']['model']}), B = {runs['b']['label']} "
        f"({runs['b']['model']}); judge {setting['judge']['model']}",
        "model": {"name_or_path": f"{runs['a']['label']} vs {runs['b']['label']}"},
        "tier_rule": {
            "name": tier_rule.name,
            "description": tier_rule.description,
            "source": tier_rule.source,
        },
        "primary_metric": "win",
        "metrics": {
            k: {
                "metric": k,
                "kind": "item",
                "interval": "wilson",
                "description": d,
                "higher_is_better": h,
                "aggregation": "macro_mean",
            }
            for k, (d, h) in JUDGE_METRICS.items()
        },
        "n_items": len(records),
        "outcomes": {o: sum(r["outcome"] == o for r in records) for o in OUTCOMES},
        **roll_up(languages, aggregate_levels),
        "judge": setting["judge"] | {"prompt_version": setting["prompt_version"]},
        "runs": runs,
    }


def _count(values) -> dict[str, int]:
    out: dict[str, int] = {}
    for v in values:
        if v is not None:
            out[v] = out.get(v, 0) + 1
    return out


def render_markdown(summary: dict[str, Any]) -> str:
    """report.md of a judging run."""
    runs, judge = summary["runs"], summary["judge"]
    rule = summary["tier_rule"]
    out = [
        f"# Pairwise judge: {summary['model']['name_or_path']}",
        "",
        f"- **A** = {runs['a']['label']}: {runs['a']['model']} (task {runs['a']['task']}, {runs['a']['path']}, "
        f"answers: {runs['a']['extract']})",
        f"- **B** = {runs['b']['label']}: {runs['b']['model']} (task {runs['b']['task']}, {runs['b']['path']}, "
        f"answers: {runs['b']['extract']})",
        f"- judge: {judge['model']} at {judge['url']}, temperature {judge['temperature']}, prompt "
        f"{judge['prompt_version']}",
        "",
        f"{summary['n_items']} pairs, each judged in both orders. PLUG's aggregation: the same winner twice is a "
        "win, a win and a tie a slight win (counted as a win), opposite winners a tie; a verdict still malformed "
        "after one retry makes the pair an error. Shares are of all pairs (errors included).",
        "",
        f"Tiers follow the rule **{rule['name']}**: {rule['description']}. Tier and overall figures average over "
        "languages; brackets hold 95% intervals.",
        "",
        "## Summary (A's view)",
        "",
    ]
    keys = list(summary["metrics"])
    rows = []
    for label, kind, entry in levels(summary):
        if kind == "language":
            continue
        who = entry["languages"] if kind != "english" else [entry["language"]]
        rows.append([label, ", ".join(who), *[fmt(summary, k, entry["metrics"].get(k)) for k in keys]])
    out += [markdown_table(["", "languages", *keys], rows), "", "## By language", ""]
    rows = []
    for code, e in summary["languages"].items():
        o, j = e["outcomes"], e["judge"]
        bias = _percent(j["first_position_preferred"])
        rows.append(
            [
                code,
                e["name"],
                e["tier"] or "–",
                str(e["n_items"]),
                *[fmt(summary, k, e["metrics"].get(k)) for k in keys],
                " / ".join(str(o[x]) for x in OUTCOMES),
                _percent(j["orders_agree"]),
                bias,
                f"{j['malformed_first_try']} / {j['malformed_after_retry']}",
                _status_text(e["extraction"]["a"]),
                _status_text(e["extraction"]["b"]),
            ]
        )
    out.append(
        markdown_table(
            [
                "code",
                "language",
                "tier",
                "pairs",
                *keys,
                "win / slight win / tie / slight loss / loss / error",
                "orders agree",
                "judge prefers first",
                "malformed (first try / after retry)",
                "A extraction",
                "B extraction",
            ],
            rows,
        )
    )
    out += ["", "![outcomes](outcomes.png)", ""]
    return "\n".join(out)


def _percent(share: float | None) -> str:
    return f"{share * 100:.0f}%" if share is not None else "–"


def _status_text(counts: dict[str, int]) -> str:
    return ", ".join(f"{k} {v}" for k, v in sorted(counts.items(), key=lambda kv: -kv[1])) or "–"


def plot_outcomes(summary: dict[str, Any], path: Path) -> None:
    """Stacked bars per language: win, slight win, tie, slight loss, loss, error (shares of pairs)."""
    plt = pyplot()
    colours = {
        "win": "#1b9e77",
        "slight_win": "#8fd3b6",
        "tie": "#bbbbbb",
        "slight_loss": "#f4a582",
        "loss": "#d95f02",
        "error": "#444444",
    }
    codes = list(summary["languages"])
    fig, ax = plt.subplots(figsize=(max(5.0, 0.6 * len(codes) + 2.5), 4.0))
    bottom = [0.0] * len(codes)
    for outcome in OUTCOMES:
        heights = [
            100 * summary["languages"][c]["outcomes"][outcome] / summary["languages"][c]["n_items"]
            for c in codes
        ]
        ax.bar(
            range(len(codes)), heights, bottom=bottom, color=colours[outcome], label=outcome.replace("_", " ")
        )
        bottom = [b + h for b, h in zip(bottom, heights, strict=True)]
    ax.set_xticks(range(len(codes)), codes)
    ax.set_ylabel("% of pairs (A's view)")
    ax.set_ylim(0, 100)
    ax.set_title(f"{summary['model']['name_or_path']}: pairwise judge", fontsize=10)
    ax.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.0, 0.5))
    fig.tight_layout()
    with atomic_output(path) as tmp:
        fig.savefig(tmp, dpi=110, format="png")
    plt.close(fig)


def write_outputs(directory: Path, summary: dict[str, Any]) -> None:
    atomic_write_json(directory / SUMMARY, summary)
    atomic_write_text(directory / "report.md", render_markdown(summary))
    plot_outcomes(summary, directory / "outcomes.png")


def recompute(directory: Path, tier_rule: str | None = None) -> dict[str, Any]:
    """Summary, report and plot of a judging folder, again from verdicts.jsonl (no request is sent)."""
    path = directory / JUDGE
    if not path.is_file():
        raise DataError(f"no {JUDGE} here: not a crosslift judging folder", path=directory)
    setting = json.loads(path.read_text(encoding="utf-8"))
    previous = (
        json.loads((directory / SUMMARY).read_text(encoding="utf-8"))
        if (directory / SUMMARY).is_file()
        else {}
    )
    records = read_jsonl_tolerant(directory / VERDICTS)
    if not records:
        raise DataError("no verdicts yet", path=directory / VERDICTS)
    summary = summarize_verdicts(records, setting, load_tier_rule(tier_rule or setting["tier_rule"]))
    if "provenance" in previous:
        summary["provenance"] = previous["provenance"]
    write_outputs(directory, summary)
    return summary


# ---------------------------------------------------------------------------------------------------- entry


def run_judge(
    a: str | Path,
    b: str | Path,
    out: str | Path,
    settings: JudgeSettings,
    *,
    task: str | None = None,
    task_a: str | None = None,
    task_b: str | None = None,
    languages: list[str] | None = None,
    limit: int | None = None,
    extract_a: str = "auto",
    extract_b: str = "auto",
    tier_rule: str | None = None,
) -> dict[str, Any]:
    """Judge run `a` against run `b`; write verdicts.jsonl, summary.json, report.md and outcomes.png under `out`.

    Args:
        a, b: run folders of `crosslift eval` (or their eval/ folders, or one task's folder).
        out: the judging folder (rerunning with the same arguments resumes).
        settings: the judge endpoint and prompt options.
        task: the task to judge in both runs (needed when a run holds several); `task_a` / `task_b` name the
            tasks separately (e.g. xalpacaeval_plug against xalpacaeval_mono).
        languages: judge only these languages; limit: the first N shared items per language.
        extract_a, extract_b: "auto" (the task's primary filter: PLUG extraction for PLUG tasks), "plug" (PLUG's
            extraction of the target-language part, whatever the task), "raw" (the whole output).
        tier_rule: group languages by this rule (default: run A's task's, else mmwp-llama2).

    Returns:
        The summary.

    Raises:
        CrossliftError: bad runs or arguments, an unreachable judge, a folder of another judging setting.
    """
    label_a, label_b = run_labels([Path(a), Path(b)])
    side_a = open_side(a, task_a or task, label_a, extract_a)
    side_b = open_side(b, task_b or task, label_b, extract_b)
    pairs = pair_items(side_a, side_b, languages, limit)
    first_spec = next(iter(side_a.run["languages"].values()))["task_spec"]
    rule = load_tier_rule(tier_rule or first_spec.get("tier_rule") or DEFAULT_TIER_RULE)
    client = _client(settings)
    setting = _setting(
        settings, client.model, side_a, side_b, rule.name if tier_rule is None else str(tier_rule)
    )
    name = side_a.task if side_a.task == side_b.task else f"{side_a.task}_vs_{side_b.task}"
    directory = Path(out) / name
    directory.mkdir(parents=True, exist_ok=True)
    _open_dir(directory, setting)
    started = time.monotonic()
    judged = judge_pairs(pairs, directory, settings, client)
    wanted = {_pair_key(p) for p in pairs}
    records = [r for r in read_jsonl_tolerant(directory / VERDICTS) if (r["language"], r["key"]) in wanted]
    summary = summarize_verdicts(records, setting, rule)
    summary["provenance"] = provenance(
        models={
            "judge": client.model,
            "a": str(side_a.run.get("model_id")),
            "b": str(side_b.run.get("model_id")),
        },
        data_files=[side_a.task_dir / "items.jsonl", side_b.task_dir / "items.jsonl"],
        prompt_version=setting["prompt_version"],
        runs={"a": str(side_a.task_dir), "b": str(side_b.task_dir)},
        judged_now=judged,
        seconds=round(time.monotonic() - started, 2),
    )
    write_outputs(directory, summary)
    return summary
