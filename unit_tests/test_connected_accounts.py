"""A platform and its connected accounts in one connection: records, keys, state, failures."""

from __future__ import annotations

import time
from typing import Any

from airbyte_cdk.models import SyncMode
from helpers import (
    DAY,
    NOW,
    FakeStripe,
    config,
    error_traces,
    record_data,
    run_read,
    state_of,
    stream_states,
)

from source_stripe_conduit.accounts import Account
from source_stripe_conduit.iterator.accounts_state import PLATFORM, positions_of
from source_stripe_conduit.iterator.position import CDC, SNAPSHOT, Position, Range
from source_stripe_conduit.lanes import reading_order
from source_stripe_conduit.source import SourceStripeConduit

INCREMENTAL = SyncMode.incremental


def _customers(fake: FakeStripe, prefix: str, count: int) -> list[str]:
    return [fake.add("/v1/customers", {"id": f"cus_{prefix}{n:03d}", "object": "customer",
                                       "created": NOW - 300 * DAY + n * 3600})["id"]
            for n in range(count)]


def _platform(fake: FakeStripe) -> dict[str, list[str]]:
    """A platform with customers of its own and two connected accounts with theirs."""
    return {PLATFORM: _customers(fake, "P", 5),
            "acct_1A": _customers(fake.connect("acct_1A"), "A", 7),
            "acct_2B": _customers(fake.connect("acct_2B"), "B", 3)}


def _by_account(records: list[dict[str, Any]]) -> dict[str | None, list[str]]:
    found: dict[str | None, list[str]] = {}
    for record in records:
        found.setdefault(record.get("account_id"), []).append(record["id"])
    return {k: sorted(v) for k, v in found.items()}


def test_every_account_is_read_and_each_record_names_its_account(fake: FakeStripe) -> None:
    seeded = _platform(fake)
    output = run_read(config(account_ids=["acct_1A", "acct_2B"], batch_size=3), ["customers"])
    assert _by_account(record_data(output)) == {None: seeded[PLATFORM],
                                               "acct_1A": seeded["acct_1A"],
                                               "acct_2B": seeded["acct_2B"]}
    state = stream_states(output, "customers")[-1]
    assert set(state["accounts"]) == {PLATFORM, "acct_1A", "acct_2B"}
    assert all(p.iterator_type == CDC for p in positions_of(state, PLATFORM).values())


def test_the_platforms_own_data_can_be_left_out(fake: FakeStripe) -> None:
    seeded = _platform(fake)
    output = run_read(config(account_ids=["acct_2B"], include_platform=False), ["customers"])
    assert _by_account(record_data(output)) == {"acct_2B": seeded["acct_2B"]}


def test_all_connected_accounts_are_listed_on_each_sync(fake: FakeStripe) -> None:
    seeded = _platform(fake)
    output = run_read(config(connected_accounts="all"), ["customers"])
    assert set(_by_account(record_data(output))) == {None, "acct_1A", "acct_2B"}
    fake.revoke("acct_1A")
    later = _customers(fake.connect("acct_3C"), "C", 2)
    again = run_read(config(connected_accounts="all"), ["customers"])
    found = _by_account(record_data(again))
    assert found == {None: seeded[PLATFORM], "acct_2B": seeded["acct_2B"], "acct_3C": later}
    assert error_traces(again) == []


def test_a_single_account_state_goes_on_as_that_accounts_position(fake: FakeStripe) -> None:
    _platform(fake)
    single = run_read(config(account_id="acct_1A"), ["customers"], mode=INCREMENTAL)
    saved = stream_states(single, "customers")[-1]
    assert "accounts" not in saved and saved["iterator_type"] == CDC
    fake.connected["acct_1A"].add_event(
        "customer.updated", {"id": "cus_A000", "object": "customer", "created": NOW - 300 * DAY},
        NOW - 10)
    fake.now = NOW + 600
    # The former account_id stays: it names whose position the saved state is.
    output = run_read(config(account_id="acct_1A", account_ids=["acct_2B"],
                             include_platform=False),
                      ["customers"], mode=INCREMENTAL, state=state_of("customers", saved))
    found = _by_account(record_data(output))
    # acct_1A follows its changes from where the single-account connection was; acct_2B is new.
    assert found == {"acct_1A": ["cus_A000"], "acct_2B": ["cus_B000", "cus_B001", "cus_B002"]}


def test_a_revoked_account_fails_alone_named_with_its_position_kept(fake: FakeStripe) -> None:
    _platform(fake)
    first = run_read(config(account_ids=["acct_1A", "acct_2B"]), ["customers"],
                     mode=INCREMENTAL)
    saved = stream_states(first, "customers")[-1]
    fake.connected.pop("acct_1A")  # access revoked; still configured
    fake.add("/v1/customers", {"id": "cus_Pnew", "object": "customer", "created": NOW - 5})
    fake.add_event("customer.created", {"id": "cus_Pnew", "object": "customer",
                                        "created": NOW - 5}, NOW - 5)
    fake.now = NOW + 600
    output = run_read(config(account_ids=["acct_1A", "acct_2B"]), ["customers"],
                      mode=INCREMENTAL, state=state_of("customers", saved), failure=True)
    assert _by_account(record_data(output)) == {None: ["cus_Pnew"]}
    # The stream's error (the CDK's, that the stream did not finish, repeats it).
    (error,) = [e for e in error_traces(output) if e.startswith("Stream 'customers'")]
    assert "1 of 3 accounts could not be read" in error
    assert "acct_1A" in error and "does not have access to account" in error
    final = positions_of(stream_states(output, "customers")[-1], PLATFORM)
    assert final["acct_1A"] == positions_of(saved, PLATFORM)["acct_1A"]
    assert final[PLATFORM] != positions_of(saved, PLATFORM)[PLATFORM]


