"""Whole syncs through the CDK's entrypoint against the fake Stripe: records, states and their
order, resuming, Stripe's 30-day retention, and errors that name the stream."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import orjson
import pytest
from airbyte_cdk.models import (
    AirbyteMessageSerializer,
    AirbyteStreamStatus,
    FailureType,
    Status,
    SyncMode,
    Type,
)
from airbyte_cdk.test.entrypoint_wrapper import EntrypointOutput
from airbyte_cdk.test.entrypoint_wrapper import read as entrypoint_read
from airbyte_cdk.test.models.scenario import ExpectedOutcome
from helpers import (
    DAY,
    NOW,
    SECRET,
    FakeStripe,
    catalog,
    config,
    error_traces,
    record_data,
    records_and_states,
    run_check,
    run_read,
    state_of,
    stream_states,
    stripe_error,
    warnings,
)

from source_stripe_conduit.source import SourceStripeConduit

INCREMENTAL = SyncMode.incremental
FULL = SyncMode.full_refresh
BATCH = 4


def _customer(n: int, created: int, version: int = 0, **extra: Any) -> dict[str, Any]:
    return {"id": f"cus_{n:04d}Q", "object": "customer", "created": created,
            "version": version, **extra}


def _seed(fake: FakeStripe, count: int) -> list[dict[str, Any]]:
    """Customers over a year, several in the same second."""
    return [fake.add("/v1/customers", _customer(n, NOW - 365 * DAY + (n // 3) * 7919))
            for n in range(count)]


def _ids(records: Iterable[dict[str, Any]]) -> list[str]:
    return [r["id"] for r in records]


def _key(record: dict[str, Any]) -> tuple[str, int, int, bool]:
    """A record's identity: an object, in one version, observed at one time."""
    return record["id"], record.get("version", 0), record["updated"], record["is_deleted"]


def _read(fake: FakeStripe, mode: SyncMode = FULL, state: dict[str, Any] | None = None,
          stream: str = "customers", failure: bool = False, **settings: Any) -> EntrypointOutput:
    settings.setdefault("batch_size", BATCH)
    return run_read(config(**settings), [stream], mode=mode,
                    state=state_of(stream, state) if state is not None else None,
                    failure=failure)


def _list_calls(fake: FakeStripe, path: str = "/v1/customers") -> int:
    return sum(1 for c in fake.calls(path) if c.get("limit") != "1")  # not the clock probe


# -- full refresh -----------------------------------------------------------------------------------------


def test_full_refresh_emits_every_object_once_and_ends_with_a_state(fake: FakeStripe) -> None:
    objects = _seed(fake, 23)
    output = _read(fake)
    assert not output.errors
    ids = _ids(record_data(output))
    assert sorted(ids) == sorted(_ids(objects))
    assert len(ids) == len(set(ids))
    assert records_and_states(output)[-1].type == Type.STATE
    final = stream_states(output, "customers")[-1]
    assert final["iterator_type"] == "cdc" and "ranges" not in final
    assert output.get_stream_statuses("customers")[-1] == AirbyteStreamStatus.COMPLETE


def test_full_refresh_of_an_empty_list_still_emits_a_state(fake: FakeStripe) -> None:
    output = _read(fake)
    assert record_data(output) == []
    assert stream_states(output, "customers")


def test_full_refresh_respects_start_date(fake: FakeStripe) -> None:
    objects = _seed(fake, 12)
    start = objects[6]["created"]
    output = run_read(config(batch_size=BATCH, start_date=start), ["customers"])
    assert sorted(_ids(record_data(output))) == sorted(
        o["id"] for o in objects if o["created"] >= start)
    assert all(c.get("created[gte]") is not None for c in fake.calls("/v1/customers")
               if c.get("limit") != "1")


