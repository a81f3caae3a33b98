"""CDC: one page of a resource's events, oldest first, and where the next page starts.

Stripe lists events newest first. A position with an event cursor reads forward with
``ending_before=<cursor>``: the events immediately newer than it. A position without one (the
first read after a snapshot, or after the cursor aged out) looks for the oldest page of events
created at or after ``created_at`` by walking pages back in time, keeping only the last page: the
walk costs requests but never holds more than one page in memory (Conduit loads every event since
``created_at`` at once).

A stream kept current by its parent's events (invoice lines by the invoice's) turns each event
into that parent's children, listed again with the snapshot's own call.

Every read stops at ``upper`` (now minus the configured lag): Stripe's event list is eventually
consistent, and an event that becomes visible late must not land behind a cursor already passed.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from source_stripe_conduit.iterator.children import children, embedded_page
from source_stripe_conduit.iterator.event_pages import EVENTS_PATH, AccountEvents
from source_stripe_conduit.iterator.position import Position
from source_stripe_conduit.records import observed
from source_stripe_conduit.resources import MAX_EVENT_TYPES_PER_REQUEST, Op, Resource
from source_stripe_conduit.transport.client import Page, StripeClient
from source_stripe_conduit.transport.errors import StripeError, StripeRequestFailed

# Stripe lists events of the last 30 days. A position is treated as at risk an hour before
# that, so a sync that takes a while cannot step over the edge mid-read.
RETENTION_SECONDS = 30 * 24 * 3600
RETENTION_MARGIN_SECONDS = 3600

EventsFrom = Literal["cursor", "created_at"]
"""Where a page of events starts: after the cursor event, or at ``created_at``."""
Resume = EventsFrom | Literal["resnapshot"]


def cdc_start(position: Position, now: int) -> Resume:
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
class Rendering:
    """The API version a stream reads in, to judge an event's rendering by."""

    version: str | None
    """None: not known (no answer named it yet): events are taken as they are."""

    def same(self, event_version: str | None) -> bool:
        return event_version is not None and event_version == self.version

    def outdated(self, event_version: str | None) -> bool:
        """Whether an event's object must be fetched again to look like a listed one: it was
        rendered in another version than the stream reads (the account upgraded since, or
        rolled an upgrade back; or a version is pinned)."""
        return event_version is not None and self.version is not None \
            and event_version != self.version


@dataclass(frozen=True)
class EventsPage:
    records: list[dict[str, Any]]
    """Oldest first."""
    newest: tuple[str, int] | None
    """Id and created time of the newest event read, whether emitted or skipped."""
    has_more: bool
    skipped: int
    warnings: tuple[str, ...] = ()


def event_type_params(resource: Resource) -> list[tuple[str, str]]:
    """The ``types[]`` filter, or none where Stripe's limit of 20 names is exceeded: then the
    stream reads every event and keeps its own here. That costs requests but keeps one cursor
    and strict order, where several filtered scans would need merging. (No stream has more
    than 15 event types.)"""
    types = resource.event_types
    if len(types) > MAX_EVENT_TYPES_PER_REQUEST:
        return []
    return [("types[]", t) for t in types]


def read_events_page(client: StripeClient, resource: Resource, position: Position, *,
                     start: EventsFrom, upper: int, batch_size: int, hydrate: str = "never",
                     version: str | None = None,
                     shared: AccountEvents | None = None) -> EventsPage:
    """One page of ``resource``'s changes; with ``shared``, from the account's event pages
    that every stream following changes reads (``event_pages.py``), else from its own."""
    def fetch(params: list[tuple[str, str | int]]) -> Page:
        if shared is not None:
            return shared.page(client, resource.stream, params)
        return client.list_page(resource.stream, EVENTS_PATH, params)

    base: list[tuple[str, str | int]] = [("limit", batch_size), ("created[lte]", upper),
                                         *(event_type_params(resource) if shared is None
                                           else shared.filter())]
    if start == "cursor":
        assert position.cursor is not None
        page = fetch([*base, ("ending_before", position.cursor)])
        events, has_more = page.data, page.has_more
    else:
        events, has_more = _oldest_page(fetch, [*base, ("created[gte]", position.created_at)])
    events = events[::-1]
    # The cursor moves to the newest event read, whether or not this stream keeps it.
    newest = (events[-1]["id"], int(events[-1]["created"])) if events else None
    if resource.of_events:
        # The events are the records: every one of them, once, as it is.
        return EventsPage([observed(e, int(e["created"])) for e in events], newest, has_more, 0)
    if shared is not None or len(resource.event_types) > MAX_EVENT_TYPES_PER_REQUEST:
        events = [e for e in events if e.get("type") in resource.events]
    if position.index and start == "cursor":
        # A Conduit position can point inside a page: that many records are already out.
        events = events[position.index:]
    warnings: list[str] = []
    # The version the stream reads: the pinned one, else the account's own as Stripe named it.
    reading = Rendering(version or client.api_version())
    if resource.parent_events:
        outcomes = _children_records(client, resource, events, reading, warnings)
    else:
        fetched = _hydrate(client, resource, events, hydrate, reading, warnings)
        outcomes = [_record(resource, event, fetched) for event in events]
    records: list[dict[str, Any]] = []
    skipped = 0
    for outcome in outcomes:
        if outcome is None:
            skipped += 1
        else:
            records.extend(outcome)
    return EventsPage(records, newest, has_more, skipped, tuple(warnings))


