"""Records made from Stripe's example objects, by the snapshot and by change capture, validate
against the schema the connector declares for their stream."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from airbyte_cdk.models import SyncMode
from helpers import NOW, FakeStripe, catalog, config, example, record_data, run_read
from jsonschema import Draft7Validator, FormatChecker

from source_stripe_conduit.iterator.cdc import read_events_page
from source_stripe_conduit.iterator.position import Position, Range
from source_stripe_conduit.iterator.snapshot import read_range_page
from source_stripe_conduit.records import ADDED_FIELDS, iso, observed
from source_stripe_conduit.resources import BY_STREAM, RESOURCES, Op, Resource
from source_stripe_conduit.source import schema_of
from source_stripe_conduit.transport.client import StripeClient

EXAMPLES = Path(__file__).parent / "data" / "examples"
STREAMS = sorted(p.stem for p in EXAMPLES.glob("*.json"))
CHANGING = [s for s in STREAMS if BY_STREAM[s].events]
# A stream kept current by its parent's events has delete records only where the deleted
# parent embeds its children.
DELETING = [s for s in CHANGING if Op.DELETE in BY_STREAM[s].events.values()
            and (not BY_STREAM[s].parent_events or BY_STREAM[s].embedded)]

FORMATS = FormatChecker()


@FORMATS.checks("date-time", raises=ValueError)
def _is_date_time(value: object) -> bool:
    # Without the optional rfc3339 validator jsonschema would not check date-time at all.
    return not isinstance(value, str) or datetime.fromisoformat(value).tzinfo is not None


def _assert_valid(stream: str, record: dict[str, Any]) -> None:
    validator = Draft7Validator(dict(schema_of(stream)), format_checker=FORMATS)
    errors = [f"{list(e.absolute_path)}: {e.message[:160]}"
              for e in validator.iter_errors(record)]
    assert not errors, errors[:5]


def _list(fake: FakeStripe, resource: Resource) -> None:
    obj = example(resource.stream)
    if resource.stream == "events":
        # Stripe lists the events of the last 30 days only.
        fake.add_raw_event({**obj, "created": NOW - 100})
    elif resource.parent:
        parent = example(resource.parent)
        if resource.embedded:
            # The parent embeds the child: Stripe's examples of the two are not of one account.
            parent[resource.embedded] = {**parent[resource.embedded], "data": [obj],
                                         "has_more": False}
        parent_path = BY_STREAM[resource.parent].path
        if not any(i.obj["id"] == parent["id"] for i in fake.lists.get(parent_path, [])):
            fake.add(parent_path, parent)
        if resource.stream == "payment_methods":
            obj["customer"] = parent["id"]
            fake.add("/v1/payment_methods", obj)
        else:
            fake.add_child(resource.stream, parent["id"], obj)
    elif not any(i.obj["id"] == obj["id"] for i in fake.lists.get(resource.path, [])):
        # A child stream sorted before its parent (customer_balance_transactions) listed it.
        fake.add(resource.path, obj)


def _embedding(stream: str) -> dict[str, Any]:
    """The stream's example, embedding the example of each child stream its events keep
    current: Stripe's examples of the two are not of one account (an application fee's
    example embeds no refunds, so its event would list none)."""
    obj = example(stream)
    for child in RESOURCES:
        if child.parent == stream and child.parent_events and child.embedded:
            obj[child.embedded] = {**obj[child.embedded], "data": [example(child.stream)],
                                   "has_more": False}
    return obj


def _event_object(resource: Resource) -> dict[str, Any]:
    """What the stream's events carry: its parent, for a stream its parent's events keep
    current (the parent's children are listed again)."""
    return _embedding(resource.parent) if resource.parent_events and resource.parent \
        else example(resource.stream)


def _event_type(resource: Resource, op: Op) -> str:
    for name, kind in sorted(resource.events.items()):
        if kind is op:
            return name
    return sorted(resource.events)[0]


@pytest.mark.parametrize("stream", STREAMS)
def test_snapshot_record_of_the_example_validates(stream: str, client: StripeClient,
                                                  fake: FakeStripe) -> None:
    resource = BY_STREAM[stream]
    _list(fake, resource)
    page = read_range_page(client, resource, Range(), batch_size=10, observed_at=NOW - 60)
    (record,) = page.records
    assert record["id"] == example(stream)["id"]
    assert record["is_deleted"] is False
    _assert_valid(stream, record)


@pytest.mark.parametrize("stream", CHANGING)
def test_change_record_of_the_example_validates(stream: str, client: StripeClient,
                                                fake: FakeStripe) -> None:
    resource = BY_STREAM[stream]
    if resource.parent_events:
        _list(fake, resource)
    fake.add_event(_event_type(resource, Op.UPDATE), _event_object(resource), NOW - 500)
    page = read_events_page(client, resource, Position.cdc(NOW - 1000), start="created_at",
                            upper=NOW - 60, batch_size=10)
    (record,) = page.records
    assert record["updated"] == NOW - 500
    _assert_valid(stream, record)


@pytest.mark.parametrize("stream", DELETING)
def test_delete_record_of_the_example_validates(stream: str, client: StripeClient,
                                                fake: FakeStripe) -> None:
    resource = BY_STREAM[stream]
    fake.add_event(_event_type(resource, Op.DELETE), _event_object(resource), NOW - 500)
    page = read_events_page(client, resource, Position.cdc(NOW - 1000), start="created_at",
                            upper=NOW - 60, batch_size=10)
    (record,) = page.records
    assert record["is_deleted"] is True and record["_ab_cdc_deleted_at"] == iso(NOW - 500)
    _assert_valid(stream, record)


def test_every_stream_with_example_data_validates_through_a_whole_sync(fake: FakeStripe) -> None:
    # One incremental sync of every stream: a snapshot of the examples, then the change each
    # stream's events carry, replayed from the snapshot's start (the second before now, with no lag).
    for stream in STREAMS:
        _list(fake, BY_STREAM[stream])
    changes = 0
    for stream in CHANGING:
        if not BY_STREAM[stream].parent_events:
            # The parent's own event is the change of a stream its parent's events keep current.
            fake.add_event(_event_type(BY_STREAM[stream], Op.UPDATE), _embedding(stream),
                           NOW - 1)
            changes += 1
    output = run_read(config(lag_seconds=0), catalog(*STREAMS, mode=SyncMode.incremental))
    assert not output.errors
    for stream in STREAMS:
        records = record_data(output, stream)
        # The stream of the events themselves takes each change's event too.
        expected = 1 + changes if BY_STREAM[stream].of_events \
            else 2 if stream in CHANGING else 1
        assert len(records) == expected, (stream, records)
        assert {r["id"] for r in records} >= {example(stream)["id"]}
        for record in records:
            _assert_valid(stream, record)


def test_added_fields_are_the_five_the_schemas_declare() -> None:
    record = observed({"id": "x"}, NOW)
    assert set(record) - {"id"} == set(ADDED_FIELDS) - {"account_id"}
    assert record == {"id": "x", "updated": NOW, "_ab_cdc_updated_at": "2024-06-20T00:00:00Z",
                      "_ab_cdc_deleted_at": None, "is_deleted": False}
    for stream in STREAMS:
        assert set(ADDED_FIELDS) <= set(schema_of(stream)["properties"])