def test_full_refresh_of_a_finished_state_reads_everything_again(fake: FakeStripe) -> None:
    objects = _seed(fake, 9)
    output = _read(fake, state={"iterator_type": "cdc", "created_at": NOW - 100,
                                "cursor": "evt_1", "cursor_created": NOW - 100})
    assert sorted(_ids(record_data(output))) == sorted(_ids(objects))


def test_a_state_follows_every_page_and_never_precedes_its_records(fake: FakeStripe) -> None:
    objects = {o["id"]: o for o in _seed(fake, 30)}
    output = _read(fake)
    messages = records_and_states(output)
    states = [m for m in messages if m.type == Type.STATE]
    assert len(states) >= _list_calls(fake)  # one per page at least
    emitted: set[str] = set()
    order = {o["id"]: n for n, o in enumerate(sorted(objects.values(),
                                                     key=lambda o: o["created"]))}
    for message in messages:
        if message.type == Type.RECORD:
            assert message.record is not None
            emitted.add(message.record.data["id"])
            continue
        assert message.state is not None and message.state.stream is not None
        state = message.state.stream.stream_state.__dict__
        for object_id, obj in objects.items():
            if not _still_to_read(state, obj, objects, order):
                assert object_id in emitted, (state, object_id)


def _still_to_read(state: dict[str, Any], obj: dict[str, Any], objects: dict[str, Any],
                   order: dict[str, int]) -> bool:
    if state["iterator_type"] == "cdc" and not state.get("ranges"):
        return False
    for rng in state.get("ranges", []):
        created = obj["created"]
        if rng["gte"] is not None and created < rng["gte"]:
            continue
        if rng["lt"] is not None and created >= rng["lt"]:
            continue
        if rng["cursor"] is None or order[obj["id"]] < order[rng["cursor"]]:
            return True
    return False


@pytest.mark.parametrize("count, batch", [(26, 4), (40, 3), (12, 1)])
def test_resuming_from_any_state_loses_nothing_and_repeats_only_pages_in_flight(
        fake: FakeStripe, count: int, batch: int) -> None:
    objects = _seed(fake, count)
    output = _read(fake, batch_size=batch)
    messages = records_and_states(output)
    checked = 0
    for index, message in enumerate(messages):
        if message.type != Type.STATE:
            continue
        assert message.state is not None and message.state.stream is not None
        state = message.state.stream.stream_state.__dict__
        if state["iterator_type"] != "snapshot":
            continue  # a finished full refresh starts over, by design
        before = {m.record.data["id"] for m in messages[:index]
                  if m.type == Type.RECORD and m.record is not None}
        resumed = _ids(record_data(_read(fake, state=state, batch_size=batch)))
        assert before | set(resumed) == {o["id"] for o in objects}, state
        assert len(before & set(resumed)) <= len(state["ranges"]) * batch, state
        checked += 1
    assert checked >= 3


# -- incremental -----------------------------------------------------------------------------------------


