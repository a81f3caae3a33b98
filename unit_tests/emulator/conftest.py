"""One emulator per test module, on a free port, emptied before every test."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from .support import QUIET, Api

# The repository root, for runs that do not start from it.
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from stripe_emulator import Emulator, EmulatorClient  # noqa: E402


@pytest.fixture(scope="module")
def emulator() -> Iterator[Emulator]:
    with Emulator(port=0, **QUIET) as running:
        yield running


@pytest.fixture
def control(emulator: Emulator) -> EmulatorClient:
    client = emulator.client
    client.reset()
    client.configure(**QUIET)
    return client


@pytest.fixture
def api(emulator: Emulator, control: EmulatorClient) -> Api:
    return Api(emulator.url)
