"""Balance transactions that settle without an event arrive as updates (issue 20)."""

from __future__ import annotations

from typing import Any

from airbyte_cdk.models import SyncMode
from helpers import DAY, NOW, FakeStripe, config, record_data, run_read, state_of, stream_states

INCREMENTAL = SyncMode.incremental
TXNS = "/v1/balance_transactions"


def _txn(fake: FakeStripe, n: int, created: int, status: str) -> dict[str, Any]:
    return fake.add(TXNS, {"id": f"txn_{n:03d}Set", "object": "balance_transaction",
                           "created": created, "status": status, "amount": 100 + n})


def _sync(fake: FakeStripe, state: dict[str, Any] | None = None) -> Any:
    output = run_read(config(batch_size=4, lag_seconds=0), ["balance_transactions"],
                      mode=INCREMENTAL,
                      state=state_of("balance_transactions", state) if state else None)
    assert not output.errors
    return output


def test_a_balance_transaction_that_settles_arrives_as_available_and_the_window_closes(
        fake: FakeStripe) -> None:
    for n in range(6):
        _txn(fake, n, NOW - 10 * DAY + n * DAY, "available" if n < 3 else "pending")
    first = _sync(fake)
    saved = stream_states(first, "balance_transactions")[-1]
    assert saved["pending_since"] == NOW - 7 * DAY  # the oldest pending one
    # What the first sync has just read is not read again in the same sync.
    assert not [r for r in fake.requests if r.path == TXNS
                and r.get("created[gte]") == str(NOW - 7 * DAY)]
    for item in fake.lists[TXNS]:
        item.obj["status"] = "available"
    fake.now = NOW + DAY
    _txn(fake, 9, NOW + 100, "pending")
    second = _sync(fake, saved)
    got = {r["id"]: r["status"] for r in record_data(second)}
    assert {f"txn_{n:03d}Set" for n in (3, 4, 5)} <= set(got)
    assert all(got[f"txn_{n:03d}Set"] == "available" for n in (3, 4, 5))
    assert got["txn_009Set"] == "pending"
    later = stream_states(second, "balance_transactions")[-1]
    assert later["pending_since"] == NOW + 100  # only the new one is still pending
    for item in fake.lists[TXNS]:
        item.obj["status"] = "available"
    fake.now = NOW + 2 * DAY
    fake.requests.clear()
    third = _sync(fake, later)
    assert [r["id"] for r in record_data(third)] == ["txn_009Set"]
    assert "pending_since" not in stream_states(third, "balance_transactions")[-1]
    # The window re-read is only what was pending: from the new one on.
    assert all(int(r.get("created[gte]") or NOW) >= NOW + 100
               for r in fake.requests if r.path == TXNS and r.get("limit") != "1")
