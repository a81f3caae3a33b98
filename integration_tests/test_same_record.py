"""A row is the same whether the snapshot or an event produced it."""

from __future__ import annotations

import time
from typing import Any

import pytest
from airbyte_cdk.models import SyncMode
from e2e_helpers import catalog, connector_config, last_states, records_of, run, strip

from source_stripe_conduit.resources import RESOURCES
from stripe_emulator import Emulator

# Every stream whose objects change with events, and that the emulator can change at random.
EVENT_STREAMS = [r.stream for r in RESOURCES if r.events and r.stream not in (
    "payment_methods", "report_types")]


def _latest_changes(emu: Emulator, config: dict[str, Any]) -> dict[tuple[str, str], Any]:
    first = run(config, catalog(*EVENT_STREAMS))
    assert not first.errors
    emu.client.mutate_random(400, seed=11, streams=EVENT_STREAMS)
    time.sleep(1.1)
    second = run(config, catalog(*EVENT_STREAMS), last_states(first))
    assert not second.errors
    latest: dict[tuple[str, str], Any] = {}
    for stream, data in records_of(second):
        latest[(stream, data["id"])] = data
    return {key: data for key, data in latest.items() if not data.get("_ab_cdc_deleted_at")}


def _snapshot(config: dict[str, Any]) -> dict[tuple[str, str], Any]:
    output = run(config, catalog(*EVENT_STREAMS, mode=SyncMode.full_refresh))
    assert not output.errors
    return {(stream, data["id"]): data for stream, data in records_of(output)}


@pytest.mark.parametrize("hydrate, account_version, stripe_version, fetched", [
    # Events rendered in the version read: taken as they are.
    ("never", "2024-06-20", "account", False),
    # Read in the account's own version, which its events carry: no request per change.
    ("auto", "2023-10-16", "account", False),
    # A version pinned other than the account's: auto fetches the objects again.
    ("auto", "2023-10-16", "2024-06-20", True),
])
def test_change_records_equal_snapshot_records_of_the_same_state(
        emulator: Emulator, hydrate: str, account_version: str, stripe_version: str,
        fetched: bool) -> None:
    emulator.client.seed({s: 15 for s in EVENT_STREAMS}, seed=10)
    emulator.client.configure(api_version=account_version)
    config = connector_config(emulator, hydrate=hydrate, batch_size=20,
                              stripe_version=stripe_version)
    emulator.client.reset_stats()
    changes = _latest_changes(emulator, config)
    # A retrieve ends in the object's id; child lists (/v1/invoices/{invoice}/lines) do not.
    retrieves = sum(n for endpoint, n in emulator.client.stats()["by_endpoint"].items()
                    if endpoint.endswith("}") and "events" not in endpoint)
    snapshot = _snapshot(config)
    covered = {stream for stream, _ in changes}
    assert len(covered) >= len(EVENT_STREAMS) // 2, sorted(set(EVENT_STREAMS) - covered)
    for key, change in changes.items():
        assert key in snapshot, key
        assert strip(change) == strip(snapshot[key]), (key, {
            k for k in strip(change).keys() | strip(snapshot[key]).keys()
            if strip(change).get(k) != strip(snapshot[key]).get(k)})
    assert (retrieves > 0) == fetched, retrieves
