"""End to end for issue 16's hardening: a balance_transactions catch-up killed and resumed, a
Connect platform read through transient 5xx, and a key pasted with whitespace under --debug.

Each test runs the connector against the local Stripe emulator and compares with its ground
truth; each fails on the code before the fixes (c246f3c).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import pytest
from airbyte_cdk.models import AirbyteStateMessageSerializer, SyncMode
from airbyte_cdk.test.entrypoint_wrapper import EntrypointOutput
from e2e_helpers import (
    catalog,
    configured_to_dict,
    connector_config,
    last_states,
    records_of,
    run,
    spawn_read,
    strip,
)
from test_connect_e2e import Table, _apply, _truth
from test_sync_e2e import _state_dict

from stripe_emulator import Emulator

TXNS = "balance_transactions"
READ_TIMEOUT_SECONDS = 120.0
# Threads the connector names after itself (lanes, the fan-out pool, the account lookup).
CONNECTOR_THREAD_PREFIX = "stripe-"
ACCOUNT_ERROR = re.compile(r"Stream 'customers': (\d+) of (\d+) accounts could not be read")


def _errors(output: EntrypointOutput) -> list[str]:
    return [e.trace.error.message for e in output.errors if e.trace and e.trace.error]


# -- 1. a balance_transactions catch-up killed after its first page --------------------------

def _is_catch_up_state(message: dict[str, Any]) -> bool:
    """A state of balance_transactions written while it lists what was created since the last
    sync: change capture with ranges still to read."""
    if message.get("type") != "STATE":
        return False
    stream = message["state"]["stream"]
    blob = stream.get("stream_state") or {}
    return stream["stream_descriptor"]["name"] == TXNS and blob.get("iterator_type") == "cdc" \
        and bool(blob.get("ranges"))


def _read_until_first_catch_up_state(process: subprocess.Popen[bytes]
                                     ) -> tuple[list[dict[str, Any]], bool]:
    """The child's messages; it is killed as soon as its first catch-up state is read. What it
    wrote before dying is read too (Airbyte keeps everything a source printed), but for the
    line the kill cut short."""
    assert process.stdout is not None
    messages: list[dict[str, Any]] = []
    killed = False
    # A child that hangs is killed too, and fails the test rather than blocking it.
    deadline = threading.Timer(READ_TIMEOUT_SECONDS, process.kill)
    deadline.start()
    try:
        for line in process.stdout:
            if killed and not line.endswith(b"\n"):
                break
            message = orjson.loads(line)
            messages.append(message)
            if not killed and _is_catch_up_state(message):
                process.kill()
                killed = True
        process.wait()
    finally:
        deadline.cancel()
    assert killed or process.returncode == 0, \
        f"the sync ended with {process.returncode} (killed after {READ_TIMEOUT_SECONDS:.0f} s?)"
    return messages, killed


def test_a_balance_transactions_catch_up_killed_after_its_first_state_resumes_to_the_truth(
        emulator: Emulator, tmp_path: Path) -> None:
    emulator.client.seed({TXNS: 40}, seed=16)
    config = connector_config(emulator, batch_size=5)
    first = run(config, catalog(TXNS))
    assert not _errors(first)
    got: dict[str, dict[str, Any]] = {d["id"]: strip(d) for _, d in records_of(first)}
    # 350 new ones over several seconds: 70 catch-up pages, in ranges the read can cut.
    for _ in range(7):
        emulator.client.mutate([{"op": "create", "stream": TXNS} for _ in range(50)])
        emulator.client.advance_clock(3)
    # Past the current second, so the catch-up's horizon covers all of them (no sleep needed:
    # the connector reads Stripe's clock).
    emulator.client.advance_clock(2)

    saved = [_state_dict(s) for s in last_states(first)]
    messages, killed = _read_until_first_catch_up_state(
        spawn_read(tmp_path, config, catalog(TXNS), saved))
    assert killed, "the catch-up wrote no state with ranges left: nothing was killed mid-way"
    errors = [m["trace"]["error"]["message"] for m in messages
              if m["type"] == "TRACE" and m["trace"].get("type") == "ERROR"]
    assert not errors, errors
    states = [m["state"] for m in messages if m["type"] == "STATE"
              and m["state"]["stream"]["stream_descriptor"]["name"] == TXNS]
    resume_from = states[-1]
    assert resume_from["stream"]["stream_state"].get("ranges"), \
        "the killed sync's last state is no longer mid catch-up"
    got.update({m["record"]["data"]["id"]: strip(m["record"]["data"]) for m in messages
                if m["type"] == "RECORD"})

    resumed = run(config, catalog(TXNS), [AirbyteStateMessageSerializer.load(resume_from)])
    assert not _errors(resumed), _errors(resumed)
    got.update({d["id"]: strip(d) for _, d in records_of(resumed)})
    expected = {o["id"]: strip(o) for o in emulator.client.ground_truth(TXNS)}
    assert len(expected) == 390
    assert got.keys() == expected.keys(), (sorted(expected.keys() - got.keys())[:5],
                                           sorted(got.keys() - expected.keys())[:5])
    assert got == expected


# -- 2. twelve connected accounts through transient 5xx --------------------------------------

def _run_with_deadline(read: Callable[[], EntrypointOutput]) -> EntrypointOutput:
    """The read in a thread of its own, so a read that never ends fails the test instead of
    hanging it."""
    result: list[EntrypointOutput] = []
    failure: list[BaseException] = []

    def target() -> None:
        try:
            result.append(read())
        except BaseException as error:  # handed to the test's thread
            failure.append(error)

    thread = threading.Thread(target=target, name="test-read", daemon=True)
    thread.start()
    thread.join(READ_TIMEOUT_SECONDS)
    if thread.is_alive():
        pytest.fail(f"the read did not end within {READ_TIMEOUT_SECONDS:.0f} s")
    if failure:
        raise failure[0]
    return result[0]


def _connector_threads_alive(before: set[threading.Thread]) -> list[str]:
    return [t.name for t in threading.enumerate()
            if t not in before and t.name.startswith(CONNECTOR_THREAD_PREFIX) and t.is_alive()]


def _assert_no_connector_thread_outlives_the_read(before: set[threading.Thread]) -> None:
    deadline = time.monotonic() + 5.0
    while (alive := _connector_threads_alive(before)) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not alive, f"threads still running after the read: {alive}"


def _failed_accounts(errors: list[str], accounts: list[str]) -> set[str]:
    """The accounts the stream's error names. Any error must be that one: a failure of some
    accounts, not of the stream."""
    if not errors:
        return set()
    for error in errors:
        assert ACCOUNT_ERROR.search(error), f"not a failure of some accounts: {error}"
    (stream_error,) = [e for e in errors if e.startswith("Stream 'customers'")]
    match = ACCOUNT_ERROR.match(stream_error)
    assert match is not None
    failed_count, total = int(match.group(1)), int(match.group(2))
    assert total == len(accounts), stream_error
    named = dict(re.findall(r"(acct_\w+): ([^;]*)", stream_error))
    assert len(named) == failed_count and set(named) <= set(accounts), stream_error
    for account, reason in named.items():
        assert "Request-Id req_" in reason, (account, reason)
    return set(named)


@pytest.mark.parametrize("max_retries", [0, 1])
def test_twelve_connected_accounts_through_transient_5xx_fail_alone_and_converge_after(
        emulator: Emulator, max_retries: int) -> None:
    emulator.client.configure(profile="full")
    accounts = list(emulator.client.create_accounts(
        12, counts={"customers": 60}, seed=16 + max_retries, profile="ordinary"))
    # Every 500 says Stripe-Should-Retry: true. Each account reads 6 pages of 10 and its
    # events: without retries most accounts fail; with one, about 2% of requests fail for good,
    # some account in most runs (the emulator's fault draws cannot be seeded). A run without a
    # failure still checks that the read ends, converges and leaves no thread behind.
    emulator.client.configure(fault_rate=0.15, fault_retry_share=1.0)
    config = connector_config(emulator, account_ids=accounts, include_platform=False,
                              batch_size=10, max_retries=max_retries)
    before = set(threading.enumerate())

    first = _run_with_deadline(lambda: run(config, catalog("customers")))
    _assert_no_connector_thread_outlives_the_read(before)
    failed = _failed_accounts(_errors(first), accounts)
    assert emulator.client.stats()["faults"] > 0
    table: Table = {}
    _apply(table, records_of(first))
    emulator.client.configure(fault_rate=0.0)
    read: list[str | None] = [*accounts]
    expected = _truth(emulator, read, ["customers"])["customers"]
    for account in set(accounts) - failed:
        got = {k: v for k, v in table.get("customers", {}).items() if k[0] == account}
        want = {k: v for k, v in expected.items() if k[0] == account}
        assert got == want, (account, len(got), len(want))

    second = _run_with_deadline(lambda: run(config, catalog("customers"), last_states(first)))
    _assert_no_connector_thread_outlives_the_read(before)
    assert not _errors(second), _errors(second)
    _apply(table, records_of(second))
    assert table["customers"] == expected


# -- 3. read --debug with a key pasted with whitespace ---------------------------------------

SECRET_PART = "HardeningE2eWh1tespace9Qx4"
KEY = f"sk_test_{SECRET_PART}"


@pytest.mark.parametrize("pasted", [KEY + "\n", f" \t{KEY} \t\r\n"],
                         ids=["trailing-newline", "spaces-and-tabs-around"])
def test_read_debug_with_a_key_pasted_with_whitespace_syncs_and_never_prints_it(
        emulator: Emulator, tmp_path: Path, pasted: str) -> None:
    emulator.client.add_key(KEY)
    emulator.client.seed({"customers": 12}, seed=3)
    (tmp_path / "config.json").write_text(json.dumps(
        connector_config(emulator, secret_key=pasted, batch_size=5)))
    (tmp_path / "catalog.json").write_text(json.dumps(configured_to_dict(
        catalog("customers", mode=SyncMode.full_refresh))))
    done = subprocess.run(
        [sys.executable, "-m", "source_stripe_conduit.run", "read", "--debug",
         "--config", str(tmp_path / "config.json"), "--catalog", str(tmp_path / "catalog.json")],
        capture_output=True, text=True, timeout=READ_TIMEOUT_SECONDS)
    assert done.returncode == 0, done.stderr[-2000:]
    messages = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    records = [m["record"]["data"]["id"] for m in messages if m.get("type") == "RECORD"]
    assert sorted(records) == sorted(o["id"] for o in emulator.client.ground_truth("customers"))
    assert "Making outbound API request" in done.stdout  # the requests' headers were logged
    assert SECRET_PART not in done.stdout
    assert SECRET_PART not in done.stderr
