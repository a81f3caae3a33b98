"""Every account's read of one stream, as the stream's one partition generator for the CDK.

A platform's accounts are read several at a time per stream, each by its own ``StreamSync`` (its
lane), in the order ``reading_order`` gives: snapshots not yet finished first, then the accounts
whose change capture is furthest behind. Another lane starts while the stream's lanes together
keep fewer pages in flight than its rate needs (a small account has one page, a large one splits
its snapshot into ranges), between ``MIN_LANES`` and ``MAX_LANES``; a large account holds one
lane while small ones pass through the others, so it starves nobody, and the accounts not being
read hold only their position. A lane's pages come here through a queue and go to the CDK as
the stream's partitions.

A Stripe error of one account (its access revoked: 403 "does not have access to account") ends
that account's read alone; its position stays as it was, the others go on, and the stream ends
with an error naming every account that failed.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
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
from source_stripe_conduit.iterator.position import SNAPSHOT, Position
from source_stripe_conduit.messages import StreamMessages, Tally
from source_stripe_conduit.resources import Resource
from source_stripe_conduit.stream_state import StreamState
from source_stripe_conduit.sync import Lane, PositionCursor, StreamSync
from source_stripe_conduit.transport.client import StripeClient
from source_stripe_conduit.transport.errors import StripeError

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
class _Ended:
    sync: StreamSync
    error: BaseException | None


class AccountLanes(PartitionGenerator):
    def __init__(self, resource: Resource, sync_mode: SyncMode, *, config: Config,
                 client: StripeClient, governor: Governor, accounts: Sequence[Account],
                 stream_state: StreamState, messages: StreamMessages) -> None:
        self._resource = resource
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
                          messages=self._messages)

    def generate(self) -> Iterable[Partition]:
        started = time.monotonic()
        pending = deque(reading_order(self._accounts, self._stream_state.saved()))
        out: Queue[Partition | _Ended] = Queue()
        running = 0
        tally = Tally()
        failed: list[tuple[str, BaseException]] = []
        stream = self._resource.stream
        while pending or running:
            # One lane at a time beyond the first few: a new lane needs a moment to have its
            # first page in flight before the stream is measured again.
            starting = MIN_LANES - running if running < MIN_LANES else 1
            while pending and starting > 0 and running < MAX_LANES and (
                    running < MIN_LANES or self._governor.wants_more(stream)):
                sync = self._lane(pending.popleft())
                threading.Thread(target=_drive, args=(sync, out), daemon=True,
                                 name=f"stripe-{sync.lane.slot}").start()
                running, starting = running + 1, starting - 1
            try:
                item = out.get(timeout=LANE_TICK_SECONDS if pending else None)
            except Empty:
                continue
            if not isinstance(item, _Ended):
                yield item
                continue
            running -= 1
            self._governor.leave(item.sync.lane.slot)
            self._stream_state.release(item.sync.lane.key)
            # At most one state a second still: each holds every account's position, and a
            # state per account ended would grow with the square of the accounts.
            self._stream_state.moved()
            error = item.error or item.sync.failure
            if error is not None and not isinstance(error, StripeError):
                raise error
            if error is not None:
                failed.append((item.sync.lane.key, error))
            done = item.sync.tally
            tally.add(done.records, done.skipped, done.pages)
        # Every account's last position, before the stream's end (or its error) is told.
        self._stream_state.moved(force=True)
        self._messages.summary(self._client.counters(self._resource.stream), tally,
                               time.monotonic() - started, accounts=len(self._accounts))
        if failed:
            raise _failure(self._resource.stream, failed, len(self._accounts))


def _drive(sync: StreamSync, out: Queue[Partition | _Ended]) -> None:
    """One lane's pages into the stream's queue, then the lane's end (its error, if any)."""
    error: BaseException | None = None
    try:
        for partition in sync.read():
            out.put(partition)
    except BaseException as raised:  # handed to the stream's generator, which decides
        error = raised
    out.put(_Ended(sync, error))


def _failure(stream: str, failed: list[tuple[str, BaseException]],
             total: int) -> AirbyteTracedException:
    named = "; ".join(f"{key}: {getattr(error, 'stripe_message', None) or error}"
                      for key, error in failed[:NAMED_FAILURES])
    more = f"; and {len(failed) - NAMED_FAILURES} more" if len(failed) > NAMED_FAILURES else ""
    message = (f"Stream '{stream}': {len(failed)} of {total} accounts could not be read "
               f"(their positions are kept; the other accounts were read): {named}{more}")
    statuses = {getattr(error, "status", None) for _, error in failed}
    kind = FailureType.config_error if statuses <= {401, 403} else FailureType.system_error
    return AirbyteTracedException(message=message, internal_message=message, failure_type=kind)
