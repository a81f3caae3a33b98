"""The snapshot page reader: one page of a created-range of a list, newest first."""

from __future__ import annotations

import pytest
from helpers import NOW, FakeStripe, stripe_error

from source_stripe_conduit.iterator.position import Range
from source_stripe_conduit.iterator.snapshot import read_range_page
from source_stripe_conduit.resources import BY_STREAM
from source_stripe_conduit.transport.client import StripeClient
from source_stripe_conduit.transport.errors import StripeError

OBSERVED = NOW - 60


def _customers(fake: FakeStripe, count: int, start: int = NOW - 1000, step: int = 10) -> None:
    for n in range(count):
        fake.add("/v1/customers", {"id": f"cus_{n:03d}", "object": "customer",
                                   "created": start + n * step})


def test_first_page_asks_for_the_range_newest_first(client: StripeClient,
                                                    fake: FakeStripe) -> None:
    _customers(fake, 10)  # created NOW-1000 .. NOW-910
    rng = Range(gte=NOW - 990, lt=NOW - 920)
    page = read_range_page(client, BY_STREAM["customers"], rng, batch_size=3,
                           observed_at=OBSERVED)
    (call,) = fake.calls("/v1/customers")
    assert call.params == (("limit", "3"), ("created[gte]", str(NOW - 990)),
                           ("created[lt]", str(NOW - 920)))
    assert [r["id"] for r in page.records] == ["cus_007", "cus_006", "cus_005"]
    assert page.remaining == rng.advanced("cus_005", NOW - 950)


def test_next_page_starts_after_the_ranges_cursor(client: StripeClient,
                                                  fake: FakeStripe) -> None:
    _customers(fake, 10)
    rng = Range(gte=NOW - 990, cursor="cus_005", cursor_created=NOW - 950)
    page = read_range_page(client, BY_STREAM["customers"], rng, batch_size=3,
                           observed_at=OBSERVED)
    (call,) = fake.calls("/v1/customers")
    assert call.get("starting_after") == "cus_005"
    assert call.get("created[gte]") == str(NOW - 990) and call.get("created[lt]") is None
    assert [r["id"] for r in page.records] == ["cus_004", "cus_003", "cus_002"]
    assert page.remaining == rng.advanced("cus_002", NOW - 980)


def test_last_page_of_a_range_leaves_nothing_remaining(client: StripeClient,
                                                       fake: FakeStripe) -> None:
    _customers(fake, 10)
    rng = Range(gte=NOW - 990, cursor="cus_002", cursor_created=NOW - 980)
    page = read_range_page(client, BY_STREAM["customers"], rng, batch_size=3,
                           observed_at=OBSERVED)
    assert [r["id"] for r in page.records] == ["cus_001"]
    assert page.remaining is None


def test_an_empty_range_leaves_nothing_remaining(client: StripeClient, fake: FakeStripe) -> None:
    page = read_range_page(client, BY_STREAM["customers"], Range(), batch_size=3,
                           observed_at=OBSERVED)
    assert page.records == [] and page.remaining is None


def test_records_carry_the_snapshot_time_and_are_not_deletes(client: StripeClient,
                                                             fake: FakeStripe) -> None:
    _customers(fake, 1)
    (record,) = read_range_page(client, BY_STREAM["customers"], Range(), batch_size=3,
                                observed_at=OBSERVED).records
    assert record["updated"] == OBSERVED
    assert record["_ab_cdc_updated_at"] == "2024-06-19T23:59:00Z"
    assert record["_ab_cdc_deleted_at"] is None and record["is_deleted"] is False


