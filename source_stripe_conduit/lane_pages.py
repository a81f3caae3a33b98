"""The pages one lane has in flight, under one lock: the thin shell of a stream's read.

A lane (one account's read of one stream, ``sync.py``) starts pages on its generator's thread;
the CDK's workers read them and report back here, each page exactly once: done (its records
queued, its outcome to apply) or failed. A failure ends the lane's read once its other pages in
flight have ended, so the position it leaves holds them. Its owner can cancel it: every wait of
the lane ends, it starts no page, and pages it started that never reached the CDK give their
governor slot back (``abandon``). Every page holds one slot of the governor from its start to
its end, whichever way it ends.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from source_stripe_conduit.governor import Cancelled, Governor
from source_stripe_conduit.partitions import Outcome, PagePartition

if TYPE_CHECKING:
    from source_stripe_conduit.sync import Lane


class LanePages:
    def __init__(self, lane: Lane, governor: Governor) -> None:
        self.lane = lane
        self._governor = governor
        self._cond = threading.Condition()
        self._in_flight: set[PagePartition] = set()
        self.failure: BaseException | None = None  # what ended the read, if it failed
        self._cancelled = False

    def _started_page(self, partition: PagePartition) -> PagePartition:
        with self._cond:
            self._in_flight.add(partition)
        return partition

    def _wait_for(self, partition: PagePartition) -> None:
        """Until ``partition`` has ended (or the lane is cancelled)."""
        with self._cond:
            while partition in self._in_flight and not self._cancelled:
                self._cond.wait()

    def _drain(self) -> None:
        """Under the lock, after a failure: until the lane's other pages have ended."""
        while self._in_flight and not self._cancelled:
            self._cond.wait()

    # -- page completion (worker threads) -----------------------------------------------------

    def page_done(self, partition: PagePartition) -> None:
        outcome = partition.outcome
        if outcome is None:
            return  # a failed page of an isolated read: page_failed has seen to it
        with self._cond:
            self._in_flight.discard(partition)
            self._applied(outcome)
            self._cond.notify_all()
        self._told(outcome)
        self._governor.release(self.lane.slot)

    def _applied(self, outcome: Outcome) -> None:
        """Under the lock: the page's outcome made part of the lane's position."""
        raise NotImplementedError

    def _told(self, outcome: Outcome) -> None:
        """Outside the lock: what the page's outcome says to Airbyte (state, warnings)."""
        raise NotImplementedError

    def page_failed(self, partition: PagePartition, error: BaseException) -> bool:
        with self._cond:
            self._in_flight.discard(partition)
            self.failure = self.failure or error
            self._cond.notify_all()
        self._governor.release(self.lane.slot)
        # One account's failed page (its access revoked, Stripe unavailable for it after the
        # retries) ends that account's read, not the stream's.
        return self.lane.isolated and isinstance(error, Exception)

    # -- stopping (the lane's owner) ----------------------------------------------------------

    def cancel(self) -> None:
        """Stop this read: its waits end, it starts no page. Pages already handed to the CDK
        still finish (and release their slots) as they would."""
        with self._cond:
            self._cancelled = True
            self.failure = self.failure or Cancelled(f"the read of {self.lane.slot} was stopped")
            self._cond.notify_all()
        self._governor.cancel(self.lane.slot)

    def abandon(self, partition: PagePartition) -> None:
        """A page this read started that will never be read (its stream stopped before handing
        it to the CDK): its slot goes back."""
        with self._cond:
            if partition not in self._in_flight:
                return
            self._in_flight.discard(partition)
            self._cond.notify_all()
        self._governor.release(self.lane.slot)
