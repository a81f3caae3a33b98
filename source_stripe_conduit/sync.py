"""One stream's read, on the CDK's concurrent framework.

Each request is a partition: a page of a snapshot range, or a page of events. ``StreamSync`` is
the stream's partition generator: it decides which pages to ask for next, waiting for pages in
flight, splitting snapshot ranges to keep enough pages in flight, and moving from snapshot to
CDC. ``PositionCursor`` is the stream's cursor: when the CDK closes a partition (in the worker
thread, right after the page's records were queued) the position moves on and its state is
queued behind those records, so a state never runs ahead of the records it covers.

CDC pages go one at a time: each starts where the previous ended, so change records stay in
order within a stream.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable, Iterator, Mapping, MutableMapping
from dataclasses import dataclass, field, replace
from typing import Any

from airbyte_cdk.models import (
    AirbyteEstimateTraceMessage,
    AirbyteLogMessage,
    AirbyteMessage,
    AirbyteTraceMessage,
    EstimateType,
    FailureType,
    Level,
    SyncMode,
    TraceType,
)
from airbyte_cdk.models import Type as MessageType
from airbyte_cdk.sources.connector_state_manager import ConnectorStateManager
from airbyte_cdk.sources.message import MessageRepository
from airbyte_cdk.sources.streams.concurrent.cursor import Cursor
from airbyte_cdk.sources.streams.concurrent.partitions.partition import Partition
from airbyte_cdk.sources.streams.concurrent.partitions.partition_generator import (
    PartitionGenerator,
)
from airbyte_cdk.sources.types import Record
from airbyte_cdk.utils.airbyte_secrets_utils import filter_secrets
from airbyte_cdk.utils.traced_exception import AirbyteTracedException

from source_stripe_conduit.config import Config
from source_stripe_conduit.governor import Governor
from source_stripe_conduit.iterator.cdc import EventsPage, Start, cdc_start, read_events_page
from source_stripe_conduit.iterator.position import (
    CDC,
    SNAPSHOT,
    Position,
    Range,
    StateError,
)
from source_stripe_conduit.iterator.snapshot import SnapshotPage, read_range_page
from source_stripe_conduit.records import observed
from source_stripe_conduit.resources import Resource
from source_stripe_conduit.transport.client import StripeClient
from source_stripe_conduit.transport.errors import StripeError

# No Stripe object is older than Stripe: the oldest time used to choose where to split a range
# that is unbounded below (the oldest part keeps no lower bound, so nothing is cut off).
STRIPE_EPOCH = 1262304000  # 2010-01-01
MIN_SPLIT_SECONDS = 2
MIN_SPLIT_PAGES = 2


def plan_pieces(pages: Mapping[Range, float], extra: int) -> dict[Range, int]:
    """How many pieces to cut each range into so that ``extra`` more ranges run: each new
    range goes to the range whose pieces are then the largest (pages left / pieces), so the
    pieces finish together; no piece is planned below ``MIN_SPLIT_PAGES``. Only ranges cut in
    two or more appear in the answer."""
    pieces = dict.fromkeys(pages, 1)
    for _ in range(extra):
        candidates = [r for r in pages if pages[r] / (pieces[r] + 1) >= MIN_SPLIT_PAGES]
        if not candidates:
            break
        largest = max(candidates, key=lambda r: pages[r] / pieces[r])
        pieces[largest] += 1
    return {r: n for r, n in pieces.items() if n > 1}


@dataclass(eq=False)
class PagePartition(Partition):
    """One request: a snapshot range's next page, or the next page of events."""

    sync: StreamSync
    rng: Range | None = None
    cdc: Start | None = None
    upper: int = 0
    position: Position | None = None
    result: SnapshotPage | EventsPage | None = None
    aged_out: bool = False
    acquired: bool = field(default=False)
    count: int = 0
    started: float = 0.0

    def read(self) -> Iterable[Record]:
        try:
            records = self.sync.read_page(self)
        except BaseException as error:
            self.sync.page_failed(self, error)
            raise
        name = self.sync.name
        return [Record(data=r, stream_name=name) for r in records]

    def to_slice(self) -> Mapping[str, Any] | None:
        if self.rng is not None:
            return {"range": self.rng.to_state()}
        return {"cdc": self.cdc, "upper": self.upper}

    def stream_name(self) -> str:
        return self.sync.name

    def __hash__(self) -> int:
        return id(self)


