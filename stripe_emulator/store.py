"""Objects, events and the indexes that page through them.

Every list Stripe serves is ordered newest first by ``created``, ties broken by insertion order
(newest first). Each list here is therefore a ``Collection``: parallel Python lists of keys
``(created, seq)`` in ascending order and of the items, so that a cursor or a ``created`` bound
is one ``bisect`` away and a page is a slice walked backwards. ``seq`` is unique per dataset, so
keys never tie and ``(created, seq + 1)`` is the exclusive bound just above an item.

An object's canonical state is its serialized JSON (``Obj.blob``): a page is built by joining
blobs (``orjson.Fragment``), an event snapshots an object by keeping the blob it had, and a
change decodes, edits and re-encodes. This keeps seeding fast and memory small (no live dicts).
"""

from __future__ import annotations

import heapq
import itertools
import random
import string
import time
from bisect import bisect_left
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

import orjson

from .catalog import KINDS, Kind

RETENTION_SECONDS = 30 * 24 * 3600
"""Stripe lists events of the last 30 days only."""
NESTED_PAGE = 10
"""Stripe embeds at most this many items of a nested list (invoice lines, subscription items)."""
ALNUM = string.ascii_letters + string.digits

Key = tuple[int, int]


def dump(data: Any) -> bytes:
    """Serialize for keeping: orjson returns its whole working buffer (4 KiB or more) as the
    bytes object, so a stored blob is copied to its exact size, or memory grows tenfold."""
    return bytes(memoryview(orjson.dumps(data)))

# Parent object type -> the child kinds embedded in one of its fields.
NESTED_CHILDREN: dict[str, tuple[Kind, ...]] = {}
for _kind in KINDS:
    if _kind.parent and _kind.nested_field:
        NESTED_CHILDREN[_kind.parent] = (*NESTED_CHILDREN.get(_kind.parent, ()), _kind)


class Clock:
    """The emulator's clock: wall clock plus an offset tests move forward."""

    def __init__(self) -> None:
        self.offset = 0.0

    def now(self) -> float:
        return time.time() + self.offset

    def advance(self, seconds: float) -> None:
        self.offset += seconds

    def set(self, timestamp: float) -> None:
        self.offset = timestamp - time.time()


class Obj:
    """One Stripe object of a dataset."""

    __slots__ = ("id", "kind", "created", "seq", "blob", "listed", "deleted", "parent",
                 "status", "customer", "rendered")

    def __init__(self, kind: Kind, object_id: str, created: int, seq: int, blob: bytes,
                 parent: str | None, status: str | None) -> None:
        self.id = object_id
        self.kind = kind
        self.created = created
        self.seq = seq
        self.blob = blob
        self.listed = True
        """In its list (false once deleted or detached)."""
        self.deleted = False
        """Gone for good: retrieving it fails (a customer answers with its deletion stub)."""
        self.parent = parent
        self.status = status
        self.customer: str | None = None
        """The customer id it references, kept to find a customer's objects without decoding."""
        self.rendered: tuple[str, bytes, bytes | None, bytes] | None = None
        """The last rendering in another API version than the stored one: (shape, the stored
        bytes it was made from, the bytes of what else it depends on, the rendered bytes)."""

    @property
    def key(self) -> Key:
        return (self.created, self.seq)

    def data(self) -> dict[str, Any]:
        result: dict[str, Any] = orjson.loads(self.blob)
        return result


class Event:
    __slots__ = ("id", "type", "created", "seq", "visible_at", "blob")

    def __init__(self, event_id: str, event_type: str, created: int, seq: int,
                 visible_at: float, blob: bytes) -> None:
        self.id = event_id
        self.type = event_type
        self.created = created
        self.seq = seq
        self.visible_at = visible_at
        self.blob = blob

    @property
    def key(self) -> Key:
        return (self.created, self.seq)


