"""End to end on a Connect platform of the emulator: tens of connected accounts in one
connection, changing while they are read, killed and resumed, added, removed and revoked between
syncs, and a state of a single-account connection taken over."""

from __future__ import annotations

import random
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from airbyte_cdk.models import SyncMode
from e2e_helpers import catalog, connector_config, last_states, records_of, run, strip
from test_sync_e2e import _crash_and_resume, _state_dict

from source_stripe_conduit.iterator.accounts_state import PLATFORM
from stripe_emulator import Emulator

STREAMS = ["customers", "products", "invoices"]
ISSUING = "cardholders"  # set up on some accounts only
Table = dict[str, dict[tuple[str | None, str], dict[str, Any]]]


@pytest.fixture
def platform(emulator: Emulator) -> list[str]:
    """A platform with data of its own and 24 connected accounts of theirs: 18 ordinary ones
    (no Issuing), 6 with every product."""
    emulator.client.configure(profile="full")
    counts = {"customers": 15, "products": 4, "invoices": 3, ISSUING: 3}
    emulator.client.seed({"customers": 20, "products": 8, "invoices": 6, ISSUING: 4}, seed=1)
    ids = emulator.client.create_accounts(18, counts=counts, seed=2, profile="ordinary")
    ids += emulator.client.create_accounts(6, counts=counts, seed=3, profile="full")
    return list(ids)


def _apply(table: Table, records: list[tuple[str, dict[str, Any]]]) -> None:
    """A deduping destination keyed by [account_id, id]."""
    for stream, data in records:
        rows = table.setdefault(stream, {})
        key = (data.get("account_id"), data["id"])
        if data.get("_ab_cdc_deleted_at"):
            rows.pop(key, None)
        else:
            rows[key] = strip(data)


def _truth(emu: Emulator, accounts: list[str | None], streams: list[str]) -> Table:
    table: Table = {}
    for stream in streams:
        rows = table.setdefault(stream, {})
        for account in accounts:
            for obj in emu.client.ground_truth(stream, account=account):
                rows[(account, obj["id"])] = strip(obj)
    return table


def _assert_converged(table: Table, emu: Emulator, accounts: list[str | None],
                      streams: list[str]) -> None:
    expected = _truth(emu, accounts, streams)
    for stream in streams:
        got = table.get(stream, {})
        assert set(got) == set(expected[stream]), stream
        assert got == expected[stream], stream


def _errors(output: Any) -> list[str]:
    return [e.trace.error.message for e in output.errors if e.trace and e.trace.error]


def test_tens_of_accounts_converge_while_they_change(emulator: Emulator,
                                                     platform: list[str]) -> None:
    stop = threading.Event()

    def change() -> None:
        rounds = 0
        while not stop.is_set() and rounds < 60:
            account = platform[rounds % len(platform)]
            emulator.client.mutate_random(4, seed=rounds, streams=STREAMS, account=account)
            rounds += 1
            time.sleep(0.01)

    mutator = threading.Thread(target=change)
    mutator.start()
    config = connector_config(emulator, account_ids=platform, batch_size=5)
    table: Table = {}
    streams = [*STREAMS, ISSUING]
    try:
        first = run(config, catalog(*streams))
    finally:
        stop.set()
        mutator.join()
    assert not _errors(first)
    _apply(table, records_of(first))
    time.sleep(1.1)
    second = run(config, catalog(*streams), last_states(first))
    assert not _errors(second)
    _apply(table, records_of(second))
    _assert_converged(table, emulator, [None, *platform], streams)
    assert {k[0] for k in table[ISSUING]} == {None, *platform[18:]}
    state = second.state_messages[-1].state.stream.stream_state.__dict__  # type: ignore[union-attr]
    assert set(state["accounts"]) == {PLATFORM, *platform}


