"""Prompt templates. Each renders an Example into a prompt and a target *separately*, so the training loss mask
can be set exactly at the boundary between the two (see `crosslift.data.tokenize`).
"""

from __future__ import annotations

from dataclasses import dataclass

from crosslift.data.examples import Example
from crosslift.errors import ConfigError


@dataclass(frozen=True)
class Rendered:
    """A rendered example: the model reads `prompt` and learns to produce `target`."""

    prompt: str
    target: str


class AlpacaTemplate:
    """Stanford Alpaca's prompt, with and without an input field."""

    name = "alpaca"
    with_input = (
        "Below is an instruction that describes a task, paired with an input that provides further context. "
        "Write a response that appropriately completes the request.\n\n"
        "### Instruction:\n{instruction}\n\n### Input:\n{input}\n\n### Response:\n"
    )
    without_input = (
        "Below is an instruction that describes a task. Write a response that appropriately completes the request.\n\n"
        "### Instruction:\n{instruction}\n\n### Response:\n"
    )

    def render(self, example: Example) -> Rendered:
        fmt = self.with_input if example.input.strip() else self.without_input
        return Rendered(prompt=fmt.format(instruction=example.instruction, input=example.input), target=example.output)


TEMPLATES = {"alpaca": AlpacaTemplate}


def get_template(name: str) -> AlpacaTemplate:
    """The template registered under `name`."""
    if name not in TEMPLATES:
        raise ConfigError(f"unknown template '{name}'; available: {', '.join(sorted(TEMPLATES))}")
    return TEMPLATES[name]()
