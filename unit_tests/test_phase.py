"""The choice of a stream's phase and the cutting of its ranges: pure functions, no threads."""

from __future__ import annotations

from source_stripe_conduit.iterator import phase, planning
from source_stripe_conduit.iterator.position import CDC, SNAPSHOT, Position, Range
from source_stripe_conduit.resources import BY_STREAM

NOW = 1_718_841_600
DAY = 86_400
CUSTOMERS = BY_STREAM["customers"]
EVENTS = BY_STREAM["events"]  # append-only, kept 30 days


def settings(*, incremental: bool = True, snapshot: bool = True, start_date: int | None = None,
             lag: int = 0) -> phase.Settings:
    return phase.Settings(incremental, snapshot, start_date, lag)


def test_the_read_horizon_stops_before_the_second_still_being_written() -> None:
    assert phase.read_horizon(NOW, 0) == NOW - 1
    assert phase.read_horizon(NOW, 60) == NOW - 61


def test_a_first_incremental_sync_snapshots_from_the_start_date_up_to_now() -> None:
    step = phase.initial(CUSTOMERS, None, settings(start_date=NOW - DAY), NOW)
    assert step.position == Position(SNAPSHOT, NOW - 1, ranges=(Range(gte=NOW - DAY),))
    assert step.warning is None


def test_a_first_sync_without_snapshot_follows_changes_from_now_on() -> None:
    step = phase.initial(CUSTOMERS, None, settings(snapshot=False, lag=30), NOW)
    assert step.position == Position.cdc(NOW - 31)


def test_a_full_refresh_resumes_an_unfinished_snapshot() -> None:
    saved = Position(SNAPSHOT, NOW - DAY, "cus_9", ranges=(Range(cursor="cus_9"),))
    assert phase.initial(CUSTOMERS, saved, settings(incremental=False), NOW).position == saved


def test_a_full_refresh_after_a_finished_snapshot_reads_everything_again() -> None:
    saved = Position.cdc(NOW - DAY)
    step = phase.initial(CUSTOMERS, saved, settings(incremental=False), NOW)
    assert step.position.iterator_type == SNAPSHOT
    assert step.position.created_at == NOW - 1


def test_an_incremental_sync_resumes_change_capture_where_it_was() -> None:
    saved = Position(CDC, NOW - DAY, "evt_1", cursor_created=NOW - 3600)
    assert phase.initial(CUSTOMERS, saved, settings(), NOW) == phase.Next(saved)


def test_a_snapshot_switched_off_midway_follows_changes_from_its_start_and_says_so() -> None:
    saved = Position(SNAPSHOT, NOW - DAY, ranges=(Range(cursor="cus_9"),))
    step = phase.initial(CUSTOMERS, saved, settings(snapshot=False), NOW)
    assert step.position == Position.cdc(NOW - DAY)
    assert step.warning is not None and "switched off" in step.warning


def test_an_unfinished_snapshot_older_than_event_retention_starts_again_and_says_so() -> None:
    saved = Position(SNAPSHOT, NOW - 31 * DAY, ranges=(Range(cursor="cus_9"),))
    step = phase.initial(CUSTOMERS, saved, settings(), NOW)
    assert step.position == Position(SNAPSHOT, NOW - 1, ranges=(Range(),))
    assert step.warning is not None and "30 days" in step.warning


def test_an_aged_out_position_resnapshots_and_warns_that_deletes_in_the_gap_are_lost() -> None:
    step = phase.resnapshot(CUSTOMERS, Position.cdc(NOW - 40 * DAY), settings(), NOW)
    assert step.position.iterator_type == SNAPSHOT
    assert step.warning is not None and "full refresh" in step.warning


def test_append_only_objects_snapshot_up_to_a_mark_and_then_catch_up_below_the_next() -> None:
    first = phase.fresh_snapshot(EVENTS, settings(), NOW)
    assert first == Position(SNAPSHOT, NOW - 1, ranges=(Range(lt=NOW - 1),))
    later = Position.cdc(NOW - 1)
    step = phase.catch_up(EVENTS, later, horizon=NOW + 99, now=NOW + 100)
    assert step == phase.Next(Position(CDC, NOW + 99, ranges=(Range(gte=NOW - 1, lt=NOW + 99),)))


