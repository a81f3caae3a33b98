"""Snapshot: one page of a ``created`` range of a resource's list, newest first.

A range is read with ``starting_after=<last object emitted>``; the page's records and the range
that remains are returned together, and the caller makes the remaining range part of the
position only once the records are out.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from source_stripe_conduit.iterator.position import Range
from source_stripe_conduit.records import observed
from source_stripe_conduit.resources import Resource
from source_stripe_conduit.transport.client import Params, StripeClient
from source_stripe_conduit.transport.errors import StripeError

logger = logging.getLogger("airbyte")

# Times one parent's children are read again from the start when the child a page started
# after was deleted meanwhile; beyond that the list is changing too fast to read whole.
MAX_CHILD_RESTARTS = 3


@dataclass(frozen=True)
class SnapshotPage:
    records: list[dict[str, Any]]
    remaining: Range | None
    """The range after this page; None once the range is exhausted."""
    seconds_per_object: float | None = None
    """How densely this page's objects were created, to guess how much a range still holds."""


def read_range_page(client: StripeClient, resource: Resource, rng: Range, *, batch_size: int,
                    observed_at: int) -> SnapshotPage:
    try:
        return _read(client, resource, rng, batch_size, observed_at, recovering=False)
    except StripeError as error:
        if not (rng.cursor and error.resource_missing and error.param == "starting_after"):
            raise
        # The cursor object was deleted between two pages. Its created time is known, so the
        # range goes on from there (objects of that very second may come twice).
        logger.warning(
            f"Stream '{resource.stream}': snapshot cursor {rng.cursor} no longer exists "
            f"(deleted while the snapshot ran); continuing from its created time "
            f"{rng.cursor_created}.")
        return _read(client, resource, rng, batch_size, observed_at, recovering=True)


def _read(client: StripeClient, resource: Resource, rng: Range, batch_size: int,
          observed_at: int, recovering: bool) -> SnapshotPage:
    # A child list (a customer's payment methods) is read by ranges of its parent's list.
    listed = resource.listed
    lte = rng.cursor_created if recovering else None
    # Lists Stripe returns whole take no limit (it answers 400 "unknown parameter").
    params: list[tuple[str, str | int]] = [*([("limit", batch_size)] if listed.paginated else []),
                                           *listed.list_params.items()]
    if rng.cursor and not recovering:
        params.append(("starting_after", rng.cursor))
    if listed.created_filter:
        if rng.gte is not None:
            params.append(("created[gte]", rng.gte))
        if lte is not None:
            params.append(("created[lte]", lte))
        elif rng.lt is not None:
            params.append(("created[lt]", rng.lt))
    page = client.list_page(resource.stream, listed.path, params)
    objects = page.data
    finished = not page.has_more or not listed.paginated
    if not listed.created_filter and (rng.gte is not None or rng.lt is not None
                                        or lte is not None):
        objects, below = _clip(objects, rng, lte, listed.created_field)
        finished = finished or below
    remaining = None
    density = None
    if not finished and page.data:
        last = page.data[-1]
        field = listed.created_field
        remaining = rng.advanced(last["id"], int(last.get(field) or 0))
        newest = int(page.data[0].get(field) or 0)
        density = (newest - int(last.get(field) or 0) + 1) / len(page.data)
    if resource.parent:
        records = [observed(child, observed_at) for parent in objects
                   for child in list_children(client, resource, parent["id"])]
    else:
        records = [observed(obj, observed_at) for obj in objects]
    return SnapshotPage(records, remaining, density)


def _clip(objects: list[dict[str, Any]], rng: Range, lte: int | None,
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
        if rng.gte is not None and created < rng.gte:
            return kept, True
        if (rng.lt is None or created < rng.lt) and (lte is None or created <= lte):
            kept.append(obj)
    return kept, False


def list_children(client: StripeClient, resource: Resource,
                  parent_id: str) -> list[dict[str, Any]]:
    """Every child of one parent, all pages. The snapshot and change capture both read
    children with this call, so a row is the same whichever of them produced it."""
    path, parent_params = resource.children_request(parent_id)
    children: list[dict[str, Any]] = []
    cursor: str | None = None
    restarts = 0
    while True:
        params: Params = [*parent_params, ("limit", 100),
                          *([("starting_after", cursor)] if cursor else [])]
        try:
            page = client.list_page(resource.stream, path, params)
        except StripeError as error:
            if error.status == 404 and error.resource_missing:
                # The parent was deleted after it was listed (or after its event): it has no
                # children any more, and its own deletion says what becomes of them.
                return []
            if cursor and error.resource_missing and error.param == "starting_after" \
                    and restarts < MAX_CHILD_RESTARTS:
                # The child we paged from was deleted meanwhile. Children lists are short and
                # have no created filter to resume by: read this parent's list again.
                restarts += 1
                children, cursor = [], None
                continue
            raise
        children.extend(page.data)
        if not page.has_more or not page.data:
            return children
        cursor = page.data[-1]["id"]
