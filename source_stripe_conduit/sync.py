"""One stream's read on the CDK's concurrent framework: the thin shell around pure decisions.

``StreamSync`` is the stream's partition generator. Which phase comes next is decided in
``iterator/phase.py``, where ranges are cut in ``iterator/planning.py``; pages are read by the
partitions of ``partitions.py``, each leaving an outcome. The shell keeps the lock, the pages in
flight and the position, applies outcomes when the CDK closes their partitions (in the worker
thread, right after the page's records were queued), and emits states and warnings, in that
one place. Nothing blocks under its lock: the account lookup is waited for outside it, and
messages go out under a lock of their own.

CDC pages go one at a time: each starts where the previous ended, so change records stay in
order within a stream. Every page, snapshot or CDC, takes a slot of the governor.

One ``StreamSync`` reads one account's data of the stream (its ``Lane``): a connection of one
account has one per stream, one of many accounts one per account, run by ``lanes.py``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, MutableMapping
from dataclasses import dataclass, replace

from airbyte_cdk.models import SyncMode
from airbyte_cdk.sources.streams.concurrent.cursor import Cursor
from airbyte_cdk.sources.streams.concurrent.partitions.partition import Partition
from airbyte_cdk.sources.streams.concurrent.partitions.partition_generator import (
    PartitionGenerator,
)
from airbyte_cdk.sources.types import Record

from source_stripe_conduit.config import Config
from source_stripe_conduit.governor import Governor
from source_stripe_conduit.iterator import phase, planning
from source_stripe_conduit.iterator.cdc import cdc_start, handoff, newest_event
from source_stripe_conduit.iterator.event_pages import EventPages
from source_stripe_conduit.iterator.position import SNAPSHOT, Position, Range
from source_stripe_conduit.lane_pages import LanePages
from source_stripe_conduit.messages import StreamMessages, Tally
from source_stripe_conduit.partitions import (
    EventsPartition,
    EventsRead,
    Outcome,
    PagePartition,
    RangePartition,
    RangeRead,
    Reading,
)
from source_stripe_conduit.resources import Resource
from source_stripe_conduit.stream_state import StreamState
from source_stripe_conduit.transport.client import StripeClient


class PositionCursor(Cursor):
    """The stream's cursor for the CDK: pages report to the read that made them, the state is
    the stream's (every account's position)."""

    def __init__(self, stream_state: StreamState, final: Callable[[], None]) -> None:
        self._stream_state = stream_state
        self._final = final

    @property
    def state(self) -> MutableMapping[str, object]:
        return dict(self._stream_state.current())

    def observe(self, record: Record) -> None:
        pass  # the position moves per page, in close_partition

    def close_partition(self, partition: Partition) -> None:
        assert isinstance(partition, PagePartition)
        partition.on_done(partition)

    def ensure_at_least_one_state_emitted(self) -> None:
        self._final()

    def should_be_synced(self, record: Record) -> bool:
        return True


@dataclass(frozen=True)
class Lane:
    """One account's read of a stream."""

    key: str
    """The account's position in the stream's state (the platform, or its id)."""
    slot: str
    """Its name at the governor: the stream's, or the stream's and the account's."""
    client: StripeClient
    """The client acting on the account."""
    account_id: str | None = None
    """What records carry as account_id (None: the key's own account)."""
    created: Callable[[], int | None] = lambda: None
    """When the account was created, if known: where the oldest range is cut."""
    isolated: bool = False
    """A failed page ends this account's read alone, kept to be reported by the stream."""


