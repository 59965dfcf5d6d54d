"""The processes evaluating one task together: `accelerate launch -m crosslift eval ...`, torchrun, or
`crosslift eval --num-processes N`; one process is a world of one.

Every process plans the same fixed chunks; process r generates every world-th chunk that has missing items
(`crosslift.eval.runner.generate`). One process appends its items to items.jsonl itself; several append to
items.shard-<r>.jsonl, whose records the main process then moves into items.jsonl in the order one process writes
them (language by language, chunk by chunk). Every process builds the summary from the same records: items.jsonl
and summary.json are those of a single-process run (same batches, same outputs). A kill loses at most a chunk per
process; the next run, with any number of processes, merges what the shards hold.
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path
from typing import Any

from crosslift.errors import CrossliftError
from crosslift.eval.results.folder import ITEMS, item_key, load_records
from crosslift.io import append_jsonl, read_jsonl_tolerant, truncate_torn_tail

SHARD_FILES = "items.shard-*.jsonl"


class Shards:
    """This process's place among the processes of one evaluation (RANK and WORLD_SIZE of the launcher)."""

    def __init__(self) -> None:
        self.rank = int(os.environ.get("RANK", "0"))
        self.world = int(os.environ.get("WORLD_SIZE", "1"))

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def state(self) -> Any:
        import torch
        from accelerate import PartialState

        # cpu=True where there is no accelerator: accelerate otherwise reads a torchrun launch on a CPU machine as
        # one process (DistributedType.NO), and every barrier below silently returns at once.
        # One process may wait long for the slowest one (a long language last): not the default 30 minutes.
        state = PartialState(cpu=not torch.accelerator.is_available(), timeout=timedelta(hours=24))
        if state.num_processes != self.world:
            raise CrossliftError(
                f"sharded evaluation: WORLD_SIZE is {self.world} but accelerate sees {state.num_processes} process(es) "
                f"({state.distributed_type}); launch with accelerate launch or torchrun"
            )
        return state

    def wait(self) -> None:
        if self.world > 1:
            self.state().wait_for_everyone()

    def items_file(self, directory: Path) -> Path:
        """Where this process appends the items it generates: items.jsonl itself when it is the only one."""
        return directory / (ITEMS if self.world == 1 else SHARD_FILES.replace("*", str(self.rank)))

    def gather(
        self, directory: Path, order: list[tuple[str, int]], records: dict[tuple[str, int], dict[str, Any]]
    ) -> None:
        """Every process's finished items into items.jsonl (the main process merges the shard files once every
        process is done writing them) and into `records` on every process."""
        self.wait()
        if self.is_main:
            merge_shards(directory, order, records)
        self.wait()
        if self.world > 1:
            records.update(load_records(directory))


def merge_shards(
    directory: Path, order: list[tuple[str, int]], records: dict[tuple[str, int], dict[str, Any]]
) -> None:
    """Append the records of a task folder's shard files that items.jsonl lacks, in `order` (the single-process
    order) and those of an earlier, larger selection last, to items.jsonl and `records`; then delete the shard
    files."""
    paths = sorted(directory.glob(SHARD_FILES))
    if not paths:
        return
    found: dict[tuple[str, int], dict[str, Any]] = {}
    for path in paths:
        for record in read_jsonl_tolerant(path):
            found.setdefault(item_key(record), record)
    truncate_torn_tail(directory / ITEMS)
    stored = load_records(directory)
    for key in dict.fromkeys([*order, *found]):
        if key in found and key not in stored:
            append_jsonl(directory / ITEMS, found[key])
            records[key] = found[key]
    for path in paths:
        path.unlink()
