"""The local Stripe emulator every end-to-end test runs against."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from stripe_emulator import Emulator


@pytest.fixture
def emulator() -> Iterator[Emulator]:
    # Rate limits stay on where a test is about them; elsewhere they only slow the suite.
    with Emulator(port=0) as emu:
        emu.client.configure(rate_limit=False)
        yield emu
