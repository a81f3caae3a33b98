"""Which phase a stream reads next, and from where: pure functions of positions and times.

A stream starts from its saved position, or a fresh snapshot; after the snapshot it follows
events (or, for objects that never change, lists what was created since); a position older
than Stripe keeps events means a snapshot again. Each function returns the next position and,
where the user must hear of it, a warning; the stream's shell applies them.
"""

from __future__ import annotations

from dataclasses import dataclass

from source_stripe_conduit.iterator.cdc import cdc_start
from source_stripe_conduit.iterator.position import CDC, SNAPSHOT, Position, Range
from source_stripe_conduit.resources import Resource


@dataclass(frozen=True)
class Next:
    position: Position
    warning: str | None = None


@dataclass(frozen=True)
class Settings:
    """What of the configuration decides a stream's phases."""

    incremental: bool
    snapshot: bool
    start_date: int | None
    lag_seconds: int


def read_horizon(now: int, lag_seconds: int) -> int:
    """The newest second a read goes up to. The current second is still being written
    (``created`` has one-second resolution), so even with no lag it stops one before."""
    return now - lag_seconds - 1


def starts_without_clock(resource: Resource, saved: Position | None,
                         settings: Settings) -> bool:
    """A new snapshot need not wait for Stripe's clock: its start is fixed from its first
    page's answer, before any state goes out."""
    return saved is None and not resource.append_only \
        and (settings.snapshot or not settings.incremental)


def fresh_snapshot(resource: Resource, settings: Settings, now: int) -> Position:
    # created_at is taken before the snapshot's first page and moved back by the lag, so
    # that clock skew and late events cannot open a gap between snapshot and CDC.
    created_at = read_horizon(now, settings.lag_seconds)
    if resource.append_only and settings.incremental:
        # Objects that never change need no events: the snapshot stops at created_at and
        # later reads list what was created since.
        return Position(SNAPSHOT, created_at,
                        ranges=(Range(gte=settings.start_date, lt=created_at),))
    return Position.snapshot(created_at, Range(gte=settings.start_date))


def initial(resource: Resource, saved: Position | None, settings: Settings, now: int) -> Next:
    """Where a sync of the stream starts, from its saved position at Stripe's time ``now``."""
    name = resource.stream
    if saved is None:
        if settings.incremental and not settings.snapshot:
            return Next(Position.cdc(read_horizon(now, settings.lag_seconds)))
        return Next(fresh_snapshot(resource, settings, now))
    if not settings.incremental:
        # A full refresh resumes an unfinished snapshot, and otherwise reads everything.
        return Next(saved if saved.iterator_type == SNAPSHOT
                    else fresh_snapshot(resource, settings, now))
    if saved.iterator_type != SNAPSHOT or resource.append_only:
        return Next(saved)
    if not settings.snapshot:
        return Next(Position.cdc(saved.created_at),
                    f"Stream '{name}': snapshot was switched off while a snapshot was running; "
                    f"following changes from the snapshot's start ({saved.created_at}) instead "
                    f"of finishing it.")
    if cdc_start(Position.cdc(saved.created_at), now) == "resnapshot":
        return Next(fresh_snapshot(resource, settings, now),
                    f"Stream '{name}': the unfinished snapshot started more than 30 days ago; "
                    f"its changes since have aged out of Stripe's events, so the snapshot "
                    f"starts again.")
    return Next(saved)


def resnapshot(resource: Resource, position: Position, settings: Settings, now: int) -> Next:
    """Events since the position are gone from Stripe: a snapshot again, said aloud (with
    snapshots switched off, changes from now on)."""
    if not settings.snapshot:
        return Next(Position.cdc(read_horizon(now, settings.lag_seconds)),
                    f"Stream '{resource.stream}': the saved position (events from "
                    f"{position.created_at}) is older than Stripe's 30-day event retention, "
                    f"and snapshot is off: following changes from now on. Changes in between "
                    f"cannot be read: run a full refresh of this stream to bring them.")
    return Next(fresh_snapshot(resource, settings, now),
                f"Stream '{resource.stream}': the saved position (events from "
                f"{position.created_at}) is older than Stripe's 30-day event retention; changes "
                f"in between cannot be read, so the stream is read again from a new snapshot. "
                f"Rows deleted in that gap are not seen as deletes: run a full refresh of this "
                f"stream to drop them.")


def catch_up(resource: Resource, position: Position, horizon: int, now: int, *,
             recheck: bool = True) -> Next | None:
    """For objects that change without events, if at all: what was created since the last
    read, as a range below the new mark, and (``recheck``: not just read) what was read since
    the oldest object that could still change (``Resource.settles``), read again (None:
    nothing to read yet)."""
    warning = None
    if resource.retained_days and position.created_at < now - resource.retained_days * 86400:
        warning = (f"Stream '{resource.stream}': objects created since {position.created_at} "
                   f"are partly older than Stripe keeps them ({resource.retained_days} days); "
                   f"those can no longer be read.")
    mark = max(horizon, position.created_at)
    ranges = [Range(gte=position.created_at, lt=mark)] if mark > position.created_at else []
    pending = position.pending
    if recheck and pending is not None and pending < position.created_at:
        # Read again, its pages tell afresh what is still pending.
        ranges.append(Range(gte=pending, lt=position.created_at, recheck=True))
        pending = None
    if not ranges:
        return Next(position, warning) if warning else None
    return Next(Position(CDC, mark, ranges=tuple(ranges), pending=pending), warning)


def caught_up(position: Position, horizon: int,
              anchor: tuple[str, int] | None = None) -> Position | None:
    """Every event up to ``horizon`` is out: later reads start after it even if the cursor
    event ages out of retention in a quiet month (None: the position is already past it).
    ``anchor``, the newest event up to ``horizon``, is the cursor of a position without one."""
    cursor, cursor_created = position.cursor, position.cursor_created
    if cursor is None and anchor is not None:
        # Nothing after the anchor is up to the horizon: reading on from it replays at most
        # what came between the horizon and a later ``created_at``.
        cursor, cursor_created = anchor
    moved = Position(CDC, max(position.created_at, horizon + 1), cursor, 0, (), cursor_created)
    return None if moved == position else moved