def test_incremental_first_sync_snapshots_then_follows_changes(fake: FakeStripe) -> None:
    objects = _seed(fake, 10)
    first = _read(fake, INCREMENTAL)
    assert sorted(_ids(record_data(first))) == sorted(_ids(objects))
    # The snapshot starts when its first page was asked for, less the lag, the Date header's
    # second and the current one.
    # (The fake's clock stands still, so "when" is NOW give or take the second it rounds to.)
    observed = {(r["updated"], r["is_deleted"]) for r in record_data(first)}
    assert len(observed) == 1 and observed <= {(NOW - 62, False), (NOW - 61, False)}, observed
    state = stream_states(first, "customers")[-1]
    assert state["iterator_type"] == "cdc"
    assert state["created_at"] == NOW - 60  # everything before now minus the lag is out

    # An hour later: an update, a delete, and an event of another stream sharing the prefix.
    fake.now = NOW + 3600
    fake.add_event("customer.updated", _customer(1, 0, version=1, name="Ada"), NOW + 100)
    fake.add_event("customer.subscription.updated",
                   {"id": "sub_1", "object": "subscription"}, NOW + 150)
    fake.add_event("customer.deleted", _customer(2, 0, version=1, deleted=True), NOW + 200)
    fake.add_event("customer.updated", _customer(1, 0, version=2), NOW + 3590)  # within lag
    second = _read(fake, INCREMENTAL, state=state)
    records = record_data(second)
    assert [(r["id"], r["version"], r["is_deleted"]) for r in records] == [
        ("cus_0001Q", 1, False), ("cus_0002Q", 1, True)]
    # (The CDK's serializer leaves top-level nulls out of a record: absent means null.)
    assert records[0].get("_ab_cdc_deleted_at") is None
    assert records[1]["_ab_cdc_deleted_at"] == "2024-06-20T00:03:20Z"
    assert [r["updated"] for r in records] == [NOW + 100, NOW + 200]
    assert all(c.get("starting_after") is None or c.get("starting_after", "").startswith("evt_")
               for c in fake.calls("/v1/events"))

    # And the next sync picks up the event that was inside the lag.
    fake.now = NOW + 7200
    third = _read(fake, INCREMENTAL, state=stream_states(second, "customers")[-1])
    assert [(r["id"], r["version"]) for r in record_data(third)] == [("cus_0001Q", 2)]


def test_changes_made_during_the_snapshot_are_replayed_after_it(fake: FakeStripe) -> None:
    _seed(fake, 6)
    # A snapshot that started 50 minutes ago and has not read a page yet.
    state = {"iterator_type": "snapshot", "created_at": NOW - 3000,
             "ranges": [{"gte": None, "lt": None, "cursor": None}]}
    fake.add_event("customer.updated", _customer(3, 0, version=1), NOW - 2000)
    fake.add_event("customer.deleted", _customer(4, 0, version=1), NOW - 1000)
    output = _read(fake, INCREMENTAL, state=state)
    records = record_data(output)
    assert [r["updated"] for r in records[:6]] == [NOW - 3000] * 6
    assert [(r["id"], r["is_deleted"]) for r in records[6:]] == [
        ("cus_0003Q", False), ("cus_0004Q", True)]


def _seed_changes(fake: FakeStripe, count: int, start: int) -> None:
    for n in range(count):
        obj = _customer(n % 5, 0, version=n + 1)
        kind = "customer.deleted" if n % 7 == 6 else "customer.updated"
        fake.add_event(kind, obj, start + n * 13)


def test_incremental_resume_from_any_state_loses_no_change(fake: FakeStripe) -> None:
    _seed(fake, 14)
    _seed_changes(fake, 17, NOW - 2900)
    start = {"iterator_type": "snapshot", "created_at": NOW - 3000,
             "ranges": [{"gte": None, "lt": None, "cursor": None}]}
    output = _read(fake, INCREMENTAL, state=start)
    everything = {_key(r) for r in record_data(output)}
    assert len(everything) == 14 + 17
    messages = records_and_states(output)
    for index, message in enumerate(messages):
        if message.type != Type.STATE:
            continue
        assert message.state is not None and message.state.stream is not None
        state = message.state.stream.stream_state.__dict__
        before = {_key(m.record.data) for m in messages[:index]
                  if m.type == Type.RECORD and m.record is not None}
        resumed = [_key(r) for r in record_data(_read(fake, INCREMENTAL, state=state))]
        assert before | set(resumed) == everything, state
        in_flight = len(state.get("ranges") or []) * BATCH
        assert len(before & set(resumed)) <= in_flight, state


def test_cdc_records_come_oldest_first_and_every_page_is_followed_by_a_state(
        fake: FakeStripe) -> None:
    _seed_changes(fake, 11, NOW - 2000)
    output = _read(fake, INCREMENTAL, state={"iterator_type": "cdc", "created_at": NOW - 3000})
    records = record_data(output)
    assert [r["version"] for r in records] == list(range(1, 12))
    event_pages = _list_calls(fake, "/v1/events")
    kinds = [m.type for m in records_and_states(output)]
    # Each page: its records, then a state. The walk back from created_at finds the oldest
    # page (3 events of 11 with pages of 4) in 3 requests; then two pages going forward.
    pages = "".join("R" if k == Type.RECORD else "S" for k in kinds)
    assert pages.rstrip("S") == "RRRS" + "RRRRS" + "RRRR", pages
    assert event_pages == 3 + 2


