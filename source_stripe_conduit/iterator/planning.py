"""Where a snapshot's ``created`` ranges are cut, and how much they still hold: pure functions.

A range's last page tells how densely its objects were created (seconds of ``created`` per
object); extended over what the range still spans, that says how many objects and pages it has
left. Every range ends in a partial page, a wasted share of the rate budget, so ranges are cut to
finish together (``plan_pieces``) rather than halved again and again.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass

from source_stripe_conduit.iterator.position import Position, Range

# No Stripe object is older than Stripe: the oldest time used to choose where to cut a range
# that is unbounded below (the oldest piece keeps no lower bound, so nothing is cut off).
STRIPE_EPOCH = 1262304000  # 2010-01-01
MIN_SPLIT_SECONDS = 2
MIN_SPLIT_PAGES = 2

SecondsPerObject = Mapping[Range, float]
"""Per range, the seconds of ``created`` per object of its last page."""


def floor_of(account_created: int | None) -> int:
    """Where the oldest range, unbounded below, is cut: no object predates its account."""
    return max(STRIPE_EPOCH, account_created or 0)


def objects_left(piece: Range, floor: int, seconds_per_object: SecondsPerObject) -> float:
    """A range's objects still to read, by the density of its last page."""
    return piece.span(floor) / seconds_per_object[piece]


def pages_left(position: Position, seconds_per_object: SecondsPerObject, floor: int,
               batch_size: int) -> float | None:
    """The snapshot's pages still to read; None while a range has told nothing yet."""
    if any(r not in seconds_per_object or r.top is None for r in position.ranges):
        return None
    return sum(objects_left(r, floor, seconds_per_object) for r in position.ranges) / batch_size


def estimated_rows(position: Position, seconds_per_object: SecondsPerObject, floor: int) -> int:
    """The objects the snapshot's ranges still hold, as far as their densities tell."""
    return sum(int(objects_left(r, floor, seconds_per_object)) for r in position.ranges
               if r in seconds_per_object)


def density_moved(seconds_per_object: SecondsPerObject, piece: Range, remaining: Range | None,
                  observed: float | None) -> dict[Range, float]:
    """The densities once a page of ``piece`` left ``remaining``: the page's own, else the
    range's, goes on with what remains of it."""
    densities = dict(seconds_per_object)
    density = observed or densities.pop(piece, None)
    densities.pop(piece, None)
    if remaining is not None and density:
        densities[remaining] = density
    return densities


def plan_pieces(pages: Mapping[Range, float], extra: int) -> dict[Range, int]:
    """How many pieces to cut each range into so that ``extra`` more ranges run: each new
    range goes to the range whose pieces are then the largest (pages left / pieces), so the
    pieces finish together; no piece is planned below ``MIN_SPLIT_PAGES``. Only ranges cut in
    two or more appear in the answer."""
    pieces = dict.fromkeys(pages, 1)
    for _ in range(extra):
        candidates = [r for r in pages if pages[r] / (pieces[r] + 1) >= MIN_SPLIT_PAGES]
        if not candidates:
            break
        largest = max(candidates, key=lambda r: pages[r] / pieces[r])
        pieces[largest] += 1
    return {r: n for r, n in pieces.items() if n > 1}


@dataclass(frozen=True)
class Split:
    position: Position
    seconds_per_object: dict[Range, float]


def split(position: Position, seconds_per_object: SecondsPerObject, *, target: int,
          busy: Collection[Range], floor: int, batch_size: int) -> Split:
    """The position with its idle ranges cut until it has ``target`` ranges. A range with a
    page in flight (``busy``) was asked for with its old bounds and is not cut, nor one whose
    density is unknown; each piece keeps its range's density."""
    densities = dict(seconds_per_object)
    extra = target - len(position.ranges)
    if extra <= 0:
        return Split(position, densities)
    pages = {r: objects_left(r, floor, densities) / batch_size for r in position.ranges
             if r not in busy and r in densities and r.top is not None}
    for piece, count in plan_pieces(pages, extra).items():
        low = piece.gte if piece.gte is not None else floor
        top = piece.top
        assert top is not None
        count = min(count, (top + 1 - low) // MIN_SPLIT_SECONDS)
        density = densities.pop(piece)
        current = piece
        # Cut from the top down: the range keeps its cursor above the highest cut, and each
        # new range below is cut again.
        for i in range(count - 1, 0, -1):
            kept, added = current.split(low + (top + 1 - low) * i // count)
            position = position.with_split(current, kept, added)
            densities[kept] = density
            current = added
        densities[current] = density
    return Split(position, densities)
