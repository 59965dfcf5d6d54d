"""python -m crosslift: the same as the `crosslift` command."""

import sys

from crosslift.cli import main

sys.exit(main())