def test_append_only_stream_lists_what_was_created_since_the_last_sync(fake: FakeStripe) -> None:
    path = "/v1/balance_transactions"
    for n in range(5):
        fake.add(path, {"id": f"txn_{n}A", "object": "balance_transaction",
                        "created": NOW - 5000 + n})
    first = _read(fake, INCREMENTAL, stream="balance_transactions")
    assert len(record_data(first)) == 5
    fake.now = NOW + 1000
    fake.add(path, {"id": "txn_newA", "object": "balance_transaction", "created": NOW + 10})
    second = _read(fake, INCREMENTAL, stream="balance_transactions",
                   state=stream_states(first, "balance_transactions")[-1])
    assert _ids(record_data(second)) == ["txn_newA"]
    assert fake.calls("/v1/events") == []


def test_payment_methods_snapshot_under_customers_then_detach_is_a_delete(
        fake: FakeStripe) -> None:
    fake.add("/v1/customers", {"id": "cus_1A", "object": "customer", "created": NOW - 500})
    fake.add("/v1/customers", {"id": "cus_2A", "object": "customer", "created": NOW - 400})
    for n in range(3):
        fake.add("/v1/payment_methods", {"id": f"pm_{n}A", "object": "payment_method",
                                         "customer": "cus_2A" if n == 0 else "cus_1A",
                                         "created": NOW - 300 + n})
    fake.add_event("payment_method.detached",
                   {"id": "pm_1A", "object": "payment_method", "customer": None}, NOW - 100)
    fake.add_event("payment_method.attached",
                   {"id": "pm_9A", "object": "payment_method", "customer": "cus_1A"}, NOW - 90)
    state = {"iterator_type": "snapshot", "created_at": NOW - 200,
             "ranges": [{"gte": None, "lt": None, "cursor": None}]}
    output = _read(fake, INCREMENTAL, state=state, stream="payment_methods")
    records = [(r["id"], r["is_deleted"], r["updated"]) for r in record_data(output)]
    assert sorted(records[:3]) == [("pm_0A", False, NOW - 200), ("pm_1A", False, NOW - 200),
                                   ("pm_2A", False, NOW - 200)]
    assert records[3:] == [("pm_1A", True, NOW - 100), ("pm_9A", False, NOW - 90)]
    assert fake.calls("/v1/payment_methods") == []


# -- Stripe's 30-day retention ---------------------------------------------------------------------------


def test_aged_out_cursor_reads_from_created_at_with_a_warning(fake: FakeStripe) -> None:
    fake.add_event("customer.updated", _customer(1, 0, version=1), NOW - 2 * DAY + 10)
    fake.aged_out.add("evt_agedout")
    state = {"iterator_type": "cdc", "created_at": NOW - 2 * DAY, "cursor": "evt_agedout",
             "cursor_created": NOW - DAY}
    output = _read(fake, INCREMENTAL, state=state)
    assert not output.errors
    assert [r["version"] for r in record_data(output)] == [1]
    assert any("aged out" in w and "evt_agedout" in w for w in warnings(output))
    calls = fake.calls("/v1/events")
    assert calls[0].get("ending_before") == "evt_agedout"
    assert calls[1].get("created[gte]") == str(NOW - 2 * DAY)


