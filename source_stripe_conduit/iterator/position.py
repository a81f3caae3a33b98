"""The iterator position of one stream: Conduit's four fields, the Airbyte state of the stream.

``{"iterator_type": "snapshot"|"cdc", "created_at": <unix s>, "cursor": <id>, "index": <n>}``
keeps Conduit's meanings:

- ``created_at``: change capture reads events created at or after it; set when the position is
  created, before the snapshot starts, so the changes made during the snapshot are replayed.
- ``cursor``: in a snapshot, the id of the last object emitted; in CDC, the id of the newest
  event of the last finished page (never an object id: a CDC position's ranges, an append-only
  stream's catch-up of what was created since, carry their own cursors).
- ``index``: records of the next page already emitted (0 at every state this connector emits;
  honoured when a Conduit position says otherwise).

Added keys: ``ranges`` (a snapshot split by ``created`` into ranges read in parallel, each with
its own cursor) and ``cursor_created`` (the ``created`` time of the cursor, to foresee Stripe's
30-day event retention and to go on when a cursor object was deleted between pages). A future
per-connected-account state adds an ``accounts`` key beside these; a state without it stays the
position of the configured account.

Every function here is pure: a transition takes a position and returns a new one.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any, Literal

IteratorType = Literal["snapshot", "cdc"]
SNAPSHOT: IteratorType = "snapshot"
CDC: IteratorType = "cdc"


class StateError(ValueError):
    """A saved state this connector cannot resume from; the message says why."""


@dataclass(frozen=True, order=True)
class Range:
    """Objects with ``gte <= created < lt`` (None: unbounded), listed newest first.

    ``cursor`` is the last object emitted from this range; the range goes on below it.
    """

    gte: int | None = None
    lt: int | None = None
    cursor: str | None = None
    cursor_created: int | None = None
    undated: bool = False
    """The objects without a ``created`` time, which Stripe lists after every dated one: read
    without a filter, after ``cursor`` (at first the oldest dated object of the snapshot)."""
    recheck: bool = False
    """Read again for objects that may have changed without an event since they were read
    (``Resource.settles``): only those that did are emitted."""

    @property
    def top(self) -> int | None:
        """Newest ``created`` still to read, as far as known."""
        if self.cursor_created is not None:
            return self.cursor_created if self.lt is None else min(self.cursor_created, self.lt - 1)
        return None if self.lt is None else self.lt - 1

    def span(self, floor: int) -> int:
        """Seconds still to read, for choosing which range to split; unbounded ends use ``floor``
        (the oldest time an object can have) and the snapshot's start."""
        top = self.top
        low = self.gte if self.gte is not None else floor
        return max((top if top is not None else 0) - low, 0)

    def advanced(self, last_id: str, last_created: int) -> Range:
        return replace(self, cursor=last_id, cursor_created=last_created)

    def below_cursor(self) -> Range:
        """The range again from its cursor's second down, without the cursor: for when the
        cursor object was deleted between two pages. The bound stays with the range for every
        later page (objects of that very second may come twice)."""
        if self.cursor_created is None or self.undated:
            return replace(self, cursor=None)
        top = self.cursor_created + 1
        return Range(self.gte, top if self.lt is None else min(self.lt, top))

    def split(self, at: int) -> tuple[Range, Range]:
        """The part still to read cut at ``at``: (this range from ``at`` up, a new one below)."""
        return replace(self, gte=at), Range(gte=self.gte, lt=at)

    @property
    def bounded(self) -> bool:
        """Read with a ``created`` filter, which objects without a created time never match."""
        return not self.undated and (self.gte is not None or self.lt is not None)

    def to_state(self) -> dict[str, Any]:
        state: dict[str, Any] = {"gte": self.gte, "lt": self.lt, "cursor": self.cursor,
                                 "cursor_created": self.cursor_created}
        if self.undated:
            state["undated"] = True
        if self.recheck:
            state["recheck"] = True
        return state


