"""The pairwise judge over two runs, against a real HTTP server on 127.0.0.1 playing the judge: consistent
verdicts, swapped-order disagreement, ties, slight wins, malformed verdicts (retried once), timeouts; PLUG's
aggregation checked exactly, PLUG extraction, resume, refusals, and the key never written."""

from __future__ import annotations

import json

import pytest

from crosslift.errors import ConfigError, CrossliftError, DataError
from crosslift.eval.judging.pairwise import JudgeSettings, run_judge
from crosslift.eval.judging.protocol import prompt_version, system_prompt
from crosslift.eval.results.report import compare, recompute

from ..conftest import INSTRUCTIONS, ScriptedChat

# ---------------------------------------------------------------------------------------------------- a server

SCENARIOS = [
    "a_better",
    "b_better",
    "first_position",
    "tie",
    "a_then_tie",
    "malformed_once",
    "malformed_always",
    "late_then_b_then_tie",
]  # item i + 1 of each language
EXPECTED = ["win", "loss", "tie", "tie", "slight_win", "win", "error", "slight_loss"]


def scenario_policy(question: str, first: str, second: str, attempt: int):
    scenario = SCENARIOS[next(texts.index(question) for texts in INSTRUCTIONS.values() if question in texts)]
    a_first = first.startswith("A's answer")
    prefer_a = "[[A]]" if a_first else "[[B]]"
    prefer_b = "[[B]]" if a_first else "[[A]]"
    if scenario == "a_better":
        return f"Assistant {'A' if a_first else 'B'} is more helpful.\n\n{prefer_a}"
    if scenario == "b_better":
        return prefer_b
    if scenario == "first_position":
        return "The first answer is better. [[A]]"  # a judge with position bias: opposite winners -> tie
    if scenario == "tie":
        return "Equally good. [[C]]"
    if scenario == "a_then_tie":
        return prefer_a if a_first else "[[C]]"
    if scenario == "malformed_once":
        return "Both answers have merits." if attempt == 1 else prefer_a
    if scenario == "malformed_always":
        return "I cannot decide between them."
    if attempt == 1:
        return ("sleep", 1.5, prefer_a)  # answers after the client's timeout: retried
    return prefer_b if a_first else "[[C]]"


@pytest.fixture
def two_runs(instruction_runs):
    return instruction_runs("A", ScriptedChat("A")), instruction_runs("B", ScriptedChat("B"))


def test_judging_two_runs_aggregates_exactly(two_runs, judge_server, tmp_path, monkeypatch):
    monkeypatch.setenv("JUDGE_KEY", "sk-judge-secret")
    run_a, run_b = two_runs
    server = judge_server(scenario_policy)
    settings = JudgeSettings(
        url=server.url, api_key_env="JUDGE_KEY", timeout_s=0.5, max_retries=2, concurrency=8
    )
    summary = run_judge(run_a, run_b, tmp_path / "judged", settings)
    folder = tmp_path / "judged" / "instr"
    verdicts = [json.loads(line) for line in (folder / "verdicts.jsonl").read_text().splitlines()]
    assert len(verdicts) == 16 and {v["language"] for v in verdicts} == {"en", "zh"}
    for v in verdicts:
        assert v["outcome"] == EXPECTED[int(v["key"]) - 1], v["key"]
        assert [g["order"] for g in v["games"]] == ["ab", "ba"]
    for lang in ("en", "zh"):
        entry = summary["languages"][lang]
        assert entry["outcomes"] == {
            "win": 2,
            "slight_win": 1,
            "tie": 2,
            "slight_loss": 1,
            "loss": 1,
            "error": 1,
        }
        metrics = {k: entry["metrics"][k]["value"] for k in ("win", "tie", "loss", "error")}
        assert metrics == {"win": 3 / 8, "tie": 2 / 8, "loss": 2 / 8, "error": 1 / 8}
        assert (
            entry["judge"]["malformed_first_try"] == 4
        )  # 2 games of "malformed_once", 2 of "malformed_always"
        assert entry["judge"]["malformed_after_retry"] == 2
        # the same winner in both orders: a_better, b_better, tie, malformed_once - of the 7 pairs without error
        assert entry["judge"]["orders_agree"] == pytest.approx(4 / 7)
    assert summary["overall"]["metrics"]["win"]["value"] == pytest.approx(3 / 8)
    assert summary["english"]["language"] == "en" and summary["tiers"]["high"]["languages"] == ["en", "zh"]
    # what the judge was sent: both orders, the instruction and the two answers, temperature 0, the key in the header
    games = {
        (r["messages"][-1]["content"].split("\n")[1], r["messages"][-1]["content"].split("\n")[4][:1])
        for r in server.requests
    }
    assert ("Name three colours.", "A") in games and ("Name three colours.", "B") in games
    first = server.requests[0]
    assert first["model"] == "judge-1" and first["temperature"] == 0.0 and first["max_tokens"] == 2048
    assert first["messages"][0] == {"role": "system", "content": system_prompt()}
    assert {r["authorization"] for r in server.requests} == {"Bearer sk-judge-secret"}
    # malformed verdicts were asked again exactly once, late answers once more; every other game once
    retried = {game for game, n in server.attempts.items() if n == 2}
    assert (
        max(server.attempts.values()) == 2 and len(retried) == 2 * 2 * 3
    )  # 3 scenarios x 2 orders x 2 languages
    for name in ("judge.json", "verdicts.jsonl", "summary.json", "report.md"):
        text = (folder / name).read_text()
        assert "sk-judge-secret" not in text
    setting = json.loads((folder / "judge.json").read_text())
    assert setting["judge"]["model"] == "judge-1" and setting["judge"]["api_key_env"] == "JUDGE_KEY"
    assert setting["runs"]["a"]["model_id"] == "A" and setting["runs"]["b"]["model_id"] == "B"
    assert (
        summary["provenance"]["models"]["judge"] == "judge-1"
        and summary["judge"]["prompt_version"] == prompt_version()
    )
    report = (folder / "report.md").read_text()
    assert (
        "| en | English | high | 8 | 37.5" in report
        and (folder / "outcomes.png").read_bytes()[:4] == b"\x89PNG"
    )