def test_aged_out_cursor_with_old_created_at_resnapshots_with_a_warning(fake: FakeStripe) -> None:
    objects = _seed(fake, 5)
    fake.aged_out.add("evt_agedout")
    state = {"iterator_type": "cdc", "created_at": NOW - 40 * DAY, "cursor": "evt_agedout",
             "cursor_created": NOW - DAY}
    output = _read(fake, INCREMENTAL, state=state)
    assert not output.errors
    assert sorted(_ids(record_data(output))) == sorted(_ids(objects))
    texts = warnings(output)
    assert any("aged out" in w for w in texts)
    assert any("30-day" in w and "snapshot" in w for w in texts)
    assert stream_states(output, "customers")[-1]["iterator_type"] == "cdc"


def test_state_older_than_thirty_days_resnapshots_with_a_warning(fake: FakeStripe) -> None:
    objects = _seed(fake, 7)
    state = {"iterator_type": "cdc", "created_at": NOW - 40 * DAY, "cursor": "evt_old",
             "cursor_created": NOW - 35 * DAY}
    output = _read(fake, INCREMENTAL, state=state)
    assert not output.errors
    assert sorted(_ids(record_data(output))) == sorted(_ids(objects))
    assert any("30-day" in w for w in warnings(output))
    assert all(c.get("ending_before") != "evt_old" for c in fake.calls("/v1/events"))
    final = stream_states(output, "customers")[-1]
    assert final["iterator_type"] == "cdc" and final["created_at"] >= NOW - 60


def test_unfinished_snapshot_older_than_thirty_days_starts_again(fake: FakeStripe) -> None:
    objects = _seed(fake, 7)
    state = {"iterator_type": "snapshot", "created_at": NOW - 31 * DAY,
             "ranges": [{"gte": None, "lt": None, "cursor": objects[3]["id"],
                         "cursor_created": objects[3]["created"]}]}
    output = _read(fake, INCREMENTAL, state=state)
    assert sorted(_ids(record_data(output))) == sorted(_ids(objects))
    assert any("more than 30 days ago" in w for w in warnings(output))


def test_conduit_cdc_position_resumes_from_its_cursor_and_index(fake: FakeStripe) -> None:
    events = [fake.add_event("customer.updated", _customer(n, 0, version=n + 1),
                             NOW - 5000 + n) for n in range(6)]
    state = {"iterator_type": "cdc", "created_at": NOW - 200 * DAY, "cursor": events[1]["id"],
             "index": 2}
    output = _read(fake, INCREMENTAL, state=state)
    assert not output.errors
    # Events 2 and 3 were the first two records of the page Conduit was in.
    assert [r["version"] for r in record_data(output)] == [5, 6]
    assert fake.calls("/v1/events")[0].get("ending_before") == events[1]["id"]


def test_aged_out_conduit_cursor_falls_back_to_a_new_snapshot(fake: FakeStripe) -> None:
    objects = _seed(fake, 4)
    fake.aged_out.add("evt_conduit")
    state = {"iterator_type": "cdc", "created_at": NOW - 200 * DAY, "cursor": "evt_conduit",
             "index": 0}
    output = _read(fake, INCREMENTAL, state=state)
    assert not output.errors
    assert sorted(_ids(record_data(output))) == sorted(_ids(objects))
    assert any("aged out" in w for w in warnings(output))


# -- snapshot switched off, malformed states ---------------------------------------------------------------


@pytest.mark.parametrize("state", [
    {"iterator_type": "snapshot", "created_at": NOW - 3000, "cursor": "cus_0003Q",
     "ranges": [{"gte": None, "lt": NOW - 10 * DAY, "cursor": "cus_0003Q",
                 "cursor_created": NOW - 300 * DAY}, {"gte": NOW - 10 * DAY, "lt": None}]},
    {"iterator_type": "snapshot", "created_at": NOW - 3000, "cursor": "cus_0003Q", "index": 0},
], ids=["ours", "conduit"])
def test_snapshot_switched_off_mid_snapshot_follows_changes_from_created_at(
        fake: FakeStripe, state: dict[str, Any]) -> None:
    _seed(fake, 8)
    fake.add_event("customer.updated", _customer(5, 0, version=1), NOW - 1000)
    output = _read(fake, INCREMENTAL, state=state, snapshot=False)
    assert not output.errors
    assert [(r["id"], r["version"]) for r in record_data(output)] == [("cus_0005Q", 1)]
    assert any("snapshot was switched off" in w for w in warnings(output))
    events = fake.calls("/v1/events")
    assert events and events[0].get("created[gte]") == str(NOW - 3000)
    assert all(not (c.get("ending_before") or "evt_").startswith("cus_") for c in fake.requests)
    assert _list_calls(fake) == 0


