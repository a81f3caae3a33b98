"""Pages of ``/v1/events`` shared by every stream of an account that follows changes.

Stripe counts every read against the account's allocation, and the merchant's own traffic shares
its rate limit: the streams of a sync that follow changes read one sequence of event pages, not
one each. They read the list of every event type any of them follows (Stripe's ``types[]`` filter
takes 20 names: beyond that, every event) up to one horizon per account and sync, and each
keeps the events of its own types; so a page asked for by one
stream is the very request the others make at that cursor. The first stream to ask fetches it,
the others asking meanwhile wait for that answer, and the page stays for the streams behind until
newer pages push it out.

Each stream still keeps its own position. A stream that reads to the horizon ends at the newest
event before it, whatever its type, so after one sync every stream that caught up starts the next
from the same cursor: an idle sync of every stream then costs one page of events per account. A
stream whose position differs (it was snapshotting, or was added) reads its own pages, with the
same cache, and joins the others' cursor once it catches up.

A sync with a single stream following changes keeps Stripe's ``types[]`` filter instead (and
this module is not used): alone, a filtered read fills fewer pages.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass

from source_stripe_conduit.transport.client import Page, StripeClient

EVENTS_PATH = "/v1/events"
# Pages kept for the streams behind the first, across every account of the sync: streams that
# start together stay within a few pages of each other, and a page of events can be large.
KEPT_PAGES = 32

Key = tuple[str, tuple[tuple[str, str], ...]]


class EventPages:
    """The sync's cache of event pages (one per sync, shared by every stream and account)."""

    def __init__(self, types: list[str] | None = None, kept: int = KEPT_PAGES) -> None:
        self.types = types
        """Every event type the sharing streams follow, sent as ``types[]`` (None: too many
        for Stripe's filter, every event is read)."""
        self._kept = kept
        self._lock = threading.Lock()
        # Bodies as Stripe sent them: each stream parses its own copy, whose records it
        # completes in place (a parent's event and its children's records share objects).
        self._pages: OrderedDict[Key, Future[bytes]] = OrderedDict()
        self._horizons: dict[str, int] = {}

    def horizon(self, account: str | None, newest: Callable[[], int]) -> int:
        """The newest second every stream of ``account`` reads events up to in this sync: the
        first stream's ``newest()``, so that every stream asks for the same pages."""
        key = account or ""
        with self._lock:
            if key in self._horizons:
                return self._horizons[key]
        second = newest()  # may ask Stripe for its clock: not under the lock
        with self._lock:
            return self._horizons.setdefault(key, second)

    def page(self, client: StripeClient, stream: str, account: str | None,
             params: Sequence[tuple[str, str | int]]) -> Page:
        """The page of events ``params`` ask for, fetched once for every stream asking."""
        key: Key = (account or "", tuple((k, str(v)) for k, v in params))
        with self._lock:
            future = self._pages.get(key)
            mine = future is None
            if future is None:
                future = self._pages[key] = Future()
            self._pages.move_to_end(key)
        if not mine:
            return Page.parse(future.result())
        try:
            body = client.get_bytes(stream, EVENTS_PATH, params)
        except BaseException as error:
            with self._lock:
                # Not kept: a stream asking later tries again.
                self._pages.pop(key, None)
            future.set_exception(error)
            raise
        future.set_result(body)
        self._forget_old()
        return Page.parse(body)

    def of(self, account: str | None) -> AccountEvents:
        return AccountEvents(self, account)

    def _forget_old(self) -> None:
        with self._lock:
            done = [k for k, f in self._pages.items() if f.done()]
            for key in done[:max(len(done) - self._kept, 0)]:
                del self._pages[key]


@dataclass(frozen=True)
class AccountEvents:
    """The shared pages of one account's events, as one stream's read asks for them."""

    pages: EventPages
    account: str | None

    def horizon(self, newest: Callable[[], int]) -> int:
        return self.pages.horizon(self.account, newest)

    def handoff_upper(self, newest: Callable[[], int]) -> int:
        """Where the newest event before a snapshot is looked for: one second per account
        and sync, earlier than every snapshot the sync starts, so one request serves all."""
        return self.pages.horizon(f"{self.account or ''} handoff", newest)

    def filter(self) -> list[tuple[str, str]]:
        """The ``types[]`` every sharing stream sends, so that their requests are the same."""
        return [("types[]", name) for name in self.pages.types or ()]

    def page(self, client: StripeClient, stream: str,
             params: Sequence[tuple[str, str | int]]) -> Page:
        return self.pages.page(client, stream, self.account, params)
