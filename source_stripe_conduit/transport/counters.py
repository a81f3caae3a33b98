"""What the requests of a stream, and of a whole sync, came to: by kind of request and answer."""

from __future__ import annotations

from dataclasses import dataclass, field, fields

from source_stripe_conduit.transport.budget import CHILD_LIST, EVENT_PAGE, LIST_PAGE, RETRIEVE


@dataclass
class StreamCounters:
    requests: int = 0
    """Requests Stripe answered for good (a success, or an error not retried)."""
    attempts: int = 0
    """Every response received, retried ones included."""
    rate_limited: int = 0
    # ``attempts`` by kind: what a sync costs against Stripe's read allocation, where every
    # list page, events page and retrieve counts.
    list_pages: int = 0
    event_pages: int = 0
    retrieves: int = 0
    child_lists: int = 0
    rate_limited_by_reason: dict[str, int] = field(default_factory=dict)
    """429s by the limiter that refused them (``global-rate`` …), or by Stripe's error code
    where no limiter did (``lock_timeout``)."""

    def attempted(self, kind: str, refused_by: str | None) -> None:
        """One more answer, to a request of ``kind`` (a counter's name), refused by
        ``refused_by`` (a 429's limiter or code) or not."""
        self.attempts += 1
        setattr(self, kind, getattr(self, kind) + 1)
        if refused_by is not None:
            self.rate_limited += 1
            self.rate_limited_by_reason[refused_by] = (
                self.rate_limited_by_reason.get(refused_by, 0) + 1)

    @property
    def retries(self) -> int:
        return max(self.attempts - self.requests, 0)

    def add(self, other: StreamCounters) -> None:
        for counter in fields(StreamCounters):
            mine = getattr(self, counter.name)
            if isinstance(mine, int):
                setattr(self, counter.name, mine + getattr(other, counter.name))
        for reason, count in other.rate_limited_by_reason.items():
            self.rate_limited_by_reason[reason] = self.rate_limited_by_reason.get(reason, 0) + count


@dataclass
class SyncTotals(StreamCounters):
    """Every stream's counters added up, and the time the sync gave way to the account's
    other traffic."""

    yielded_seconds: float = 0.0
    """Seconds during which Stripe's refusals held some rate of the sync below its budget."""


KIND_COUNTER = {LIST_PAGE: "list_pages", EVENT_PAGE: "event_pages", RETRIEVE: "retrieves",
                 CHILD_LIST: "child_lists"}
