"""End to end on the emulator: issue 19's child streams (a transfer's reversals, an application
fee's refunds, a credit note's lines, a value list's items, a Checkout Session's line items) read
whole, and the first three kept current by their parent's events.
"""

from __future__ import annotations

import time
from typing import Any

import pytest
import requests
from airbyte_cdk.models import SyncMode
from e2e_helpers import (
    TEST_KEY,
    apply,
    catalog,
    connector_config,
    last_states,
    records_of,
    run,
    strip,
)

from source_stripe_conduit.resources import BY_STREAM
from stripe_emulator import Emulator

CHILDREN = ["transfer_reversals", "application_fee_refunds", "credit_note_line_items",
            "value_list_items", "checkout_session_line_items"]
FOLLOWING = CHILDREN[:3]

Table = dict[str, dict[str, dict[str, Any]]]


def _seed(emu: Emulator, parents: int, children: int, seed: int) -> None:
    # Charges first: application fees reference them.
    counts = {"charges": parents, **{BY_STREAM[c].parent or "": parents for c in CHILDREN},
              **{c: children for c in CHILDREN}}
    made = emu.client.seed(counts, seed=seed)["created"]
    assert all(made[c] == children for c in CHILDREN), made


def _truth(emu: Emulator, stream: str) -> dict[str, dict[str, Any]]:
    return {o["id"]: strip(o) for o in emu.client.ground_truth(stream)}


def test_full_read_of_each_new_child_stream_equals_the_emulator(emulator: Emulator) -> None:
    # 4 parents, 60 children each stream: most parents have more than the 10 they embed, and
    # batch_size 4 makes every list several pages.
    _seed(emulator, 4, 60, seed=19)
    output = run(connector_config(emulator, batch_size=4),
                 catalog(*CHILDREN, mode=SyncMode.full_refresh))
    assert not output.errors, [e.trace.error.message for e in output.errors if e.trace]
    got: Table = {}
    for stream, data in records_of(output):
        assert data["id"] not in got.setdefault(stream, {}), (stream, data["id"])
        got[stream][data["id"]] = strip(data)
    for stream in CHILDREN:
        want = _truth(emulator, stream)
        assert len(want) == 60, stream
        assert got[stream] == want, stream


def test_incremental_children_follow_their_parents_events(emulator: Emulator) -> None:
    _seed(emulator, 3, 12, seed=7)
    table: Table = {}
    first = run(connector_config(emulator), catalog(*FOLLOWING))
    assert not first.errors
    apply(table, records_of(first))
    for stream in FOLLOWING:
        assert table[stream] == _truth(emulator, stream), stream
    made = {stream: emulator.client.create(stream) for stream in FOLLOWING}
    # Each new child is announced by an event of its parent.
    assert {stream: [e["type"] for e in m["events"]] for stream, m in made.items()} == {
        "transfer_reversals": ["transfer.reversed"],
        "application_fee_refunds": ["application_fee.refunded"],
        "credit_note_line_items": ["credit_note.updated"]}
    time.sleep(1.1)
    second = run(connector_config(emulator), catalog(*FOLLOWING), last_states(first))
    assert not second.errors, [e.trace.error.message for e in second.errors if e.trace]
    apply(table, records_of(second))
    for stream in FOLLOWING:
        want = _truth(emulator, stream)
        assert len(want) == 13, stream
        assert {k: strip(v) for k, v in table[stream].items()} == want, stream


@pytest.mark.parametrize("stream", CHILDREN)
def test_the_emulator_pages_each_parents_children_and_refuses_a_missing_parent(
        emulator: Emulator, stream: str) -> None:
    _seed(emulator, 2, 30, seed=3)
    resource = BY_STREAM[stream]
    parent = emulator.client.ground_truth(resource.parent)[0]["id"]
    path, params = resource.children_request(parent)
    headers = {"Authorization": f"Bearer {TEST_KEY}"}
    session = requests.Session()
    seen: list[str] = []
    after: str | None = None
    while True:
        query = [*params, ("limit", "7"), *([("starting_after", after)] if after else [])]
        page = session.get(emulator.url + path, params=query, headers=headers, timeout=10).json()
        assert page["object"] == "list", page
        assert all(item["object"] == resource.object for item in page["data"])
        seen += [item["id"] for item in page["data"]]
        if not page["has_more"]:
            break
        after = page["data"][-1]["id"]
    truth = [o["id"] for o in emulator.client.ground_truth(stream)
             if BY_STREAM[stream].parent and _parent_of(emulator, stream, o) == parent]
    assert sorted(seen) == sorted(truth) and len(seen) == len(set(seen))
    assert len(seen) > 7
    path, params = resource.children_request(parent[:-4] + "zzzz")
    answer = session.get(emulator.url + path, params=params, headers=headers, timeout=10)
    assert answer.status_code == 404
    assert answer.json()["error"]["code"] == "resource_missing"


def _parent_of(emu: Emulator, stream: str, child: dict[str, Any]) -> str | None:
    field = {"transfer_reversals": "transfer", "application_fee_refunds": "fee",
             "value_list_items": "value_list"}.get(stream)
    if field:
        return child[field]
    # A credit note line or a Checkout Session's line item holds no id of its parent: find it
    # among its parent's children.
    for note in emu.client.ground_truth(BY_STREAM[stream].parent or ""):
        path, params = BY_STREAM[stream].children_request(note["id"])
        del params
        ids = _all_ids(emu, path)
        if child["id"] in ids:
            return note["id"]
    return None


def _all_ids(emu: Emulator, path: str) -> set[str]:
    session = requests.Session()
    headers = {"Authorization": f"Bearer {TEST_KEY}"}
    ids: set[str] = set()
    after: str | None = None
    while True:
        query = [("limit", "100"), *([("starting_after", after)] if after else [])]
        page = session.get(emu.url + path, params=query, headers=headers, timeout=10).json()
        ids.update(item["id"] for item in page["data"])
        if not page["has_more"]:
            return ids
        after = page["data"][-1]["id"]