def test_catching_up_with_nothing_new_reads_nothing() -> None:
    assert phase.catch_up(EVENTS, Position.cdc(NOW), horizon=NOW, now=NOW + 1) is None


def test_catching_up_past_the_retention_of_the_objects_warns_of_what_is_lost() -> None:
    step = phase.catch_up(EVENTS, Position.cdc(NOW - 40 * DAY), horizon=NOW - 1, now=NOW)
    assert step is not None and step.warning is not None and "30 days" in step.warning


def test_caught_up_moves_created_at_past_the_horizon_keeping_the_cursor() -> None:
    position = Position(CDC, NOW - DAY, "evt_9", cursor_created=NOW - 3600)
    moved = phase.caught_up(position, NOW - 1)
    assert moved == Position(CDC, NOW, "evt_9", cursor_created=NOW - 3600)
    assert phase.caught_up(moved, NOW - 1) is None


def test_a_new_snapshot_starts_without_the_clock_but_a_resumed_one_does_not() -> None:
    assert phase.starts_without_clock(CUSTOMERS, None, settings())
    assert not phase.starts_without_clock(CUSTOMERS, Position.cdc(NOW), settings())
    assert not phase.starts_without_clock(EVENTS, None, settings())


# -- range planning ---------------------------------------------------------------------------

def test_the_floor_is_the_accounts_creation_but_never_before_stripe() -> None:
    assert planning.floor_of(None) == planning.STRIPE_EPOCH
    assert planning.floor_of(NOW) == NOW


def test_pages_left_are_unknown_until_every_range_has_told_its_density() -> None:
    a, b = Range(gte=NOW - 1000, lt=NOW), Range(lt=NOW - 1000)
    position = Position(SNAPSHOT, NOW, ranges=(a, b))
    assert planning.pages_left(position, {a: 1.0}, NOW - 3000, 100) is None
    assert planning.pages_left(position, {a: 1.0, b: 2.0}, NOW - 3000, 100) == (999 / 1.0 + 1999 / 2.0) / 100


def test_split_cuts_an_idle_range_into_pieces_that_keep_its_density() -> None:
    piece = Range(gte=NOW - 10_000, lt=NOW)
    position = Position(SNAPSHOT, NOW, ranges=(piece,))
    cut = planning.split(position, {piece: 1.0}, target=4, busy=(), floor=0, batch_size=100)
    assert len(cut.position.ranges) == 4
    assert set(cut.seconds_per_object) == set(cut.position.ranges)
    assert set(cut.seconds_per_object.values()) == {1.0}
    # The pieces tile the range: no second read twice or left out.
    bounds = sorted((r.gte, r.lt) for r in cut.position.ranges)
    assert bounds[0][0] == NOW - 10_000 and bounds[-1][1] == NOW
    assert all(low[1] == high[0] for low, high in zip(bounds, bounds[1:], strict=False))


def test_split_leaves_a_range_with_a_page_in_flight_alone() -> None:
    piece = Range(gte=NOW - 10_000, lt=NOW)
    position = Position(SNAPSHOT, NOW, ranges=(piece,))
    cut = planning.split(position, {piece: 1.0}, target=4, busy={piece}, floor=0,
                         batch_size=100)
    assert cut.position == position


def test_split_leaves_a_range_of_unknown_density_alone() -> None:
    position = Position(SNAPSHOT, NOW, ranges=(Range(gte=NOW - 10_000, lt=NOW),))
    cut = planning.split(position, {}, target=4, busy=(), floor=0, batch_size=100)
    assert cut.position == position


def test_split_keeps_the_cursor_in_the_piece_above_the_highest_cut() -> None:
    piece = Range(gte=NOW - 10_000, lt=NOW, cursor="cus_5", cursor_created=NOW - 10)
    position = Position(SNAPSHOT, NOW, ranges=(piece,))
    cut = planning.split(position, {piece: 1.0}, target=3, busy=(), floor=0, batch_size=100)
    with_cursor = [r for r in cut.position.ranges if r.cursor]
    assert len(with_cursor) == 1 and with_cursor[0].cursor == "cus_5"
    assert with_cursor[0].gte == max(r.gte or 0 for r in cut.position.ranges)