def test_resume_after_the_endpoint_fails_sends_only_what_is_missing(two_runs, judge_server, tmp_path):
    run_a, run_b = two_runs
    healthy = judge_server(lambda q, f, s, n: "[[A]]" if f.startswith("A's") else "[[B]]")
    reference = run_judge(run_a, run_b, tmp_path / "reference", JudgeSettings(url=healthy.url))

    calls = {"n": 0}

    def failing_after_six(q, f, s, n):
        calls["n"] += 1
        return None if calls["n"] > 6 else ("[[A]]" if f.startswith("A's") else "[[B]]")  # then HTTP 503

    broken = judge_server(failing_after_six)
    settings = JudgeSettings(url=broken.url, max_retries=0, concurrency=2)
    with pytest.raises(CrossliftError, match="rerun the same command to resume"):
        run_judge(run_a, run_b, tmp_path / "judged", settings)
    verdicts = tmp_path / "judged" / "instr" / "verdicts.jsonl"
    kept = len(verdicts.read_text().splitlines())
    assert 1 <= kept < 16
    again = judge_server(lambda q, f, s, n: "[[A]]" if f.startswith("A's") else "[[B]]")
    summary = run_judge(run_a, run_b, tmp_path / "judged", JudgeSettings(url=again.url, model="judge-1"))
    assert len(again.requests) == 2 * (16 - kept)
    assert len(verdicts.read_text().splitlines()) == 16
    for key in ("languages", "tiers", "overall", "outcomes"):
        assert summary[key] == reference[key], key
    assert summary["outcomes"]["win"] == 16
    # a finished folder is summarised again without a request
    quiet = judge_server(lambda *a: pytest.fail("no request expected"))
    run_judge(run_a, run_b, tmp_path / "judged", JudgeSettings(url=quiet.url, model="judge-1"))


def test_a_folder_of_another_setting_is_refused(two_runs, judge_server, tmp_path):
    run_a, run_b = two_runs
    server = judge_server(lambda *a: "[[C]]")
    run_judge(run_a, run_b, tmp_path / "j", JudgeSettings(url=server.url), languages=["en"], limit=2)
    with pytest.raises(ConfigError, match="another judging setting"):
        run_judge(
            run_a,
            run_b,
            tmp_path / "j",
            JudgeSettings(url=server.url, fluency=False),
            languages=["en"],
            limit=2,
        )
    other = judge_server(lambda *a: "[[C]]", model="judge-2")
    with pytest.raises(ConfigError, match="judge.model"):
        run_judge(run_a, run_b, tmp_path / "j", JudgeSettings(url=other.url), languages=["en"], limit=2)


