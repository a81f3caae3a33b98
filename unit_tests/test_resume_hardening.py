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
    NOW,
    SECRET,
    FakeStripe,
    catalog,
    config,
    record_data,
    run_read,
    state_of,
    stream_states,
    stripe_error,
)

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
