"""Rate limits, latency and injected faults: how the emulator makes a client's life realistic."""

from __future__ import annotations

import random
import time
from dataclasses import dataclass, field
from typing import Any

from .config import Settings

REALISTIC_BASE_MS = 80.0
REALISTIC_PER_OBJECT_MS = 2.2
REALISTIC_JITTER = 0.15


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


@dataclass
class RateLimiter:
    """Global buckets per budget owner (test and live apart) and optional per-endpoint ones.

    The owner is the platform for every request (``rate_limit_scope`` "platform", the
    default), or the connected account a request acts on ("account").

    Buckets run on the monotonic wall clock, not the emulator clock: moving the emulator's
    clock for retention tests must not refill or drain them.
    """

    global_buckets: dict[tuple[str, bool], TokenBucket] = field(default_factory=dict)
    endpoint_buckets: dict[tuple[str, bool, str], TokenBucket] = field(default_factory=dict)

    def reset(self) -> None:
        self.global_buckets.clear()
        self.endpoint_buckets.clear()

    def allow(self, settings: Settings, owner: str, livemode: bool, endpoint: str) -> bool:
        if not settings.rate_limit:
            return True
        now = time.monotonic()
        rate = settings.rate_limit_live if livemode else settings.rate_limit_test
        key = (owner, livemode)
        bucket = self.global_buckets.get(key)
        if bucket is None:
            bucket = self.global_buckets[key] = TokenBucket(rate, now)
        if not bucket.take(rate, now):
            return False
        if settings.per_endpoint_limit_enabled:
            ekey = (owner, livemode, endpoint)
            ebucket = self.endpoint_buckets.get(ekey)
            if ebucket is None:
                ebucket = self.endpoint_buckets[ekey] = TokenBucket(
                    settings.per_endpoint_limit, now)
            if not ebucket.take(settings.per_endpoint_limit, now):
                # The request was refused: give the global token back.
                bucket.tokens = min(bucket.rate, bucket.tokens + 1.0)
                return False
        return True


def latency_seconds(settings: Settings, objects: int, rng: random.Random) -> float:
    latency = settings.latency
    if latency == "realistic":
        base = REALISTIC_BASE_MS + REALISTIC_PER_OBJECT_MS * objects
        return base * rng.uniform(1 - REALISTIC_JITTER, 1 + REALISTIC_JITTER) / 1000.0
    assert isinstance(latency, float)
    return latency / 1000.0


@dataclass
class Stats:
    requests: int = 0
    by_endpoint: dict[str, int] = field(default_factory=dict)
    by_status: dict[str, int] = field(default_factory=dict)
    rate_limited: int = 0
    # Per account a request acted on (Stripe-Account, else the platform): whether a
    # connector spreads its reads over the accounts, and which ones it drove into the limit.
    by_account: dict[str, int] = field(default_factory=dict)
    rate_limited_by_account: dict[str, int] = field(default_factory=dict)
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

    def limited(self, account: str) -> None:
        self.rate_limited += 1
        self.rate_limited_by_account[account] = self.rate_limited_by_account.get(account, 0) + 1

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
            "by_account": dict(sorted(self.by_account.items())),
            "rate_limited_by_account": dict(sorted(self.rate_limited_by_account.items())),
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
        }
