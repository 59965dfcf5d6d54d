"""`crosslift <verb>`: a thin command line. Each verb lives in its own module here, which parses its arguments
and calls one function of the library; heavy imports (torch, transformers) happen only inside `run`.

A `CrossliftError` (bad config, bad data, missing file) is printed as one message and exits with status 2; so
is a write the disk refuses (read-only, full, no permission: `crosslift.io.disk_error`), wherever it happens.
Before a verb starts, the folders it will write into are checked (`output_folders`), so that it does not fail
at its end, after the work.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from pathlib import Path

from crosslift.errors import CrossliftError
from crosslift.io import check_writable, disk_error
from crosslift.version import __version__

# verb -> module under crosslift.cli; each module has `HELP`, `add_arguments(parser)` and `run(args) -> int`.
VERBS = {
    "train": "train",
    "eval": "eval",
    "data": "data",
    "report": "report",
    "judge": "judge",
    "demo": "demo",
    "tiny-models": "tiny_models",
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="crosslift",
        description="Make English-strong LLMs work in low-resource languages: LinguaLIFT, CrossIn, PLUG and their benchmarks.",
    )
    parser.add_argument("--version", action="version", version=f"crosslift {__version__}")
    sub = parser.add_subparsers(dest="verb", metavar="VERB", required=True)
    for verb, module_name in VERBS.items():
        module = importlib.import_module(f"crosslift.cli.{module_name}")
        p = sub.add_parser(verb, help=module.HELP, description=module.HELP)
        module.add_arguments(p)
        p.set_defaults(_run=module.run)
    return parser


def output_folders(args: argparse.Namespace) -> list[Path]:
    """The folders a command will write into, as far as its arguments say.

    `train`, and `eval` without --out, take theirs from the config: `crosslift.runs.RunDir.prepare` checks a
    training run's, `crosslift.eval.runner.evaluate` an evaluation's (before the model loads).
    """
    verb = args.verb
    if verb == "data":
        if args.data_command == "download":
            from crosslift.catalogue import data_cache_dir

            spec = args.spec
            return [] if spec.catalogue or spec.urls else [spec.to or data_cache_dir()]
        return [Path(args.out).parent] if getattr(args, "out", None) is not None else []
    if verb == "report" and args.paired:  # it only reads the runs
        return [Path(args.out or "comparison")]
    if verb == "report":  # it rewrites each run's reports, and puts several runs side by side in --out
        comparison = [Path(args.out or "comparison")] if len(args.runs) > 1 else []
        return [Path(run) for run in args.runs] + comparison
    if verb == "eval" and args.list_tasks:
        return []
    return [Path(args.out)] if getattr(args, "out", None) is not None else []


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        for folder in output_folders(args):
            check_writable(folder)
        return args._run(args) or 0
    except CrossliftError as e:
        print(f"crosslift {args.verb}: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"crosslift {args.verb}: interrupted", file=sys.stderr)
        return 130
    except Exception as e:  # a write outside crosslift.io (a library's, a plot's) that the disk refused
        folders = output_folders(args)
        names_its_file = getattr(e, "filename", None) is not None
        error = disk_error(e, folders[0] if len(folders) == 1 and not names_its_file else None)
        if error is None:
            raise
        print(f"crosslift {args.verb}: error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
