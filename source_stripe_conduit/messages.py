"""What a stream tells Airbyte beside its records: states, warnings, its row estimate and its
summary, all through the sync's message repository (so they are queued behind the records
they follow), from this one place."""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from airbyte_cdk.models import (
    AirbyteEstimateTraceMessage,
    AirbyteLogMessage,
    AirbyteMessage,
    AirbyteTraceMessage,
    EstimateType,
    Level,
    TraceType,
)
from airbyte_cdk.models import Type as MessageType
from airbyte_cdk.sources.connector_state_manager import ConnectorStateManager
from airbyte_cdk.sources.message import MessageRepository
from airbyte_cdk.utils.airbyte_secrets_utils import filter_secrets

from source_stripe_conduit.transport.counters import StreamCounters, SyncTotals

_KINDS = (("list_pages", "list page"), ("event_pages", "event page"), ("retrieves", "retrieve"),
          ("child_lists", "child list"))


def describe_requests(counters: StreamCounters) -> str:
    """The requests a read sent, by kind, its retries and its 429s by reason: "12 requests
    (10 list pages, 2 retrieves), 1 retries, 1 rate-limited (429: 1 global-rate)"."""
    kinds = ", ".join(f"{n} {name}{'s' if n != 1 else ''}" for n, name in
                      ((getattr(counters, attribute), name) for attribute, name in _KINDS) if n)
    reasons = ", ".join(f"{n} {reason}" for reason, n in
                        sorted(counters.rate_limited_by_reason.items()))
    return (f"{counters.attempts} requests" + (f" ({kinds})" if kinds else "")
            + f", {counters.retries} retries, {counters.rate_limited} rate-limited (429"
            + (f": {reasons}" if reasons else "") + ")")


def sync_summary_text(totals: SyncTotals, seconds: float) -> str:
    """The line that says what a whole sync cost (``StripeClient.totals()``)."""
    return (f"Sync done: {describe_requests(totals)}, slowed for {totals.yielded_seconds:.1f} s "
            f"to give way to the account's other traffic, {seconds:.1f} s")


def sync_summary(repository: MessageRepository, totals: SyncTotals, seconds: float) -> None:
    """What a whole sync cost, logged once at its end, behind the last stream's messages."""
    repository.emit_message(AirbyteMessage(
        type=MessageType.LOG,
        log=AirbyteLogMessage(level=Level.INFO, message=sync_summary_text(totals, seconds))))


@dataclass
class Tally:
    """What a read came to: records, pages, and events skipped (not the stream's object)."""

    records: int = 0
    pages: int = 0
    skipped: int = 0

    def add(self, records: int, skipped: int = 0, pages: int = 1) -> None:
        self.records += records
        self.pages += pages
        self.skipped += skipped


class StreamMessages:
    def __init__(self, stream: str, repository: MessageRepository, event_object: str) -> None:
        self._stream = stream
        self._repository = repository
        self._event_object = event_object
        self._warned: set[str] = set()
        self.emitted_state = False

    def publish(self, state_manager: ConnectorStateManager, state: Mapping[str, Any]) -> None:
        """The stream's state, as a state message (the caller keeps states in order)."""
        state_manager.update_state_for_stream(self._stream, None, dict(state))
        self._repository.emit_message(state_manager.create_state_message(self._stream, None))
        self.emitted_state = True

    def warn(self, *texts: str) -> None:
        """Each warning once per stream (a product not enabled answers every range alike)."""
        for text in texts:
            if text not in self._warned:
                self._warned.add(text)
                self._log(Level.WARN, text)

    def estimate(self, rows: int) -> None:
        """Airbyte's progress bar needs a total; Stripe's lists give none. This one extends
        the density of the first page back to where the snapshot's ranges reach: a guess,
        sent once."""
        self._repository.emit_message(AirbyteMessage(
            type=MessageType.TRACE,
            trace=AirbyteTraceMessage(
                type=TraceType.ESTIMATE, emitted_at=time.time() * 1000,
                estimate=AirbyteEstimateTraceMessage(name=self._stream, type=EstimateType.STREAM,
                                                     row_estimate=max(rows, 0)))))

    def summary(self, counters: StreamCounters, tally: Tally, seconds: float,
                accounts: int | None = None) -> None:
        records, pages, skipped = tally.records, tally.pages, tally.skipped
        if skipped:
            self.warn(f"Stream '{self._stream}': {skipped} events skipped: their object is not "
                      f"a {self._event_object} with an id (invoice.upcoming carries an invoice "
                      f"that has none yet).")
        of = f" of {accounts} accounts" if accounts is not None else ""
        self._log(Level.INFO,
                  f"Stream '{self._stream}' done{of}: {records} records, {pages} pages, "
                  f"{describe_requests(counters)}, {seconds:.1f} s")

    def _log(self, level: Level, text: str) -> None:
        self._repository.emit_message(AirbyteMessage(
            type=MessageType.LOG, log=AirbyteLogMessage(level=level, message=filter_secrets(text))))
