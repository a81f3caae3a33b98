"""Every account's read of one stream, as the stream's one partition generator for the CDK.

A platform's accounts are read several at a time per stream, each by its own ``StreamSync`` (its
lane), in the order ``reading_order`` gives: snapshots not yet finished first, then the accounts
whose change capture is furthest behind. Another lane starts while the stream's lanes together
keep fewer pages in flight than its rate needs (a small account has one page, a large one splits
its snapshot into ranges), between ``MIN_LANES`` and ``MAX_LANES``; a large account holds one
lane while small ones pass through the others, so it starves nobody, and the accounts not being
read hold only their position. A lane's pages come here through a queue and go to the CDK as
the stream's partitions.

Any failure of one account's read (its access revoked, Stripe unavailable for it after the
retries, a page that cannot be parsed) ends that account's read alone; its position stays where
its finished pages left it, the others go on, and the stream ends with an error naming every
account that failed.

Who owns which thread (the rule of the whole sync, kept here where most of it is enforced):

- The CDK's worker pool runs each stream's generator and every page; ``ConcurrentSource`` owns it.
- A lane's thread is owned by its stream's read (``_LaneThreads``): started there, and when the
  read ends for any reason (done, failed, or closed by the CDK) every lane still running is
  cancelled and joined, and the governor slots of pages it started but never handed over are
  given back. Cancelling ends each of the lane's waits (``StreamSync.cancel``,
  ``Governor.cancel``); a page already handed to the CDK still ends as pages do.
- The requests a page fans out (children, objects fetched again) and the account lookup run in
  the client's pool, owned by the sync (``source.read``), which closes it when the read ends.
- Rate windows start no thread of their own per account or object id (``transport/budget.py``).

Every wait ends on completion, failure or cancellation: the governor's and a lane's waits are
woken by cancellation, a request by its timeout.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from queue import Empty, Queue

from airbyte_cdk.models import FailureType, SyncMode
from airbyte_cdk.sources.streams.concurrent.partitions.partition import Partition
from airbyte_cdk.sources.streams.concurrent.partitions.partition_generator import (
    PartitionGenerator,
)
from airbyte_cdk.utils.traced_exception import AirbyteTracedException

from source_stripe_conduit.accounts import Account
from source_stripe_conduit.config import Config
from source_stripe_conduit.governor import Governor
from source_stripe_conduit.iterator.event_pages import EventPages
from source_stripe_conduit.iterator.position import SNAPSHOT, Position
from source_stripe_conduit.messages import StreamMessages, Tally
from source_stripe_conduit.partitions import PagePartition
from source_stripe_conduit.resources import Resource
from source_stripe_conduit.stream_state import StreamState
from source_stripe_conduit.sync import Lane, PositionCursor, StreamSync
from source_stripe_conduit.transport.client import StripeClient

MIN_LANES = 4
MAX_LANES = 32
# How often the generator looks again whether the stream could use another lane.
LANE_TICK_SECONDS = 0.05
# Failed accounts named one by one in the stream's error; beyond that, counted.
NAMED_FAILURES = 20


def reading_order(accounts: Sequence[Account],
                  saved: Mapping[str, Position]) -> list[Account]:
    """Unfinished snapshots (resumed before new), then change capture furthest behind first."""
    def rank(account: Account) -> tuple[int, int, str]:
        position = saved.get(account.key)
        if position is None:
            return 1, 0, account.key
        if position.iterator_type == SNAPSHOT:
            return 0, position.created_at, account.key
        return 2, max(position.created_at, position.cursor_created or 0), account.key
    return sorted(accounts, key=rank)


@dataclass(frozen=True)
class _Page:
    sync: StreamSync
    partition: PagePartition


@dataclass(frozen=True)
class _Ended:
    sync: StreamSync
    error: BaseException | None


class AccountLanes(PartitionGenerator):
    def __init__(self, resource: Resource, sync_mode: SyncMode, *, config: Config,
                 client: StripeClient, governor: Governor, accounts: Sequence[Account],
                 stream_state: StreamState, messages: StreamMessages,
                 events: EventPages | None = None) -> None:
        self._resource = resource
        self._events = events
        self._sync_mode = sync_mode
        self._config = config
        self._client = client
        self._governor = governor
        self._accounts = accounts
        self._stream_state = stream_state
        self._messages = messages
        self.cursor = PositionCursor(stream_state, lambda: stream_state.moved(force=True))

    def _lane(self, account: Account) -> StreamSync:
        stream = self._resource.stream
        slot = f"{stream} {account.key}"
        self._governor.join(slot, stream,
                            shares_endpoint=self._config.account_rate_limits == "shared")
        client = self._client.for_account(account.id)
        created = self._client.account_created if account.id is None else lambda: account.created
        lane = Lane(account.key, slot, client, account.id, created, isolated=True)
        return StreamSync(self._resource, self._sync_mode, config=self._config, lane=lane,
                          governor=self._governor, stream_state=self._stream_state,
                          messages=self._messages, events=self._events)

    def generate(self) -> Iterable[Partition]:
        started = time.monotonic()
        pending = deque(reading_order(self._accounts, self._stream_state.saved()))
        lanes = _LaneThreads(self._governor)
        tally = Tally()
        failed: list[tuple[str, BaseException]] = []
        stream = self._resource.stream
        try:
            while pending or lanes.running:
                # One lane at a time beyond the first few: a new lane needs a moment to have
                # its first page in flight before the stream is measured again.
                running = len(lanes.running)
                starting = MIN_LANES - running if running < MIN_LANES else 1
                while pending and starting > 0 and len(lanes.running) < MAX_LANES and (
                        len(lanes.running) < MIN_LANES or self._governor.wants_more(stream)):
                    lanes.start(self._lane(pending.popleft()))
                    starting -= 1
                item = lanes.next(LANE_TICK_SECONDS if pending else None)
                if isinstance(item, _Page):
                    yield item.partition
                elif isinstance(item, _Ended):
                    self._ended(item, failed, tally)
        finally:
            # Done, failed, or closed by the CDK: no lane outlives the stream's read.
            for sync in lanes.stop():
                self._governor.leave(sync.lane.slot)
                self._stream_state.release(sync.lane.key)
        # Every account's last position, before the stream's end (or its error) is told.
        self._stream_state.moved(force=True)
        self._messages.summary(self._client.counters(self._resource.stream), tally,
                               time.monotonic() - started, accounts=len(self._accounts))
        if failed:
            raise _failure(self._resource.stream, failed, len(self._accounts))

    def _ended(self, item: _Ended, failed: list[tuple[str, BaseException]],
               tally: Tally) -> None:
        """One account's read is over: its slot leaves, its position stays as it ended."""
        sync = item.sync
        self._governor.leave(sync.lane.slot)
        self._stream_state.release(sync.lane.key)
        # At most one state a second still: each holds every account's position, and a state
        # per account ended would grow with the square of the accounts.
        self._stream_state.moved()
        error = item.error or sync.failure
        if error is not None and not isinstance(error, Exception):
            raise error  # an interpreter's exit, not an account's failure
        if error is not None:
            failed.append((sync.lane.key, error))
        tally.add(sync.tally.records, sync.tally.skipped, sync.tally.pages)