def test_limits_languages_and_mismatched_instructions(instruction_runs, judge_server, tmp_path):
    run_a = instruction_runs("A", ScriptedChat("A"))
    run_b = instruction_runs("B", ScriptedChat("B"), languages="zh")
    server = judge_server(lambda *a: "[[C]]")
    summary = run_judge(run_a, run_b, tmp_path / "j", JudgeSettings(url=server.url), limit=3)
    assert list(summary["languages"]) == ["zh"] and summary["n_items"] == 3  # only zh is shared
    with pytest.raises(ConfigError, match="both runs must have answers in en"):
        run_judge(run_a, run_b, tmp_path / "j2", JudgeSettings(url=server.url), languages=["en"])
    items = run_b / "eval" / "instr" / "items.jsonl"
    records = [json.loads(line) for line in items.read_text().splitlines()]
    records[0]["question"] = "something else"
    items.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records))
    with pytest.raises(DataError, match="asked different questions"):
        run_judge(run_a, run_b, tmp_path / "j3", JudgeSettings(url=server.url))


def plug_answer(instruction: str, system: str | None) -> str:
    """A PLUG model: English part first, then the Chinese part, except for a few items."""
    index = INSTRUCTIONS["zh"].index(instruction)
    if index == 0:
        return "English response: Red, green, blue."  # the target part is missing
    if index == 1:
        return "中文回复：你好！\n\nEnglish response: Hello!"  # target first: wrong order
    return f"English instruction: ...\n\nEnglish response: Answer {index}.\n\n中文回复：回答{index}。"


def test_plug_runs_are_judged_on_their_target_language_part(instruction_runs, judge_server, tmp_path):
    run_plug = instruction_runs("plug", ScriptedChat("plug", plug_answer), task="instr_plug", languages="zh")
    run_mono = instruction_runs("mono", ScriptedChat("mono", lambda i, s: f"单语回答：{i}"), languages="zh")
    server = judge_server(lambda q, f, s, n: "[[C]]")
    summary = run_judge(
        run_plug, run_mono, tmp_path / "j", JudgeSettings(url=server.url), task_a="instr_plug", task_b="instr"
    )
    entry = summary["languages"]["zh"]
    assert entry["extraction"]["a"] == {"ok": 6, "marker_missing": 1, "wrong_order": 1}
    assert entry["extraction"]["b"] == {} and entry["extraction_failures"] == 1
    shown = [r["messages"][-1]["content"] for r in server.requests]
    # only the target-language part is judged: PLUG's extraction keeps what follows the target marker, so only the
    # wrong-order answer (target first) still shows its English part
    assert sum("English response" in text for text in shown) == 2  # one pair, judged in both orders
    assert any("[The Start of Assistant A's Answer]\n回答2。\n" in text for text in shown)
    assert any(
        "[The Start of Assistant A's Answer]\n\n[The End of Assistant A's Answer]" in text for text in shown
    )  # missing: empty
    assert any(
        "[The Start of Assistant A's Answer]\n你好！\n\nEnglish response: Hello!\n" in text for text in shown
    )
    assert (
        summary["task"] == "instr_plug vs instr"
        and (tmp_path / "j" / "instr_plug_vs_instr" / "summary.json").is_file()
    )
    # forcing raw output shows the whole bilingual answer
    raw = run_judge(
        run_plug,
        run_mono,
        tmp_path / "raw",
        JudgeSettings(url=server.url),
        task_a="instr_plug",
        task_b="instr",
        extract_a="raw",
    )
    assert raw["languages"]["zh"]["extraction"]["a"] == {}
    assert any("English response: Answer 2." in r["messages"][-1]["content"] for r in server.requests)


def test_report_recomputes_and_compares_judging_runs(two_runs, judge_server, tmp_path):
    run_a, run_b = two_runs
    server = judge_server(lambda q, f, s, n: "[[A]]" if f.startswith("A's") else "[[B]]")
    first = run_judge(run_a, run_b, tmp_path / "ab", JudgeSettings(url=server.url))
    run_judge(run_b, run_a, tmp_path / "ba", JudgeSettings(url=server.url))
    folder = tmp_path / "ab" / "instr"
    (folder / "summary.json").unlink()
    again = recompute(folder)
    for key in ("languages", "tiers", "overall", "english"):
        assert again[key] == first[key], key
    path = compare([tmp_path / "ab", tmp_path / "ba"], tmp_path / "cmp")
    text = path.read_text()
    assert "- **ab**" in text and "A vs B" in text and "B vs A" in text
    win = text.split("### win", 1)[1].split("###", 1)[0]
    assert "| overall | 100.0 (85.1–100.0) | 0.0 (0.0–14.9) |" in win and "| zh (high) | 100.0 | 0.0 |" in win