class PositionCursor(Cursor):
    def __init__(self, sync: StreamSync) -> None:
        self._sync = sync

    @property
    def state(self) -> MutableMapping[str, Any]:
        return self._sync.state()

    def observe(self, record: Record) -> None:
        pass  # the position moves per page, in close_partition

    def close_partition(self, partition: Partition) -> None:
        assert isinstance(partition, PagePartition)
        self._sync.page_done(partition)

    def ensure_at_least_one_state_emitted(self) -> None:
        self._sync.emit_final_state()

    def should_be_synced(self, record: Record) -> bool:
        return True


class StreamSync(PartitionGenerator):
    def __init__(self, resource: Resource, sync_mode: SyncMode, *, config: Config,
                 client: StripeClient, governor: Governor, state_manager: ConnectorStateManager,
                 message_repository: MessageRepository, logger: logging.Logger) -> None:
        self.resource = resource
        self.name = resource.stream
        self._incremental = sync_mode == SyncMode.incremental and resource.incremental
        self._config = config
        self._client = client
        self._governor = governor
        self._state_manager = state_manager
        self._messages = message_repository
        self._logger = logger
        self._cond = threading.Condition()
        self._position: Position | None = None
        self._in_flight: set[PagePartition] = set()
        # Seconds of ``created`` per object, per range, from its last page.
        self._density: dict[Range, float] = {}
        self._failed: BaseException | None = None
        self._provisional = False
        self._estimated = False
        self._not_enabled_warned = False
        self._emitted_state = False
        self._records = 0
        self._pages = 0
        self._skipped = 0
        self._started = time.monotonic()
        self.cursor = PositionCursor(self)

    # -- partition generation (the generator's own thread) -----------------------------------

    def generate(self) -> Iterable[Partition]:
        self._started = time.monotonic()
        saved = self._saved_position()
        if saved is None and not self.resource.append_only \
                and (self._config.snapshot or not self._incremental):
            # A new snapshot need not wait for Stripe's clock: its start is fixed from the
            # first page's answer (see page_done), before any state goes out.
            self._provisional = True
            position = self._fresh_snapshot(int(time.time()))
        else:
            now = self._client.server_time(self.name, *self.resource.probe)
            position = self._initial_position(saved, now)
        self._set_position(position, emit=False)
        yield from self._run()
        self._log_summary()

    def _run(self) -> Iterator[PagePartition]:
        position = self._current()
        if position.iterator_type == SNAPSHOT or position.ranges:
            yield from self._read_ranges()
        if not self._incremental or self._failed:
            return
        now = self._client.server_time(self.name, *self.resource.probe)
        position = self._current()
        if self.resource.append_only:
            upper = self._upper(now)
            if self.resource.retained_days and \
                    position.created_at < now - self.resource.retained_days * 86400:
                self._warn(f"Stream '{self.name}': objects created since {position.created_at} "
                           f"are partly older than Stripe keeps them "
                           f"({self.resource.retained_days} days); those can no longer be read.")
            if upper > position.created_at:
                # Objects never change: read those created since the last read like a
                # snapshot range. created_at is already the new mark, the range what is left
                # below it.
                self._set_position(Position(CDC, upper, ranges=(
                    Range(gte=position.created_at, lt=upper),)), emit=False)
                yield from self._read_ranges()
            return
        yield from self._read_events(now)

    def _read_ranges(self) -> Iterator[PagePartition]:
        self._governor.snapshot_started(self.name)
        try:
            yield from self._read_range_pages()
        finally:
            self._governor.snapshot_ended(self.name)

    def _read_range_pages(self) -> Iterator[PagePartition]:
        while True:
            with self._cond:
                if self._failed:
                    return
                position = self._current()
                if not position.ranges:
                    if not self._in_flight:
                        return
                    self._cond.wait()
                    continue
                self._split_to_target(position)
                self._governor.pages_left(self.name, self._pages_left(self._current()))
                busy = {p.rng for p in self._in_flight}
                idle = [r for r in self._current().ranges if r not in busy]
                if not idle:
                    self._cond.wait()
                    continue
            for rng in idle:
                self._governor.acquire(self.name)
                partition = PagePartition(self, rng=rng, acquired=True)
                with self._cond:
                    self._in_flight.add(partition)
                yield partition

    def _split_to_target(self, position: Position) -> None:
        """Split idle ranges until the stream has as many as it should read at once. Only
        ranges without a page in flight are split (a page in flight was asked for with the old
        bounds), and only where the density of the range's last page says a few pages remain:
        every range ends in a partial page, a wasted share of the rate budget, so the ranges
        are cut to finish together (see ``plan_pieces``) rather than halved again and again."""
        listed = self.resource.listed
        if not (listed.created_filter and listed.paginated):
            return
        extra = self._governor.stream_target(self.name) - len(position.ranges)
        if extra <= 0:
            return
        busy = {p.rng for p in self._in_flight}
        floor = self._floor()
        batch = self._config.batch_size
        pages = {r: self._objects_left(r, floor) / batch for r in position.ranges
                 if r not in busy and r in self._density and r.top is not None}
        for rng, pieces in plan_pieces(pages, extra).items():
            low = rng.gte if rng.gte is not None else floor
            top = rng.top
            assert top is not None
            pieces = min(pieces, (top + 1 - low) // MIN_SPLIT_SECONDS)
            density = self._density.pop(rng)
            current = rng
            # Cut from the top down: the range keeps its cursor above the highest cut, and each
            # new range below is cut again.
            for i in range(pieces - 1, 0, -1):
                kept, added = current.split(low + (top + 1 - low) * i // pieces)
                position = position.with_split(current, kept, added)
                self._density[kept] = density
                current = added
            self._density[current] = density
        self._position = position
        if not self._estimated and len(position.ranges) > 1 and not self.resource.parent:
            self._estimated = True
            self._estimate(self._records + sum(
                int(self._objects_left(r, floor)) for r in position.ranges
                if r in self._density))

    def _floor(self) -> int:
        """Where the oldest range, unbounded below, is cut: no object predates its account."""
        return max(STRIPE_EPOCH, self._client.account_created() or 0)

    def _objects_left(self, rng: Range, floor: int) -> float:
        """A range's objects still to read, by the density of its last page."""
        return rng.span(floor) / self._density[rng]

    def _pages_left(self, position: Position) -> float | None:
        """The snapshot's pages still to read; None while a range has told nothing yet."""
        if any(r not in self._density or r.top is None for r in position.ranges):
            return None
        floor = self._floor()
        return sum(self._objects_left(r, floor) for r in position.ranges) \
            / self._config.batch_size

    def _read_events(self, now: int) -> Iterator[PagePartition]:
        upper = self._upper(now)
        while not self._failed:
            position = self._current()
            start = cdc_start(position, now)
            if start == "resnapshot":
                self._warn(
                    f"Stream '{self.name}': the saved position (events from "
                    f"{position.created_at}) is older than Stripe's 30-day event retention; "
                    f"changes in between cannot be read, so the stream is read again from a new "
                    f"snapshot. Rows deleted in that gap are not seen as deletes: run a full "
                    f"refresh of this stream to drop them.")
                self._set_position(self._fresh_snapshot(now), emit=True)
                yield from self._read_ranges()
                continue
            partition = PagePartition(self, cdc=start, upper=upper, position=position)
            with self._cond:
                self._in_flight.add(partition)
            yield partition
            with self._cond:
                while partition in self._in_flight and not self._failed:
                    self._cond.wait()
            if self._failed:
                return
            if partition.aged_out:
                continue  # page_done moved the position off the aged-out cursor
            page = partition.result
            assert isinstance(page, EventsPage)
            if not page.has_more:
                # Everything up to ``upper`` is out: later reads start after it even if the
                # cursor event ages out of retention in a quiet month.
                with self._cond:
                    caught_up = self._current()
                    if caught_up.created_at <= upper:
                        self._set_position(Position(CDC, upper + 1, caught_up.cursor, 0, (),
                                                    caught_up.cursor_created), emit=True)
                return

    # -- page reads (worker threads) ----------------------------------------------------------

    def read_page(self, partition: PagePartition) -> list[dict[str, Any]]:
        partition.started = time.monotonic()
        position = self._current()
        if partition.rng is not None:
            try:
                page = read_range_page(self._client, self.resource, partition.rng,
                                       batch_size=self._config.batch_size,
                                       observed_at=position.created_at)
            except StripeError as error:
                if not error.product_not_enabled:
                    raise
                # No such objects exist on this account: the range is read, and empty.
                self._warn_not_enabled(error)
                page = SnapshotPage([], None)
            if self._provisional:
                page = self._fix_start(partition, page)
            # The partition outlives the records in the CDK's bookkeeping: keep only a count.
            partition.result = replace(page, records=[])
            partition.count = len(page.records)
            return page.records
        assert partition.cdc is not None and partition.position is not None
        try:
            events = read_events_page(self._client, self.resource, partition.position,
                                      start=partition.cdc, upper=partition.upper,
                                      batch_size=self._config.batch_size,
                                      hydrate=self._config.hydrate,
                                      version=self._config.stripe_version)
        except StripeError as error:
            if not (error.aged_out and partition.cdc == "cursor"):
                raise
            partition.aged_out = True
            self._warn(f"Stream '{self.name}': event cursor {partition.position.cursor} aged "
                       f"out of Stripe's retention; reading events from "
                       f"{partition.position.created_at} instead.")
            return []
        partition.result = replace(events, records=[])
        partition.count = len(events.records)
        if events.skipped:
            self._skipped += events.skipped
        return events.records

    def _fix_start(self, partition: PagePartition, page: SnapshotPage) -> SnapshotPage:
        """The first page of a new snapshot: its start, in Stripe's time now known from the
        answer, is when the page was asked for, less the lag and the current second (as
        ``_upper`` does). Only this page is in flight."""
        asked = self._client.known_time() - (time.monotonic() - partition.started)
        created_at = self._upper(int(asked))
        with self._cond:
            self._position = replace(self._current(), created_at=created_at)
            self._provisional = False
        for record in page.records:
            observed(record, created_at)
        return page

    def page_done(self, partition: PagePartition) -> None:
        with self._cond:
            self._in_flight.discard(partition)
            position = self._current()
            page = partition.result
            if partition.rng is not None:
                assert isinstance(page, SnapshotPage)
                density = self._density.pop(partition.rng, None)
                if page.remaining is not None:
                    density = page.seconds_per_object or density
                    if density:
                        self._density[page.remaining] = density
                self._set_position(position.with_range(partition.rng, page.remaining), emit=True)
                self._records += partition.count
            elif partition.aged_out:
                self._set_position(Position(CDC, position.created_at), emit=True)
            else:
                assert isinstance(page, EventsPage)
                if page.newest is not None:
                    self._set_position(position.after_events(*page.newest), emit=True)
                self._records += partition.count
            self._pages += 1
            self._cond.notify_all()
        if partition.acquired:
            self._governor.release(self.name)

    def page_failed(self, partition: PagePartition, error: BaseException) -> None:
        with self._cond:
            self._in_flight.discard(partition)
            self._failed = error
            self._cond.notify_all()
        if partition.acquired:
            self._governor.release(self.name)

    # -- position and state -------------------------------------------------------------------

    def _current(self) -> Position:
        assert self._position is not None
        return self._position

    def state(self) -> MutableMapping[str, Any]:
        return self._position.to_state() if self._position else {}

    def _set_position(self, position: Position, *, emit: bool) -> None:
        with self._cond:
            self._position = position
            if emit:
                self._emit_state()

    def _emit_state(self) -> None:
        self._state_manager.update_state_for_stream(self.name, None, self._current().to_state())
        self._messages.emit_message(self._state_manager.create_state_message(self.name, None))
        self._emitted_state = True

    def emit_final_state(self) -> None:
        with self._cond:
            if self._position is not None and (not self._emitted_state or not self._failed):
                self._emit_state()

    def _saved_position(self) -> Position | None:
        try:
            return Position.from_state(self._state_manager.get_stream_state(self.name, None))
        except StateError as error:
            raise AirbyteTracedException(
                message=f"Stream '{self.name}': the saved state cannot be resumed: {error}. "
                        f"Reset this stream's state to read it again from the start.",
                failure_type=FailureType.config_error,
            ) from error

    def _initial_position(self, saved: Position | None, now: int) -> Position:
        if saved is None:
            if self._incremental and not self._config.snapshot:
                return Position.cdc(self._upper(now))
            return self._fresh_snapshot(now)
        if not self._incremental:
            # A full refresh resumes an unfinished snapshot, and otherwise reads everything.
            return saved if saved.iterator_type == SNAPSHOT else self._fresh_snapshot(now)
        if saved.iterator_type == SNAPSHOT and not self._config.snapshot \
                and not self.resource.append_only:
            self._warn(f"Stream '{self.name}': snapshot was switched off while a snapshot was "
                       f"running; following changes from the snapshot's start "
                       f"({saved.created_at}) instead of finishing it.")
            return Position.cdc(saved.created_at)
        if saved.iterator_type == SNAPSHOT and not self.resource.append_only \
                and cdc_start(Position.cdc(saved.created_at), now) == "resnapshot":
            self._warn(f"Stream '{self.name}': the unfinished snapshot started more than 30 days "
                       f"ago; its changes since have aged out of Stripe's events, so the "
                       f"snapshot starts again.")
            return self._fresh_snapshot(now)
        return saved

    def _fresh_snapshot(self, now: int) -> Position:
        # created_at is taken before the snapshot's first page and moved back by the lag, so
        # that clock skew and late events cannot open a gap between snapshot and CDC.
        created_at = self._upper(now)
        if self.resource.append_only and self._incremental:
            # Objects that never change need no events: the snapshot stops at created_at and
            # later reads list what was created since.
            return Position(SNAPSHOT, created_at,
                            ranges=(Range(gte=self._config.start_date, lt=created_at),))
        return Position.snapshot(created_at, Range(gte=self._config.start_date))

    def _upper(self, now: int) -> int:
        """The newest second a read goes up to. The current second is still being written
        (``created`` has one-second resolution), so even with no lag it stops one before."""
        return now - self._config.lag_seconds - 1

    # -- logging ------------------------------------------------------------------------------

    def _estimate(self, rows: int) -> None:
        """Airbyte's progress bar needs a total; Stripe's lists give none. This one extends the
        density of the first page back to where the snapshot's ranges reach: a guess, sent
        once."""
        self._messages.emit_message(AirbyteMessage(
            type=MessageType.TRACE,
            trace=AirbyteTraceMessage(
                type=TraceType.ESTIMATE, emitted_at=time.time() * 1000,
                estimate=AirbyteEstimateTraceMessage(name=self.name, type=EstimateType.STREAM,
                                                     row_estimate=max(rows, 0)))))

    def _warn_not_enabled(self, error: StripeError) -> None:
        with self._cond:
            if self._not_enabled_warned:
                return
            self._not_enabled_warned = True
        self._warn(f"Stream '{self.name}': the account has not enabled this product, so it "
                   f"has no such objects and the stream is empty (Stripe: "
                   f"{error.stripe_message})")

    def _warn(self, text: str) -> None:
        self._log(Level.WARN, text)

    def _log(self, level: Level, text: str) -> None:
        self._messages.emit_message(AirbyteMessage(
            type=MessageType.LOG, log=AirbyteLogMessage(level=level, message=filter_secrets(text))))

    def _log_summary(self) -> None:
        counters = self._client.counters(self.name)
        elapsed = time.monotonic() - self._started
        if self._skipped:
            self._warn(f"Stream '{self.name}': {self._skipped} events skipped: their object is "
                       f"not a {self.resource.event_object} with an id (invoice.upcoming carries "
                       f"an invoice that has none yet).")
        self._log(Level.INFO,
                  f"Stream '{self.name}' done: {self._records} records, {self._pages} pages, "
                  f"{counters.attempts} requests, {counters.retries} retries, "
                  f"{counters.rate_limited} rate-limited (429), {elapsed:.1f} s")
