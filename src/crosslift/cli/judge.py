"""crosslift judge (not implemented yet)."""

from __future__ import annotations

import argparse

from crosslift.cli import NotImplementedYet

HELP = "(not implemented yet)"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("args", nargs=argparse.REMAINDER)


def run(args: argparse.Namespace) -> int:
    raise NotImplementedYet("'crosslift judge' is not implemented yet")
