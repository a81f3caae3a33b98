"""How many pages may be in flight: enough to use the rate budget, not so many that they queue.

By Little's law a stream needs ``rate x latency`` requests in flight to reach ``rate``; more only
wait inside the rate budget. Latency is measured as the sync runs, so the same code fits a
300 ms Stripe and a 2 ms local emulator.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable

# Above rate x latency to cover latency jitter and the moments between two pages of a range.
OVERSUBSCRIPTION = 1.5
MAX_PAGES_PER_STREAM = 16
MAX_PAGES_IN_FLIGHT = 48


class Governor:
    def __init__(self, account_rate: float, endpoint_rate: float,
                 latency: Callable[[str | None], float | None]) -> None:
        self._account_rate = account_rate
        self._endpoint_rate = endpoint_rate
        self._latency = latency
        self._in_flight = 0
        self._cond = threading.Condition()

    def _wanted(self, rate: float, cap: int, stream: str | None = None) -> int:
        latency = self._latency(stream)
        if latency is None:
            return 1
        return max(1, min(cap, math.ceil(rate * latency * OVERSUBSCRIPTION) + 1))

    def stream_target(self, stream: str) -> int:
        """Pages one stream should keep in flight (all go to the same list endpoint), from the
        stream's own answer times."""
        return self._wanted(self._endpoint_rate, MAX_PAGES_PER_STREAM, stream)

    def acquire(self) -> None:
        """Block until the whole sync may have one more page in flight."""
        with self._cond:
            while self._in_flight >= self._wanted(self._account_rate, MAX_PAGES_IN_FLIGHT) \
                    and self._in_flight > 0:
                self._cond.wait(timeout=0.5)
            self._in_flight += 1

    def release(self) -> None:
        with self._cond:
            self._in_flight -= 1
            self._cond.notify_all()
