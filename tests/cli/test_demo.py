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
