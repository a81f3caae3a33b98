"""End to end on the emulator: the child streams (invoice lines, subscription items, customer
balance transactions, persons) read whole, then kept current by change capture.

Each test compares what a deduping destination would hold after the syncs with the emulator's
ground truth. The last tests pin what change capture cannot see (README, "Worth knowing").
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from typing import Any

import pytest
from airbyte_cdk.models import SyncMode
from e2e_helpers import apply, catalog, connector_config, last_states, records_of, run, strip
from test_sync_e2e import _assert_converged

from stripe_emulator import Emulator

CHILDREN = ["invoice_line_items", "subscription_items", "customer_balance_transactions",
            "persons"]
PARENTS = ["invoices", "subscriptions", "customers", "accounts"]
# Random changes whose every effect on a child stream is announced by an event the stream reads:
# not customers (a deleted customer's balance transactions cannot be seen to go), not
# subscription items (a removed item cannot be seen to go), not customer balance transactions
# (the emulator announces none of their changes, see the convergence test).
RANDOM = ["invoices", "invoice_line_items", "subscriptions", "accounts", "persons"]

Table = dict[str, dict[str, dict[str, Any]]]


@pytest.fixture(autouse=True)
def _platform(emulator: Emulator) -> None:
    # Persons are the persons of connected accounts: only a Connect platform has them.
    emulator.client.configure(profile="full")


def _sync(emu: Emulator, streams: list[str], table: Table, previous: Any = None,
          **overrides: Any) -> Any:
    output = run(connector_config(emu, **overrides), catalog(*streams),
                 last_states(previous) if previous is not None else None)
    assert not output.errors, [e.trace.error.message for e in output.errors if e.trace]
    apply(table, records_of(output))
    return output


def _ids(emu: Emulator, stream: str) -> list[str]:
    return [o["id"] for o in emu.client.ground_truth(stream)]


def test_full_read_of_each_child_stream_equals_the_emulator(emulator: Emulator) -> None:
    emulator.client.seed({**{p: 15 for p in PARENTS}, **{c: 40 for c in CHILDREN}}, seed=21)
    output = run(connector_config(emulator, batch_size=4),
                 catalog(*CHILDREN, mode=SyncMode.full_refresh))
    assert not output.errors
    got: Table = {}
    for stream, data in records_of(output):
        assert data["id"] not in got.setdefault(stream, {}), (stream, data["id"])
        got[stream][data["id"]] = strip(data)
    for stream in CHILDREN:
        want = {o["id"]: strip(o) for o in emulator.client.ground_truth(stream)}
        assert want, f"{stream}: the emulator seeded nothing"
        assert got[stream] == want, stream


@pytest.mark.parametrize("seed", [1, 2])
def test_incremental_sync_converges_while_parents_and_children_change(emulator: Emulator,
                                                                      seed: int) -> None:
    streams = PARENTS + CHILDREN
    emulator.client.seed({**{p: 30 for p in PARENTS}, **{c: 40 for c in CHILDREN}}, seed=seed)
    stop = threading.Event()

    def change() -> None:
        rounds = 0
        while not stop.is_set() and rounds < 100:
            emulator.client.mutate_random(5, seed=seed * 1000 + rounds, streams=RANDOM)
            rounds += 1
            time.sleep(0.01)

    # Changes during the first sync's snapshot reach the table through its change capture.
    table: Table = {}
    mutator = threading.Thread(target=change)
    mutator.start()
    try:
        first = _sync(emulator, streams, table, batch_size=7)
    finally:
        stop.set()
        mutator.join()

    # Then changes of every kind a child stream can see, made explicitly.
    client = emulator.client
    draft = client.create("invoices", {"status": "draft"})["ops"][0]["id"]
    line = _ids(emulator, "invoice_line_items")[0]
    client.update("invoice_line_items", line, {"metadata": {"seen": "yes"}})      # invoice.updated
    client.create("invoice_line_items", {"invoice": draft})                      # invoice.updated
    item = _ids(emulator, "subscription_items")[0]
    client.update("subscription_items", item, {"quantity": 9})   # customer.subscription.updated
    client.create("subscription_items",
                  {"subscription": _ids(emulator, "subscriptions")[0]})
    client.delete("invoices", draft)                  # invoice.deleted: its lines are deleted
    customer = client.ground_truth("customer_balance_transactions")[0]["customer"]
    # A new balance transaction moves the customer's balance: customer.updated announces it.
    created = client.create("customer_balance_transactions", {"customer": customer})
    assert [e["type"] for e in created["events"]] == ["customer.updated"]
    person = _ids(emulator, "persons")[0]
    client.update("persons", person, {"first_name": "Changed"})
    client.delete("persons", _ids(emulator, "persons")[1])

    time.sleep(1.1)
    second = _sync(emulator, streams, table, first, batch_size=7)
    assert any(stream in CHILDREN for stream, _ in records_of(second))
    _assert_converged(table, emulator, streams)
    assert draft not in table["invoices"]
    assert not [r for r in table["invoice_line_items"].values() if r.get("invoice") == draft]


def test_each_parent_gives_its_lines_once_per_page_of_events_listing_only_the_long_ones(
        emulator: Emulator) -> None:
    emulator.client.configure(many_children_share=0.0)
    emulator.client.seed({"invoices": 5}, seed=5)
    emulator.client.configure(many_children_share=1.0)
    emulator.client.seed({"invoices": 1}, seed=6)  # more lines than an invoice embeds
    table: Table = {}
    first = _sync(emulator, ["invoice_line_items"], table)
    lines_per_invoice = Counter(o["invoice"]
                                for o in emulator.client.ground_truth("invoice_line_items"))
    short = next(i for i, n in lines_per_invoice.items() if n <= 10)
    long = next(i for i, n in lines_per_invoice.items() if n > 10)
    for n in range(6):
        emulator.client.update("invoices", short, {"metadata": {"n": str(n)}})
        emulator.client.update("invoices", long, {"metadata": {"n": str(n)}})
    emulator.client.reset_stats()
    time.sleep(1.1)
    second = _sync(emulator, ["invoice_line_items"], table, first, batch_size=100)
    lines = [d for s, d in records_of(second) if s == "invoice_line_items"]
    assert {d["invoice"] for d in lines} == {short, long}
    assert len(lines) == len({d["id"] for d in lines}) == lines_per_invoice[short] + \
        lines_per_invoice[long]  # each parent once, at its last event
    # The short invoice's events embed all its lines: only the long one is listed.
    by_endpoint = emulator.client.stats()["by_endpoint"]
    assert by_endpoint.get("GET /v1/invoices/{invoice}/lines") == 1, by_endpoint
    _assert_converged(table, emulator, ["invoice_line_items"])


# -- what cannot be seen ----------------------------------------------------------------------------


def test_an_item_removed_from_a_subscription_that_still_exists_arrives_as_a_delete(
        emulator: Emulator) -> None:
    emulator.client.seed({"subscriptions": 5}, seed=6)
    table: Table = {}
    first = _sync(emulator, ["subscription_items"], table)
    item = _ids(emulator, "subscription_items")[0]
    emulator.client.delete("subscription_items", item)  # customer.subscription.updated
    time.sleep(1.1)
    _sync(emulator, ["subscription_items"], table, first)
    # The event's previous_attributes.items names the item; it is no longer among the items.
    assert item not in table["subscription_items"]
    assert set(table["subscription_items"]) == set(_ids(emulator, "subscription_items"))


def test_balance_transactions_of_a_deleted_customer_stay(emulator: Emulator) -> None:
    emulator.client.seed({"customers": 4, "customer_balance_transactions": 8}, seed=7)
    table: Table = {}
    first = _sync(emulator, ["customer_balance_transactions"], table)
    customer = emulator.client.ground_truth("customer_balance_transactions")[0]["customer"]
    theirs = {o["id"] for o in emulator.client.ground_truth("customer_balance_transactions")
              if o["customer"] == customer}
    emulator.client.delete("customers", customer)
    time.sleep(1.1)
    _sync(emulator, ["customer_balance_transactions"], table, first)
    # customer.deleted embeds none of them: a full refresh drops them.
    assert set(table["customer_balance_transactions"]) - set(
        _ids(emulator, "customer_balance_transactions")) == theirs
