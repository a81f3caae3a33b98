"""How many pages may be in flight, and whose page goes next.

By Little's law a stream needs ``rate x latency`` requests in flight to reach ``rate``; more only
wait inside the rate budget. Latency is measured as the sync runs, so the same code fits a
300 ms Stripe and a 2 ms local emulator.

Snapshots read at once share the account's rate in proportion to the pages each has left, so
that they end together: a stream left alone at the end reads at its endpoint's limit (25/s),
a quarter of a live account's. The share sizes each stream's ranges, and a free slot goes to
the waiting stream with the fewest pages in flight for the pages it has left.
"""

from __future__ import annotations

import math
import threading
from collections import Counter
from collections.abc import Callable

# Above rate x latency to cover latency jitter and the moments between two pages of a range.
OVERSUBSCRIPTION = 1.5
MAX_PAGES_PER_STREAM = 16
MAX_PAGES_IN_FLIGHT = 48
# Above this share of the output queue in use, no new page starts.
BACKLOG_LIMIT = 0.5


class Cancelled(Exception):
    """A read was stopped by its owner (its stream ended, or the sync did) while it waited."""


class Governor:
    def __init__(self, account_rate: float, endpoint_rate: float,
                 latency: Callable[[str | None], float | None],
                 backlog: Callable[[], float] = lambda: 0.0) -> None:
        self._account_rate = account_rate
        self._endpoint_rate = endpoint_rate
        self._latency = latency
        # How full the output queue is (0 to 1): when records wait for the main thread to write
        # them, the sync is bound by that thread, and a page read now would only wait in memory.
        self._backlog = backlog
        self._in_flight = 0
        self._stream_in_flight: Counter[str] = Counter()
        self._waiting: Counter[str] = Counter()
        # Snapshots being read, with the pages each has left (None: not known yet).
        self._remaining: dict[str, float | None] = {}
        # Reads of one stream for several accounts: each has a slot name of its own, answers
        # as fast as the stream's (its latency), and may share the stream's endpoint limit.
        self._stream_of: dict[str, str] = {}
        self._endpoint_of: dict[str, str] = {}
        # Slots whose read was cancelled (and, once closed, every slot): their waits end.
        self._cancelled: set[str] = set()
        self._closed = False
        self._cond = threading.Condition()

    def join(self, slot: str, stream: str, *, shares_endpoint: bool) -> None:
        """``slot`` reads ``stream`` for one account; ``shares_endpoint``: under the same
        endpoint limit as the stream's other accounts (budgets shared between accounts)."""
        with self._cond:
            self._stream_of[slot] = stream
            self._endpoint_of[slot] = stream if shares_endpoint else slot

    def wants_more(self, stream: str) -> bool:
        """Whether ``stream``'s accounts together have fewer pages in flight (or waiting for a
        slot) than its endpoint's rate needs: then another account's read may start."""
        with self._cond:
            busy = sum(n for s, n in self._stream_in_flight.items()
                       if self._stream_of.get(s) == stream)
            busy += sum(n for s, n in self._waiting.items() if self._stream_of.get(s) == stream)
            # Before the stream's first answer, the sync's answer time (the account lookup).
            latency = self._latency(stream) or self._latency(None) or 0.0
            def pages(rate: float, cap: int) -> int:
                return min(cap, math.ceil(rate * latency * OVERSUBSCRIPTION) + 1)
            return busy < pages(self._endpoint_rate, MAX_PAGES_PER_STREAM) \
                and self._in_flight < pages(self._account_rate, MAX_PAGES_IN_FLIGHT)

    def cancel(self, slot: str) -> None:
        """``slot``'s read is being stopped: a wait for a page of it ends with ``Cancelled``."""
        with self._cond:
            self._cancelled.add(slot)
            self._cond.notify_all()

    def close(self) -> None:
        """The sync is over: every wait ends with ``Cancelled``, and no page starts."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    @property
    def in_flight(self) -> int:
        with self._cond:
            return self._in_flight

    def leave(self, slot: str) -> None:
        """``slot``'s read is over (a platform's thousands of accounts come and go)."""
        with self._cond:
            self._cancelled.discard(slot)
            self._stream_of.pop(slot, None)
            self._endpoint_of.pop(slot, None)
            self._stream_in_flight.pop(slot, None)
            self._waiting.pop(slot, None)

    def _wanted(self, rate: float, cap: int, stream: str | None = None) -> int:
        latency = self._latency(self._stream_of.get(stream, stream) if stream else None)
        if latency is None:
            return 1
        return max(1, min(cap, math.ceil(rate * latency * OVERSUBSCRIPTION) + 1))

    # -- snapshots and their shares -------------------------------------------------------------

    def snapshot_started(self, stream: str) -> None:
        with self._cond:
            self._remaining[stream] = None

    def snapshot_ended(self, stream: str) -> None:
        with self._cond:
            self._remaining.pop(stream, None)
            self._cond.notify_all()

    def pages_left(self, stream: str, pages: float | None) -> None:
        """A snapshot's estimate of the pages it has left."""
        with self._cond:
            if stream in self._remaining:
                self._remaining[stream] = pages
                self._cond.notify_all()

    def share(self, stream: str) -> float:
        """Requests per second this stream may count on: its endpoint's limit, or its part of
        the account's, in proportion to the pages it has left (equal parts while unknown)."""
        with self._cond:
            known = {s: p for s, p in self._remaining.items() if p is not None}
            total = sum(known.values())
            mine = known.get(stream)
            if mine is not None and total > 0 and len(known) == len(self._remaining):
                part = self._account_rate * mine / total
            else:
                part = self._account_rate / max(len(self._remaining), 1)
            endpoint = self._endpoint_of.get(stream, stream)
            sharing = sum(1 for s in self._remaining if self._endpoint_of.get(s, s) == endpoint)
        return min(self._endpoint_rate / max(sharing, 1), part)

    def stream_target(self, stream: str) -> int:
        """Pages one stream should keep in flight, from its share and its own answer times: a
        range more than a stream can use costs one more partial page at its end."""
        return self._wanted(self.share(stream), MAX_PAGES_PER_STREAM, stream)

    # -- slots ------------------------------------------------------------------------------------

    def _need(self, stream: str) -> float:
        """Pages in flight per page left: the lower, the further behind its share."""
        left = self._remaining.get(stream)
        return self._stream_in_flight[stream] / max(left or 1.0, 1.0)

    def _behind_another(self, stream: str) -> bool:
        mine = self._need(stream)
        return any(n and s != stream and self._need(s) < mine for s, n in self._waiting.items())

    def acquire(self, stream: str) -> None:
        """Block until the whole sync may have one more page in flight and no waiting stream
        is further behind its share."""
        with self._cond:
            self._waiting[stream] += 1
            try:
                while True:
                    if self._closed or stream in self._cancelled:
                        raise Cancelled(f"the read of {stream} was stopped")
                    if self._in_flight == 0:
                        break
                    if self._backlog() >= BACKLOG_LIMIT:
                        # Nothing is notified as the queue drains: look again soon.
                        self._cond.wait(timeout=0.02)
                    elif self._in_flight >= self._wanted(self._account_rate, MAX_PAGES_IN_FLIGHT) \
                            or self._behind_another(stream):
                        self._cond.wait(timeout=0.5)
                    else:
                        break
            finally:
                self._waiting[stream] -= 1
            self._in_flight += 1
            self._stream_in_flight[stream] += 1
            self._cond.notify_all()  # the next in line may go too, if there is room

    def release(self, stream: str) -> None:
        with self._cond:
            self._in_flight -= 1
            self._stream_in_flight[stream] -= 1
            self._cond.notify_all()
