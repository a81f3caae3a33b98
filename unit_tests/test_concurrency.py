"""How many pages are in flight and how a snapshot is cut into ranges to keep them there."""

from __future__ import annotations

from typing import Any

import pytest
from helpers import DAY, NOW, FakeStripe, config, record_data, run_read, stream_states

from source_stripe_conduit.governor import MAX_PAGES_PER_STREAM, Governor
from source_stripe_conduit.iterator.position import Range
from source_stripe_conduit.sync import MIN_SPLIT_PAGES, plan_pieces

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
