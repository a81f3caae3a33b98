"""End to end on the emulator (issue 20): children removed from a living parent arrive as
deletes, and balance transactions that settle without an event arrive as available."""

from __future__ import annotations

from typing import Any

from e2e_helpers import apply, catalog, connector_config, last_states, records_of, run

from stripe_emulator import Emulator

Table = dict[str, dict[str, dict[str, Any]]]


def _sync(emu: Emulator, streams: list[str], table: Table, previous: Any = None) -> Any:
    output = run(connector_config(emu, batch_size=20), catalog(*streams),
                 last_states(previous) if previous is not None else None)
    assert not output.errors, [e.trace.error.message for e in output.errors if e.trace]
    apply(table, records_of(output))
    return output


def _truth(emu: Emulator, stream: str) -> set[str]:
    return {o["id"] for o in emu.client.ground_truth(stream)}


def test_items_removed_from_living_subscriptions_leave_the_destination_exactly_as_stripe(
        emulator: Emulator) -> None:
    emulator.client.seed({"subscriptions": 30}, seed=20)
    streams = ["subscriptions", "subscription_items"]
    table: Table = {}
    first = _sync(emulator, streams, table)
    subscriptions = sorted(_truth(emulator, "subscriptions"))
    removed: set[str] = set()
    for n, subscription in enumerate(subscriptions):
        items = [o["id"] for o in emulator.client.ground_truth("subscription_items")
                 if o["subscription"] == subscription]
        if n % 2 == 0 and len(items) > 1:  # half of the changes remove one or two items
            gone = items[:min(2, len(items) - 1)]
            emulator.client.remove_children("subscriptions", subscription, children=gone)
            removed.update(gone)
        else:
            emulator.client.update("subscriptions", subscription, {"metadata": {"n": str(n)}})
    emulator.client.advance_clock(2)
    _sync(emulator, streams, table, first)
    assert removed and not removed & set(table["subscription_items"])
    assert set(table["subscription_items"]) == _truth(emulator, "subscription_items")


def test_balance_transactions_that_settle_arrive_as_available_within_a_few_pages(
        emulator: Emulator) -> None:
    # Ten days of history: the newest charges have not settled yet.
    emulator.client.seed({"balance_transactions": 120}, seed=21, years=10 / 365)
    table: Table = {}
    first = _sync(emulator, ["balance_transactions"], table)
    pending = {i for i, row in table["balance_transactions"].items()
               if row["status"] == "pending"}
    assert pending, "the seed made no pending balance transaction"
    emulator.client.advance_clock(8 * 86400)  # past every available_on
    emulator.client.reset_stats()
    _sync(emulator, ["balance_transactions"], table, first)
    truth = {o["id"]: o for o in emulator.client.ground_truth("balance_transactions")}
    assert all(truth[i]["status"] == "available" for i in pending)
    assert all(table["balance_transactions"][i]["status"] == "available" for i in pending)
    assert {i: r["status"] for i, r in table["balance_transactions"].items()} == {
        i: o["status"] for i, o in truth.items()}
    pages = emulator.client.stats()["by_endpoint"].get("GET /v1/balance_transactions", 0)
    assert pages <= len(truth) // 20 + 3, pages  # the window re-read: a few pages at most