class Collection:
    """Items kept sorted by key, ascending (lists walk it backwards)."""

    __slots__ = ("keys", "items")

    def __init__(self) -> None:
        self.keys: list[Key] = []
        self.items: list[Any] = []

    def __len__(self) -> int:
        return len(self.keys)

    def add(self, key: Key, item: Any) -> None:
        if not self.keys or key > self.keys[-1]:
            self.keys.append(key)
            self.items.append(item)
            return
        index = bisect_left(self.keys, key)
        self.keys.insert(index, key)
        self.items.insert(index, item)

    def extend(self, items: Sequence[Any]) -> None:
        """Add many items (with a ``key``) at once: one sort instead of many inserts."""
        if not items:
            return
        merged = self.items + list(items)
        if self.keys and min(item.key for item in items) < self.keys[-1]:
            merged.sort(key=lambda item: item.key)
        else:
            merged[len(self.items):] = sorted(items, key=lambda item: item.key)
        self.items = merged
        self.keys = [item.key for item in merged]

    def bounds(self, lo_key: Key | None, hi_key: Key | None) -> tuple[int, int]:
        lo = bisect_left(self.keys, lo_key) if lo_key is not None else 0
        hi = bisect_left(self.keys, hi_key) if hi_key is not None else len(self.keys)
        return lo, hi


Accept = Callable[[Any], bool]


def walk(coll: Collection | None, lo_key: Key | None, hi_key: Key | None, limit: int,
         up: bool, accept: Accept | None) -> tuple[list[Any], bool]:
    """One page of ``coll`` between the bounds, newest first, and whether more items exist.

    Down (the default, and ``starting_after``): the newest accepted items below ``hi_key``.
    Up (``ending_before``): the oldest accepted items above ``lo_key``, that is the ones
    immediately newer than the cursor, returned newest first; "more" means even newer ones.
    """
    if coll is None:
        return [], False
    lo, hi = coll.bounds(lo_key, hi_key)
    items = coll.items
    indexes = range(lo, hi) if up else range(hi - 1, lo - 1, -1)
    return _take((items[index] for index in indexes), limit, up, accept)


def _take(items: Iterable[Any], limit: int, up: bool,
          accept: Accept | None) -> tuple[list[Any], bool]:
    """The first ``limit`` accepted items in walking order, newest first, and whether more
    exist."""
    page: list[Any] = []
    for item in items:
        if accept is None or accept(item):
            if len(page) == limit:
                if up:
                    page.reverse()
                return page, True
            page.append(item)
    if up:
        page.reverse()
    return page, False


def _descending(coll: Collection, lo: int, hi: int) -> Iterator[tuple[Key, Any]]:
    keys, items = coll.keys, coll.items
    for index in range(hi - 1, lo - 1, -1):
        yield keys[index], items[index]


def _ascending(coll: Collection, lo: int, hi: int) -> Iterator[tuple[Key, Any]]:
    keys, items = coll.keys, coll.items
    for index in range(lo, hi):
        yield keys[index], items[index]


def walk_merged(colls: Sequence[Collection], lo_key: Key | None, hi_key: Key | None,
                limit: int, up: bool, accept: Accept | None) -> tuple[list[Any], bool]:
    """``walk`` over the union of several collections (events of several types).

    Each per-type index is already sorted, so a k-way merge touches only about ``limit``
    items of each instead of scanning the whole event log.
    """
    if len(colls) == 1:
        return walk(colls[0], lo_key, hi_key, limit, up, accept)
    streams = []
    for coll in colls:
        lo, hi = coll.bounds(lo_key, hi_key)
        if lo < hi:
            streams.append(_ascending(coll, lo, hi) if up else _descending(coll, lo, hi))
    merged = (item for _key, item in heapq.merge(*streams, reverse=not up))
    return _take(merged, limit, up, accept)


def random_id(rng: random.Random, length: int) -> str:
    return "".join(rng.choices(ALNUM, k=length))


def listed(obj: Obj) -> bool:
    return obj.listed