def test_subscriptions_are_listed_with_status_all_so_canceled_ones_come_too(
        client: StripeClient, fake: FakeStripe) -> None:
    fake.add("/v1/subscriptions", {"id": "sub_1", "object": "subscription",
                                   "created": NOW - 9, "status": "active"})
    fake.add("/v1/subscriptions", {"id": "sub_2", "object": "subscription",
                                   "created": NOW - 8, "status": "canceled"})
    page = read_range_page(client, BY_STREAM["subscriptions"], Range(), batch_size=10,
                           observed_at=OBSERVED)
    assert fake.calls("/v1/subscriptions")[0].get("status") == "all"
    assert sorted(r["id"] for r in page.records) == ["sub_1", "sub_2"]


# -- lists without a created filter -----------------------------------------------------------------


def _links(fake: FakeStripe) -> None:
    for n, created in enumerate([100, 90, 80, 70, 60, 50, 40]):
        fake.add("/v1/payment_links", {"id": f"plink_{n}", "object": "payment_link",
                                       "created": NOW - created})


def test_list_without_created_filter_is_clipped_client_side(client: StripeClient,
                                                            fake: FakeStripe) -> None:
    _links(fake)  # newest first: plink_6 (NOW-40) .. plink_0 (NOW-100)
    rng = Range(gte=NOW - 85, lt=NOW - 45)
    first = read_range_page(client, BY_STREAM["payment_links"], rng, batch_size=3,
                            observed_at=OBSERVED)
    assert all(not k.startswith("created") for k, _ in fake.calls("/v1/payment_links")[0].params)
    # plink_6 (NOW-40) is above the range: dropped; the page goes on below it.
    assert [r["id"] for r in first.records] == ["plink_5", "plink_4"]
    assert first.remaining == rng.advanced("plink_4", NOW - 60)
    second = read_range_page(client, BY_STREAM["payment_links"], first.remaining,
                             batch_size=3, observed_at=OBSERVED)
    # plink_1 (NOW-90) is below gte: the list is newest first, so the range ends there even
    # though Stripe has more.
    assert [r["id"] for r in second.records] == ["plink_3", "plink_2"]
    assert second.remaining is None


def test_list_without_created_filter_and_no_bounds_is_read_whole(client: StripeClient,
                                                                 fake: FakeStripe) -> None:
    _links(fake)
    rng: Range | None = Range()
    seen: list[str] = []
    while rng is not None:
        page = read_range_page(client, BY_STREAM["payment_links"], rng, batch_size=3,
                               observed_at=OBSERVED)
        seen += [r["id"] for r in page.records]
        rng = page.remaining
    assert seen == [f"plink_{n}" for n in range(6, -1, -1)]


def test_unpaginated_list_is_one_page(client: StripeClient, fake: FakeStripe) -> None:
    for n in range(5):
        fake.add("/v1/reporting/report_types", {"id": f"balance.summary.{n}",
                                                "object": "reporting.report_type",
                                                "created": NOW - n})
    page = read_range_page(client, BY_STREAM["report_types"], Range(), batch_size=3,
                           observed_at=OBSERVED)
    assert len(fake.calls("/v1/reporting/report_types")) == 1
    assert page.remaining is None


# -- a cursor deleted between two pages, and errors ---------------------------------------------------


def test_deleted_cursor_object_continues_from_its_created_time(
        client: StripeClient, fake: FakeStripe) -> None:
    _customers(fake, 10)  # cus_005 created NOW-950
    fake.remove("/v1/customers", "cus_005")
    rng = Range(gte=NOW - 990, cursor="cus_005", cursor_created=NOW - 950)
    page = read_range_page(client, BY_STREAM["customers"], rng, batch_size=3,
                           observed_at=OBSERVED)
    first, retry = fake.calls("/v1/customers")
    assert first.get("starting_after") == "cus_005"
    assert retry.get("starting_after") is None
    # Up to the cursor's second, included (created[lt] one second later).
    assert retry.get("created[lt]") == str(NOW - 949)
    assert retry.get("created[gte]") == str(NOW - 990)
    assert [r["id"] for r in page.records] == ["cus_004", "cus_003", "cus_002"]
    # The bound stays with the range for the pages after this one.
    assert page.remaining == Range(gte=NOW - 990, lt=NOW - 949).advanced("cus_002", NOW - 980)
    assert any("cus_005 no longer exists" in w for w in page.warnings)


