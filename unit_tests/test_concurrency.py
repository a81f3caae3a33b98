"""How many pages are in flight and how a snapshot is cut into ranges to keep them there."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from helpers import DAY, NOW, FakeStripe, config, record_data, run_read, stream_states

from source_stripe_conduit.governor import MAX_PAGES_PER_STREAM, Governor
from source_stripe_conduit.iterator.planning import MIN_SPLIT_PAGES, plan_pieces
from source_stripe_conduit.iterator.position import Range

# -- plan_pieces ------------------------------------------------------------------------------------


def test_one_range_is_cut_into_as_many_pieces_as_wanted() -> None:
    only = Range(lt=100)
    assert plan_pieces({only: 500.0}, 12) == {only: 13}


def test_new_ranges_go_where_the_pieces_would_be_largest() -> None:
    big, small = Range(gte=50, lt=100), Range(lt=50)
    assert plan_pieces({big: 90.0, small: 35.0}, 3) == {big: 3, small: 2}
    assert plan_pieces({big: 90.0, small: 35.0}, 1) == {big: 2}


def test_no_piece_is_planned_below_the_minimum_pages() -> None:
    rng = Range(lt=100)
    assert plan_pieces({rng: MIN_SPLIT_PAGES * 3.0}, 10) == {rng: 3}
    assert plan_pieces({rng: MIN_SPLIT_PAGES * 2.0 - 0.1}, 10) == {}


def test_no_extra_ranges_wanted_cuts_nothing() -> None:
    assert plan_pieces({Range(lt=100): 500.0}, 0) == {}
    assert plan_pieces({}, 5) == {}


@pytest.mark.parametrize("sizes, extra", [([500.0], 12), ([40.0, 9.0, 100.0, 3.0], 9),
                                          ([7.5] * 13, 3), ([1000.0, 1.0], 15)])
def test_the_plan_minimises_the_largest_piece(sizes: list[float], extra: int) -> None:
    ranges = [Range(gte=n, lt=n + 1) for n in range(len(sizes))]
    pages = dict(zip(ranges, sizes, strict=True))
    plan = plan_pieces(pages, extra)
    pieces = {r: plan.get(r, 1) for r in ranges}
    assert sum(pieces.values()) - len(ranges) <= extra
    largest = max(pages[r] / pieces[r] for r in ranges)
    # Moving one piece from any range to any other never makes the largest piece smaller.
    for giver in ranges:
        for taker in ranges:
            if giver is taker or pieces[giver] == 1:
                continue
            if pages[taker] / (pieces[taker] + 1) < MIN_SPLIT_PAGES:
                continue
            moved = dict(pieces, **{})
            moved[giver] -= 1
            moved[taker] += 1
            assert max(pages[r] / moved[r] for r in ranges) >= largest - 1e-9


# -- Governor -----------------------------------------------------------------------------------------


def _governor(latencies: dict[str | None, float]) -> Governor:
    return Governor(account_rate=100.0, endpoint_rate=25.0, latency=latencies.get)


def test_a_stream_keeps_rate_times_its_own_latency_in_flight_with_margin() -> None:
    governor = _governor({None: 0.1, "customers": 0.3, "prices": 0.02})
    assert governor.stream_target("customers") == 13  # 25/s x 0.3 s x 1.5, + 1
    assert governor.stream_target("prices") == 2


def test_a_stream_with_no_answer_yet_has_one_page_in_flight() -> None:
    assert _governor({None: 0.3}).stream_target("customers") == 1


def test_a_slow_stream_is_capped() -> None:
    assert _governor({"customers": 30.0}).stream_target("customers") == MAX_PAGES_PER_STREAM


def test_snapshots_share_the_account_rate_by_the_pages_they_have_left() -> None:
    governor = _governor({})
    for stream, pages in {"a": 600.0, "b": 200.0, "c": 100.0, "d": 100.0}.items():
        governor.snapshot_started(stream)
        governor.pages_left(stream, pages)
    assert governor.share("a") == 25.0  # 60/s of the account's 100, but 25/s per endpoint
    assert governor.share("b") == pytest.approx(20.0)
    assert governor.share("c") == pytest.approx(10.0)
    governor.snapshot_ended("a")
    assert governor.share("b") == 25.0  # 50/s now


def test_snapshots_share_equally_until_each_knows_its_pages() -> None:
    governor = _governor({})
    for stream in "abcd":
        governor.snapshot_started(stream)
    governor.pages_left("a", 600.0)
    assert governor.share("a") == governor.share("b") == 25.0
    governor = Governor(account_rate=100.0, endpoint_rate=100.0, latency={}.get)
    for stream in "abcd":
        governor.snapshot_started(stream)
    assert governor.share("a") == 25.0
    assert Governor(100.0, 100.0, {}.get).share("alone") == 100.0


def _wait_until(condition: Callable[[], bool]) -> None:
    deadline = time.monotonic() + 10
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.01)


def test_a_free_slot_goes_to_the_waiting_stream_furthest_behind_its_share() -> None:
    # 1/s x 1 s x 1.5 + 1: three pages in flight for the whole sync.
    governor = Governor(account_rate=1.0, endpoint_rate=1.0, latency=lambda stream: 1.0)
    governor.snapshot_started("big")
    governor.snapshot_started("small")
    governor.pages_left("big", 100.0)
    governor.pages_left("small", 10.0)
    for _ in range(3):
        governor.acquire("small")
    order: list[str] = []

    def wait_for_a_slot(stream: str) -> None:
        governor.acquire(stream)
        order.append(stream)

    waiters = [threading.Thread(target=wait_for_a_slot, args=(s,)) for s in ("small", "big")]
    for waiter in waiters:
        waiter.start()
        time.sleep(0.05)
    assert order == []  # no room yet
    governor.release("small")
    _wait_until(lambda: bool(order))
    assert order == ["big"]  # 0 pages in flight for 100 left, against 2 for 10
    governor.release("small")
    for waiter in waiters:
        waiter.join(timeout=5)
    assert order == ["big", "small"]


def test_a_stream_waits_for_nobody_when_there_is_room() -> None:
    governor = _governor({None: 0.3})  # 100/s x 0.3 s x 1.5 + 1 = 46 pages
    governor.snapshot_started("a")
    governor.pages_left("a", 1.0)
    for _ in range(40):
        governor.acquire("a")
    governor.acquire("b")  # nobody is waiting: no queue


# -- the sync -------------------------------------------------------------------------------------------


def test_the_first_fan_out_cuts_the_snapshot_into_pieces_of_equal_time(
        fake: FakeStripe, monkeypatch: pytest.MonkeyPatch) -> None:
    created = NOW - 400 * DAY
    fake.account_created = created
    objects = [fake.add("/v1/customers", {"id": f"cus_{n:04d}Q", "object": "customer",
                                          "created": created + DAY + n * 86_000})
               for n in range(240)]
    monkeypatch.setattr(Governor, "stream_target", lambda self, stream: 6)
    output = run_read(config(batch_size=5), ["customers"])
    ids = [r["id"] for r in record_data(output)]
    assert sorted(ids) == sorted(o["id"] for o in objects)
    split = next(s for s in stream_states(output, "customers") if len(s.get("ranges", [])) > 1)
    ranges: list[dict[str, Any]] = sorted(split["ranges"],
                                          key=lambda r: r["gte"] if r["gte"] is not None else 0)
    assert len(ranges) == 6
    assert ranges[0]["gte"] is None and ranges[-1]["lt"] is None  # nothing cut off either end
    # The cuts, from the account's creation to the newest object of the first page.
    top = objects[-5]["created"]
    cuts = [created] + [r["gte"] for r in ranges[1:]] + [top + 1]
    widths = [b - a for a, b in zip(cuts, cuts[1:], strict=False)]
    assert max(widths) - min(widths) <= 1, widths


def test_no_new_page_starts_while_records_wait_for_output() -> None:
    backlog = [0.9]
    governor = Governor(100.0, 25.0, latency=lambda stream: 0.3, backlog=lambda: backlog[0])
    governor.acquire("a")  # nothing in flight: the first page always starts
    started: list[str] = []
    waiter = threading.Thread(target=lambda: (governor.acquire("a"), started.append("a")))
    waiter.start()
    time.sleep(0.1)
    assert started == []  # the output queue is 90% full: a page read now would wait in memory
    backlog[0] = 0.2
    _wait_until(lambda: bool(started))
    waiter.join(timeout=5)
    assert started == ["a"]


def test_accounts_of_one_stream_share_its_endpoint_limit_when_budgets_are_shared() -> None:
    governor = Governor(account_rate=100.0, endpoint_rate=25.0, latency={"customers": 0.3}.get)
    for slot in ("customers acct_1", "customers acct_2"):
        governor.join(slot, "customers", shares_endpoint=True)
        governor.snapshot_started(slot)
    assert governor.share("customers acct_1") == 12.5
    # Answer times are the stream's: both slots keep as many pages in flight as 12.5/s needs.
    assert governor.stream_target("customers acct_2") == 7  # ceil(12.5 x 0.3 x 1.5) + 1
    governor.snapshot_ended("customers acct_2")
    governor.leave("customers acct_2")
    assert governor.share("customers acct_1") == 25.0


def test_accounts_with_budgets_of_their_own_each_get_the_endpoint_limit() -> None:
    governor = Governor(account_rate=100.0, endpoint_rate=25.0, latency={"customers": 0.3}.get)
    for slot in ("customers acct_1", "customers acct_2"):
        governor.join(slot, "customers", shares_endpoint=False)
        governor.snapshot_started(slot)
    assert governor.share("customers acct_1") == 25.0


def test_a_stream_of_many_accounts_wants_another_until_its_pages_fill_its_rate() -> None:
    governor = Governor(account_rate=100.0, endpoint_rate=25.0,
                        latency={"customers": 0.3, None: 0.3}.get)
    # 25/s x 0.3 s x 1.5 = 12 pages (and one for the moments between pages): 13 wanted.
    for n in range(13):
        slot = f"customers acct_{n}"
        governor.join(slot, "customers", shares_endpoint=True)
        assert governor.wants_more("customers")
        governor.acquire(slot)
    assert not governor.wants_more("customers")
    governor.release("customers acct_0")
    assert governor.wants_more("customers")
