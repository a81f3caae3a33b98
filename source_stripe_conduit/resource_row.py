"""One row of the resource table (``resources.py``): what a stream reads, and how its event
tables are written."""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any
from urllib.parse import parse_qsl, urlsplit

# The parent's id in a child's list path, named as Stripe's docs name it (``{customer}``).
_PARENT_PLACEHOLDER = re.compile(r"\{\w+\}")


class Op(enum.StrEnum):
    """What an event means for the row of its object."""

    CREATE = "create"
    UPDATE = "update"
    DELETE = "delete"


@dataclass(frozen=True)
class Resource:
    stream: str
    """Airbyte stream name: the official connector's where the resource overlaps."""
    object: str
    """Stripe's object type, the ``object`` field of every item (``checkout.session``)."""
    path: str
    """List path. For a child list, one ``{name}`` stands for the id of each object of
    ``parent``: in the path (``/v1/invoices/{invoice}/lines``), or in the query where Stripe
    takes it there (``/v1/subscription_items?subscription={subscription}``)."""
    events: Mapping[str, Op] = field(default_factory=dict)
    list_params: Mapping[str, str] = field(default_factory=dict)
    """Query parameters every list call needs, to undo Stripe's hidden list defaults."""
    created_filter: bool = True
    """Whether the list endpoint accepts ``created[gte|lt]`` (needed to split a snapshot)."""
    paginated: bool = True
    """False for the few lists Stripe returns whole, without cursors."""
    parent: str | None = None
    """Stream whose objects own this list (a customer's payment methods)."""
    parent_events: bool = False
    """No events of its own: ``events`` are the parent's, and each of them lists that parent's
    children again (invoice lines change with ``invoice.updated``)."""
    embedded: str | None = None
    """Field of the parent that embeds its children's first page (an invoice's ``lines``): the
    only trace of them a parent's delete event leaves."""
    append_only: bool = False
    """Objects never change after creation: incremental reads list by ``created``, no events."""
    retained_days: int | None = None
    """Stripe keeps this list's objects only so many days (events: 30)."""
    created_field: str = "created"
    """The object's creation time, which the list's ``created`` filter applies to."""
    retrieve: str | None = None
    """Path of one object, ``{id}`` for its id; by default the list path and the id."""
    permission: str | None = None
    """The restricted-key permission that reads the list, where Stripe's name is not
    ``rak_<object>_read`` (prices are read with the plans' permission)."""
    of_events: bool = False
    """Its records are the account's events themselves: beside streams following changes it
    takes every event of their shared pages, with no read of its own."""
    settles: tuple[str, str] | None = None
    """``(field, value)``: an object whose ``field`` is ``value`` still changes later without
    any event (a balance transaction is ``pending`` until its ``available_on``). Each
    incremental read lists again what was created since the oldest such object it read, and
    emits those that changed since; the window closes as they settle."""
    undated: bool = False
    """Some objects have no ``created`` time (connected accounts of long ago): they match no
    ``created`` filter, and Stripe lists them after every dated one, so a snapshot read in
    ``created`` ranges reads them last, after the oldest dated object."""
    platform_only: bool = False
    """Connect's own objects (connected accounts, their persons): read from the platform
    only, not once more as each connected account."""

    def retrieve_path(self, obj: Mapping[str, Any]) -> str:
        """Path of ``obj`` itself: ``{id}`` and any other ``{field}`` come from the object
        (a person is retrieved under its ``{account}``)."""
        return (self.retrieve or self.path + "/{id}").format_map(obj)

    def children_request(self, parent_id: str) -> tuple[str, list[tuple[str, str]]]:
        """Path and query parameters of the list of one parent's children."""
        url = urlsplit(_PARENT_PLACEHOLDER.sub(lambda _: parent_id, self.path, count=1))
        return url.path, parse_qsl(url.query)

    @property
    def event_object(self) -> str:
        """Stripe's object type in this stream's events: the parent's, for a stream kept
        current by its parent's events."""
        return self.listed.object if self.parent_events else self.object

    @property
    def event_types(self) -> tuple[str, ...]:
        return tuple(sorted(self.events))

    @property
    def follows_events(self) -> bool:
        """Whether its incremental reads take pages of events (its own types, or every event
        when its records are the events)."""
        return bool(self.events) and not self.append_only or self.of_events

    @property
    def incremental(self) -> bool:
        return self.append_only or bool(self.events)

    @property
    def listed(self) -> Resource:
        """The resource whose list a snapshot pages through: the parent's, for a child list."""
        if not self.parent:
            return self
        # The table of rows imports this module: its rows are looked up when asked for.
        from source_stripe_conduit.resources import BY_STREAM
        return BY_STREAM[self.parent]

    @property
    def read_permission(self) -> str:
        return self.permission or f"rak_{self.object.replace('.', '_')}_read"

    @property
    def permissions(self) -> tuple[str, ...]:
        """Every permission a snapshot of this stream needs: a child list's parent's too."""
        own = self.read_permission
        parent = self.listed.read_permission if self.parent else None
        return (parent, own) if parent and parent != own else (own,)

    @property
    def probe(self) -> tuple[str, list[tuple[str, str | int]]]:
        """The cheapest request that shows whether this stream can be read: one object."""
        listed = self.listed
        return listed.path, [("limit", 1)] if listed.paginated else []


def _events(prefix: str, *names: str, create: tuple[str, ...] = ("created",),
            delete: tuple[str, ...] = ()) -> Mapping[str, Op]:
    """Event types ``prefix.name``; ``create``/``delete`` name the ones with those meanings."""
    table: dict[str, Op] = {}
    for name in (*create, *delete, *names):
        op = Op.CREATE if name in create else Op.DELETE if name in delete else Op.UPDATE
        table[f"{prefix}.{name}"] = op
    return MappingProxyType(table)


def _merge(*tables: Mapping[str, Op]) -> Mapping[str, Op]:
    merged: dict[str, Op] = {}
    for table in tables:
        merged.update(table)
    return MappingProxyType(merged)