def test_killed_sync_of_many_accounts_resumes_and_converges(
        emulator: Emulator, platform: list[str], tmp_path: Path) -> None:
    config = connector_config(emulator, account_ids=platform[:10], batch_size=5)
    first = run(config, catalog(*STREAMS))
    table: Table = {}
    _apply(table, records_of(first))
    for n, account in enumerate(platform[:10]):
        emulator.client.mutate_random(15, seed=n, streams=STREAMS, account=account)
    emulator.client.mutate_random(15, seed=99, streams=STREAMS)
    time.sleep(1.1)
    state = [_state_dict(s) for s in last_states(first)]
    records, _, _ = _crash_and_resume(emulator, tmp_path, STREAMS, SyncMode.incremental,
                                      random.Random(3), state, config)
    _apply(table, records)
    _assert_converged(table, emulator, [None, *platform[:10]], STREAMS)


def test_accounts_added_removed_and_revoked_between_syncs(emulator: Emulator,
                                                          platform: list[str]) -> None:
    config = connector_config(emulator, connected_accounts="all", batch_size=10)
    first = run(config, catalog(*STREAMS))
    assert not _errors(first)
    table: Table = {}
    _apply(table, records_of(first))
    removed, revoked = platform[0], platform[1]
    emulator.client.remove_account(removed)
    emulator.client.revoke_account(revoked)
    (added,) = emulator.client.create_accounts(1, counts={"customers": 7}, seed=9)
    time.sleep(1.1)
    second = run(config, catalog(*STREAMS), last_states(first))
    # Listed on every sync: the new account snapshots, the other two are no longer listed.
    assert not _errors(second)
    read = {d.get("account_id") for _, d in records_of(second)}
    assert added in read and not {removed, revoked} & read
    # Named explicitly, a revoked account fails alone and keeps its position.
    named = connector_config(emulator, account_ids=platform[1:6], batch_size=10)
    third = run(named, catalog("customers"), last_states(first))
    (error,) = [e for e in _errors(third) if e.startswith("Stream 'customers'")]
    assert "1 of 6 accounts could not be read" in error and revoked in error
    assert "Application access may have been revoked" in error
    kept = third.state_messages[-1].state.stream.stream_state.__dict__  # type: ignore[union-attr]
    before = first.state_messages[-1].state.stream.stream_state.__dict__  # type: ignore[union-attr]
    assert kept["accounts"][revoked] == before["accounts"][revoked]
    # Restored, it goes on from that position and converges.
    emulator.client.restore_account(revoked)
    emulator.client.mutate_random(10, seed=4, streams=["customers"], account=revoked)
    time.sleep(1.1)
    fourth = run(named, catalog("customers"), last_states(third))
    assert not _errors(fourth)
    for output in (second, third, fourth):
        _apply(table, [(s, d) for s, d in records_of(output) if s == "customers"])
    accounts = [None, *platform[1:6]]
    customers = {"customers": {k: v for k, v in table["customers"].items() if k[0] in accounts}}
    _assert_converged(customers, emulator, accounts, ["customers"])


def test_a_single_account_connection_becomes_a_platform_connection(
        emulator: Emulator, platform: list[str]) -> None:
    mine = platform[0]
    single = connector_config(emulator, account_id=mine, batch_size=10)
    first = run(single, catalog("customers"))
    assert "accounts" not in first.state_messages[-1].state.stream.stream_state.__dict__  # type: ignore[union-attr]
    emulator.client.mutate_random(6, seed=5, streams=["customers"], account=mine)
    time.sleep(1.1)
    many = connector_config(emulator, account_id=mine, account_ids=platform[1:4], batch_size=10)
    second = run(many, catalog("customers"), last_states(first))
    assert not _errors(second)
    theirs = [d for _, d in records_of(second) if d.get("account_id") == mine]
    # Only the account's changes since the single-account sync, not a new snapshot of it.
    assert 0 < len(theirs) <= 6
    table: Table = {}
    _apply(table, [(s, {**d, "account_id": mine}) for s, d in records_of(first)])
    _apply(table, records_of(second))
    _assert_converged(table, emulator, [None, *platform[:4]], ["customers"])
