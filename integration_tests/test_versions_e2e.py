"""End to end over Stripe API versions (issue 18): the connector reads in the account's own
version, an account upgraded between two syncs converges, and a pinned version reads as before.

Objects whose shape differs between 2024-06-20, basil and clover (invoices and their lines,
subscriptions and their items, invoice items, charges, payment intents, customers with a
discount, promotion codes, prices and plans) are seeded, changed and read; every record is
checked against its stream's JSON schema, change records against a full-refresh snapshot of the
same state, and the emulator's request counts against what the version allows.
"""

from __future__ import annotations

import functools
from typing import Any

import jsonschema
import pytest
from airbyte_cdk.models import AirbyteStateMessage, ConfiguredAirbyteCatalog, SyncMode
from airbyte_cdk.test.entrypoint_wrapper import EntrypointOutput
from e2e_helpers import apply, catalog, connector_config, last_states, records_of, run, strip

from source_stripe_conduit.source import schema_of
from stripe_emulator import Emulator, EmulatorClient

PLATFORM = "acct_1EmulatorPlatfrm"
CANONICAL = "2024-06-20"
BASIL = "2025-03-31.basil"
CLOVER = "2025-09-30.clover"
ENDIVE = "2026-09-30.endive"  # the newest release the emulator knows (rendered as clover)
VERSIONS = [CANONICAL, BASIL, CLOVER, ENDIVE]
UPGRADE_LOG = f"The account's API version is now {BASIL}"

# Streams whose objects basil or clover render differently, and a few that no release changes.
SHAPED = ["invoices", "invoice_line_items", "subscriptions", "subscription_items",
          "invoice_items", "charges", "payment_intents", "customers", "promotion_codes",
          "prices", "plans"]
STREAMS = [*SHAPED, "products", "coupons", "refunds", "tax_rates"]

Records = list[tuple[str, dict[str, Any]]]


@functools.cache
def _validator(stream: str) -> jsonschema.protocols.Validator:
    schema = schema_of(stream)
    validator_class = jsonschema.validators.validator_for(schema, jsonschema.Draft7Validator)
    validator_class.check_schema(schema)
    return validator_class(schema)


def _assert_valid(records: Records) -> None:
    for stream, data in records:
        error = jsonschema.exceptions.best_match(_validator(stream).iter_errors(data))
        assert error is None, (stream, data["id"], list(error.absolute_path), error.message)


def _sync(config: dict[str, Any], configured: ConfiguredAirbyteCatalog,
          state: list[AirbyteStateMessage] | None = None) -> EntrypointOutput:
    output = run(config, configured, state)
    assert not output.errors, [e.trace.error.message for e in output.errors
                               if e.trace and e.trace.error]
    return output


def _snapshot(config: dict[str, Any]) -> tuple[Records, dict[tuple[str, str], dict[str, Any]]]:
    records = records_of(_sync(config, catalog(*STREAMS, mode=SyncMode.full_refresh)))
    return records, {(stream, data["id"]): data for stream, data in records}


def _latest(records: Records) -> dict[tuple[str, str], dict[str, Any]]:
    """Each object's last record of a sync (records of one object come in event order)."""
    latest: dict[tuple[str, str], dict[str, Any]] = {}
    for stream, data in records:
        latest[(stream, data["id"])] = data
    return latest


def _differences(got: dict[str, Any], want: dict[str, Any]) -> dict[str, tuple[Any, Any]]:
    return {k: (got.get(k), want.get(k)) for k in sorted(got.keys() | want.keys())
            if got.get(k) != want.get(k)}


def _retrieves(emu: Emulator) -> dict[str, int]:
    """Retrieves of one object since the stats were reset, by endpoint (``GET /v1/x/{x}``).
    Child lists (``/v1/invoices/{invoice}/lines``) and events are not retrieves of a change."""
    return {endpoint: n for endpoint, n in emu.client.stats()["by_endpoint"].items()
            if endpoint.endswith("}") and not endpoint.startswith("GET /v1/events")}


def _upgrade_logs(output: EntrypointOutput) -> list[str]:
    return [m.log.message for m in output.logs if m.log and UPGRADE_LOG in m.log.message]


def _assert_same_as_snapshot(changes: dict[tuple[str, str], dict[str, Any]],
                             snapshot: dict[tuple[str, str], dict[str, Any]]) -> None:
    for key, change in changes.items():
        if change.get("_ab_cdc_deleted_at"):
            assert key not in snapshot, key
            continue
        assert key in snapshot, key
        assert strip(change) == strip(snapshot[key]), (
            key, _differences(strip(change), strip(snapshot[key])))


