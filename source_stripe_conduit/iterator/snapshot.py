"""Snapshot: one page of a ``created`` range of a resource's list, newest first.

A range is read with ``starting_after=<last object emitted>``; the page's records and the range
that remains are returned together, and the caller makes the remaining range part of the
position only once the records are out.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from source_stripe_conduit.iterator.children import children_of, embedded_children
from source_stripe_conduit.iterator.position import Range
from source_stripe_conduit.records import observed
from source_stripe_conduit.resources import Resource
from source_stripe_conduit.transport.client import StripeClient
from source_stripe_conduit.transport.errors import StripeError


@dataclass(frozen=True)
class SnapshotPage:
    records: list[dict[str, Any]]
    remaining: Range | None
    """The range after this page; None once the range is exhausted."""
    seconds_per_object: float | None = None
    """How densely this page's objects were created, to guess how much a range still holds."""
    warnings: tuple[str, ...] = ()
    oldest: tuple[str, int] | None = None
    """The page's oldest object, of a ``created`` range of a list with undated objects."""
    pending: int | None = None
    """The oldest ``created`` of the page's objects that may still change without an event."""


def read_range_page(client: StripeClient, resource: Resource, piece: Range, *, batch_size: int,
                    observed_at: int) -> SnapshotPage:
    try:
        return _read(client, resource, piece, batch_size, observed_at)
    except StripeError as error:
        if not (piece.cursor and error.resource_missing and error.param == "starting_after"):
            raise
    # The cursor object was deleted between two pages. Its created time is known, so the
    # range goes on from there, bounded by it from now on.
    page = _read(client, resource, piece.below_cursor(), batch_size, observed_at)
    warning = (f"Stream '{resource.stream}': snapshot cursor {piece.cursor} no longer exists "
               f"(deleted while the snapshot ran); continuing from its created time "
               f"{piece.cursor_created}.")
    return SnapshotPage(page.records, page.remaining, page.seconds_per_object, (warning,),
                        page.oldest, page.pending)


def _read(client: StripeClient, resource: Resource, piece: Range, batch_size: int,
          observed_at: int) -> SnapshotPage:
    # A child list (a customer's payment methods) is read by ranges of its parent's list.
    listed = resource.listed
    # Lists Stripe returns whole take no limit (it answers 400 "unknown parameter").
    params: list[tuple[str, str | int]] = [*([("limit", batch_size)] if listed.paginated else []),
                                           *listed.list_params.items()]
    if piece.cursor:
        params.append(("starting_after", piece.cursor))
    if listed.created_filter and not piece.undated:
        if piece.gte is not None:
            params.append(("created[gte]", piece.gte))
        if piece.lt is not None:
            params.append(("created[lt]", piece.lt))
    page = client.list_page(resource.stream, listed.path, params)
    finished = not page.has_more or not listed.paginated
    objects = page.data
    field = listed.created_field
    if not listed.created_filter and (piece.gte is not None or piece.lt is not None):
        objects, below = _clip(objects, piece, field)
        finished = finished or below
    remaining, density, oldest_object = None, None, None
    if piece.undated:
        # After the oldest dated object only undated ones should come; any dated one here is
        # of the same second as it, and was read by a range.
        objects = [obj for obj in objects if obj.get(field) is None]
        if not finished and page.data:
            remaining = Range(cursor=page.data[-1]["id"], undated=True)
    elif not finished and page.data:
        oldest, newest = int(page.data[-1].get(field) or 0), int(page.data[0].get(field) or 0)
        remaining = piece.advanced(page.data[-1]["id"], oldest)
        density = (newest - oldest + 1) / len(page.data)
    if listed.undated and piece.bounded and page.data:
        oldest_object = (page.data[-1]["id"], int(page.data[-1].get(field) or 0))
    objects, pending = _settling(listed, piece, objects)
    if not resource.parent:
        return SnapshotPage([observed(obj, observed_at) for obj in objects], remaining, density,
                            oldest=oldest_object, pending=pending)
    # Parents embedding all their children give them without a request; the page of parents
    # is let go before the others' children are listed.
    order = [parent["id"] for parent in objects]
    found, to_list = embedded_children(resource, {parent["id"]: parent for parent in objects})
    del page, objects
    found.update(children_of(client, resource, to_list))
    return SnapshotPage([observed(child, observed_at) for parent_id in order
                         for child in found[parent_id]], remaining, density, oldest=oldest_object)


def _settling(listed: Resource, piece: Range, objects: list[dict[str, Any]]
              ) -> tuple[list[dict[str, Any]], int | None]:
    """The objects to emit, and the oldest ``created`` of those that may still change without
    an event (``Resource.settles``). A range read again for what settled since emits only
    those that did: the others are out already, as they are."""
    if not listed.settles:
        return objects, None
    key, value = listed.settles
    unsettled = [int(obj.get(listed.created_field) or 0) for obj in objects
                 if obj.get(key) == value]
    if piece.recheck:
        objects = [obj for obj in objects if obj.get(key) != value]
    return objects, min(unsettled) if unsettled else None


def _clip(objects: list[dict[str, Any]], piece: Range,
          field: str = "created") -> tuple[list[dict[str, Any]], bool]:
    """Range bounds applied here for lists that take no ``created`` filter. Lists are newest
    first, so the first object below ``gte`` ends the range. Objects without a ``created``
    time (payment links, terminal readers, report types) cannot be placed in time: kept."""
    kept: list[dict[str, Any]] = []
    for obj in objects:
        if obj.get(field) is None:
            kept.append(obj)
            continue
        created = int(obj[field])
        if piece.gte is not None and created < piece.gte:
            return kept, True
        if piece.lt is None or created < piece.lt:
            kept.append(obj)
    return kept, False
