"""End to end on Stripe as an ordinary account meets it: products not enabled, restricted keys,
no Connect, HTTPS.

The emulator's ``ordinary`` profile answers Issuing, Identity and (test mode) Sigma with
Stripe's 400 "not set up" texts and refuses Stripe-Account; restricted keys answer 403 naming
the permission. A sync must complete on such an account, and equal the ground truth.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import orjson
from airbyte_cdk.models import AirbyteStreamStatus, FailureType, Status, SyncMode
from airbyte_cdk.test.entrypoint_wrapper import discover
from e2e_helpers import catalog, configured_to_dict, connector_config, records_of, run, truth

from source_stripe_conduit import SourceStripeConduit
from source_stripe_conduit.resources import RESOURCES
from source_stripe_conduit.transport.client import MAX_REQUESTS_IN_FLIGHT
from stripe_emulator import Emulator

ALL_STREAMS = [r.stream for r in RESOURCES]
NOT_ENABLED = {"authorizations", "cardholders", "cards", "issuing_disputes", "transactions",
               "identity_verification_sessions", "scheduled_query_runs",
               # issue 19's
               "issuing_personalization_designs", "identity_verification_reports",
               "treasury_financial_accounts", "climate_orders", "financial_connections_accounts",
               "forwarding_requests"}


def _check(config: dict[str, Any]) -> tuple[Status, str]:
    import logging

    status = SourceStripeConduit().check(logging.getLogger("test"), config)
    return status.status, status.message or ""


def _warnings(output: Any) -> list[str]:
    return [m.log.message for m in output.logs if m.log and m.log.level.value == "WARN"]


def test_every_stream_of_an_ordinary_account_syncs_with_the_unavailable_ones_empty(
        emulator: Emulator) -> None:
    emulator.client.seed({s: 6 for s in ALL_STREAMS if s != "events"}, seed=9)
    config = connector_config(emulator, batch_size=5)
    status, message = _check(config)
    assert status == Status.SUCCEEDED, message
    for stream in NOT_ENABLED:
        assert stream in message
    assert "not set up to use Issuing" in message

    output = run(config, catalog(*ALL_STREAMS))
    assert not output.errors, [e.trace.error.message for e in output.errors if e.trace]
    for stream in ALL_STREAMS:
        assert output.get_stream_statuses(stream)[-1] == AirbyteStreamStatus.COMPLETE, stream
    ids = Counter((s, d["id"]) for s, d in records_of(output))
    assert not [key for key, n in ids.items() if n > 1]
    expected = truth(emulator, ALL_STREAMS)
    for stream in ALL_STREAMS:
        assert {i for (s, i) in ids if s == stream} == set(expected[stream]), stream
    warned = _warnings(output)
    for stream in NOT_ENABLED:
        assert not expected[stream]
        assert sum(f"'{stream}'" in w and "has not enabled" in w for w in warned) == 1, stream
    # No Connect platform: no connected accounts, and so no persons (not an error).
    assert not expected["accounts"] and not expected["persons"]


def test_a_restricted_key_discovers_exactly_what_it_can_read_and_reads_it_whole(
        emulator: Emulator) -> None:
    readable = ["customers", "charges", "invoices", "invoice_line_items", "products"]
    emulator.client.seed({"customers": 8, "charges": 8, "invoices": 6, "products": 5,
                          "coupons": 4, "payment_intents": 4}, seed=5)
    emulator.client.add_key("rk_test_team", ["rak_customer_read", "rak_charge_read",
                                             "rak_invoice_read", "rak_product_read",
                                             "rak_event_read"], wording="new")
    config = connector_config(emulator, secret_key="rk_test_team")
    status, message = _check(config)
    assert status == Status.SUCCEEDED, message
    assert "coupons (coupon_read)" in message and "prices (plan_read)" in message

    found = discover(SourceStripeConduit(), config)
    offered = {s.name for s in found.catalog.catalog.streams}
    # The same permissions read invoice items, a customer's balance transactions and events.
    assert offered == set(readable) | {"invoice_items", "customer_balance_transactions",
                                       "events"}
    lines = [m.log.message for m in found.logs if m.log is not None]
    assert sum("'coupons' is left out" in line for line in lines) == 1

    output = run(config, catalog(*offered))
    assert not output.errors, [e.trace.error.message for e in output.errors if e.trace]
    expected = truth(emulator, sorted(offered))
    got = Counter((s, d["id"]) for s, d in records_of(output))
    for stream in offered:
        assert {i for (s, i) in got if s == stream} == set(expected[stream]), stream


def test_an_account_id_on_an_account_that_is_no_platform_fails_check_with_stripes_text(
        emulator: Emulator) -> None:
    status, message = _check(connector_config(emulator, account_id="acct_1NotMine"))
    assert status == Status.FAILED
    assert "Only Stripe Connect platforms can work with other accounts" in message


def test_a_permission_revoked_between_discover_and_read_fails_that_stream_alone(
        emulator: Emulator) -> None:
    emulator.client.seed({"customers": 5, "charges": 5}, seed=2)
    emulator.client.add_key("rk_test_revoked", ["customers", "charges", "events"])
    config = connector_config(emulator, secret_key="rk_test_revoked")
    found = discover(SourceStripeConduit(), config)
    assert {"customers", "charges"} <= {s.name for s in found.catalog.catalog.streams}
    emulator.client.add_key("rk_test_revoked", ["customers", "events"])  # charges revoked
    output = run(config, catalog("customers", "charges", mode=SyncMode.full_refresh))
    assert output.get_stream_statuses("customers")[-1] == AirbyteStreamStatus.COMPLETE
    assert output.get_stream_statuses("charges")[-1] == AirbyteStreamStatus.INCOMPLETE
    errors = [m.trace.error for m in output.errors if m.trace and m.trace.error
              and m.trace.error.stream_descriptor
              and m.trace.error.stream_descriptor.name == "charges"]
    assert errors and errors[0].failure_type == FailureType.config_error
    assert "rak_charge_read" in errors[0].message
    assert {d["id"] for s, d in records_of(output) if s == "customers"} == \
        set(truth(emulator, ["customers"])["customers"])


def test_over_tls_a_sync_opens_no_more_connections_than_requests_in_flight_and_keeps_nulls(
        tmp_path: Path) -> None:
    streams = ["customers", "charges", "invoices", "products", "prices", "coupons",
               "payment_intents", "subscriptions", "invoice_line_items", "refunds"]
    with Emulator(port=0, tls=True) as emu:
        emu.client.configure(rate_limit=False)
        emu.client.seed({s: 150 for s in streams}, seed=4)
        emu.client.reset_stats()
        config = connector_config(emu, batch_size=20)
        assert config["api_base"].startswith("https://")
        (tmp_path / "config.json").write_text(json.dumps(config))
        (tmp_path / "catalog.json").write_text(json.dumps(configured_to_dict(
            catalog(*streams, mode=SyncMode.full_refresh))))
        done = subprocess.run(
            [sys.executable, "-m", "source_stripe_conduit.run", "read", "--config",
             str(tmp_path / "config.json"), "--catalog", str(tmp_path / "catalog.json")],
            capture_output=True, timeout=300,
            env={**os.environ, "REQUESTS_CA_BUNDLE": str(emu.ca_file)})
        stats = emu.client.stats()
        expected = truth(emu, streams)
    assert done.returncode == 0, done.stderr[-2000:]
    output = done.stdout.decode() + done.stderr.decode()
    assert "Connection pool is full" not in output
    assert 0 < stats["connections"] <= MAX_REQUESTS_IN_FLIGHT, stats["connections"]
    assert stats["tls_handshakes"] == stats["connections"]
    records = [m["record"] for m in map(orjson.loads, done.stdout.splitlines())
               if m.get("type") == "RECORD"]
    assert len(records) == sum(len(v) for v in expected.values())
    # Every field Stripe sent arrives, nulls included.
    for record in records[:200]:
        sent = expected[record["stream"]][record["data"]["id"]]
        assert set(sent) <= set(record["data"]), set(sent) - set(record["data"])
    assert any(v is None for r in records for v in r["data"].values())


def test_discover_on_an_ordinary_account_leaves_out_each_product_not_enabled_with_its_reason(
        emulator: Emulator) -> None:
    import time

    config = connector_config(emulator)
    started = time.monotonic()
    found = discover(SourceStripeConduit(), config)
    took = time.monotonic() - started
    assert found.catalog is not None and found.catalog.catalog is not None
    offered = {s.name for s in found.catalog.catalog.streams}
    assert offered == set(ALL_STREAMS) - NOT_ENABLED - {"persons"} or \
        offered == set(ALL_STREAMS) - NOT_ENABLED
    logged = [m.log.message for m in found.logs if m.log]
    for stream, reason in (
            ("issuing_personalization_designs", "not set up to use Issuing"),
            ("identity_verification_reports", "not set up to use Identity"),
            ("treasury_financial_accounts", "Have you onboarded to Treasury?"),
            ("climate_orders", "not set up to use Climate"),
            ("financial_connections_accounts", "not set up to use Financial Connections"),
            ("forwarding_requests", "not set up to use the Vault and Forward API")):
        lines = [line for line in logged if f"Stream '{stream}' is left out" in line]
        assert len(lines) == 1 and reason in lines[0], (stream, lines)
    # One request per stream, side by side, within the rate budget: a few seconds at most.
    assert took < 5, took