# -- targeted changes: every field a release moves gets a value --------------------------------

def _give_discount(client: EmulatorClient, customer: str) -> None:
    coupon = client.ground_truth("coupons", version=CANONICAL)[0]
    client.update("customers", customer, {"discount": {
        "id": f"di_{customer[4:]}", "object": "discount", "coupon": coupon,
        "customer": customer, "start": 1700000000, "end": None, "subscription": None}})


def _subscription_invoice(client: EmulatorClient, subscription: dict[str, Any]) -> str:
    """A paid invoice of ``subscription`` (basil's ``parent``), and an invoice item of one of
    its items (basil's ``parent`` of an invoice item)."""
    made = client.create("invoices", {
        "customer": subscription["customer"], "subscription": subscription["id"],
        "subscription_details": {"metadata": {"plan": "pro"}}, "status": "open", "paid": False})
    invoice: str = made["ops"][0]["id"]
    client.update("invoices", invoice, {"status": "paid"})
    client.create("invoice_items", {
        "customer": subscription["customer"], "subscription": subscription["id"],
        "subscription_item": subscription["items"]["data"][0]["id"]})
    return invoice


def _move_period(client: EmulatorClient, subscription: dict[str, Any]) -> None:
    client.update("subscriptions", subscription["id"],
                  {"current_period_end": subscription["current_period_end"] + 86400})


def _next_seconds(client: EmulatorClient) -> None:
    """The emulator's clock moved on: the changes made so far are in seconds a sync that
    starts now reads whole (a sync replays the events of the second it starts in)."""
    client.advance_clock(2)


def _seed(client: EmulatorClient, seed: int) -> None:
    client.seed({stream: 10 for stream in STREAMS}, seed=seed)


def _assert_shape(records: Records, version: str) -> None:
    """The fields that tell the version a record was rendered in, where the record has them
    (top-level nulls are left out by the CDK's serializer, so only fields with values tell)."""
    basil = version[:10] >= BASIL[:10]
    clover = version[:10] >= CLOVER[:10]
    for stream, data in records:
        if data.get("_ab_cdc_deleted_at"):
            continue
        if stream == "invoices":
            assert ("total_taxes" in data) is basil and ("total_tax_amounts" in data) is not basil
            assert "paid" not in data if basil else "parent" not in data, data["id"]
        elif stream == "invoice_line_items" or stream == "invoice_items":
            assert ("pricing" in data) is basil and ("price" in data) is not basil, data["id"]
        elif stream == "subscriptions":
            assert ("current_period_end" in data) is not basil, data["id"]
            assert all(("current_period_end" in item) is basil
                       for item in data["items"]["data"]), data["id"]
        elif stream == "subscription_items":
            assert ("current_period_end" in data) is basil, data["id"]
        elif stream == "promotion_codes":
            assert ("promotion" in data) is clover and ("coupon" in data) is not clover
        elif stream == "customers" and data.get("discount"):
            assert ("source" in data["discount"]) is clover, data["id"]
            assert ("coupon" in data["discount"]) is not clover, data["id"]


# -- 1. each version, read in the account's own ---------------------------------------------------

@pytest.mark.parametrize("version", VERSIONS)
def test_change_records_in_the_accounts_version_equal_the_snapshot_validate_and_need_no_retrieve(
        emulator: Emulator, version: str) -> None:
    client = emulator.client
    client.set_api_version(PLATFORM, version)
    _seed(client, seed=21)
    customers = [c["id"] for c in client.ground_truth("customers")]
    subscriptions = client.ground_truth("subscriptions", version=CANONICAL)
    _give_discount(client, customers[0])
    billed = _subscription_invoice(client, subscriptions[0])
    config = connector_config(emulator, batch_size=50)

    first_output = _sync(config, catalog(*STREAMS))
    first = records_of(first_output)
    _assert_valid(first)
    _assert_shape(first, version)
    billed_record = _latest(first)[("invoices", billed)]
    if version == CANONICAL:
        assert billed_record["subscription"] == subscriptions[0]["id"]
    else:
        assert billed_record["parent"]["subscription_details"]["subscription"] == \
            subscriptions[0]["id"]

    _give_discount(client, customers[1])
    _move_period(client, subscriptions[1])
    _subscription_invoice(client, subscriptions[2])
    promotion_code = client.ground_truth("promotion_codes")[0]["id"]
    client.update("promotion_codes", promotion_code, {"metadata": {"changed": "yes"}})
    # Random changes after the targeted ones, which they may change again or delete.
    client.mutate_random(120, seed=22, streams=STREAMS)
    _next_seconds(client)
    client.reset_stats()
    output = _sync(config, catalog(*STREAMS), last_states(first_output))
    stats = client.stats()
    second = records_of(output)
    _assert_valid(second)
    _assert_shape(second, version)
    # Every event was rendered in the version read: the change is the record, no retrieve.
    assert _retrieves(emulator) == {}
    assert set(stats["by_version"]) == {version}, stats["by_version"]
    assert not _upgrade_logs(output)

    snapshot_records, snapshot = _snapshot(config)
    _assert_valid(snapshot_records)
    changes = _latest(second)
    assert {stream for stream, _ in changes} >= set(SHAPED), \
        sorted(set(SHAPED) - {stream for stream, _ in changes})
    assert {("customers", customers[1]), ("promotion_codes", promotion_code),
            ("subscriptions", subscriptions[1]["id"])} <= changes.keys()
    _assert_same_as_snapshot(changes, snapshot)