def newest_event(client: StripeClient, resource: Resource, *, upper: int,
                 shared: AccountEvents | None = None) -> tuple[str, int] | None:
    """The newest event (of the stream's types, or of every type when shared) up to ``upper``:
    a cursor for a position that has none, so that the next sync reads forward from it rather
    than walking back through pages from its ``created_at``. Nothing after it is up to
    ``upper``, so no change is stepped over. One request, shared by the account's streams;
    without an answer the next sync still reads from ``created_at``, only at more cost, so a
    failure here fails nothing (None)."""
    params: list[tuple[str, str | int]] = [
        ("limit", 1), ("created[lte]", upper),
        *(event_type_params(resource) if shared is None else shared.filter())]
    try:
        page = shared.page(client, resource.stream, params) if shared is not None \
            else client.list_page(resource.stream, EVENTS_PATH, params)
    except StripeRequestFailed:
        return None
    return (page.data[0]["id"], int(page.data[0]["created"])) if page.data else None


def handoff(client: StripeClient, resource: Resource, lag_seconds: int,
            shared: AccountEvents | None) -> tuple[str, int] | None:
    """The newest event before a new snapshot starts (asked before its first page), where its
    change capture goes on: a second before the snapshot's earliest start, so that events of
    that second are replayed whatever order Stripe lists a second's events in; one second per
    account and sync when the streams share their events, so one request serves them all."""
    def upper() -> int:
        # Stripe's clock, not this machine's (waited for: the account lookup tells it): an
        # event becoming visible late must still be newer than the handoff.
        return client.server_time(resource.stream, *resource.probe) - lag_seconds - 2
    return newest_event(client, resource, shared=shared,
                        upper=shared.handoff_upper(upper) if shared else upper())


def _oldest_page(fetch: Callable[[list[tuple[str, str | int]]], Page],
                 params: list[tuple[str, str | int]]) -> tuple[list[dict[str, Any]], bool]:
    page = fetch(params)
    walked = False
    while page.has_more and page.data:
        older = fetch([*params, ("starting_after", page.data[-1]["id"])])
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
    if op is None or not isinstance(obj, dict) or obj.get("object") != resource.event_object \
            or not obj.get("id"):
        # Not this stream's object (or, for invoice.upcoming, an invoice with no id yet).
        return None
    return op, obj


def _record(resource: Resource, event: dict[str, Any],
            fetched: Mapping[str, dict[str, Any] | None]) -> list[dict[str, Any]] | None:
    """The event's record; None when the event is skipped."""
    found = _object(resource, event)
    if found is None:
        return None
    op, obj = found
    deleted = op is Op.DELETE
    if not deleted and obj["id"] in fetched:
        now = fetched[obj["id"]]
        # Deleted since: the event's copy, as a delete (the stub has no other field).
        # Otherwise a copy: several events of a page can share one fetched object.
        obj, deleted = (obj, True) if now is None else (dict(now), False)
    return [observed(obj, int(event["created"]), deleted=deleted)]


