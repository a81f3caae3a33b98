"""The position: immutable, pure transitions, a state that round-trips, Conduit's positions read
as they are, malformed states refused with a reason."""

from __future__ import annotations

import dataclasses
import json
import random
from typing import Any, cast

import pytest
from helpers import FakeStripe

from source_stripe_conduit.iterator.position import (
    CDC,
    SNAPSHOT,
    Position,
    Range,
    StateError,
)
from source_stripe_conduit.iterator.snapshot import read_range_page
from source_stripe_conduit.resources import BY_STREAM
from source_stripe_conduit.transport.client import StripeClient

T0 = 1_700_000_000


# -- Range ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("rng, top", [
    (Range(), None),
    (Range(gte=10), None),
    (Range(lt=100), 99),
    (Range(gte=10, lt=100), 99),
    (Range(lt=100, cursor="cus_1", cursor_created=50), 50),
    (Range(cursor="cus_1", cursor_created=50), 50),
    # A cursor created at the bound itself (one second later than the range allows, from a
    # clock-skewed state) never lifts the top above the range.
    (Range(lt=100, cursor="cus_1", cursor_created=150), 99),
    (Range(lt=100, cursor="cus_1", cursor_created=99), 99),
])
def test_range_top_is_the_newest_created_still_to_read(rng: Range, top: int | None) -> None:
    assert rng.top == top


@pytest.mark.parametrize("rng, floor, span", [
    (Range(), 0, 0),  # nothing known about the top: nothing to split on
    (Range(lt=101), 1, 99),
    (Range(gte=50, lt=101), 1, 50),
    (Range(gte=50, cursor="x", cursor_created=60), 1, 10),
    (Range(gte=50, lt=40), 1, 0),  # never negative
    (Range(cursor="x", cursor_created=60), 10, 50),
])
def test_range_span_counts_seconds_still_to_read(rng: Range, floor: int, span: int) -> None:
    assert rng.span(floor) == span


def test_range_split_keeps_the_cursor_above_and_a_fresh_range_below() -> None:
    rng = Range(gte=10, lt=100, cursor="cus_9", cursor_created=80)
    kept, added = rng.split(40)
    assert kept == Range(gte=40, lt=100, cursor="cus_9", cursor_created=80)
    assert added == Range(gte=10, lt=40)
    assert rng == Range(gte=10, lt=100, cursor="cus_9", cursor_created=80)  # unchanged


def test_range_split_of_an_unbounded_range_keeps_the_lower_end_open() -> None:
    kept, added = Range(cursor="cus_9", cursor_created=80).split(40)
    assert (kept.gte, kept.lt, added.gte, added.lt) == (40, None, None, 40)


def test_range_advanced_records_the_last_object_emitted() -> None:
    rng = Range(gte=1, lt=9)
    assert rng.advanced("cus_5", 7) == Range(gte=1, lt=9, cursor="cus_5", cursor_created=7)
    assert rng.cursor is None


def test_range_is_immutable() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        Range().gte = 5  # type: ignore[misc]


# -- transitions --------------------------------------------------------------------------------------


def test_snapshot_position_starts_with_its_first_range() -> None:
    position = Position.snapshot(T0, Range(gte=T0 - 100))
    assert position.iterator_type == SNAPSHOT
    assert position.ranges == (Range(gte=T0 - 100),)
    assert (position.cursor, position.index, position.cursor_created) == (None, 0, None)


def test_range_advancing_replaces_it_and_moves_the_snapshot_cursor() -> None:
    first = Range()
    position = Position.snapshot(T0, first)
    moved = position.with_range(first, first.advanced("cus_3", T0 - 5))
    assert moved.ranges == (Range(cursor="cus_3", cursor_created=T0 - 5),)
    assert moved.cursor == "cus_3"
    assert moved.iterator_type == SNAPSHOT and moved.created_at == T0
    assert position.ranges == (first,) and position.cursor is None  # pure


def test_split_keeps_the_old_ranges_order_and_appends_the_new_one() -> None:
    a, b = Range(gte=50, cursor="cus_1", cursor_created=90), Range(gte=10, lt=50)
    position = Position(SNAPSHOT, T0, "cus_1", 0, (a, b))
    kept, added = a.split(70)
    split = position.with_split(a, kept, added)
    assert split.ranges == (kept, b, added)
    assert split.cursor == "cus_1"
    assert position.ranges == (a, b)


