"""The committed data extracted from Stripe's OpenAPI files (see tools/extract_emulator_data.py).

Loaded once per process; the emulator never reads Stripe's original files.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

import orjson

DATA_DIR = Path(__file__).resolve().parent / "data"


@functools.cache
def examples() -> dict[str, Any]:
    """Object type -> Stripe's example object (and ``deleted_<type>`` -> deletion stub)."""
    result: dict[str, Any] = json.loads((DATA_DIR / "examples.json").read_text())
    return result


@functools.cache
def example_bytes(object_type: str) -> bytes:
    """The example serialized once: ``orjson.loads`` of it is the fastest deep copy."""
    return orjson.dumps(examples()[object_type])


@functools.cache
def facts() -> dict[str, Any]:
    result: dict[str, Any] = json.loads((DATA_DIR / "spec_facts.json").read_text())
    return result


def list_params(path_template: str) -> frozenset[str]:
    return _list_params()[path_template]


@functools.cache
def _list_params() -> dict[str, frozenset[str]]:
    return {path: frozenset(names) for path, names in facts()["list_params"].items()}


@functools.cache
def expandable(object_type: str) -> frozenset[str]:
    return frozenset(facts()["expandable"].get(object_type, ()))


@functools.cache
def field_types(object_type: str) -> dict[str, frozenset[str]]:
    return {name: frozenset(types)
            for name, types in facts()["field_types"].get(object_type, {}).items()}


@functools.cache
def event_types() -> frozenset[str]:
    return frozenset(facts()["event_types"])


def api_version() -> str:
    version: str = facts()["api_version"]
    return version