def test_with_many_accounts_the_key_holds_the_account(fake: FakeStripe) -> None:
    from airbyte_cdk.test.entrypoint_wrapper import discover

    fake.account_created = NOW - 900 * DAY
    output = discover(SourceStripeConduit(), config(account_ids=["acct_1A"]))
    (stream,) = [s for s in output.catalog.catalog.streams if s.name == "customers"]
    assert stream.source_defined_primary_key == [["account_id"], ["id"]]
    single = discover(SourceStripeConduit(), config())
    (stream,) = [s for s in single.catalog.catalog.streams if s.name == "customers"]
    assert stream.source_defined_primary_key == [["id"]]


def test_unfinished_snapshots_go_first_then_the_accounts_furthest_behind() -> None:
    accounts = [Account(k) for k in ("acct_new", "acct_snap", "acct_old", "acct_recent")]
    saved = {"acct_snap": Position(SNAPSHOT, NOW, ranges=(Range(cursor="cus_1"),)),
             "acct_old": Position(CDC, NOW - 5 * DAY),
             "acct_recent": Position(CDC, NOW - DAY, "evt_1", cursor_created=NOW - 60)}
    assert [a.key for a in reading_order(accounts, saved)] == [
        "acct_snap", "acct_new", "acct_old", "acct_recent"]


def test_check_names_the_accounts_to_read_and_fails_for_a_refused_one(
        fake: FakeStripe, tmp_path: Any) -> None:
    from helpers import run_check

    fake.account_created = NOW - 900 * DAY
    _platform(fake)
    for account in fake.connected.values():
        account.account_created = NOW - 400 * DAY
    ok = run_check(config(account_ids=["acct_1A", "acct_2B"]), tmp_path)
    status = ok.connection_status_messages[0].connectionStatus
    assert status.status.value == "SUCCEEDED"
    assert "2 connected accounts to read, and the platform's own data" in status.message
    bad = run_check(config(account_ids=["acct_1A", "acct_9Gone"]), tmp_path)
    status = bad.connection_status_messages[0].connectionStatus
    assert status.status.value == "FAILED"
    assert "acct_9Gone" in status.message and "does not have access" in status.message
    listed = run_check(config(connected_accounts="all", account_shard="0/1"), tmp_path)
    assert "2 connected accounts to read (shard 0/1)" in \
        listed.connection_status_messages[0].connectionStatus.message


def test_connects_own_objects_are_read_from_the_platform_only(fake: FakeStripe) -> None:
    _platform(fake)
    output = run_read(config(account_ids=["acct_1A", "acct_2B"]), ["accounts"])
    assert sorted(r["id"] for r in record_data(output)) == ["acct_1A", "acct_2B"]
    assert all(r.get("account_id") is None for r in record_data(output))
    assert not any(r.headers.get("Stripe-Account") for r in fake.requests
                   if r.path == "/v1/accounts")


def test_states_of_many_accounts_are_few_and_the_last_holds_every_account(
        fake: FakeStripe) -> None:
    ids = [f"acct_{n:03d}M" for n in range(40)]
    for n, account_id in enumerate(ids):
        _customers(fake.connect(account_id), f"M{n:03d}", 2)
    started = time.monotonic()
    output = run_read(config(account_ids=ids), ["customers"])
    seconds = time.monotonic() - started
    states = stream_states(output, "customers")
    # At most one a second (each holds every account) and the last: never one per account.
    assert len(states) <= seconds + 2, len(states)
    assert set(states[-1]["accounts"]) == {PLATFORM, *ids}
    assert len(record_data(output)) == 80


def test_a_large_account_does_not_hold_up_the_small_ones(fake: FakeStripe) -> None:
    big = fake.connect("acct_0Big")
    for n in range(600):
        big.add("/v1/customers", {"id": f"cus_G{n:04d}", "object": "customer",
                                  "created": NOW - 300 * DAY + n * 60})
    small = [f"acct_{n:02d}S" for n in range(1, 16)]
    for account_id in small:
        _customers(fake.connect(account_id), account_id[5:8], 2)
    # The large account is read first (its name sorts first) in pages of 5: 120 pages.
    output = run_read(config(account_ids=["acct_0Big", *small], include_platform=False,
                             batch_size=5), ["customers"])
    order = [r.get("account_id") for r in record_data(output)]
    assert len(order) == 600 + 30
    last_small = max(i for i, account in enumerate(order) if account != "acct_0Big")
    last_big = max(i for i, account in enumerate(order) if account == "acct_0Big")
    # Every small account is done while the large one is still being read.
    assert last_small < last_big
