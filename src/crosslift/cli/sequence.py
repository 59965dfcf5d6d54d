"""`python -m crosslift.cli.sequence '[["train", "a.yaml"], ["eval", "b.yaml"]]'`: several crosslift command lines
one after the other in one process (imports paid once); stops at the first that fails. The demo's job runner
(`crosslift.synth.jobs`) starts its steps this way."""

from __future__ import annotations

import json
import sys

from crosslift.cli import main


def run_commands(commands: list[list[str]]) -> int:
    for argv in commands:
        code = main(argv)
        if code:
            return code
    return 0


if __name__ == "__main__":
    sys.exit(run_commands(json.loads(sys.argv[1])))