class Dataset:
    """The objects and events of one account in one mode (test or live)."""

    def __init__(self, account: str, livemode: bool, connected: bool) -> None:
        self.account = account
        self.livemode = livemode
        self.connected = connected
        """A connected account's data (its events carry ``account``)."""
        self.seq = 0
        self.objects: dict[str, Obj] = {}
        self.top: dict[str, Collection] = {kind.object: Collection() for kind in KINDS
                                           if kind.top_level and kind.object != "event"}
        self.children: dict[tuple[str, str], Collection] = {}
        self.registry: dict[str, list[Obj]] = {kind.object: [] for kind in KINDS}
        self.events = Collection()
        self.events_by_id: dict[str, Event] = {}
        self.events_by_type: dict[str, Collection] = {}
        self.oldest: int | None = None
        """``created`` of the oldest object: the account was opened before it."""
        self.undated: set[str] = set()
        """Ids of objects without ``created`` (some connected accounts): no ``created``
        filter matches them; the unfiltered list has them after every dated object."""
        self.unsettled: list[tuple[int, int, Obj]] = []
        """A heap of ``(available_on, ticket, object)``: the pending objects of kinds that
        settle (balance transactions), soonest first; see ``settle``."""
        self._tickets = itertools.count()

    def next_seq(self) -> int:
        self.seq += 1
        return self.seq

    # Objects

    def add(self, obj: Obj, defer_top: list[Obj] | None = None) -> None:
        """Index ``obj``; with ``defer_top`` its top-level list insertion waits for
        ``flush_top`` (seeding adds many objects of random ages: one sort beats many inserts).
        """
        self.objects[obj.id] = obj
        self.registry[obj.kind.object].append(obj)
        if self.oldest is None or obj.created < self.oldest:
            self.oldest = obj.created
        kind = obj.kind
        if kind.top_level:
            if defer_top is not None:
                defer_top.append(obj)
            else:
                self.top[kind.object].add(obj.key, obj)
        if kind.parent and obj.parent:
            self.child_collection(kind.object, obj.parent).add(obj.key, obj)

    def flush_top(self, object_type: str, objs: Sequence[Obj]) -> None:
        self.top[object_type].extend(objs)

    def child_collection(self, object_type: str, parent: str) -> Collection:
        coll = self.children.get((object_type, parent))
        if coll is None:
            coll = self.children[(object_type, parent)] = Collection()
        return coll

    def get(self, object_id: str, object_type: str | None = None) -> Obj | None:
        obj = self.objects.get(object_id)
        if obj is None or (object_type is not None and obj.kind.object != object_type):
            return None
        return obj

    def render(self, obj: Obj, data: dict[str, Any]) -> None:
        """Store ``data`` as the object's state, embedding its nested lists' first pages."""
        for child in NESTED_CHILDREN.get(obj.kind.object, ()):
            if child.object == "refund":
                # Since API version 2022-11-15 a charge no longer embeds its refunds unless
                # asked to (expand[]=refunds, which the emulator does not offer).
                data.pop(child.nested_field or "", None)
                continue
            nested = data.get(child.nested_field or "")
            if not isinstance(nested, dict):
                continue
            page, has_more = walk(self.children.get((child.object, obj.id)), None, None,
                                  NESTED_PAGE, False, listed)
            nested["data"] = [orjson.Fragment(item.blob) for item in page]
            nested["has_more"] = has_more
            if "total_count" in nested:
                coll = self.children.get((child.object, obj.id))
                nested["total_count"] = sum(1 for item in coll.items if item.listed) if coll else 0
        obj.blob = dump(data)
        status = data.get("status")
        obj.status = status if isinstance(status, str) else None
        customer = data.get("customer")
        obj.customer = customer if isinstance(customer, str) else None
        if obj.kind.settles and obj.status == "pending":
            available_on = data.get("available_on")
            if isinstance(available_on, int):
                # Again after a change of available_on: settle skips the older entry.
                heapq.heappush(self.unsettled, (available_on, next(self._tickets), obj))

    def settle(self, now: float) -> int:
        """Make every pending object whose ``available_on`` has passed ``available``, as
        Stripe does ("Funds in a Balance transition from pending to available at the
        corresponding available_on time for each balance transaction"), without any event:
        Stripe has none for it. Called before anything reads the dataset (API requests, the
        ground truth, changes), so every read shows the status as of the emulator's clock;
        a read when nothing is due costs one comparison. Returns how many settled.

        One way only: moving the clock back does not make a settled object pending again
        (Stripe's time does not go back).
        """
        heap = self.unsettled
        settled = 0
        while heap and heap[0][0] <= now:
            due, _ticket, obj = heapq.heappop(heap)
            if obj.status != "pending" or obj.deleted:
                continue
            data = obj.data()
            if data.get("available_on") != due:
                continue  # changed since: its new date has an entry of its own
            data["status"] = "available"
            self.render(obj, data)
            settled += 1
        return settled

    def refresh_parent(self, obj: Obj) -> Obj | None:
        """Re-embed ``obj``'s list in its parent after it changed; returns the parent."""
        if not (obj.kind.nested_field and obj.parent):
            return None
        parent = self.objects.get(obj.parent)
        if parent is not None:
            self.render(parent, parent.data())
        return parent

    def listed_children(self, object_type: str, parent: str) -> list[Obj]:
        coll = self.children.get((object_type, parent))
        if coll is None:
            return []
        return [item for item in reversed(coll.items) if item.listed]

    # Events

    def add_event(self, event: Event) -> None:
        self.events.add(event.key, event)
        self.events_by_id[event.id] = event
        coll = self.events_by_type.get(event.type)
        if coll is None:
            coll = self.events_by_type[event.type] = Collection()
        coll.add(event.key, event)

    def add_events(self, events: Sequence[Event]) -> None:
        if not events:
            return
        self.events.extend(events)
        by_type: dict[str, list[Event]] = {}
        for event in events:
            self.events_by_id[event.id] = event
            by_type.setdefault(event.type, []).append(event)
        for event_type, group in by_type.items():
            coll = self.events_by_type.get(event_type)
            if coll is None:
                coll = self.events_by_type[event_type] = Collection()
            coll.extend(group)


