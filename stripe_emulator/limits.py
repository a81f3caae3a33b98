"""Rate limits, latency and injected faults: how the emulator makes a client's life realistic."""

from __future__ import annotations

import random
import time
from dataclasses import dataclass, field
from typing import Any, TypeVar

from .config import Settings

REALISTIC_BASE_MS = 80.0
REALISTIC_PER_OBJECT_MS = 2.2
REALISTIC_JITTER = 0.15
K = TypeVar("K")


class TokenBucket:
    """``rate`` tokens per second, holding at most one second's worth (Stripe allows bursts of
    about a second of traffic before it starts refusing)."""

    __slots__ = ("rate", "tokens", "stamp")

    def __init__(self, rate: float, now: float) -> None:
        self.rate = rate
        self.tokens = rate
        self.stamp = now

    def take(self, rate: float, now: float) -> bool:
        if rate != self.rate:
            self.rate = rate
            self.tokens = min(self.tokens, rate)
        self.tokens = min(self.rate, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return True
        return False

    def give_back(self) -> None:
        self.tokens = min(self.rate, self.tokens + 1.0)


# Stripe names the limiter behind each 429 in the header Stripe-Rate-Limited-Reason: "If a
# request returns a 429 status code without these headers, it wasn't the result of a rate
# limiter (for example, it may be a lock timeout)". Its values, as Stripe spells them:
GLOBAL_RATE = "global-rate"
ENDPOINT_RATE = "endpoint-rate"
GLOBAL_CONCURRENCY = "global-concurrency"
ENDPOINT_CONCURRENCY = "endpoint-concurrency"
RESOURCE_SPECIFIC = "resource-specific"
"""Stripe's fifth reason; the emulator has no limiter of that kind."""
REASON_HEADER = "Stripe-Rate-Limited-Reason"

Slot = tuple[str, bool, str]
"""What an admitted request holds until it is answered: (owner, livemode, endpoint)."""


@dataclass
class RateLimiter:
    """Global buckets per budget owner (test and live apart), optional per-endpoint ones, and
    optional limits on the requests in flight at once (globally and per endpoint).

    The owner is the platform for every request (``rate_limit_scope`` "platform", the
    default), or the connected account a request acts on ("account"). The merchant's own
    traffic (``merchant.py``) goes through the same ``admit``, so it and a client refuse
    each other.

    Buckets run on the monotonic wall clock, not the emulator clock: moving the emulator's
    clock for retention tests must not refill or drain them.
    """

    global_buckets: dict[tuple[str, bool], TokenBucket] = field(default_factory=dict)
    endpoint_buckets: dict[tuple[str, bool, str], TokenBucket] = field(default_factory=dict)
    # Requests admitted and not yet answered. Counted whether or not a concurrency limit is
    # on, so that a limit switched on mid-run meets the requests already in flight.
    in_flight: dict[tuple[str, bool], int] = field(default_factory=dict)
    endpoint_in_flight: dict[Slot, int] = field(default_factory=dict)

    def reset(self) -> None:
        # In-flight counts stay: the requests they count are still to be answered and will
        # release their slots then.
        self.global_buckets.clear()
        self.endpoint_buckets.clear()

    def admit(self, settings: Settings, owner: str, livemode: bool,
              endpoint: str) -> str | None:
        """Admit a request (None), which then holds its slot until ``release``, or say which
        limiter refuses it (a value of ``Stripe-Rate-Limited-Reason``).

        A refused request spends nothing: tokens taken by the limiters before the refusing
        one are given back (Stripe does not say; a client backing off must be able to come
        back at the documented rate).
        """
        key = (owner, livemode)
        slot = (owner, livemode, endpoint)
        if settings.rate_limit:
            reason = self._refusal(settings, key, slot)
            if reason is not None:
                return reason
        in_flight = self.in_flight
        in_flight[key] = in_flight.get(key, 0) + 1
        endpoint_in_flight = self.endpoint_in_flight
        endpoint_in_flight[slot] = endpoint_in_flight.get(slot, 0) + 1
        return None

    def release(self, owner: str, livemode: bool, endpoint: str) -> None:
        """The request admitted with these has been answered (or given up)."""
        _decrement(self.in_flight, (owner, livemode))
        _decrement(self.endpoint_in_flight, (owner, livemode, endpoint))

    def _refusal(self, settings: Settings, key: tuple[str, bool], slot: Slot) -> str | None:
        now = time.monotonic()
        rate = settings.rate_limit_live if key[1] else settings.rate_limit_test
        bucket = self.global_buckets.get(key)
        if bucket is None:
            bucket = self.global_buckets[key] = TokenBucket(rate, now)
        if not bucket.take(rate, now):
            return GLOBAL_RATE
        ebucket: TokenBucket | None = None
        if settings.per_endpoint_limit_enabled:
            ebucket = self.endpoint_buckets.get(slot)
            if ebucket is None:
                ebucket = self.endpoint_buckets[slot] = TokenBucket(
                    settings.per_endpoint_limit, now)
            if not ebucket.take(settings.per_endpoint_limit, now):
                bucket.give_back()
                return ENDPOINT_RATE
        reason: str | None = None
        limit = settings.concurrency_limit
        if limit is not None and self.in_flight.get(key, 0) >= limit:
            reason = GLOBAL_CONCURRENCY
        else:
            limit = settings.endpoint_concurrency_limit
            if limit is not None and self.endpoint_in_flight.get(slot, 0) >= limit:
                reason = ENDPOINT_CONCURRENCY
        if reason is not None:
            bucket.give_back()
            if ebucket is not None:
                ebucket.give_back()
        return reason


def _decrement(counts: dict[K, int], key: K) -> None:
    left = counts.get(key, 0) - 1
    # Dropped at zero: a key for every account and endpoint ever used would pile up.
    if left > 0:
        counts[key] = left
    else:
        counts.pop(key, None)


def realistic_seconds(objects: int, rng: random.Random) -> float:
    base = REALISTIC_BASE_MS + REALISTIC_PER_OBJECT_MS * objects
    return base * rng.uniform(1 - REALISTIC_JITTER, 1 + REALISTIC_JITTER) / 1000.0


def latency_seconds(settings: Settings, objects: int, rng: random.Random) -> float:
    latency = settings.latency
    if latency == "realistic":
        return realistic_seconds(objects, rng)
    assert isinstance(latency, float)
    return latency / 1000.0


@dataclass
class Stats:
    requests: int = 0
    by_endpoint: dict[str, int] = field(default_factory=dict)
    by_status: dict[str, int] = field(default_factory=dict)
    rate_limited: int = 0
    # Which limiter refused (Stripe-Rate-Limited-Reason): a client that overruns its
    # concurrency needs a different fix from one that overruns its rate.
    rate_limited_by_reason: dict[str, int] = field(default_factory=dict)
    # Per account a request acted on (Stripe-Account, else the platform): whether a
    # connector spreads its reads over the accounts, and which ones it drove into the limit.
    by_account: dict[str, int] = field(default_factory=dict)
    rate_limited_by_account: dict[str, int] = field(default_factory=dict)
    # Answers by the API version they were rendered in (their Stripe-Version header): which
    # version a client reads in, pinned or the account's default.
    by_version: dict[str, int] = field(default_factory=dict)
    faults: int = 0
    drops: int = 0
    lock_timeouts: int = 0
    in_flight: int = 0
    peak_concurrency: int = 0
    # TCP connections accepted, and TLS handshakes completed on them: a client that does not
    # reuse its connections pays a handshake per request on Stripe, which shows here.
    connections: int = 0
    tls_handshakes: int = 0
    # How many objects each answer held (retrieves count as 1, errors as 0): a client's
    # partial and empty list pages show here.
    objects_per_answer: dict[int, int] = field(default_factory=dict)
    # Monotonic clock (system-wide on Linux): a benchmark in another process compares them with
    # its own to tell a client's start-up and shut-down from its time on the wire.
    first_request_at: float | None = None
    last_response_at: float | None = None
    # Requests that came in each second since the first: a client's ramp-up, stalls and tail.
    per_second: dict[int, int] = field(default_factory=dict)
    # The merchant's own simulated traffic (never in the counts above, which are the
    # client's): the share of it refused is what a client's sync costs the merchant.
    merchant_requests: int = 0
    merchant_refused: int = 0
    merchant_refused_by_reason: dict[str, int] = field(default_factory=dict)

    def reset(self) -> None:
        in_flight = self.in_flight
        self.__init__()  # type: ignore[misc]
        self.in_flight = in_flight
        self.peak_concurrency = in_flight

    def enter(self, endpoint: str, account: str | None = None) -> None:
        now = time.monotonic()
        if self.first_request_at is None:
            self.first_request_at = now
        second = int(now - self.first_request_at)
        self.per_second[second] = self.per_second.get(second, 0) + 1
        self.requests += 1
        self.by_endpoint[endpoint] = self.by_endpoint.get(endpoint, 0) + 1
        if account is not None:
            self.by_account[account] = self.by_account.get(account, 0) + 1
        self.in_flight += 1
        if self.in_flight > self.peak_concurrency:
            self.peak_concurrency = self.in_flight

    def limited(self, account: str, reason: str) -> None:
        self.rate_limited += 1
        self.rate_limited_by_account[account] = self.rate_limited_by_account.get(account, 0) + 1
        self.rate_limited_by_reason[reason] = self.rate_limited_by_reason.get(reason, 0) + 1

    def answered_in(self, version: str) -> None:
        self.by_version[version] = self.by_version.get(version, 0) + 1

    def merchant(self, refused: str | None) -> None:
        self.merchant_requests += 1
        if refused is not None:
            self.merchant_refused += 1
            by_reason = self.merchant_refused_by_reason
            by_reason[refused] = by_reason.get(refused, 0) + 1

    def leave(self, status: int | None, objects: int = 0) -> None:
        self.in_flight -= 1
        self.objects_per_answer[objects] = self.objects_per_answer.get(objects, 0) + 1
        self.last_response_at = time.monotonic()
        if status is not None:
            key = str(status)
            self.by_status[key] = self.by_status.get(key, 0) + 1

    def as_dict(self) -> dict[str, Any]:
        return {
            "requests": self.requests,
            "by_endpoint": dict(sorted(self.by_endpoint.items())),
            "by_status": dict(sorted(self.by_status.items())),
            "rate_limited": self.rate_limited,
            "rate_limited_by_reason": dict(sorted(self.rate_limited_by_reason.items())),
            "by_account": dict(sorted(self.by_account.items())),
            "rate_limited_by_account": dict(sorted(self.rate_limited_by_account.items())),
            "by_version": dict(sorted(self.by_version.items())),
            "faults": self.faults,
            "drops": self.drops,
            "lock_timeouts": self.lock_timeouts,
            "in_flight": self.in_flight,
            "peak_concurrency": self.peak_concurrency,
            "connections": self.connections,
            "tls_handshakes": self.tls_handshakes,
            "objects_per_answer": {str(k): v for k, v in sorted(self.objects_per_answer.items())},
            "per_second": [self.per_second.get(n, 0)
                           for n in range(max(self.per_second, default=-1) + 1)],
            "first_request_at": self.first_request_at,
            "last_response_at": self.last_response_at,
            "merchant": {
                "requests": self.merchant_requests,
                "refused": self.merchant_refused,
                "refused_by_reason": dict(sorted(self.merchant_refused_by_reason.items())),
            },
        }
