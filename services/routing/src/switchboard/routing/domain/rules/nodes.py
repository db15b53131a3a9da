"""Reading composed YAML nodes into plain values, collecting a problem (with line and column) for each bad node.

Working on nodes rather than on `safe_load`'s output keeps every value's position, and lets strings be read as
written: `language: no` stays Norwegian instead of turning into `False`.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Collection, Iterable

from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from .model import Problem

_NULL = "tag:yaml.org,2002:null"
_BOOL = "tag:yaml.org,2002:bool"
_WHOLE_NUMBER = re.compile(r"[-+]?[0-9]+")


def suggest(name: str, known: Iterable[str]) -> str:
    """' (known: a, b; did you mean 'a'?)' — the hint appended to an unknown name."""
    options = sorted(known)
    close = difflib.get_close_matches(name, options, n=1)
    hint = f"; did you mean '{close[0]}'?" if close else ""
    return f" (known: {', '.join(options) or 'none'}{hint})"


class Reader:
    """Typed accessors over nodes; each records a `Problem` and returns None (or nothing) on a bad node."""

    def __init__(self) -> None:
        self.problems: list[Problem] = []

    def fail(self, node: Node, message: str) -> None:
        mark = node.start_mark
        self.problems.append(Problem(mark.line + 1, mark.column + 1, message))

    def mapping(
        self, node: Node, what: str, *, required: Collection[str] = (), optional: Collection[str] = ()
    ) -> dict[str, Node] | None:
        """The mapping's values by key; unknown, duplicate and missing keys are problems."""
        if not isinstance(node, MappingNode):
            self.fail(node, f"{what} must be a mapping")
            return None
        allowed = [*required, *optional]
        found: dict[str, Node] = {}
        for key, value in node.value:
            if not isinstance(key, ScalarNode):
                self.fail(key, f"{what}: keys must be plain names")
            elif key.value in found:
                self.fail(key, f"{what}: duplicate key '{key.value}'")
            elif key.value not in allowed:
                self.fail(key, f"{what}: unknown key '{key.value}'" + suggest(key.value, allowed))
            else:
                found[key.value] = value
        for name in required:
            if name not in found:
                self.fail(node, f"{what}: missing '{name}'")
        return found

    def text(self, node: Node, what: str) -> str | None:
        """A non-empty string, read as written (no YAML 1.1 booleans or numbers)."""
        if not isinstance(node, ScalarNode) or node.tag == _NULL or not str(node.value).strip():
            self.fail(node, f"{what} must be a non-empty text")
            return None
        return str(node.value).strip()

    def texts(self, node: Node, what: str) -> list[tuple[str, Node]]:
        """One text or a non-empty list of them, each with its node (for pointing at the bad one)."""
        items = node.value if isinstance(node, SequenceNode) else [node]
        if not items:
            self.fail(node, f"{what} must list at least one value")
        found = [(self.text(item, what), item) for item in items]
        return [(value, item) for value, item in found if value is not None]

    def choice(self, node: Node, what: str, options: Collection[str]) -> str | None:
        """A text that must be one of `options` (a close match is suggested)."""
        value = self.text(node, what)
        if value is not None and value not in options:
            self.fail(node, f"unknown {what} '{value}'" + suggest(value, options))
            return None
        return value

    def integer(self, node: Node, what: str, low: int, high: int | None = None) -> int | None:
        """A whole number in [low, high]."""
        if not isinstance(node, ScalarNode) or not _WHOLE_NUMBER.fullmatch(str(node.value)):
            self.fail(node, f"{what} must be a whole number")
            return None
        value = int(node.value)
        if value < low or (high is not None and value > high):
            bounds = f"from {low} to {high}" if high is not None else f"at least {low}"
            self.fail(node, f"{what} is {value}, it must be {bounds}")
            return None
        return value

    def boolean(self, node: Node, what: str) -> bool | None:
        """true or false (YAML's yes/no/on/off are accepted as YAML defines them)."""
        if not isinstance(node, ScalarNode) or node.tag != _BOOL:
            self.fail(node, f"{what} must be true or false")
            return None
        return str(node.value).lower() in ("true", "yes", "on", "y")
