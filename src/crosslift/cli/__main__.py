"""python -m crosslift.cli: the same as the `crosslift` command."""

import sys

from crosslift.cli import main

sys.exit(main())
