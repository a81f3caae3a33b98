"""The two kinds of page a stream reads, as CDK partitions, and what each page comes to.

A partition reads its own records (in a worker thread) and leaves an immutable outcome: the
stream's shell applies it to the position once the CDK has queued the records (close_partition),
so a state never runs ahead of the records it covers. Warnings travel in the outcome, and the
shell emits them.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from airbyte_cdk.sources.streams.concurrent.partitions.partition import Partition
from airbyte_cdk.sources.types import Record

from source_stripe_conduit.iterator.cdc import EventsFrom, read_events_page
from source_stripe_conduit.iterator.event_pages import AccountEvents
from source_stripe_conduit.iterator.phase import read_horizon
from source_stripe_conduit.iterator.position import CDC, Position, Range
from source_stripe_conduit.iterator.snapshot import SnapshotPage, read_range_page
from source_stripe_conduit.records import observed
from source_stripe_conduit.resources import Resource
from source_stripe_conduit.transport.client import StripeClient
from source_stripe_conduit.transport.errors import StripeError


@dataclass(frozen=True)
class Reading:
    """What every page of a stream is read with."""

    client: StripeClient
    resource: Resource
    batch_size: int
    lag_seconds: int
    hydrate: str
    version: str | None
    """The pinned API version (None: the account's own)."""
    account_id: str | None = None
    """The account whose data this is (None: the key's own); every record carries it."""
    events: AccountEvents | None = None
    """The account's event pages shared by every stream following changes (None: this
    stream reads its own, filtered to its types)."""


@dataclass(frozen=True)
class RangeRead:
    """A page of a snapshot range."""

    piece: Range
    remaining: Range | None
    seconds_per_object: float | None
    count: int
    snapshot_start: int | None = None
    """A new snapshot's start, fixed from its first page's answer (in Stripe's time)."""
    warnings: tuple[str, ...] = ()
    oldest: tuple[str, int] | None = None
    """The page's oldest object, where objects without a created time are read after it."""
    pending: int | None = None
    """The oldest ``created`` of the page's objects that may still change without an event."""

    def apply(self, position: Position) -> Position:
        if self.snapshot_start is not None:
            position = replace(position, created_at=self.snapshot_start)
        if self.oldest is not None:
            position = position.with_oldest(*self.oldest)
        if self.pending is not None:
            position = position.with_pending(self.pending)
        return position.with_range(self.piece, self.remaining)


@dataclass(frozen=True)
class EventsRead:
    """A page of events, oldest first."""

    newest: tuple[str, int] | None
    has_more: bool
    count: int
    skipped: int
    warnings: tuple[str, ...] = ()

    def apply(self, position: Position) -> Position:
        return position.after_events(*self.newest) if self.newest is not None else position


@dataclass(frozen=True)
class AgedOut:
    """The event cursor aged out of Stripe's retention: events are read from ``created_at``."""

    warnings: tuple[str, ...] = ()
    count: int = 0

    def apply(self, position: Position) -> Position:
        return Position(CDC, position.created_at)


Outcome = RangeRead | EventsRead | AgedOut


@dataclass(eq=False)
class PagePartition(Partition):
    reading: Reading
    on_failure: Callable[[PagePartition, BaseException], bool]
    """Told of a failed page; True when the failure ends only its account's read (the page
    then gives no records and the stream goes on)."""
    on_done: Callable[[PagePartition], None]
    """Told once the page's records are queued (the CDK closes the partition)."""
    outcome: Outcome | None = None

    def read(self) -> Iterable[Record]:
        try:
            records, self.outcome = self.read_page()
        except BaseException as error:
            if self.on_failure(self, error):
                return []
            raise
        name = self.reading.resource.stream
        account_id = self.reading.account_id
        for record in records:
            record["account_id"] = account_id
        return [Record(data=r, stream_name=name) for r in records]

    def read_page(self) -> tuple[list[dict[str, Any]], Outcome]:
        raise NotImplementedError

    def stream_name(self) -> str:
        return self.reading.resource.stream

    def __hash__(self) -> int:
        return id(self)


@dataclass(eq=False)
class RangePartition(PagePartition):
    piece: Range = Range()
    observed_at: int = 0
    provisional: bool = False
    """The first page of a new snapshot, whose start this page's answer fixes."""
    skip: int = 0
    """Records of this page already emitted (a Conduit position's ``index``)."""

    def read_page(self) -> tuple[list[dict[str, Any]], RangeRead]:
        started = time.monotonic()
        reading = self.reading
        try:
            page = read_range_page(reading.client, reading.resource, self.piece,
                                   batch_size=reading.batch_size, observed_at=self.observed_at)
        except StripeError as error:
            if not error.product_not_enabled:
                raise
            # No such objects exist on this account: the range is read, and empty.
            page = SnapshotPage([], None, warnings=(
                f"Stream '{reading.resource.stream}': the account has not enabled this "
                f"product, so it has no such objects and the stream is empty (Stripe: "
                f"{error.stripe_message})",))
        start = None
        if self.provisional:
            # Stripe's time when the page was asked for, now known from its answer, less the
            # lag and the current second, as every read horizon.
            asked = reading.client.known_time() - (time.monotonic() - started)
            start = read_horizon(int(asked), reading.lag_seconds)
            for record in page.records:
                observed(record, start)
        records = page.records[self.skip:]
        return records, RangeRead(self.piece, page.remaining, page.seconds_per_object,
                                  len(records), start, page.warnings, page.oldest,
                                  page.pending)

    def to_slice(self) -> Mapping[str, Any] | None:
        return {"range": self.piece.to_state()}


@dataclass(eq=False)
class EventsPartition(PagePartition):
    position: Position = Position(CDC, 0)
    start: EventsFrom = "cursor"
    horizon: int = 0

    def read_page(self) -> tuple[list[dict[str, Any]], EventsRead | AgedOut]:
        reading = self.reading
        try:
            page = read_events_page(reading.client, reading.resource, self.position,
                                    start=self.start, upper=self.horizon,
                                    batch_size=reading.batch_size, hydrate=reading.hydrate,
                                    version=reading.version, shared=reading.events)
        except StripeError as error:
            if not (error.aged_out and self.start == "cursor"):
                raise
            return [], AgedOut((
                f"Stream '{reading.resource.stream}': event cursor {self.position.cursor} "
                f"aged out of Stripe's retention; reading events from "
                f"{self.position.created_at} instead.",))
        return page.records, EventsRead(page.newest, page.has_more, len(page.records),
                                        page.skipped, page.warnings)

    def to_slice(self) -> Mapping[str, Any] | None:
        return {"cdc": self.start, "upper": self.horizon}
