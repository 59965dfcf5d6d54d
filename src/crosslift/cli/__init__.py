"""`crosslift <verb>`: a thin command line. Each verb lives in its own module here, which parses its arguments
and calls one function of the library; heavy imports (torch, transformers) happen only inside `run`.

A `CrossliftError` (bad config, bad data, missing file) is printed as one message and exits with status 2.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from crosslift import __version__
from crosslift.errors import CrossliftError

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


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args._run(args) or 0
    except CrossliftError as e:
        print(f"crosslift {args.verb}: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"crosslift {args.verb}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