def _children_records(client: StripeClient, resource: Resource, events: list[dict[str, Any]],
                      reading: Rendering,
                      warnings: list[str]) -> list[list[dict[str, Any]] | None]:
    """Records of each event (None: skipped) for a stream kept current by its parent's events.

    A parent changed in the page gives its children once, at its last event there: from the
    event's parent when that embeds all of them and was rendered in the version the stream reads
    (the snapshot's rendering), else from the list, which shows the children as they are now, at
    least as new as that event. Either way earlier events of the same parent add nothing. A
    parent deleted in the page is not listed (Stripe no longer has its list); its delete event
    ends the children it embeds. A child that left a parent that still exists is in no list:
    where the event says what the parent embedded before (``previous_attributes``, as
    Stripe sends for a subscription's items), a child named there and not among the parent's
    children now arrives as a delete, dated by that event.
    """
    found = [_object(resource, event) for event in events]
    last: dict[str, int] = {}
    changed: dict[str, dict[str, Any] | None] = {}
    for index, item in enumerate(found):
        if item is None:
            continue
        op, parent = item
        last[parent["id"]] = index
        changed.pop(parent["id"], None)
        if op is not Op.DELETE:
            same = reading.same(events[index].get("api_version"))
            changed[parent["id"]] = parent if same else None
    listed = children(client, resource, dict(sorted(changed.items())))
    outcomes: list[list[dict[str, Any]] | None] = []
    for index, (event, item) in enumerate(zip(events, found, strict=True)):
        if item is None:
            outcomes.append(None)
            continue
        op, parent = item
        at = int(event["created"])
        if op is Op.DELETE:
            outcomes.append([observed(child, at, deleted=True)
                             for child in _embedded(resource, parent, warnings)])
            continue
        now = listed.get(parent["id"])
        records = [observed(child, at, deleted=True)
                   for child in _removed(resource, event, parent["id"], now, warnings)]
        if last[parent["id"]] == index and now is not None:
            records.extend(observed(child, at) for child in now)
        outcomes.append(records)
    return outcomes


def _removed(resource: Resource, event: dict[str, Any], parent_id: str,
             now: list[dict[str, Any]] | None, warnings: list[str]) -> list[dict[str, Any]]:
    """The children the parent embedded before the event (its ``previous_attributes``) that
    are not among its children now: they left it. None for ``now``: not known, none named."""
    previous = (event.get("data") or {}).get("previous_attributes")
    page = embedded_page(resource, previous) if isinstance(previous, dict) and now is not None \
        else None
    if page is None:
        return []
    before, whole = page
    if not whole:
        warnings.append(
            f"Stream '{resource.stream}': {resource.event_object} {parent_id} changed its "
            f"{resource.embedded}, and its event names only the first page of those it had "
            f"before; one removed beyond that page cannot be seen and stays until a full "
            f"refresh.")
    current = {child["id"] for child in now or ()}
    return [dict(child) for child in before if child["id"] not in current]


def _embedded(resource: Resource, parent: dict[str, Any],
              warnings: list[str]) -> list[dict[str, Any]]:
    """The children a deleted parent embeds (the first page of its list)."""
    page = embedded_page(resource, parent)
    if page is None:
        return []
    found, whole = page
    if not whole:
        warnings.append(
            f"Stream '{resource.stream}': deleted {resource.event_object} {parent['id']} "
            f"embeds only the first page of its {resource.embedded}; the rest cannot be "
            f"deleted and stay until a full refresh.")
    return found


def _hydrate(client: StripeClient, resource: Resource, events: list[dict[str, Any]], mode: str,
             reading: Rendering, warnings: list[str]) -> dict[str, dict[str, Any] | None]:
    """Objects fetched again so that a change record looks like a snapshot record: Stripe
    renders an event's object in the API version the account had when it happened. The fetch
    returns the object as it is now, which later events of the page (or of later pages) carry
    anyway. Deleted objects keep the event's copy; None beside an id: the object was deleted
    since (Stripe answers a retrieve of a deleted customer with a stub ``deleted: true``)."""
    if mode == "never":
        return {}
    wanted: dict[str, dict[str, Any]] = {}
    for event in events:
        found = _object(resource, event)
        if found is None or found[0] is Op.DELETE:
            continue
        if mode == "always" or reading.outdated(event.get("api_version")):
            wanted[found[1]["id"]] = found[1]

    def fetch(object_id: str) -> dict[str, Any] | None | bool:
        try:
            # The event's copy fills the path's other fields (a person's account).
            fetched = dict(client.get(resource.stream, resource.retrieve_path(wanted[object_id])))
        except StripeError as error:
            if error.status == 404:
                return False
            if error.account_refused:
                # The object's account is no longer reachable (a connected account whose
                # access was revoked since its event): the event's copy is all there is, and
                # a failure here would fail this page on every sync until the event ages out.
                warnings.append(
                    f"Stream '{resource.stream}': {object_id} could not be fetched again "
                    f"(Stripe: {error.stripe_message}); its record is as the event rendered it.")
                return False
            raise
        return None if fetched.get("deleted") is True else fetched

    fetched = client.fan_out(fetch, sorted(wanted))
    # False: not fetched (gone, or out of reach), so the event's copy stands.
    return {i: obj for i, obj in fetched.items() if obj is None or isinstance(obj, dict)}