def test_with_snapshot_off_a_position_past_event_retention_follows_changes_from_now() -> None:
    aged = Position(CDC, NOW - 40 * DAY, "evt_1", cursor_created=NOW - 40 * DAY)
    step = phase.resnapshot(CUSTOMERS, aged, settings(snapshot=False, lag=30), NOW)
    assert step.position == Position.cdc(NOW - 31)
    assert step.warning is not None and "snapshot is off" in step.warning \
        and "full refresh" in step.warning


def test_a_caught_up_position_without_a_cursor_takes_the_newest_event_as_its_cursor() -> None:
    bare = Position.cdc(NOW - DAY)
    assert phase.caught_up(bare, NOW - 1, ("evt_9", NOW - 7)) == Position(
        CDC, NOW, "evt_9", cursor_created=NOW - 7)
    kept = Position(CDC, NOW - DAY, "evt_1", cursor_created=NOW - 9)
    assert phase.caught_up(kept, NOW - 1, ("evt_9", NOW - 7)) == Position(
        CDC, NOW, "evt_1", cursor_created=NOW - 9)


def test_a_finished_snapshot_goes_on_from_the_event_before_it_started() -> None:
    piece = Range(gte=NOW - DAY)
    snapshot = Position(SNAPSHOT, NOW - 1, ranges=(piece,), handoff=("evt_7", NOW - 9))
    assert Position.from_state(snapshot.to_state()) == snapshot
    assert snapshot.with_range(piece, None) == Position(CDC, NOW - 1, "evt_7",
                                                         cursor_created=NOW - 9)


def test_a_snapshot_started_after_the_horizon_still_takes_the_newest_event_as_cursor() -> None:
    late = Position.cdc(NOW + 50)
    assert phase.caught_up(late, NOW - 1, ("evt_9", NOW - 7)) == Position(
        CDC, NOW + 50, "evt_9", cursor_created=NOW - 7)
    assert phase.caught_up(late, NOW - 1) is None


def test_a_catch_up_reads_again_from_the_oldest_object_that_could_still_change() -> None:
    txns = BY_STREAM["balance_transactions"]
    position = Position(CDC, NOW - DAY, pending=NOW - 3 * DAY)
    step = phase.catch_up(txns, position, NOW - 1, NOW)
    assert step is not None and step.position == Position(CDC, NOW - 1, ranges=(
        Range(gte=NOW - DAY, lt=NOW - 1), Range(gte=NOW - 3 * DAY, lt=NOW - DAY, recheck=True)))
    assert Position.from_state(step.position.to_state()) == step.position
    # Nothing new, but something may still settle: it is read again all the same.
    quiet = phase.catch_up(txns, Position(CDC, NOW, pending=NOW - DAY), NOW - 1, NOW)
    assert quiet is not None and quiet.position.ranges == (
        Range(gte=NOW - DAY, lt=NOW, recheck=True),)


def test_a_catch_up_right_after_a_read_keeps_what_may_still_change_for_the_next_sync() -> None:
    txns = BY_STREAM["balance_transactions"]
    position = Position(CDC, NOW - DAY, pending=NOW - 3 * DAY)
    step = phase.catch_up(txns, position, NOW - 1, NOW, recheck=False)
    assert step is not None and step.position == Position(
        CDC, NOW - 1, ranges=(Range(gte=NOW - DAY, lt=NOW - 1),), pending=NOW - 3 * DAY)
    assert step.position.with_range(step.position.ranges[0], None).pending == NOW - 3 * DAY


def test_a_ranges_density_goes_on_with_what_remains_of_it() -> None:
    piece, remaining = Range(gte=NOW - DAY), Range(gte=NOW - DAY, cursor="cus_9")
    assert planning.density_moved({piece: 4.0}, piece, remaining, None) == {remaining: 4.0}
    assert planning.density_moved({piece: 4.0}, piece, remaining, 2.0) == {remaining: 2.0}
    assert planning.density_moved({piece: 4.0}, piece, None, 2.0) == {}