class StreamSync(LanePages, PartitionGenerator):
    def __init__(self, resource: Resource, sync_mode: SyncMode, *, config: Config,
                 lane: Lane, governor: Governor, stream_state: StreamState,
                 messages: StreamMessages, events: EventPages | None = None) -> None:
        super().__init__(lane, governor)
        self.resource = resource
        self.name = resource.stream
        incremental = sync_mode == SyncMode.incremental and resource.incremental
        self._settings = phase.Settings(incremental, config.snapshot, config.start_date,
                                        config.lag_seconds)
        self._reading = _reading(resource, config, lane, events if incremental else None)
        self._stream_state = stream_state
        self._messages = messages
        self._position: Position | None = None
        self._seconds_per_object: dict[Range, float] = {}
        self._provisional = False
        self._estimated = False
        self.tally = Tally()
        self.cursor = PositionCursor(stream_state, self.emit_final_state)

    # -- partition generation (the generator's own thread) -----------------------------------

    def generate(self) -> Iterable[Partition]:
        self._started = time.monotonic()
        yield from self.read()
        if not self.lane.isolated:
            self._messages.summary(self.lane.client.counters(self.name), self.tally,
                                   time.monotonic() - self._started)

    def read(self) -> Iterator[PagePartition]:
        """The lane's pages; its position stays part of the stream's state from the start."""
        saved = self._stream_state.saved_position(self.lane.key)
        if phase.starts_without_clock(self.resource, saved, self._settings):
            start = phase.Next(phase.fresh_snapshot(self.resource, self._settings,
                                                    int(time.time())))
            provisional = True
        else:
            start = phase.initial(self.resource, saved, self._settings, self._server_time())
            provisional = False
        if start.position is not saved:
            start = replace(start, position=_handed_off(start.position, self.resource,
                                                         self._settings, self._reading))
        self._apply(start, emit=False)
        # A new snapshot's start is fixed by its first page's answer, in Stripe's time: until
        # then the position is not the state's, so a failed first page saves no start taken
        # from this machine's clock.
        self._provisional = provisional
        self._stream_state.follow(self.lane.key,
                                  lambda: None if self._provisional else self._position)
        yield from self._run(provisional)

    def _run(self, provisional: bool) -> Iterator[PagePartition]:
        ranged = self._current().iterator_type == SNAPSHOT or bool(self._current().ranges)
        if ranged:
            yield from self._read_ranges(provisional)
        if not self._settings.incremental or self.failure:
            return
        now = self._server_time()
        horizon = phase.read_horizon(now, self._settings.lag_seconds)
        if self._reading.events is not None:
            # Every stream of the account reads events up to one horizon: the same pages.
            horizon = self._reading.events.horizon(lambda: horizon)
        if self.resource.append_only and self._reading.events is None:
            # What this sync has just read in ranges is not read again for what settled.
            catch_up = phase.catch_up(self.resource, self._current(), horizon, now,
                                      recheck=not ranged)
            if catch_up is not None:
                self._apply(catch_up, emit=False)
                yield from self._read_ranges(False)
            return
        yield from self._read_events(now, horizon)

    def _read_ranges(self, provisional: bool) -> Iterator[PagePartition]:
        self._governor.snapshot_started(self.lane.slot)
        try:
            while idle := self._idle_ranges():
                for piece in idle:
                    self._governor.acquire(self.lane.slot)
                    position = self._current()
                    # A Conduit position can point inside a page: that many records are out.
                    skip = position.index if piece.cursor and piece.cursor == position.cursor \
                        else 0
                    yield self._started_page(RangePartition(
                        self._reading, self.page_failed, self.page_done, piece=piece,
                        observed_at=position.created_at, provisional=provisional, skip=skip))
                provisional = False
        finally:
            self._governor.snapshot_ended(self.lane.slot)

    def _idle_ranges(self) -> list[Range]:
        """The ranges to ask a page of next, cut first where the stream should read more at
        once; [] when the snapshot is over, or failed and its pages in flight have ended."""
        while True:
            # Where ranges are cut needs the account's creation date: waited for here, not
            # under the lock, and only once a page has told a density.
            floor = planning.floor_of(self.lane.created()) \
                if self._seconds_per_object else planning.STRIPE_EPOCH
            with self._cond:
                if self.failure:
                    self._drain()
                    return []
                if not (self._current().ranges or self._in_flight):
                    return []
                self._split(floor)
                position = self._current()
                self._governor.pages_left(self.lane.slot, planning.pages_left(
                    position, self._seconds_per_object, floor, self._reading.batch_size))
                busy = {p.piece for p in self._in_flight if isinstance(p, RangePartition)}
                idle = [r for r in position.ranges if r not in busy]
                if idle:
                    return idle
                self._cond.wait()

    def _split(self, floor: int) -> None:
        listed = self.resource.listed
        if not (listed.created_filter and listed.paginated and self._seconds_per_object):
            return
        busy = {p.piece for p in self._in_flight if isinstance(p, RangePartition)}
        cut = planning.split(self._current(), self._seconds_per_object,
                             target=self._governor.stream_target(self.lane.slot), busy=busy,
                             floor=floor, batch_size=self._reading.batch_size)
        self._position, self._seconds_per_object = cut.position, cut.seconds_per_object
        if not self._estimated and len(cut.position.ranges) > 1 and not self.resource.parent \
                and not self.lane.isolated:
            self._estimated = True
            self._messages.estimate(self.tally.records + planning.estimated_rows(
                cut.position, cut.seconds_per_object, floor))

    def _read_events(self, now: int, horizon: int) -> Iterator[PagePartition]:
        while not self.failure:
            position = self._current()
            # Judged against Stripe's clock as it is now, not as it was when the read began: a
            # backlog read for longer than the retention margin can see its cursor age out.
            now = max(now, int(self.lane.client.known_time()))
            start = cdc_start(position, now)
            if start == "resnapshot":
                step = phase.resnapshot(self.resource, position, self._settings, now)
                self._apply(replace(step, position=_handed_off(step.position, self.resource, self._settings,
                                                        self._reading)), emit=True)
                yield from self._read_ranges(False)
                continue
            self._governor.acquire(self.lane.slot)
            partition = self._started_page(EventsPartition(
                self._reading, self.page_failed, self.page_done, position=position, start=start,
                horizon=horizon))
            yield partition
            self._wait_for(partition)
            if self.failure:
                return
            if isinstance(partition.outcome, EventsRead) and not partition.outcome.has_more:
                anchor = newest_event(self.lane.client, self.resource, upper=horizon,
                                      shared=self._reading.events) \
                    if self._current().cursor is None else None
                with self._cond:
                    caught_up = phase.caught_up(self._current(), horizon, anchor)
                    if caught_up is not None:
                        self._position = caught_up
                if caught_up is not None:
                    self._stream_state.moved()
                return

    def _server_time(self) -> int:
        return self.lane.client.server_time(self.name, *self.resource.probe)

    # -- page completion (worker threads, under the lane's lock), position and state -----------

    def _applied(self, outcome: Outcome) -> None:
        self._position = outcome.apply(self._current())
        if isinstance(outcome, RangeRead):
            self._provisional = self._provisional and outcome.snapshot_start is None
            self._seconds_per_object = planning.density_moved(
                self._seconds_per_object, outcome.piece, outcome.remaining,
                outcome.seconds_per_object)
        self.tally.add(outcome.count, outcome.skipped if isinstance(outcome, EventsRead) else 0)

    def _told(self, outcome: Outcome) -> None:
        self._warn(*outcome.warnings)
        self._stream_state.moved()

    def _current(self) -> Position:
        assert self._position is not None
        return self._position

    def _apply(self, step: phase.Next, *, emit: bool) -> None:
        with self._cond:
            self._position = step.position
        if step.warning:
            self._warn(step.warning)
        if emit:
            self._stream_state.moved()

    def _warn(self, *texts: str) -> None:
        if self.lane.isolated:
            texts = tuple(f"Account {self.lane.key}: {text}" for text in texts)
        self._messages.warn(*texts)

    def emit_final_state(self) -> None:
        if self._position is not None and (not self._messages.emitted_state or not self.failure):
            self._stream_state.moved(force=True)



def _handed_off(position: Position, resource: Resource, settings: phase.Settings,
                reading: Reading) -> Position:
    """A new snapshot of a stream that follows events, with the newest event before it, where
    change capture goes on (``cdc.handoff``)."""
    if position.iterator_type != SNAPSHOT or not settings.incremental \
            or not resource.follows_events:
        return position
    return replace(position, handoff=handoff(reading.client, resource, settings.lag_seconds,
                                             reading.events))


def _reading(resource: Resource, config: Config, lane: Lane,
             events: EventPages | None) -> Reading:
    """What every page of the lane is read with: the account's shared event pages where the
    stream follows events (``events``: the sync's, for an incremental read)."""
    shared = events.of(lane.account_id) if events is not None and resource.follows_events \
        else None
    return Reading(lane.client, resource, config.batch_size, config.lag_seconds, config.hydrate,
                   config.pinned_version, lane.account_id, shared)