def test_a_deleted_cursor_of_a_list_without_created_filter_reemits_nothing_on_later_pages(
        client: StripeClient, fake: FakeStripe) -> None:
    # 10 payment links, pages of 3: [9, 8, 7] [6, 5, 4] then plink_4, the cursor, is deleted.
    for i in range(10):
        fake.add("/v1/payment_links", {"id": f"plink_{i}", "object": "payment_link",
                                       "created": NOW - 1000 + i * 10})
    resource = BY_STREAM["payment_links"]
    first = read_range_page(client, resource, Range(), batch_size=3, observed_at=OBSERVED)
    second = read_range_page(client, resource, first.remaining or Range(), batch_size=3,
                             observed_at=OBSERVED)
    assert second.remaining is not None and second.remaining.cursor == "plink_4"
    fake.remove("/v1/payment_links", "plink_4")
    emitted = [r["id"] for r in first.records + second.records]
    piece: Range | None = second.remaining
    while piece is not None:
        page = read_range_page(client, resource, piece, batch_size=3, observed_at=OBSERVED)
        emitted += [r["id"] for r in page.records]
        piece = page.remaining
    # Each once: plink_4 went out before it was deleted, none of the newer ones again.
    assert emitted == [f"plink_{i}" for i in range(9, -1, -1)]


def test_deleted_cursor_of_a_list_without_created_filter_is_clipped_at_its_time(
        client: StripeClient, fake: FakeStripe) -> None:
    _links(fake)
    fake.remove("/v1/payment_links", "plink_4")  # was NOW-60
    rng = Range(cursor="plink_4", cursor_created=NOW - 60)
    page = read_range_page(client, BY_STREAM["payment_links"], rng, batch_size=10,
                           observed_at=OBSERVED)
    assert [r["id"] for r in page.records] == ["plink_3", "plink_2", "plink_1", "plink_0"]


def test_deleted_cursor_of_unknown_time_rereads_the_range_rather_than_losing_it(
        client: StripeClient, fake: FakeStripe) -> None:
    # A Conduit snapshot position has a cursor but no created time.
    _customers(fake, 4)
    page = read_range_page(client, BY_STREAM["customers"], Range(cursor="cus_gone"),
                           batch_size=10, observed_at=OBSERVED)
    assert [r["id"] for r in page.records] == ["cus_003", "cus_002", "cus_001", "cus_000"]


def test_other_400_raises_stripe_error_naming_the_stream(client: StripeClient,
                                                         fake: FakeStripe) -> None:
    fake.fail(lambda r: r.path == "/v1/customers", 400,
              stripe_error(400, "Invalid timestamp: must be an integer Unix timestamp.",
                           param="created[gte]"),
              headers={"Request-Id": "req_abc123"})
    with pytest.raises(StripeError) as raised:
        read_range_page(client, BY_STREAM["customers"], Range(gte=1, cursor="cus_1",
                                                               cursor_created=5),
                        batch_size=3, observed_at=OBSERVED)
    error = raised.value
    assert error.status == 400
    assert "Stream 'customers'" in error.message
    assert "Invalid timestamp" in error.message
    assert "req_abc123" in error.message
    assert len(fake.calls("/v1/customers")) == 1  # not retried, not recovered


def test_resource_missing_on_another_parameter_is_raised(client: StripeClient,
                                                        fake: FakeStripe) -> None:
    fake.fail(lambda r: True, 404, stripe_error(404, "No such customer: 'cus_x'",
                                                code="resource_missing", param="id"))
    with pytest.raises(StripeError, match="No such customer"):
        read_range_page(client, BY_STREAM["customers"], Range(cursor="cus_x"), batch_size=3,
                        observed_at=OBSERVED)


