"""One rate budget for every request of a sync: the account's limit and each endpoint's limit.

The CDK's ``APIBudget`` applies only the first policy that matches a request, but Stripe counts
every request against two limits at once: the account's (100/s live, 25/s test) and the one of
the endpoint it hits (25/s by default). ``StripeAPIBudget`` therefore takes a call from both, the
narrower first, using the CDK's moving-window policies for each.

Reads of connected accounts (``Stripe-Account``) share these limits by default: Stripe does not
document whether they count against the platform or the connected account. With
``per_account`` each account acting in a request gets limits of its own.
"""

from __future__ import annotations

import re
import threading
from datetime import timedelta
from typing import Any
from urllib.parse import urlparse

import requests
from airbyte_cdk.sources.streams.call_rate import (
    APIBudget,
    MovingWindowCallRatePolicy,
    Rate,
)

# A budget at exactly Stripe's rate would draw 429s from clock and network jitter between us
# and Stripe; a few percent below it keeps them rare at little cost.
HEADROOM = 0.99

# An object id is a lowercase prefix, an underscore and a tail holding a digit or a capital
# (cus_NffrFeUfNV2Hib, cs_test_a1B2); a resource name (payment_methods) is lowercase only.
_ID_SEGMENT = re.compile(r"/[a-z]+_[A-Za-z0-9_]*[A-Z0-9][A-Za-z0-9_]*(?=/|$)")


def endpoint_of(url: str) -> str:
    """The endpoint a request counts against: its path with object ids folded."""
    return _ID_SEGMENT.sub("/{id}", urlparse(url).path)


def _policy(per_second: float) -> MovingWindowCallRatePolicy:
    # The window is one second; a fractional rate is spread over a longer window instead.
    calls = max(int(per_second * HEADROOM), 1)
    window = timedelta(seconds=calls / (per_second * HEADROOM))
    return MovingWindowCallRatePolicy(rates=[Rate(limit=calls, interval=window)],
                                      matchers=[])


class StripeAPIBudget(APIBudget):
    def __init__(self, requests_per_second: float, endpoint_requests_per_second: float,
                 per_account: bool = False) -> None:
        self._account_rate = requests_per_second
        self._account_policy = _policy(requests_per_second)
        self._endpoint_rate = endpoint_requests_per_second
        self._endpoint_matters = endpoint_requests_per_second < requests_per_second
        self._per_account = per_account
        self._windows: dict[tuple[str, str], MovingWindowCallRatePolicy] = {}
        self._lock = threading.Lock()
        super().__init__(policies=[self._account_policy])

    def _policy_of(self, account: str, endpoint: str | None) -> MovingWindowCallRatePolicy:
        """The window of ``endpoint`` (None: of the whole account) of ``account``."""
        if endpoint is None and not account:
            return self._account_policy
        key = (account, endpoint or "")
        with self._lock:
            policy = self._windows.get(key)
            if policy is None:
                rate = self._endpoint_rate if endpoint else self._account_rate
                policy = self._windows[key] = _policy(rate)
            return policy

    def acquire_call(self, request: Any, block: bool = True,
                     timeout: float | None = None) -> None:
        if not isinstance(request, requests.PreparedRequest) or not request.url:
            self._do_acquire(request=request, policy=self._account_policy, block=block,
                             timeout=timeout)
            return
        account = str(request.headers.get("Stripe-Account") or "") if self._per_account else ""
        # Two windows at one rate let through less than either: the endpoint limit counts
        # only when it is narrower than the account's (test mode: both are 25/s).
        if self._endpoint_matters:
            endpoint = f"{request.method} {endpoint_of(request.url)}"
            self._do_acquire(request=request, policy=self._policy_of(account, endpoint),
                             block=block, timeout=timeout)
        self._do_acquire(request=request, policy=self._policy_of(account, None), block=block,
                         timeout=timeout)
