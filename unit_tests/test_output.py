"""Records are written with every field Stripe sent, nulls included."""

from __future__ import annotations

import orjson
from airbyte_cdk.entrypoint import AirbyteEntrypoint
from airbyte_cdk.models import (
    AirbyteLogMessage,
    AirbyteMessage,
    AirbyteRecordMessage,
    Level,
    Type,
)

from source_stripe_conduit.output import message_to_string


def _record(data: dict[str, object], namespace: str | None = None) -> AirbyteMessage:
    return AirbyteMessage(type=Type.RECORD, record=AirbyteRecordMessage(
        stream="customers", data=data, emitted_at=1_700_000_000_000, namespace=namespace))


def test_a_record_keeps_its_null_fields_at_every_level() -> None:
    data = {"id": "cus_1", "phone": None, "address": {"city": None}, "tags": [None]}
    line = orjson.loads(message_to_string(_record(data)))
    assert line == {"type": "RECORD", "record": {"stream": "customers", "data": data,
                                                  "emitted_at": 1_700_000_000_000}}


def test_a_record_line_is_the_cdks_line_but_for_the_nulls() -> None:
    message = _record({"id": "cus_1", "email": "a@example.com", "phone": None},
                      namespace="stripe")
    ours = orjson.loads(message_to_string(message))
    cdk = orjson.loads(AirbyteEntrypoint.airbyte_message_to_string(message))
    assert "phone" not in cdk["record"]["data"]  # what the CDK's serializer does
    ours["record"]["data"].pop("phone")
    assert ours == cdk


def test_other_messages_go_through_the_cdks_serializer() -> None:
    message = AirbyteMessage(type=Type.LOG, log=AirbyteLogMessage(level=Level.INFO,
                                                                  message="hello"))
    assert message_to_string(message) == AirbyteEntrypoint.airbyte_message_to_string(message)