# -- 2. an account upgraded between two syncs -----------------------------------------------------

def test_an_account_upgraded_between_syncs_converges_in_the_new_version_and_fetches_only_older_changes(
        emulator: Emulator) -> None:
    client = emulator.client
    client.set_api_version(PLATFORM, CANONICAL)
    _seed(client, seed=31)
    customers = [c["id"] for c in client.ground_truth("customers")]
    subscriptions = client.ground_truth("subscriptions", version=CANONICAL)
    invoices = [i["id"] for i in client.ground_truth("invoices") if i["status"] != "draft"]
    charges = [c["id"] for c in client.ground_truth("charges")]
    _next_seconds(client)
    config = connector_config(emulator, batch_size=100)
    first = _sync(config, catalog(*STREAMS))
    assert not _upgrade_logs(first)
    _assert_valid(records_of(first))
    table: dict[str, dict[str, dict[str, Any]]] = {}
    apply(table, records_of(first))

    # Made in 2024-06-20, read after the upgrade: fetched again, each object once.
    client.update("customers", customers[1], {"metadata": {"before": "upgrade"}})
    client.update("customers", customers[2], {"metadata": {"before": "upgrade"}})
    client.update("invoices", invoices[0], {"metadata": {"before": "upgrade"}})
    client.update("charges", charges[0], {"metadata": {"before": "upgrade"}})
    _move_period(client, subscriptions[0])
    # A customer with no subscription: deleting one cancels its subscriptions, more changes.
    deleted = next(c for c in customers[6:] if c not in {s["customer"] for s in subscriptions})
    client.delete("customers", deleted)  # a delete keeps the event's copy: nothing to fetch
    assert client.set_api_version(PLATFORM, BASIL) == BASIL
    # Made in basil: taken as they are, also for an object changed before the upgrade too.
    client.update("customers", customers[2], {"metadata": {"after": "upgrade"}})
    client.update("customers", customers[4], {"metadata": {"after": "upgrade"}})
    client.update("invoices", invoices[1], {"metadata": {"after": "upgrade"}})
    client.update("charges", charges[1], {"metadata": {"after": "upgrade"}})
    _move_period(client, subscriptions[1])
    _give_discount(client, customers[5])
    promotion_code = client.ground_truth("promotion_codes")[0]["id"]
    client.update("promotion_codes", promotion_code, {"metadata": {"after": "upgrade"}})
    client.mutate_random(30, seed=32, streams=["products", "prices", "payment_intents",
                                               "invoice_items", "coupons"])
    _next_seconds(client)
    client.reset_stats()
    output = _sync(config, catalog(*STREAMS), last_states(first))
    assert len(_upgrade_logs(output)) == 1, _upgrade_logs(output)
    assert _retrieves(emulator) == {
        "GET /v1/customers/{customer}": 2, "GET /v1/invoices/{invoice}": 1,
        "GET /v1/charges/{charge}": 1, "GET /v1/subscriptions/{subscription_exposed_id}": 1}
    second = records_of(output)
    _assert_valid(second)
    _assert_shape(second, BASIL)
    apply(table, second)

    truth = {stream: {o["id"]: o for o in client.ground_truth(stream, version=BASIL)}
             for stream in STREAMS}
    changed = {(stream, data["id"]) for stream, data in second}
    assert {("customers", c) for c in [*customers[1:3], *customers[4:6], deleted]} | {
        ("invoices", invoices[0]), ("invoices", invoices[1]), ("charges", charges[0]),
        ("charges", charges[1]), ("subscriptions", subscriptions[0]["id"]),
        ("subscriptions", subscriptions[1]["id"]), ("promotion_codes", promotion_code),
    } <= changed
    # Children of parents changed before the upgrade, listed again in basil.
    lines = [line["id"] for line in client.ground_truth("invoice_line_items")
             if line["invoice"] == invoices[0]]
    items = [item["id"] for item in subscriptions[0]["items"]["data"]]
    assert {("invoice_line_items", i) for i in lines} | {
        ("subscription_items", i) for i in items} <= changed
    assert deleted not in table["customers"] and deleted not in truth["customers"]
    for stream, object_id in sorted(changed):
        want = truth[stream].get(object_id)
        got = table.get(stream, {}).get(object_id)
        if want is None:
            assert got is None, (stream, object_id)
        else:
            assert got == strip(want), (stream, object_id, _differences(got or {}, strip(want)))
    # A row not changed since the first sync stays as read then, in 2024-06-20.
    assert ("subscriptions", subscriptions[2]["id"]) not in changed
    assert "current_period_end" in table["subscriptions"][subscriptions[2]["id"]]

    # The state now records basil: the next sync says nothing and fetches nothing.
    client.reset_stats()
    third = _sync(config, catalog(*STREAMS), last_states(output))
    assert not _upgrade_logs(third) and _retrieves(emulator) == {}