@dataclass(frozen=True)
class Position:
    iterator_type: IteratorType
    created_at: int
    cursor: str | None = None
    index: int = 0
    ranges: tuple[Range, ...] = ()
    cursor_created: int | None = None
    oldest: tuple[str, int] | None = None
    """The oldest dated object a ``created`` range of this snapshot emitted, of a list with
    objects without a created time: where reading those starts once every range is done."""
    pending: int | None = None
    """The oldest ``created`` of an object read since the last catch-up began that may still
    change without an event (``Resource.settles``): where the next read looks again."""
    handoff: tuple[str, int] | None = None
    """A snapshot's: the newest event (id, created) before it started. Change capture after
    it reads forward from that event, which covers every change from ``created_at`` on,
    instead of walking back through the pages of events from ``created_at``."""

    # -- construction -------------------------------------------------------------------------

    @staticmethod
    def snapshot(created_at: int, first: Range) -> Position:
        return Position(SNAPSHOT, created_at, ranges=(first,))

    @staticmethod
    def cdc(created_at: int) -> Position:
        return Position(CDC, created_at)

    # -- snapshot transitions -----------------------------------------------------------------

    def with_range(self, old: Range, new: Range | None) -> Position:
        """``old`` replaced by ``new`` (None: finished). Once the last range has finished the
        objects without a created time follow, where ranges left them out (``oldest``); then
        the position becomes CDC from ``created_at``."""
        if old not in self.ranges:
            raise ValueError(f"range {old} is not part of the position")
        ranges = tuple(new if r == old else r for r in self.ranges if new is not None or r != old)
        if not ranges and self.oldest is not None and self.iterator_type == SNAPSHOT:
            tail = Range(cursor=self.oldest[0], cursor_created=self.oldest[1], undated=True)
            return replace(self, ranges=(tail,), oldest=None, index=0)
        if not ranges and self.handoff is not None:
            return Position(CDC, self.created_at, self.handoff[0],
                            cursor_created=self.handoff[1])
        if not ranges:
            return Position(CDC, self.created_at, pending=self.pending)
        # The top-level cursor is Conduit's "last object emitted" in a snapshot only; in change
        # capture (an append-only stream's catch-up ranges) it stays the event cursor.
        cursor = new.cursor if self.iterator_type == SNAPSHOT and new is not None \
            and new.cursor else self.cursor
        return replace(self, ranges=ranges, cursor=cursor, index=0)

    def with_pending(self, created: int) -> Position:
        """A page read an object created then that may still change without an event."""
        if self.pending is not None and self.pending <= created:
            return self
        return replace(self, pending=created)

    def with_oldest(self, object_id: str, created: int) -> Position:
        """A ``created`` range emitted ``object_id``, of a list with undated objects."""
        if self.oldest is not None and self.oldest[1] <= created:
            return self
        return replace(self, oldest=(object_id, created))

    def with_split(self, old: Range, kept: Range, added: Range) -> Position:
        if old not in self.ranges:
            raise ValueError(f"range {old} is not part of the position")
        ranges = tuple(kept if r == old else r for r in self.ranges) + (added,)
        return replace(self, ranges=ranges)

    # -- cdc transitions ----------------------------------------------------------------------

    def after_events(self, newest_id: str, newest_created: int) -> Position:
        """A page of events was emitted; ``newest_id`` is its newest event."""
        return replace(self, cursor=newest_id, cursor_created=newest_created, index=0)

    # -- state --------------------------------------------------------------------------------

    def to_state(self) -> dict[str, Any]:
        state: dict[str, Any] = {
            "iterator_type": self.iterator_type,
            "created_at": self.created_at,
            "cursor": self.cursor,
            "index": self.index,
        }
        if self.ranges:
            state["ranges"] = [r.to_state() for r in self.ranges]
        if self.cursor_created is not None:
            state["cursor_created"] = self.cursor_created
        if self.oldest is not None:
            state["oldest"] = list(self.oldest)
        if self.handoff is not None:
            state["handoff"] = list(self.handoff)
        if self.pending is not None:
            state["pending_since"] = self.pending
        return state

    @staticmethod
    def from_state(state: Mapping[str, Any]) -> Position | None:
        """The position a saved state holds; None for an empty state. Raises ``StateError``."""
        if not state:
            return None
        if not isinstance(state, Mapping):
            raise StateError(f"state must be an object, got {type(state).__name__}")
        # Newer Conduit code calls the key "mode".
        kind = state.get("iterator_type", state.get("mode"))
        if kind not in (SNAPSHOT, CDC):
            raise StateError(
                f"state has iterator_type {kind!r}; expected 'snapshot' or 'cdc' (is this the "
                f"state of another connector?)")
        created_at = _int(state, "created_at", required=True)
        assert created_at is not None
        cursor = state.get("cursor")
        if cursor is not None and not isinstance(cursor, str):
            raise StateError(f"state cursor must be an id string, got {cursor!r}")
        if cursor == "":
            # Conduit writes an empty cursor before its first finished page.
            cursor = None
        index = _int(state, "index") or 0
        if index < 0:
            raise StateError(f"state index must not be negative, got {index}")
        raw_ranges = state.get("ranges")
        if kind == CDC and cursor is not None and not cursor.startswith("evt_"):
            if not raw_ranges:
                raise StateError(f"a cdc state's cursor must be an event id (evt_…), got "
                                 f"{cursor!r}")
            # Versions before this one wrote a catch-up range's object cursor here too; the
            # range keeps its own, so nothing is lost by dropping it.
            cursor = None
        ranges: tuple[Range, ...] = ()
        if raw_ranges is not None:
            if not isinstance(raw_ranges, list):
                raise StateError("state ranges must be a list")
            ranges = tuple(_range(r) for r in raw_ranges)
        elif kind == SNAPSHOT:
            # A Conduit snapshot position: one range, going on below its cursor.
            ranges = (Range(cursor=cursor),)
        if kind == SNAPSHOT and not ranges:
            # Nothing left to read: the snapshot is over.
            return Position.cdc(created_at)
        return Position(kind, created_at, cursor, index, ranges,
                        _int(state, "cursor_created"), _object_ref(state, "oldest"),
                        _int(state, "pending_since"), _object_ref(state, "handoff"))


