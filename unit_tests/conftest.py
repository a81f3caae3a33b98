from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests_mock
from airbyte_cdk.sources.streams.http import rate_limiting

sys.path.insert(0, str(Path(__file__).parent))

from helpers import FakeStripe, Sleeps, config  # noqa: E402

from source_stripe_conduit.config import parse_config  # noqa: E402
from source_stripe_conduit.transport.client import StripeClient  # noqa: E402


@pytest.fixture
def fake() -> Iterator[FakeStripe]:
    """Stripe, faked: every request of the test goes to it (anything else is refused)."""
    stripe = FakeStripe()
    with requests_mock.Mocker() as mocker:
        stripe.install(mocker)
        yield stripe


@pytest.fixture(autouse=True)
def sleeps(monkeypatch: pytest.MonkeyPatch) -> Sleeps:
    # The CDK's retry loop sleeps in rate_limiting (the backoff plus the second it adds):
    # recorded, not slept, so retry tests take milliseconds and can check the waits.
    recorded = Sleeps()

    class _Time:
        @staticmethod
        def sleep(seconds: float) -> None:
            recorded.append(seconds)

    monkeypatch.setattr(rate_limiting, "time", _Time)
    return recorded


@pytest.fixture
def client(fake: FakeStripe) -> Iterator[StripeClient]:
    stripe = StripeClient(parse_config(config(batch_size=3)), logging.getLogger("airbyte"))
    yield stripe
    stripe.close()
