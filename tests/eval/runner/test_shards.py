"""Evaluation over several processes (crosslift.eval.runner.shards): `crosslift eval --num-processes 2` writes the
items.jsonl and summary of a one-process run; the shard files a killed sharded run leaves are merged in
one-process order and their items are not generated again; the vLLM backend takes its engine options (and LoRA
adapters) from the config."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import types
from pathlib import Path

import pytest

from crosslift.errors import ConfigError
from crosslift.eval.results.folder import ITEMS
from crosslift.eval.runner.evaluate import evaluate
from crosslift.eval.runner.generate import LazyGenerator
from crosslift.eval.runner.shards import SHARD_FILES, Shards
from crosslift.models.generate import load_generator
from crosslift.models.generation import GenerationSettings
from crosslift.runs import LOCK_FILE, RunFolderBusy

CROSSLIFT = [sys.executable, "-m", "crosslift"]


def overrides(dataset: Path, out: str) -> list[str]:
    return [
        f"output_dir={dataset / out}",
        "model.name_or_path=tiny:llama",
        "model.dtype=float32",
        f"data_dir={dataset / 'data'}",
        f"task_paths=[{dataset / 'tasks'}]",
        "tasks=[{name: addition}]",
        "generation.batch_size=2",
        "generation.max_new_tokens=8",
    ]


def comparable(summary: dict) -> dict:
    return {k: v for k, v in summary.items() if k not in ("provenance", "timing")}


@pytest.mark.slow
def test_two_processes_write_what_one_process_writes(dataset):
    env = os.environ | {"OMP_NUM_THREADS": "1"}  # the same kernels in both runs: identical greedy outputs
    one = subprocess.run(
        [*CROSSLIFT, "eval", *overrides(dataset, "one")], env=env, capture_output=True, text=True, timeout=300
    )
    assert one.returncode == 0, one.stderr[-3000:]
    two = subprocess.run(
        [*CROSSLIFT, "eval", *overrides(dataset, "two"), "--num-processes", "2"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert two.returncode == 0, two.stderr[-3000:]
    a, b = dataset / "one" / "eval" / "addition", dataset / "two" / "eval" / "addition"
    assert (a / ITEMS).read_bytes() == (b / ITEMS).read_bytes()
    assert len((a / ITEMS).read_text().splitlines()) == 18
    assert not list(b.glob(SHARD_FILES))
    summary_a, summary_b = (json.loads((d / "summary.json").read_text()) for d in (a, b))
    assert comparable(summary_a) == comparable(summary_b)
    assert summary_b["timing"]["items_generated"] == 18
    assert two.stdout.count("addition") == one.stdout.count("addition")  # the summary is printed once


BARRIER_WORKER = """
import sys, time
from pathlib import Path
from crosslift.eval.runner.shards import Shards
shards, flag = Shards(), Path(sys.argv[1])
assert shards.state().num_processes == 2
if shards.rank == 1:
    time.sleep(3)
    flag.write_text("rank 1 was here")
shards.wait()
if shards.rank == 0:
    assert flag.exists(), "rank 0 passed the barrier before rank 1 reached it"
