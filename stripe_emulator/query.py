"""Stripe's form-style parameters: ``expand[]=a``, ``types[0]=b``, ``created[gte]=1``,
``metadata[key]=value``, in query strings and in form bodies alike."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any

_KEY = re.compile(r"^([^\[\]]+)((?:\[[^\[\]]*\])*)$")


class ParamError(ValueError):
    def __init__(self, message: str, param: str) -> None:
        super().__init__(message)
        self.param = param


class Params:
    """Parsed parameters: name -> str, list of str (``a[]``/``a[0]``) or dict (``a[key]``).

    ``raw`` keeps, for each name, the spelling the client used first, for error messages.
    """

    def __init__(self, pairs: Iterable[tuple[str, str]]) -> None:
        self.values: dict[str, Any] = {}
        self.raw: dict[str, str] = {}
        for key, value in pairs:
            match = _KEY.match(key)
            if not match:
                raise ParamError(f"Invalid parameter: {key}", key)
            name, rest = match.groups()
            self.raw.setdefault(name, key)
            if not rest:
                self.values[name] = value
                continue
            parts = rest[1:-1].split("][")
            head = parts[0]
            if head == "" or head.isdigit():
                current = self.values.get(name)
                if not isinstance(current, list):
                    current = self.values[name] = []
                current.append(value)
            else:
                current = self.values.get(name)
                if not isinstance(current, dict):
                    current = self.values[name] = {}
                # Parts stay whole: a metadata key may itself contain a dot.
                set_in(current, parts, value)

    def __contains__(self, name: str) -> bool:
        return name in self.values

    def __iter__(self) -> Any:
        return iter(self.values)

    def get(self, name: str) -> Any:
        return self.values.get(name)

    def string(self, name: str) -> str | None:
        value = self.values.get(name)
        if value is None:
            return None
        if not isinstance(value, str):
            raise ParamError(f"Invalid string: {self.raw.get(name, name)}", name)
        return value

    def strings(self, name: str) -> list[str]:
        """A list parameter; a single value counts as a one-item list."""
        value = self.values.get(name)
        if value is None:
            return []
        if isinstance(value, str):
            return [value]
        if isinstance(value, list):
            return value
        raise ParamError(f"Invalid array: {name}", name)


def parse_int(value: Any, param: str) -> int:
    if isinstance(value, str):
        text = value.strip()
        if text.lstrip("-").isdigit():
            return int(text)
    raise ParamError(f"Invalid integer: {value}", param)


def set_in(data: dict[str, Any], parts: Sequence[str], value: Any) -> None:
    """``data["a"]["b"] = value`` for ``["a", "b"]``, making the dicts on the way."""
    target = data
    for part in parts[:-1]:
        nested = target.get(part)
        if not isinstance(nested, dict):
            nested = target[part] = {}
        target = nested
    target[parts[-1]] = value
