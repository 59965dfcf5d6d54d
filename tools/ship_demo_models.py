"""Pretrain the demo's models for the default world (pretraining seed 0) and ship them with crosslift.

    python tools/ship_demo_models.py            # then commit src/crosslift/resources/synth_models/

Runs the demo's own pretraining (`crosslift.synth.pretrained`, the `pretrain` recipe through `crosslift train`)
in a fresh cache, never reusing shipped models, and copies the LLM and the encoder, rounded to half precision
with their tokenizer and a manifest (the key, the world's hash, the settings, every file's sha256), into the
package, replacing the version there (git history keeps it). Rerun it whenever the default world or the
pretraining settings change: the demo uses shipped models only while their key matches, and otherwise
pretrains (~25 minutes on 2 cores) and caches.
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", default="default", help="the demo config whose pretraining is shipped")
    parser.add_argument("--dest", default=str(ROOT / "src" / "crosslift" / "resources" / "synth_models"))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="crosslift-ship-") as tmp:
        os.environ["CROSSLIFT_CACHE"] = str(Path(tmp) / "cache")
        from crosslift.languages import register_languages
        from crosslift.synth.demo import load_demo_config
        from crosslift.synth.jobs import run_jobs
        from crosslift.synth.pretrained import prepare_pretraining, ship
        from crosslift.synth.world import build_world, load_world_config

        cfg = load_demo_config(args.config)
        world = build_world(load_world_config(cfg.world), Path(tmp) / "world")
        register_languages(world.languages_file)
        pretraining = prepare_pretraining(world, cfg, 0, shipped=False)
        run_jobs(pretraining.jobs)
        folder = ship(pretraining, world, cfg, Path(args.dest))
    size = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())
    print(f"shipped {folder} ({size / 2**20:.1f} MiB)")


if __name__ == "__main__":
    main()