"""


@pytest.mark.slow
def test_the_processes_wait_for_each_other_on_a_cpu_machine(tmp_path):
    # accelerate reads a torchrun launch without an accelerator as one process unless told cpu=True; the barriers
    # then returned at once, and the merge raced the other process (the two-process test failed by timing alone)
    worker = tmp_path / "worker.py"
    worker.write_text(BARRIER_WORKER)
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "torch.distributed.run",
            "--standalone",
            "--nproc_per_node=2",
            str(worker),
            str(tmp_path / "flag"),
        ],
        env=os.environ | {"OMP_NUM_THREADS": "1"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]


def test_a_killed_sharded_run_is_merged_in_one_process_order(dataset, eval_config, scripted):
    evaluate(eval_config(), scripted())
    task_dir = dataset / "out" / "eval" / "addition"
    reference = (task_dir / ITEMS).read_text().splitlines()
    # what two processes had written when killed: every chunk of 2 items alternately, the last chunk missing
    (task_dir / ITEMS).unlink()
    for n, line in enumerate(reference[:-2]):
        with open(task_dir / SHARD_FILES.replace("*", str(n // 2 % 2)), "a") as f:
            f.write(line + "\n")
    with open(task_dir / SHARD_FILES.replace("*", "1"), "a") as f:
        f.write('{"task": "addi')  # a torn last line
    generator = scripted()
    evaluate(eval_config(), generator)
    assert (task_dir / ITEMS).read_text().splitlines() == reference
    assert sum(len(b) for b in generator.batches) == 2  # only the missing chunk was generated
    assert not list(task_dir.glob(SHARD_FILES))


def test_only_the_main_process_writes_what_the_processes_share(dataset, eval_config, scripted, monkeypatch):
    """Every process of a sharded run builds the summary; when each wrote it too, they raced on the report's
    files (issue 21). Here a second process (rank 1 of 2) finds every item stored, and writes nothing."""
    evaluate(eval_config(), scripted())
    task_dir = dataset / "out" / "eval" / "addition"
    stored = {ITEMS, "run.json"}
    for path in task_dir.iterdir():
        if path.name not in stored:
            path.unlink()
    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setattr(Shards, "wait", lambda self: None)  # no other process to wait for
    monkeypatch.setenv("RANK", "1")
    run_json = (task_dir / "run.json").stat().st_mtime_ns
    evaluate(eval_config(), scripted())
    assert {p.name for p in task_dir.iterdir()} == stored and (
        task_dir / "run.json"
    ).stat().st_mtime_ns == run_json
    assert not (dataset / "out" / LOCK_FILE).exists()  # rank 1 shares the main process's lock
    monkeypatch.setenv("RANK", "0")
    evaluate(eval_config(), scripted())
    written = {p.name for p in task_dir.iterdir()}
    assert {"summary.json", "report.md", "accuracy_by_language.png", "tier_gap.png"} <= written


def test_a_results_folder_in_use_is_refused_before_any_work(
    dataset, eval_config, scripted, run_folder_holder
):
    pid = run_folder_holder(dataset / "out")
    generator = scripted()
    with pytest.raises(RunFolderBusy, match=f"is being written by process {pid} on host "):
        evaluate(eval_config(), generator)
    assert generator.batches == [] and [p.name for p in (dataset / "out").iterdir()] == [LOCK_FILE]


# ---------------------------------------------------------------------------------------------------- vLLM options


@pytest.fixture
def fake_vllm(monkeypatch):
    """A stand-in `vllm` module recording what the backend asks of it (vLLM itself needs a CUDA GPU)."""
    calls: dict = {}

    class LLM:
        def __init__(self, **kwargs):
            calls["llm"] = kwargs

        def generate(self, prompts, params, use_tqdm=False, **kwargs):
            calls["generate"] = kwargs
            out = types.SimpleNamespace(text=" 42")
            return [types.SimpleNamespace(outputs=[out]) for _ in prompts]

    class LoRARequest:
        def __init__(self, name, id_, path):
            self.name, self.id, self.path = name, id_, path

    vllm = types.ModuleType("vllm")
    vllm.LLM, vllm.SamplingParams = LLM, lambda **kw: kw
    lora = types.ModuleType("vllm.lora")
    request = types.ModuleType("vllm.lora.request")
    request.LoRARequest = LoRARequest
    for name, module in (("vllm", vllm), ("vllm.lora", lora), ("vllm.lora.request", request)):
        monkeypatch.setitem(sys.modules, name, module)
    return calls


def test_vllm_engine_options_come_from_the_config(fake_vllm, tmp_path):
    from crosslift.eval.config import VLLMOptions

    options = VLLMOptions(
        tensor_parallel_size=4,
        gpu_memory_utilization=0.8,
        max_model_len=4096,
        engine_args={"enforce_eager": True},
    )
    gen = load_generator(
        "vllm:/models/llama", backend="vllm", dtype="bfloat16", **options.model_dump(exclude_none=True)
    )
    assert fake_vllm["llm"] == {
        "model": "/models/llama",
        "trust_remote_code": False,
        "dtype": "bfloat16",
        "tensor_parallel_size": 4,
        "gpu_memory_utilization": 0.8,
        "max_model_len": 4096,
        "enforce_eager": True,
    }
    assert gen.generate(["q"], GenerationSettings(max_new_tokens=4)) == [" 42"]
    assert fake_vllm["generate"] == {}


def test_vllm_serves_a_lora_adapter_on_its_base_model(fake_vllm, tmp_path):
    adapter = tmp_path / "adapter"
    adapter.mkdir()
    (adapter / "adapter_config.json").write_text(
        json.dumps({"base_model_name_or_path": "/models/base", "r": 16})
    )
    gen = load_generator(str(adapter), backend="vllm", max_lora_rank=8)
    assert fake_vllm["llm"]["model"] == "/models/base" and fake_vllm["llm"]["enable_lora"] is True
    assert fake_vllm["llm"]["max_lora_rank"] == 16  # at least the adapter's own rank
    gen.generate(["q"], GenerationSettings(max_new_tokens=4))
    assert fake_vllm["generate"]["lora_request"].path == str(adapter.resolve())
    assert gen.model_id == f"vllm:{adapter}"


def test_vllm_refuses_several_processes(eval_config, monkeypatch):
    monkeypatch.setenv("WORLD_SIZE", "2")
    config = eval_config("model.name_or_path=vllm:/models/x", "model.backend=vllm")
    with pytest.raises(ConfigError, match="tensor_parallel_size"):
        LazyGenerator(config.model).get()
