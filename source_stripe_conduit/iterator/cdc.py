"""CDC: one page of a resource's events, oldest first, and where the next page starts.

Stripe lists events newest first. A position with an event cursor reads forward with
``ending_before=<cursor>``: the events immediately newer than it. A position without one (the
first read after a snapshot, or after the cursor aged out) looks for the oldest page of events
created at or after ``created_at`` by walking pages back in time, keeping only the last page: the
walk costs requests but never holds more than one page in memory (Conduit loads every event since
``created_at`` at once).

Every read stops at ``upper`` (now minus the configured lag): Stripe's event list is eventually
consistent, and an event that becomes visible late must not land behind a cursor already passed.
"""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Literal

from source_stripe_conduit.iterator.position import Position
from source_stripe_conduit.records import observed
from source_stripe_conduit.resources import MAX_EVENT_TYPES_PER_REQUEST, Op, Resource
from source_stripe_conduit.transport.client import StripeClient
from source_stripe_conduit.transport.errors import StripeError

logger = logging.getLogger("airbyte")

# Stripe lists events of the last 30 days. A position is treated as at risk an hour before
# that, so a sync that takes a while cannot step over the edge mid-read.
RETENTION_SECONDS = 30 * 24 * 3600
RETENTION_MARGIN_SECONDS = 3600

# Fetches of one page run side by side (within the rate budget): one by one, a page of 100
# changes would take 100 round trips.
HYDRATE_THREADS = 8

Start = Literal["cursor", "created_at", "resnapshot"]


def cdc_start(position: Position, now: int) -> Start:
    """How CDC goes on from ``position`` at server time ``now``.

    Everything older than the cursor event and everything created before ``created_at`` has
    been emitted, so the cursor is used while Stripe still has it, ``created_at`` while events
    after it still exist, and a gap (both older than retention) means snapshot again.
    """
    horizon = now - RETENTION_SECONDS + RETENTION_MARGIN_SECONDS
    # A cursor of unknown age (a Conduit position has no cursor_created) is tried: if it has
    # aged out, Stripe says so and the sync falls back to created_at.
    if position.cursor is not None and (position.cursor_created is None
                                        or position.cursor_created >= horizon):
        return "cursor"
    if position.created_at >= horizon:
        return "created_at"
    return "resnapshot"


@dataclass(frozen=True)
class EventsPage:
    records: list[dict[str, Any]]
    """Oldest first."""
    newest: tuple[str, int] | None
    """Id and created time of the newest event read, whether emitted or skipped."""
    has_more: bool
    skipped: int


def event_type_params(resource: Resource) -> list[tuple[str, str]]:
    types = resource.event_types
    if len(types) > MAX_EVENT_TYPES_PER_REQUEST:
        # No stream has more than 20 event types at the pinned API version; a table change
        # that adds more must come with a merge of several scans, not a silent cut.
        raise ValueError(f"{resource.stream} has {len(types)} event types; Stripe takes 20")
    return [("types[]", t) for t in types]


def read_events_page(client: StripeClient, resource: Resource, position: Position, *,
                     start: Start, upper: int, batch_size: int, hydrate: str = "never",
                     version: str = "") -> EventsPage:
    base: list[tuple[str, str | int]] = [("limit", batch_size), ("created[lte]", upper),
                                         *event_type_params(resource)]
    if start == "cursor":
        assert position.cursor is not None
        page = client.list_page(resource.stream, "/v1/events",
                                [*base, ("ending_before", position.cursor)])
        events, has_more = page.data, page.has_more
    else:
        events, has_more = _oldest_page(client, resource,
                                        [*base, ("created[gte]", position.created_at)])
    events = events[::-1]
    if position.index and start == "cursor":
        # A Conduit position can point inside a page: that many records are already out.
        events = events[position.index:]
    fetched = _hydrate(client, resource, events, hydrate, version)
    records: list[dict[str, Any]] = []
    skipped = 0
    for event in events:
        record = _record(resource, event, fetched)
        if record is None:
            skipped += 1
        else:
            records.append(record)
    newest = (events[-1]["id"], int(events[-1]["created"])) if events else None
    return EventsPage(records, newest, has_more, skipped)


def _oldest_page(client: StripeClient, resource: Resource,
                 params: list[tuple[str, str | int]]) -> tuple[list[dict[str, Any]], bool]:
    page = client.list_page(resource.stream, "/v1/events", params)
    walked = False
    while page.has_more and page.data:
        older = client.list_page(resource.stream, "/v1/events",
                                 [*params, ("starting_after", page.data[-1]["id"])])
        if not older.data:
            # has_more promised more and none came: this page is the oldest there is.
            break
        walked = True
        page = older
    # Newer pages were passed on the way: there is more to read after this one.
    return page.data, walked


def _object(resource: Resource, event: dict[str, Any]) -> tuple[Op, dict[str, Any]] | None:
    op = resource.events.get(event.get("type", ""))
    obj = (event.get("data") or {}).get("object")
    if op is None or not isinstance(obj, dict) or obj.get("object") != resource.object \
            or not obj.get("id"):
        # Not this stream's object (or, for invoice.upcoming, an invoice with no id yet).
        return None
    return op, obj


def _record(resource: Resource, event: dict[str, Any],
            fetched: dict[str, dict[str, Any]]) -> dict[str, Any] | None:
    found = _object(resource, event)
    if found is None:
        return None
    op, obj = found
    if op is not Op.DELETE and obj["id"] in fetched:
        # A copy: several events of a page can share one fetched object.
        obj = dict(fetched[obj["id"]])
    return observed(obj, int(event["created"]), deleted=op is Op.DELETE)


def _hydrate(client: StripeClient, resource: Resource, events: list[dict[str, Any]], mode: str,
             version: str) -> dict[str, dict[str, Any]]:
    """Objects fetched again so that a change record looks like a snapshot record: Stripe
    renders an event's object in the API version the account had when it happened. The fetch
    returns the object as it is now, which later events of the page (or of later pages) carry
    anyway. Deleted objects keep the event's copy."""
    if mode == "never":
        return {}
    wanted: set[str] = set()
    for event in events:
        found = _object(resource, event)
        if found is None or found[0] is Op.DELETE:
            continue
        if mode == "always" or event.get("api_version") not in (None, version):
            wanted.add(found[1]["id"])
    if not wanted:
        return {}

    def fetch(object_id: str) -> tuple[str, dict[str, Any] | None]:
        try:
            return object_id, dict(client.get(resource.stream,
                                              resource.retrieve_path(object_id)))
        except StripeError as error:
            if error.status == 404:
                return object_id, None
            raise

    with ThreadPoolExecutor(min(HYDRATE_THREADS, len(wanted))) as pool:
        return {i: obj for i, obj in pool.map(fetch, sorted(wanted)) if obj is not None}