class _LaneThreads:
    """The lanes of one stream's read and their threads, owned by that read: it starts them,
    and ``stop`` cancels and joins every one still running and gives back the slots of pages
    they started that were never handed to the CDK. Each lane's pages and its end come
    through one queue, read by the stream's generator only."""

    def __init__(self, governor: Governor) -> None:
        self._governor = governor
        self._out: Queue[_Page | _Ended] = Queue()
        self._threads: dict[StreamSync, threading.Thread] = {}

    @property
    def running(self) -> Collection[StreamSync]:
        return self._threads.keys()

    def start(self, sync: StreamSync) -> None:
        thread = threading.Thread(target=_drive, args=(sync, self._out), daemon=True,
                                  name=f"stripe-lane-{sync.lane.slot}")
        self._threads[sync] = thread
        thread.start()

    def next(self, timeout: float | None) -> _Page | _Ended | None:
        """A lane's next page or end (None: nothing within ``timeout``)."""
        try:
            item = self._out.get(timeout=timeout)
        except Empty:
            return None
        if isinstance(item, _Ended):
            self._threads.pop(item.sync).join()
        return item

    def stop(self) -> list[StreamSync]:
        """Every lane still running, cancelled and joined; the lanes it stopped."""
        stopped = list(self._threads)
        for sync in stopped:
            sync.cancel()
        # A lane's end is the last thing it queues: once every end is in, nothing follows.
        while self._threads:
            item = self._out.get()
            if isinstance(item, _Ended):
                self._threads.pop(item.sync).join()
            else:
                item.sync.abandon(item.partition)
        while not self._out.empty():
            item = self._out.get_nowait()
            if isinstance(item, _Page):
                item.sync.abandon(item.partition)
        return stopped


def _drive(sync: StreamSync, out: Queue[_Page | _Ended]) -> None:
    """One lane's pages into the stream's queue, then the lane's end (its error, if any)."""
    error: BaseException | None = None
    try:
        for partition in sync.read():
            out.put(_Page(sync, partition))
    except BaseException as raised:  # handed to the stream's generator, which decides
        error = raised
    out.put(_Ended(sync, error))


def _failure(stream: str, failed: list[tuple[str, BaseException]],
             total: int) -> AirbyteTracedException:
    named = "; ".join(f"{key}: {_described(error)}" for key, error in failed[:NAMED_FAILURES])
    more = f"; and {len(failed) - NAMED_FAILURES} more" if len(failed) > NAMED_FAILURES else ""
    message = (f"Stream '{stream}': {len(failed)} of {total} accounts could not be read "
               f"(their positions are kept; the other accounts were read): {named}{more}")
    kinds = {getattr(error, "failure_type", None) for _, error in failed}
    # Every account refused or lacking a permission: the user's to fix. Every one transient:
    # the next sync goes on from the kept positions.
    kind = FailureType.config_error if kinds == {FailureType.config_error} \
        else FailureType.transient_error if kinds == {FailureType.transient_error} \
        else FailureType.system_error
    return AirbyteTracedException(message=message, internal_message=message, failure_type=kind)


def _described(error: BaseException) -> str:
    """Stripe's words where it answered (with its Request-Id), else the error's own message."""
    text = getattr(error, "stripe_message", None) or getattr(error, "message", None)
    text = str(text) if text else f"{type(error).__name__}: {error}"
    request_id = getattr(error, "request_id", None)
    return f"{text} (Request-Id {request_id})" if request_id else text
