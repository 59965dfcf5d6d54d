"""`crosslift demo` takes its output folder's lock before any work: a second demo into the same folder is refused."""

from __future__ import annotations

from crosslift.cli import main
from crosslift.runs import LOCK_FILE


def test_a_demo_folder_in_use_is_refused_in_one_line_before_any_work(tmp_path, capsys, run_folder_holder):
    out = tmp_path / "demo"
    pid = run_folder_holder(out)
    assert main(["demo", "--quick", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.startswith(f"crosslift demo: error: {out} is being written by process {pid} on host ")
    assert [p.name for p in out.iterdir()] == [LOCK_FILE]  # the holder's: no world was generated


def test_methods_adds_the_peers_to_the_configs_methods(tmp_path, monkeypatch):
    from types import SimpleNamespace

    import crosslift.api
    from crosslift.synth.config import METHODS

    asked = {}
    report = tmp_path / "report.md"
    report.write_text("# report\n", encoding="utf-8")

    def demo(config, out, overrides):
        asked.update(config=config, overrides=overrides)
        return SimpleNamespace(report=report)

    monkeypatch.setattr(crosslift.api, "demo", demo)
    command = ["demo", "--quick", "--out", str(tmp_path / "demo"), "--methods", "qalign,layalign,baseline"]
    assert main(command) == 0
    assert asked["config"] == "quick"
    assert asked["overrides"][-1] == f"methods=[{', '.join([*METHODS, 'qalign', 'layalign'])}]"
    # a `methods=` override is the list that --methods adds to
    assert main([*command, "methods=[baseline, crossin]"]) == 0
    assert asked["overrides"][-1] == "methods=[baseline, crossin, qalign, layalign]"


def test_an_unknown_method_is_refused_with_the_known_ones_before_any_work(tmp_path, capsys):
    out = tmp_path / "demo"
    assert main(["demo", "--quick", "--out", str(out), "--methods", "langbridge,nope"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("crosslift demo: error: --methods: unknown method(s) nope; known: baseline, ")
    assert "langbridge, mindmerger, qalign, layalign" in err
    assert not out.exists()