def _int(state: Mapping[str, Any], key: str, required: bool = False) -> int | None:
    value = state.get(key)
    if value is None:
        if required:
            raise StateError(f"state has no {key}")
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise StateError(f"state {key} must be a number, got {value!r}")
    if not math.isfinite(value):
        raise StateError(f"state {key} must be a finite number, got {value!r}")
    return int(value)


def _range(raw: Any) -> Range:
    if not isinstance(raw, Mapping):
        raise StateError(f"state range must be an object, got {raw!r}")
    cursor = raw.get("cursor")
    if cursor is not None and not isinstance(cursor, str):
        raise StateError(f"state range cursor must be an id string, got {cursor!r}")
    flags = {key: raw.get(key, False) for key in ("undated", "recheck")}
    for key, flag in flags.items():
        if not isinstance(flag, bool):
            raise StateError(f"state range {key} must be true or false, got {flag!r}")
    return Range(_int(raw, "gte"), _int(raw, "lt"), cursor or None, _int(raw, "cursor_created"),
                 **flags)


def _object_ref(state: Mapping[str, Any], key: str) -> tuple[str, int] | None:
    raw = state.get(key)
    if raw is None:
        return None
    if not (isinstance(raw, list) and len(raw) == 2 and isinstance(raw[0], str)):
        raise StateError(f"state {key} must be [id, created], got {raw!r}")
    created = _int({key: raw[1]}, key)
    assert created is not None
    return raw[0], created