def test_finishing_one_of_several_ranges_keeps_the_snapshot_going() -> None:
    a, b = Range(gte=50, cursor="cus_1", cursor_created=90), Range(gte=10, lt=50)
    position = Position(SNAPSHOT, T0, "cus_1", 0, (a, b))
    done = position.with_range(a, None)
    assert done.iterator_type == SNAPSHOT
    assert done.ranges == (b,)
    assert done.cursor == "cus_1"  # a finished range leaves the last cursor


def test_finishing_the_last_range_turns_the_position_to_cdc_from_created_at() -> None:
    rng = Range(cursor="cus_1", cursor_created=5)
    position = Position(SNAPSHOT, T0, "cus_1", 0, (rng,))
    done = position.with_range(rng, None)
    assert done == Position(CDC, T0)
    assert done.cursor is None  # never an object id as an event cursor


def test_with_range_of_a_range_not_in_the_position_is_refused() -> None:
    position = Position.snapshot(T0, Range())
    with pytest.raises(ValueError, match="not part of the position"):
        position.with_range(Range(gte=1), None)
    with pytest.raises(ValueError, match="not part of the position"):
        position.with_split(Range(gte=1), Range(gte=2), Range(gte=1, lt=2))


def test_after_events_moves_the_cursor_and_resets_the_index() -> None:
    position = Position(CDC, T0, "evt_1", 3, (), T0 + 1)
    moved = position.after_events("evt_9", T0 + 50)
    assert moved == Position(CDC, T0, "evt_9", 0, (), T0 + 50)
    assert position.index == 3


def test_advancing_a_range_resets_a_conduit_index() -> None:
    rng = Range(cursor="cus_1")
    position = Position(SNAPSHOT, T0, "cus_1", 4, (rng,))
    assert position.with_range(rng, rng.advanced("cus_0", 3)).index == 0


def test_position_is_immutable() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        Position.cdc(T0).cursor = "evt_1"  # type: ignore[misc]


# -- state ---------------------------------------------------------------------------------------------

POSITIONS = [
    Position.snapshot(T0, Range()),
    Position.snapshot(T0, Range(gte=T0 - 1000)),
    Position(SNAPSHOT, T0, "cus_2", 0, (Range(gte=5, lt=9, cursor="cus_2", cursor_created=8),
                                        Range(lt=5))),
    Position.cdc(T0),
    Position(CDC, T0, "evt_1", 0, (), T0 + 7),
    Position(CDC, T0, "evt_1", 2, (), T0 + 7),
    Position(CDC, T0, None, 0, (Range(gte=T0 - 50, lt=T0),)),  # append-only stream catching up
]


@pytest.mark.parametrize("position", POSITIONS)
def test_state_round_trips(position: Position) -> None:
    state = position.to_state()
    assert Position.from_state(state) == position
    # and survives JSON, as the platform stores it
    assert Position.from_state(json.loads(json.dumps(state))) == position


def test_state_keeps_conduits_four_fields_with_their_names() -> None:
    state = Position(CDC, T0, "evt_1", 0, (), T0 + 1).to_state()
    assert {k: state[k] for k in ("iterator_type", "created_at", "cursor", "index")} == {
        "iterator_type": "cdc", "created_at": T0, "cursor": "evt_1", "index": 0}
    assert state["cursor_created"] == T0 + 1
    assert "ranges" not in state


@pytest.mark.parametrize("empty", [None, {}, []])
def test_an_empty_state_is_no_position(empty: Any) -> None:
    assert Position.from_state(empty) is None


def test_conduit_cdc_position_is_read_as_is() -> None:
    state = {"iterator_type": "cdc", "created_at": 1652279623,
             "cursor": "evt_1KtXkmJit567F2YtZzGSIrsh", "index": 1}
    position = Position.from_state(state)
    assert position == Position(CDC, 1652279623, "evt_1KtXkmJit567F2YtZzGSIrsh", 1)


def test_newer_conduit_mode_key_is_the_iterator_type() -> None:
    position = Position.from_state({"mode": "cdc", "created_at": T0, "cursor": "evt_1"})
    assert position is not None and position.iterator_type == CDC


def test_conduit_snapshot_position_becomes_one_range_below_its_cursor() -> None:
    position = Position.from_state({"iterator_type": "snapshot", "created_at": T0,
                                    "cursor": "cus_PEHTtYpY7elppN", "index": 0})
    assert position == Position(SNAPSHOT, T0, "cus_PEHTtYpY7elppN", 0,
                                (Range(cursor="cus_PEHTtYpY7elppN"),))


def test_conduit_empty_cursor_means_no_cursor() -> None:
    # Conduit writes "cursor": "" in a CDC position before its first finished page.
    position = Position.from_state({"iterator_type": "cdc", "created_at": T0, "cursor": "",
                                    "index": 2})
    assert position == Position(CDC, T0, None, 2)


