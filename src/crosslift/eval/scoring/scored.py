"""What an item metric returns when a number is not all it has to say.

It lives below the metric registry (`crosslift.eval.scoring.metrics`) because built-in metrics in their own modules
(`crosslift.eval.scoring.fidelity`) return it, and the registry imports those modules to register them.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Scored:
    """An item metric's value with a label for the summary's counts (e.g. the language an answer was in)."""

    value: float | None
    label: str | None = None
