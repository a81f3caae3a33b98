"""Syncs that must resume from whatever state they left, and say what they do (issue 16)."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from airbyte_cdk.models import ConfiguredAirbyteCatalogSerializer, SyncMode
from helpers import (
    DAY,
    NOW,
    RETENTION,
    SECRET,
    FakeStripe,
    SeenRequest,
    catalog,
    config,
    config_error_traces,
    record_data,
    run_read,
    state_of,
    stream_states,
    stripe_error,
    warnings,
)

from source_stripe_conduit.iterator.cdc import read_events_page
from source_stripe_conduit.iterator.position import Position
from source_stripe_conduit.resources import BY_STREAM, Resource
from source_stripe_conduit.transport.client import StripeClient

INCREMENTAL = SyncMode.incremental
TXNS = "/v1/balance_transactions"


def _txn(n: int, created: int) -> dict[str, Any]:
    return {"id": f"txn_{n:04d}B", "object": "balance_transaction", "created": created}


def test_a_balance_transactions_catch_up_killed_after_its_first_page_resumes(
        fake: FakeStripe) -> None:
    for n in range(3):
        fake.add(TXNS, _txn(n, NOW - 5000 + n))
    first = run_read(config(batch_size=4), ["balance_transactions"], mode=INCREMENTAL)
    saved = stream_states(first, "balance_transactions")[-1]
    fake.now = NOW + 1000
    new = [fake.add(TXNS, _txn(100 + n, NOW + n)) for n in range(10)]
    # The catch-up's second page fails for good: the sync stops after its first page.
    fake.fail(lambda r: r.path == TXNS and r.get("starting_after") is not None, 500,
              stripe_error(500, "down", type_="api_error"))
    broken = run_read(config(batch_size=4, max_retries=0), ["balance_transactions"],
                      mode=INCREMENTAL, state=state_of("balance_transactions", saved),
                      failure=True)
    states = stream_states(broken, "balance_transactions")
    assert len(record_data(broken)) == 4
    fake.failures.clear()
    resumed = run_read(config(batch_size=4), ["balance_transactions"], mode=INCREMENTAL,
                       state=state_of("balance_transactions", states[-1]))
    got = {r["id"] for r in record_data(broken)} | {r["id"] for r in record_data(resumed)}
    assert got == {t["id"] for t in new}
    assert not resumed.errors


def test_a_catch_up_state_written_with_an_object_cursor_resumes(fake: FakeStripe) -> None:
    """States that earlier versions wrote in a catch-up (the range's object id as the
    stream's cursor) resume instead of stranding the stream."""
    fake.now = NOW + 1000
    for n in range(6):
        fake.add(TXNS, _txn(n, NOW - 100 + n))
    stranded = {"iterator_type": "cdc", "created_at": NOW - 50, "cursor": "txn_0009B",
                "index": 0, "ranges": [{"gte": NOW - 200, "lt": NOW - 50,
                                        "cursor": None, "cursor_created": None}]}
    output = run_read(config(batch_size=4), ["balance_transactions"], mode=INCREMENTAL,
                      state=state_of("balance_transactions", stranded))
    assert not output.errors
    assert {r["id"] for r in record_data(output)} == {f"txn_{n:04d}B" for n in range(6)}


@pytest.mark.parametrize("padding", ["\n", " \t\r\n"])
def test_a_key_pasted_with_whitespace_never_appears_in_a_debug_read(
        tmp_path: Path, padding: str) -> None:
    """The real command line, whose debug log prints every request's headers: the filter of
    secrets must hold the key as it is sent, not as it was pasted."""
    with socket.socket() as closed:  # a port nothing listens on: the request fails at once
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    config_file = tmp_path / "config.json"
    config_file.write_text(json.dumps(config(secret_key=SECRET + padding, max_retries=0,
                                             api_base=f"http://127.0.0.1:{port}")))
    catalog_file = tmp_path / "catalog.json"
    catalog_file.write_text(json.dumps(ConfiguredAirbyteCatalogSerializer.dump(
        catalog("customers"))))
    done = subprocess.run([sys.executable, "-m", "source_stripe_conduit.run", "read", "--debug",
                           "--config", str(config_file), "--catalog", str(catalog_file)],
                          capture_output=True, text=True, timeout=120)
    text = done.stdout + done.stderr
    assert "Making outbound API request" in text  # the headers were logged
    assert SECRET.split("_", 2)[2] not in text


# -- hydration: objects that are gone, or out of reach --------------------------------------------

CUSTOMERS = BY_STREAM["customers"]
ACCOUNTS = BY_STREAM["accounts"]


def _events_page(client: StripeClient, resource: Resource, hydrate: str = "auto") -> Any:
    return read_events_page(client, resource, Position.cdc(NOW - 1000), start="created_at",
                            upper=NOW - 61, batch_size=10, hydrate=hydrate,
                            version="2024-06-20")


def test_a_retrieve_answering_a_deleted_stub_is_a_delete_of_the_events_object(
        client: StripeClient, fake: FakeStripe) -> None:
    customer = {"id": "cus_GoneA", "object": "customer", "created": NOW - 900,
                "email": "a@example.com"}
    event = fake.add_event("customer.updated", customer, NOW - 500)
    event["api_version"] = "2023-10-16"  # another version: hydration retrieves it
    fake.fail(lambda r: r.path == "/v1/customers/cus_GoneA", 200,
              {"id": "cus_GoneA", "object": "customer", "deleted": True})
    page = _events_page(client, CUSTOMERS)
    [record] = page.records
    assert record["is_deleted"] is True and record["_ab_cdc_deleted_at"] is not None
    assert record["email"] == "a@example.com"  # the event's copy, not the stub's nulls


def test_a_retrieve_refused_for_a_revoked_account_keeps_the_events_object_with_a_warning(
        client: StripeClient, fake: FakeStripe) -> None:
    account = {"id": "acct_1GoneA", "object": "account", "created": NOW - 900,
               "email": "b@example.com"}
    event = fake.add_event("account.updated", account, NOW - 500)
    event["api_version"] = "2023-10-16"
    fake.fail(lambda r: r.path == "/v1/accounts/acct_1GoneA", 403, stripe_error(
        403, "The provided key 'sk_test_****Leak' does not have access to account "
             "'acct_1GoneA' (or that account does not exist). Application access may have "
             "been revoked.", code="account_invalid"))
    page = _events_page(client, ACCOUNTS)
    [record] = page.records
    assert record["email"] == "b@example.com" and record["is_deleted"] is False
    assert any("acct_1GoneA" in w and "as the event" in w for w in page.warnings), page.warnings


# -- a cursor that ages out while change capture runs ---------------------------------------------


def test_a_cursor_aging_out_during_a_long_change_capture_ends_in_a_resnapshot(
        fake: FakeStripe) -> None:
    edge = NOW - RETENTION + 2 * 3600  # the backlog starts two hours before it ages out
    customers = [fake.add("/v1/customers", {"id": f"cus_{n}Old", "object": "customer",
                                            "created": edge - 10 * DAY + n}) for n in range(3)]
    for n in range(12):
        fake.add_event("customer.updated", customers[n % 3], edge + n * 60)
    events_pages = 0

    def clock(request: SeenRequest) -> bool:
        # Reading the backlog takes three hours of Stripe's time after its first page.
        nonlocal events_pages
        if request.path == "/v1/events" and request.get("ending_before"):
            events_pages += 1
            if events_pages == 1:
                fake.now += 3 * 3600
        return False

    fake.fail(clock, 500)
    position = {"iterator_type": "cdc", "created_at": edge - 1800, "cursor": None, "index": 0}
    output = run_read(config(batch_size=4), ["customers"], mode=INCREMENTAL,
                      state=state_of("customers", position))
    assert not output.errors
    assert any("30-day" in w and "new snapshot" in w for w in warnings(output)), \
        warnings(output)
    snapshot = [r for r in record_data(output) if r["updated"] > NOW]
    assert {r["id"] for r in snapshot} == {c["id"] for c in customers}


# -- smaller ones ------------------------------------------------------------------------------------


def test_a_failed_first_page_of_a_new_snapshot_saves_no_start_from_the_local_clock(
        fake: FakeStripe) -> None:
    # The fake's Stripe runs in 2024, this machine's clock years later: a start time taken
    # from the local clock would skip every change in between.
    fake.add("/v1/customers", {"id": "cus_1Clock", "object": "customer", "created": NOW - 50})
    fake.fail(lambda r: r.path == "/v1/customers", 500,
              stripe_error(500, "down", type_="api_error"), times=1)
    broken = run_read(config(max_retries=0), ["customers"], mode=INCREMENTAL, failure=True)
    states = stream_states(broken, "customers")
    assert all(s.get("created_at", NOW) <= NOW for s in states), states
    resumed = run_read(config(), ["customers"], mode=INCREMENTAL,
                       state=state_of("customers", states[-1]) if states else None)
    assert [r["id"] for r in record_data(resumed)] == ["cus_1Clock"]
    assert stream_states(resumed, "customers")[-1]["created_at"] <= NOW


def test_a_conduit_snapshot_position_skips_the_records_its_index_says_are_out(
        fake: FakeStripe) -> None:
    for n in range(10):
        fake.add("/v1/customers", {"id": f"cus_{n:02d}Idx", "object": "customer",
                                   "created": NOW - 1000 + n})
    # Conduit emitted cus_09 and cus_08 (a page), then two of the next page before it stopped.
    conduit = {"iterator_type": "snapshot", "created_at": NOW - 100, "cursor": "cus_08Idx",
               "index": 2}
    output = run_read(config(batch_size=4), ["customers"], state=state_of("customers", conduit))
    assert [r["id"] for r in record_data(output)] == [
        "cus_05Idx", "cus_04Idx", "cus_03Idx", "cus_02Idx", "cus_01Idx", "cus_00Idx"]


def test_connects_own_streams_without_the_platform_say_why_they_are_empty(
        fake: FakeStripe) -> None:
    fake.connect("acct_1Solo")
    output = run_read(config(account_ids=["acct_1Solo"], include_platform=False),
                      ["accounts"])
    assert record_data(output) == []
    assert any("Stream 'accounts'" in w and "include_platform" in w
               for w in warnings(output)), warnings(output)


# -- a state belongs to one mode and one account ------------------------------------------------------

LIVE_KEY = "sk_live_51UnitTestLiveKeyThatMustNeverLeak"


def test_a_state_written_in_test_mode_is_refused_with_a_live_key_naming_the_reset(
        fake: FakeStripe) -> None:
    fake.add("/v1/customers", {"id": "cus_1Mode", "object": "customer", "created": NOW - 50})
    first = run_read(config(), ["customers"], mode=INCREMENTAL)
    saved = stream_states(first, "customers")[-1]
    assert saved["livemode"] is False
    output = run_read(config(secret_key=LIVE_KEY), ["customers"], mode=INCREMENTAL,
                      state=state_of("customers", saved), failure=True)
    assert record_data(output) == []
    errors = config_error_traces(output)
    assert any("Stream 'customers'" in e and "test mode" in e and "live" in e and "Reset" in e
               for e in errors), errors


def test_a_state_of_another_account_is_refused_naming_both(fake: FakeStripe) -> None:
    fake.connect("acct_1First").add("/v1/customers", {"id": "cus_1A", "object": "customer",
                                                      "created": NOW - 50})
    fake.connect("acct_2Second")
    first = run_read(config(account_id="acct_1First"), ["customers"], mode=INCREMENTAL)
    saved = stream_states(first, "customers")[-1]
    assert saved["account"] == "acct_1First"
    output = run_read(config(account_id="acct_2Second"), ["customers"], mode=INCREMENTAL,
                      state=state_of("customers", saved), failure=True)
    errors = config_error_traces(output)
    assert any("acct_1First" in e and "acct_2Second" in e and "Reset" in e
               for e in errors), errors


def test_a_state_without_mode_or_account_resumes_and_gains_them(fake: FakeStripe) -> None:
    fake.connect("acct_1Old")
    older = {"iterator_type": "cdc", "created_at": NOW - 3600, "cursor": None, "index": 0}
    output = run_read(config(account_id="acct_1Old"), ["customers"], mode=INCREMENTAL,
                      state=state_of("customers", older))
    assert not config_error_traces(output)
    last = stream_states(output, "customers")[-1]
    assert last["livemode"] is False and last["account"] == "acct_1Old"


def test_a_state_of_another_platform_is_refused_once_the_keys_account_is_known(
        fake: FakeStripe) -> None:
    fake.account_created = NOW - 400 * DAY  # /v1/account answers acct_1Fake
    fake.add("/v1/customers", {"id": "cus_1Plat", "object": "customer", "created": NOW - 50})
    first = run_read(config(), ["customers"], mode=INCREMENTAL)
    saved = stream_states(first, "customers")[-1]
    assert saved["account"] == "acct_1Fake"
    other = {**saved, "account": "acct_9Other"}
    output = run_read(config(), ["customers"], mode=INCREMENTAL,
                      state=state_of("customers", other), failure=True)
    assert any("acct_9Other" in e and "acct_1Fake" in e for e in config_error_traces(output))


# -- connected accounts without a created time ------------------------------------------------------


def _accounts_with_undated(fake: FakeStripe) -> set[str]:
    dated = {fake.add("/v1/accounts", {"id": f"acct_{n:03d}Dated", "object": "account",
                                       "created": NOW - 300 * DAY + n * 3 * DAY})["id"]
             for n in range(60)}
    undated = {fake.add("/v1/accounts", {"id": f"acct_{n}Undated", "object": "account",
                                         "created": None})["id"] for n in range(3)}
    return dated | undated


@pytest.mark.parametrize("settings", [{}, {"start_date": "2023-01-01"}],
                         ids=["split", "start_date"])
def test_accounts_without_a_created_time_are_read_when_the_snapshot_is_bounded(
        fake: FakeStripe, settings: dict[str, Any]) -> None:
    truth = _accounts_with_undated(fake)
    output = run_read(config(batch_size=5, **settings), ["accounts"])
    assert not output.errors
    ids = [r["id"] for r in record_data(output)]
    assert set(ids) == truth
    assert len(ids) == len(truth)
    bounded = [c for c in fake.calls("/v1/accounts") if c.get("limit") != "1"
               and any(k.startswith("created") for k, _ in c.params)]
    assert bounded  # the snapshot was read in created ranges