def make_event_blob(event_id: str, event_type: str, created: int, object_blob: bytes,
                    previous: dict[str, Any] | None, livemode: bool, api_version: str,
                    request_id: str | None, account: str | None) -> bytes:
    body: dict[str, Any] = {"id": event_id, "object": "event"}
    if account is not None:
        body["account"] = account
    data: dict[str, Any] = {"object": orjson.Fragment(object_blob)}
    if previous is not None:
        data["previous_attributes"] = previous
    body.update({
        "api_version": api_version,
        "created": created,
        "data": data,
        "livemode": livemode,
        "pending_webhooks": 0,
        "request": {"id": request_id, "idempotency_key": None},
        "type": event_type,
    })
    return dump(body)


PLATFORM_ACCOUNT = "acct_1EmulatorPlatfrm"
"""The account every key of the emulator belongs to (Connect's platform)."""


ACTIVE = "active"
REVOKED = "revoked"
REMOVED = "removed"
"""A connected account's access: the platform reads it, lost access to it (its data goes on
and comes back with the access), or deleted it (gone with its data)."""


class Store:
    """Every dataset of the emulator: the platform's and its connected accounts', per mode."""

    def __init__(self) -> None:
        self.clock = Clock()
        self.platform = PLATFORM_ACCOUNT
        self.datasets: dict[tuple[str, bool], Dataset] = {}
        self.revoked: set[tuple[str, bool]] = set()
        self.rng = random.Random()

    def reset(self) -> None:
        self.datasets.clear()
        self.revoked.clear()
        self.clock = Clock()

    def platform_dataset(self, livemode: bool) -> Dataset:
        key = (self.platform, livemode)
        dataset = self.datasets.get(key)
        if dataset is None:
            dataset = self.datasets[key] = Dataset(self.platform, livemode, connected=False)
        return dataset

    def access(self, account: str, livemode: bool) -> str | None:
        """``ACTIVE``, ``REVOKED`` or ``REMOVED`` for a connected account; None for an id
        the platform never had (in that mode)."""
        connected = self.platform_dataset(livemode).get(account, "account")
        if connected is None:
            return None
        if not connected.deleted:
            return ACTIVE
        return REVOKED if (account, livemode) in self.revoked else REMOVED

    def dataset(self, account: str | None, livemode: bool,
                revoked: bool = False) -> Dataset | None:
        """The data of ``account`` (None: the platform), or None if the platform cannot
        reach it (no such account, removed, or revoked unless ``revoked`` asks for it).

        A connected account exists once the platform has an account object with its id, in
        the same mode (test-mode connected accounts are invisible to live keys, as on Stripe).
        Access is checked on every call, not cached with the dataset: an account revoked
        since must answer 403 at once.
        """
        if account is None or account == self.platform:
            return self.platform_dataset(livemode)
        access = self.access(account, livemode)
        if access is None or access == REMOVED or access == REVOKED and not revoked:
            return None
        key = (account, livemode)
        dataset = self.datasets.get(key)
        if dataset is None:
            dataset = self.datasets[key] = Dataset(account, livemode, connected=True)
        return dataset

    def new_request_id(self) -> str:
        return "req_" + random_id(self.rng, 14)
