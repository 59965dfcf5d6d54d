"""A verb whose options are the fields of a pydantic spec (`crosslift.data.specs`): one option per field, its
name and kind from `command_line_flags`, its help the field's description, its choices a Literal's values. The
parsed arguments are the validated spec, `args.spec`; a value the spec refuses is a usage error naming the
option, as argparse reports its own.

The options are added on first use, so that `crosslift --help` does not import the specs.
"""

from __future__ import annotations

import argparse
import importlib
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, get_args, get_origin

if TYPE_CHECKING:
    from crosslift.data.specs import Flag


@dataclass(frozen=True)
class SpecLine:
    """How one spec is put on the command line, where its fields do not say it.

    Attributes:
        spec: "module:Class" of the spec.
        help: the verb's line in its parent's help.
        what: the noun for "the input" in the help of reading options, per nested options field ("" for the
            spec's own), e.g. {"": "parallel files", "base_options": "base files"}.
        hidden: fields that have no option.
        positional: fields given by position, with their argparse keywords (e.g. {"nargs": "*"}).
        metavars: an option's metavar, by field name.
        extra: options that are not the spec's (e.g. --out), as (flag, argparse keywords) pairs.
    """

    spec: str
    help: str
    what: dict[str, str] = field(default_factory=dict)
    hidden: frozenset[str] = frozenset()
    positional: dict[str, dict[str, Any]] = field(default_factory=dict)
    metavars: dict[str, str] = field(default_factory=dict)
    extra: tuple[tuple[str, dict[str, Any]], ...] = ()

    def spec_class(self) -> type:
        module, name = self.spec.split(":")
        return getattr(importlib.import_module(module), name)


def _choices(annotation: Any) -> list[str] | None:
    """The values of a (possibly optional) Literal annotation."""
    if get_origin(annotation) is Literal:
        return [str(v) for v in get_args(annotation)]
    if get_origin(annotation) in (list, dict):
        return None
    for arg in get_args(annotation):
        if (choices := _choices(arg)) is not None:
            return choices
    return None


class SpecParser(argparse.ArgumentParser):
    """The parser of one verb whose options are a spec's fields (see the module docstring)."""

    def __init__(self, *args: Any, line: SpecLine | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.line = line
        self.flags: dict[str, Flag] | None = None  # by argparse dest, once added

    def _add_spec_options(self) -> None:
        from crosslift.data.specs import command_line_flags

        if self.flags is not None or self.line is None:
            return
        spec = self.line.spec_class()
        self.description = self.description or spec.__doc__
        self.flags = {}
        for flag in command_line_flags(spec):
            if flag.keys[-1] in self.line.hidden:
                continue
            dest = "_".join(flag.keys)
            self.flags[dest] = flag
            self.add_argument(*self._names(flag, dest), **self._keywords(flag, dest))
        for name, keywords in self.line.extra:
            self.add_argument(name, **keywords)

    def _names(self, flag: Flag, dest: str) -> list[str]:
        return [dest] if flag.keys[-1] in self.line.positional else [flag.name]

    def _keywords(self, flag: Flag, dest: str) -> dict[str, Any]:
        name = flag.keys[-1]
        keywords: dict[str, Any] = {"help": self._help(flag)}
        if name in self.line.positional:
            return keywords | {"metavar": self.line.metavars.get(name)} | self.line.positional[name]
        keywords |= {"dest": dest, "default": argparse.SUPPRESS}
        if flag.takes == "nothing":
            return keywords | {"action": "store_const", "const": flag.value}
        if flag.takes == "repeated":
            keywords["action"] = "append"
        elif (choices := _choices(flag.field.annotation)) is not None:
            keywords["choices"] = choices
        keywords["required"] = flag.field.is_required()
        keywords["metavar"] = self.line.metavars.get(name, flag.name[2:].upper().replace("-", "_"))
        if "choices" in keywords and name not in self.line.metavars:
            del keywords["metavar"]  # argparse shows the choices
        return keywords

    def _help(self, flag: Flag) -> str | None:
        """The field's description; a reading option's says what it reads (`SpecLine.what`)."""
        from crosslift.data.options import ReadOptions

        text = flag.field.description
        what = self.line.what.get("_".join(flag.keys[:-1]))
        if text is None or what is None or flag.keys[-1] not in ReadOptions.model_fields:
            return text
        return re.sub(r"\binput\b", what, text)

    def parse_known_args(
        self, args: Sequence[str] | None = None, namespace: argparse.Namespace | None = None
    ) -> tuple[argparse.Namespace, list[str]]:
        self._add_spec_options()
        namespace, rest = super().parse_known_args(args, namespace)
        if self.flags is not None:
            namespace.spec = self._spec(namespace)
        return namespace, rest

    def format_help(self) -> str:
        self._add_spec_options()
        return super().format_help()

    def _spec(self, namespace: argparse.Namespace) -> Any:
        """The spec of the parsed options (the ones not given take the spec's defaults)."""
        from pydantic import ValidationError

        from crosslift.data.specs import command_line_problems, put

        mapping: dict[str, Any] = {}
        for dest, flag in self.flags.items():
            if hasattr(namespace, dest):
                value = getattr(namespace, dest)
                for item in value if flag.takes == "repeated" else [value]:
                    put(mapping, flag, item)
        try:
            return self.line.spec_class().model_validate(mapping)
        except ValidationError as e:
            self.error(command_line_problems(e, list(self.flags.values())))