# -- a child list ------------------------------------------------------------------------------------------


def test_payment_methods_are_read_under_each_customer_with_paging(
        client: StripeClient, fake: FakeStripe) -> None:
    fake.add("/v1/customers", {"id": "cus_A1", "object": "customer", "created": NOW - 20})
    fake.add("/v1/customers", {"id": "cus_B2", "object": "customer", "created": NOW - 10})
    for n in range(105):
        fake.add("/v1/payment_methods", {"id": f"pm_A{n:03d}", "object": "payment_method",
                                         "customer": "cus_A1", "created": NOW - 1000 + n})
    fake.add("/v1/payment_methods", {"id": "pm_B1", "object": "payment_method",
                                     "customer": "cus_B2", "created": NOW - 5})
    rng = Range(gte=NOW - 100)
    page = read_range_page(client, BY_STREAM["payment_methods"], rng, batch_size=10,
                           observed_at=OBSERVED)
    (parents,) = fake.calls("/v1/customers")
    assert parents.get("created[gte]") == str(NOW - 100)
    a_calls = fake.calls("/v1/customers/cus_A1/payment_methods")
    assert [c.get("starting_after") for c in a_calls] == [None, "pm_A005"]
    assert all(c.get("limit") == "100" for c in a_calls)
    assert all(not k.startswith("created") for c in a_calls for k, _ in c.params)
    ids = [r["id"] for r in page.records]
    assert ids[0] == "pm_B1"
    assert sorted(ids[1:]) == sorted(f"pm_A{n:03d}" for n in range(105))
    assert all(r["updated"] == OBSERVED for r in page.records)
    assert fake.calls("/v1/payment_methods") == []  # the Treasury-only list is never read
    assert page.remaining is None


def test_payment_methods_range_advances_on_the_parent_list(client: StripeClient,
                                                          fake: FakeStripe) -> None:
    for n in range(3):
        fake.add("/v1/customers", {"id": f"cus_{n}X", "object": "customer",
                                   "created": NOW - 30 + n})
    page = read_range_page(client, BY_STREAM["payment_methods"], Range(), batch_size=2,
                           observed_at=OBSERVED)
    assert page.records == []
    assert page.remaining == Range(cursor="cus_1X", cursor_created=NOW - 29)


def test_objects_without_created_time_are_kept_whatever_the_start_date(
        client: StripeClient, fake: FakeStripe) -> None:
    # Payment links and terminal readers have no created field: a start date cannot clip them.
    for n in range(3):
        fake.add("/v1/terminal/readers", {"id": f"tmr_{n}Ab", "object": "terminal.reader"})
    page = read_range_page(client, BY_STREAM["terminal_readers"], Range(gte=NOW - 100),
                           batch_size=10, observed_at=OBSERVED)
    assert [r["id"] for r in page.records] == ["tmr_2Ab", "tmr_1Ab", "tmr_0Ab"]


def test_deleted_invoice_item_cursor_does_not_end_its_range(client: StripeClient,
                                                            fake: FakeStripe) -> None:
    # An invoice item has `date`, not `created`, but its list filters on created.
    for n in range(4):
        fake.add("/v1/invoiceitems", {"id": f"ii_{n}Ab", "object": "invoiceitem",
                                      "date": NOW - 100 + n})
    first = read_range_page(client, BY_STREAM["invoice_items"], Range(), batch_size=2,
                            observed_at=OBSERVED)
    assert first.remaining is not None
    fake.remove("/v1/invoiceitems", "ii_2Ab")  # the cursor, deleted between two pages
    rng: Range | None = first.remaining
    rest: list[str] = []
    while rng is not None:
        page = read_range_page(client, BY_STREAM["invoice_items"], rng, batch_size=2,
                               observed_at=OBSERVED)
        rest += [r["id"] for r in page.records]
        rng = page.remaining
    assert {"ii_1Ab", "ii_0Ab"} <= set(rest)