def test_float_times_from_a_state_become_integers() -> None:
    position = Position.from_state({"iterator_type": "cdc", "created_at": float(T0)})
    assert position is not None and position.created_at == T0
    assert isinstance(position.created_at, int)


MALFORMED: list[tuple[Any, str]] = [
    ("snapshot", "must be an object"),
    ([{"iterator_type": "cdc"}], "must be an object"),
    ({"iterator_type": "full", "created_at": T0}, "iterator_type 'full'"),
    ({"created_at": T0}, "iterator_type None"),
    ({"cursor": "evt_1", "updated": T0}, "iterator_type None"),  # another connector's state
    ({"iterator_type": "cdc"}, "no created_at"),
    ({"iterator_type": "cdc", "created_at": "yesterday"}, "created_at must be a number"),
    ({"iterator_type": "cdc", "created_at": True}, "created_at must be a number"),
    ({"iterator_type": "cdc", "created_at": T0, "cursor": "cus_123"}, "event id (evt_"),
    ({"iterator_type": "cdc", "created_at": T0, "cursor": 42}, "cursor must be an id string"),
    ({"iterator_type": "cdc", "created_at": T0, "index": -1}, "index must not be negative"),
    ({"iterator_type": "cdc", "created_at": T0, "index": "1"}, "index must be a number"),
    ({"iterator_type": "snapshot", "created_at": T0, "ranges": {"gte": 1}},
     "ranges must be a list"),
    ({"iterator_type": "snapshot", "created_at": T0, "ranges": [7]}, "range must be an object"),
    ({"iterator_type": "snapshot", "created_at": T0, "ranges": [{"gte": "a"}]},
     "gte must be a number"),
    ({"iterator_type": "snapshot", "created_at": T0, "ranges": [{"cursor": 5}]},
     "range cursor must be an id string"),
    ({"iterator_type": "cdc", "created_at": T0, "cursor_created": "x"},
     "cursor_created must be a number"),
]


@pytest.mark.parametrize("state, reason", MALFORMED, ids=[r for _, r in MALFORMED])
def test_malformed_state_raises_state_error_saying_why(state: Any, reason: str) -> None:
    with pytest.raises(StateError) as raised:
        Position.from_state(state)
    assert reason in str(raised.value)


# -- property: splitting and advancing never lose or repeat an object ---------------------------------


def _objects(rng: random.Random) -> list[tuple[str, int]]:
    """Objects created in a short window, with many in the same second."""
    count = rng.randint(0, 60)
    return [(f"cus_{n:04d}", T0 + rng.randint(0, 40)) for n in range(count)]


def _finish_randomly(position: Position, stripe: FakeStripe, rng: random.Random,
                     batch: int) -> list[str]:
    resource = BY_STREAM["customers"]
    client = cast(StripeClient, stripe)
    emitted: list[str] = []
    for _ in range(10_000):
        if position.iterator_type == CDC:
            return emitted
        target = rng.choice(position.ranges)
        low = target.gte if target.gte is not None else T0 - 5
        top = target.top
        if rng.random() < 0.35 and top is not None and top >= low:
            kept, added = target.split(rng.randint(low, top))
            position = position.with_split(target, kept, added)
        else:
            page = read_range_page(client, resource, target, batch_size=batch, observed_at=T0)
            emitted += [r["id"] for r in page.records]
            position = position.with_range(target, page.remaining)
        if rng.random() < 0.2:
            restored = Position.from_state(position.to_state())
            assert restored == position
            position = restored
    raise AssertionError("the snapshot never finished")


@pytest.mark.parametrize("seed", range(150))
def test_random_splits_and_pages_read_every_object_exactly_once(seed: int) -> None:
    rng = random.Random(seed)
    stripe = FakeStripe()
    objects = _objects(rng)
    for object_id, created in rng.sample(objects, len(objects)):
        stripe.add("/v1/customers", {"id": object_id, "object": "customer", "created": created})
    start = rng.choice([None, T0 + rng.randint(0, 40)])
    position = Position.snapshot(T0 + 100, Range(gte=start))
    emitted = _finish_randomly(position, stripe, rng, batch=rng.randint(1, 7))
    expected = [i for i, created in objects if start is None or created >= start]
    assert sorted(emitted) == sorted(expected)
    assert len(emitted) == len(set(emitted))


@pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf")])
def test_a_state_time_that_is_not_finite_is_refused_naming_the_key(value: float) -> None:
    with pytest.raises(StateError, match="created_at must be a finite number"):
        Position.from_state({"iterator_type": "cdc", "created_at": value})