# -- 3. a pinned version on a basil account -------------------------------------------------------

def test_a_version_pinned_on_a_basil_account_reads_in_it_and_fetches_every_change_again(
        emulator: Emulator) -> None:
    client = emulator.client
    client.set_api_version(PLATFORM, BASIL)
    _seed(client, seed=41)
    customers = [c["id"] for c in client.ground_truth("customers")]
    subscriptions = client.ground_truth("subscriptions", version=CANONICAL)
    billed = _subscription_invoice(client, subscriptions[0])
    _next_seconds(client)
    config = connector_config(emulator, stripe_version=CANONICAL, batch_size=100)
    client.reset_stats()
    first_output = _sync(config, catalog(*STREAMS))
    assert set(client.stats()["by_version"]) == {CANONICAL}
    first = records_of(first_output)
    _assert_valid(first)
    _assert_shape(first, CANONICAL)
    invoice = _latest(first)[("invoices", billed)]
    assert invoice["subscription"] == subscriptions[0]["id"] and "parent" not in invoice

    # Every event is rendered in basil: each changed object is fetched again, once.
    invoices = [i["id"] for i in client.ground_truth("invoices") if i["status"] != "draft"]
    client.update("customers", customers[0], {"metadata": {"pinned": "1"}})
    client.update("customers", customers[1], {"metadata": {"pinned": "1"}})
    client.update("customers", customers[1], {"metadata": {"pinned": "2"}})
    _give_discount(client, customers[2])
    client.update("invoices", invoices[0], {"metadata": {"pinned": "1"}})
    _move_period(client, subscriptions[1])
    promotion_code = client.ground_truth("promotion_codes")[0]["id"]
    client.update("promotion_codes", promotion_code, {"metadata": {"pinned": "1"}})
    _next_seconds(client)
    client.reset_stats()
    output = _sync(config, catalog(*STREAMS), last_states(first_output))
    assert set(client.stats()["by_version"]) == {CANONICAL}
    assert _retrieves(emulator) == {
        "GET /v1/customers/{customer}": 3, "GET /v1/invoices/{invoice}": 1,
        "GET /v1/subscriptions/{subscription_exposed_id}": 1,
        "GET /v1/promotion_codes/{promotion_code}": 1}
    assert not _upgrade_logs(output)
    second = records_of(output)
    _assert_valid(second)
    _assert_shape(second, CANONICAL)

    snapshot_records, snapshot = _snapshot(config)
    _assert_valid(snapshot_records)
    _assert_shape(snapshot_records, CANONICAL)
    changes = _latest(second)
    assert {("customers", customers[0]), ("customers", customers[1]),
            ("customers", customers[2]), ("invoices", invoices[0]),
            ("subscriptions", subscriptions[1]["id"]), ("promotion_codes", promotion_code)
            } <= changes.keys()
    _assert_same_as_snapshot(changes, snapshot)
    truth = {stream: {o["id"]: o for o in client.ground_truth(stream, version=CANONICAL)}
             for stream in STREAMS}
    for (stream, object_id), change in changes.items():
        assert strip(change) == strip(truth[stream][object_id]), (stream, object_id)