def test_snapshot_off_on_a_first_sync_follows_changes_from_now(fake: FakeStripe) -> None:
    _seed(fake, 3)
    fake.add_event("customer.updated", _customer(1, 0, version=1), NOW - 1000)
    output = _read(fake, INCREMENTAL, snapshot=False)
    assert record_data(output) == []
    assert _list_calls(fake) == 0
    assert stream_states(output, "customers")[-1]["created_at"] >= NOW - 60


@pytest.mark.parametrize("state, reason", [
    ({"iterator_type": "cdc", "created_at": NOW, "cursor": "cus_1"}, "event id"),
    ({"iterator_type": "bulk", "created_at": NOW}, "iterator_type 'bulk'"),
    ({"iterator_type": "cdc"}, "no created_at"),
    ({"cursor": "2024-01-01"}, "iterator_type None"),
])
def test_malformed_state_fails_with_a_clear_error_naming_the_stream(
        fake: FakeStripe, state: dict[str, Any], reason: str) -> None:
    output = _read(fake, INCREMENTAL, state=state, failure=True)
    messages = error_traces(output)
    assert any("Stream 'customers'" in m and reason in m and "saved state" in m
               for m in messages), messages
    config_errors = [m for m in output.errors if m.trace is not None and m.trace.error is not None
                     and m.trace.error.failure_type == FailureType.config_error]
    assert config_errors
    assert record_data(output) == []


# -- errors ----------------------------------------------------------------------------------------------

PERMISSION = ("The provided key 'rk_test_***' does not have the required permissions for this "
              "endpoint on account 'acct_1'. Having the 'rak_charge_read' permission would allow "
              "this request to continue.")


def test_403_on_one_stream_names_the_stream_and_the_permission(fake: FakeStripe) -> None:
    objects = _seed(fake, 5)
    fake.fail(lambda r: r.path == "/v1/charges", 403, stripe_error(403, PERMISSION))
    output = run_read(config(batch_size=BATCH), catalog("customers", "charges"), failure=True)
    messages = error_traces(output)
    assert any("Stream 'charges'" in m and "rak_charge_read" in m for m in messages), messages
    assert sorted(_ids(record_data(output, "customers"))) == sorted(_ids(objects))
    assert output.get_stream_statuses("customers")[-1] == AirbyteStreamStatus.COMPLETE
    assert output.get_stream_statuses("charges")[-1] == AirbyteStreamStatus.INCOMPLETE
    assert all(SECRET not in m for m in messages)


def test_a_transient_failure_mid_snapshot_leaves_a_resumable_state(fake: FakeStripe) -> None:
    objects = _seed(fake, 20)
    fake.fail(lambda r: r.path == "/v1/customers" and r.get("starting_after") is not None,
              500, stripe_error(500, "down", type_="api_error"))
    output = _read(fake, failure=True, max_retries=0)
    assert output.errors
    states = stream_states(output, "customers")
    assert states and states[-1]["iterator_type"] == "snapshot"
    fake.failures.clear()
    resumed = _read(fake, state=states[-1])
    done = set(_ids(record_data(output)))
    assert done | set(_ids(record_data(resumed))) == {o["id"] for o in objects}


