"""The rich consoles every module prints through: one configuration, so output looks the same everywhere.

Markup is off: paths, model ids and user text may hold [brackets] that rich would read as styles or drop.
Style goes through `style=` arguments or `rich.text.Text` instead.
"""

from rich.console import Console

# Progress, warnings and "done" lines: stderr, so stdout stays free for results a user may pipe.
stderr_console = Console(stderr=True, highlight=False, markup=False, soft_wrap=True)
# Tables and summaries that are the command's result.
stdout_console = Console(highlight=False, markup=False)
