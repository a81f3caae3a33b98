"""The merchant's own traffic: the account's other user of the rate limits a client reads under.

Stripe's limits are the account's ("rate limits are measured in API requests per second, per
Stripe account"), so a connector shares them with the merchant's own integration, whose
checkout must keep working while a sync runs. The emulator plays that integration inside its
own process: a background task that, at ``merchant_requests_per_second``, takes from the very
buckets and concurrency counts a client's requests take, as a request would, without HTTP (so
it costs microseconds, not a request's worth of CPU on a machine the client shares). Each of
its requests holds its concurrency slot for a realistic retrieve's time. Its outcomes are
counted apart from the client's (``Stats.merchant_*``).
"""

from __future__ import annotations

import asyncio
import heapq
import random
from collections.abc import Callable

from .config import Settings
from .limits import RateLimiter, Stats, realistic_seconds
from .store import PLATFORM_ACCOUNT

IDLE_SECONDS = 0.5
"""Longest sleep between looks at the settings (a change through the control API also wakes
it at once; this catches a change made on ``State.settings`` directly)."""
LATE_SECONDS = 0.1
"""Arrivals later than this, because the event loop was busy (seeding, a big page), are
dropped rather than fired in one burst, which would drain the buckets as no real traffic
does."""


class MerchantTraffic:
    """Requests of the merchant's integration, drawn at a rate, admitted or refused by the
    limiter and counted. ``run`` is its task; ``start`` and ``stop`` bound it to a server's
    life."""

    def __init__(self, settings: Settings, limiter: RateLimiter, stats: Stats,
                 endpoint_of: Callable[[str, str], str]) -> None:
        self.settings = settings
        self.limiter = limiter
        self.stats = stats
        self.endpoint_of = endpoint_of
        self.rng = random.Random()
        self.task: asyncio.Task[None] | None = None
        self._waiter: asyncio.Future[None] | None = None
        # Slots held by admitted requests: (release time on the loop's clock, sequence, slot).
        self._held: list[tuple[float, int, tuple[str, bool, str]]] = []
        self._sequence = 0
        self._endpoints_given: list[str] | None = None
        self._endpoints: list[str] = []

    @property
    def running(self) -> bool:
        return self.task is not None and not self.task.done()

    def start(self) -> None:
        """Run on the current event loop until ``stop``."""
        if not self.running:
            self.task = asyncio.get_running_loop().create_task(
                self.run(), name="stripe-emulator-merchant")

    async def stop(self) -> None:
        task, self.task = self.task, None
        if task is not None:
            task.cancel()
            try:
                await task
            except asyncio.CancelledError:
                pass
        # Nothing will release them now: free them, so that a later start (the same state
        # served again) does not begin with slots nobody holds.
        while self._held:
            self.limiter.release(*heapq.heappop(self._held)[2])

    def wake(self) -> None:
        """Look at the settings again now (called when they change)."""
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        next_at: float | None = None
        planned_rate = 0.0
        while True:
            now = loop.time()
            self._release_due(now)
            rate = self.settings.merchant_requests_per_second
            wake_at = now + IDLE_SECONDS
            if rate > 0:
                if next_at is None or rate != planned_rate:
                    planned_rate = rate
                    next_at = now + self._gap(rate)
                if now - next_at > LATE_SECONDS:
                    next_at = now
                while next_at <= now:
                    self._arrive(now)
                    next_at += self._gap(rate)
                wake_at = min(wake_at, next_at)
            else:
                next_at = None
            if self._held:
                wake_at = min(wake_at, self._held[0][0])
            await self._sleep(max(0.0, wake_at - now))

    def _gap(self, rate: float) -> float:
        if self.settings.merchant_arrivals == "even":
            return 1.0 / rate
        return self.rng.expovariate(rate)

    def _arrive(self, now: float) -> None:
        settings = self.settings
        endpoint = self.rng.choice(self._resolved_endpoints())
        owner = settings.merchant_account or PLATFORM_ACCOUNT
        livemode = settings.merchant_livemode
        refused = self.limiter.admit(settings, owner, livemode, endpoint)
        self.stats.merchant(refused)
        if refused is None:
            hold = realistic_seconds(1, self.rng)
            self._sequence += 1
            heapq.heappush(self._held, (now + hold, self._sequence, (owner, livemode, endpoint)))

    def _release_due(self, now: float) -> None:
        held = self._held
        while held and held[0][0] <= now:
            self.limiter.release(*heapq.heappop(held)[2])

    def _resolved_endpoints(self) -> list[str]:
        given = self.settings.merchant_endpoints
        # Settings.update replaces the list whole, so its identity tells when to map again.
        if given is not self._endpoints_given:
            self._endpoints = [self.endpoint_of(*text.split(" ", 1)) for text in given]
            self._endpoints_given = given
        return self._endpoints

    async def _sleep(self, seconds: float) -> None:
        loop = asyncio.get_running_loop()
        waiter = self._waiter = loop.create_future()
        timer = loop.call_later(seconds, _settle, waiter)
        try:
            await waiter
        finally:
            timer.cancel()
            self._waiter = None


def _settle(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_result(None)