def test_check_with_a_rejected_key_fails_with_stripes_message(fake: FakeStripe,
                                                             tmp_path: Path) -> None:
    fake.fail(lambda r: True, 401, stripe_error(401, "Invalid API Key provided: sk_test_****leak"))
    output = run_check(config(), tmp_path)
    (status,) = [m.connectionStatus for m in output.connection_status_messages]
    assert status is not None and status.status == Status.FAILED
    assert "Invalid API Key provided" in (status.message or "")
    assert SECRET not in (status.message or "")
    assert len(fake.requests) == 1  # a bad key is not tried on every stream


def test_check_with_some_permissions_missing_succeeds_and_names_every_denied_stream(
        fake: FakeStripe, tmp_path: Path) -> None:
    denied = {"/v1/charges": "rak_charge_read", "/v1/events": "rak_event_read"}
    for path, permission in denied.items():
        fake.fail(lambda r, p=path: r.path == p, 403,
                  stripe_error(403, f"Having the '{permission}' permission would allow this "
                                    f"request to continue."))
    output = run_check(config(resource_names=["customers", "charges"]), tmp_path)
    (status,) = [m.connectionStatus for m in output.connection_status_messages]
    assert status is not None and status.status == Status.SUCCEEDED
    message = status.message or ""
    assert "charges (rak_charge_read)" in message
    assert "cannot read events (rak_event_read)" in message and "full refresh" in message
    assert "customers (" not in message
    assert "can read 1 of 2 streams" in message


def test_check_fails_when_the_key_can_read_none_of_the_streams(fake: FakeStripe,
                                                               tmp_path: Path) -> None:
    fake.fail(lambda r: r.path != "/v1/account", 403,
              stripe_error(403, "Having the 'rak_charge_read' permission would allow this "
                                "request to continue."))
    output = run_check(config(resource_names=["charges"]), tmp_path)
    (status,) = [m.connectionStatus for m in output.connection_status_messages]
    assert status is not None and status.status == Status.FAILED
    assert "none of the 1 streams" in (status.message or "")
    assert "charges (rak_charge_read)" in (status.message or "")


def test_check_succeeds_when_every_endpoint_answers(fake: FakeStripe, tmp_path: Path) -> None:
    output = run_check(config(), tmp_path)
    (status,) = [m.connectionStatus for m in output.connection_status_messages]
    assert status is not None and status.status == Status.SUCCEEDED
    paths = {c.path for c in fake.requests}
    assert "/v1/events" in paths and "/v1/customers" in paths
    assert "/v1/payment_methods" not in paths


def test_check_when_stripe_cannot_be_reached_fails_without_crashing(fake: FakeStripe,
                                                                    tmp_path: Path) -> None:
    fake.fail(lambda r: True, 503, stripe_error(503, "unavailable", type_="api_error"))
    output = run_check(config(max_retries=0, resource_names=["customers"]), tmp_path)
    (status,) = [m.connectionStatus for m in output.connection_status_messages]
    assert status is not None and status.status == Status.FAILED
    assert "Could not reach Stripe" in (status.message or "")


def test_unknown_stream_in_the_catalog_is_skipped(fake: FakeStripe) -> None:
    objects = _seed(fake, 2)
    output = run_read(config(batch_size=BATCH), catalog("customers", "orders"))
    assert sorted(_ids(record_data(output))) == sorted(_ids(objects))
    assert not output.errors


def test_the_key_never_appears_in_a_debug_reads_output(fake: FakeStripe) -> None:
    _seed(fake, 3)
    fake.fail(lambda r: r.path == "/v1/charges", 401,
              stripe_error(401, "Invalid API Key provided: sk_test_****leak"))
    output = entrypoint_read(SourceStripeConduit(), config(), catalog("customers", "charges"),
                             debug=True, expected_outcome=ExpectedOutcome.EXPECT_EXCEPTION)
    text = "\n".join(orjson.dumps(AirbyteMessageSerializer.dump(m)).decode()
                     for m in output.get_message_by_types(list(Type)))
    assert "cus_0001Q" in text  # the output is all there
    assert SECRET not in text
    assert SECRET.split("_", 2)[2] not in text
