"""Airbyte messages as the lines the connector prints, with every field Stripe sent.

The CDK's message serializer (serpyco-rs, ``omit_none``) leaves out each top-level field of a
record's data whose value is null: a customer whose phone was cleared would arrive without
``phone``, and raw JSON could not tell "null" from "not sent". The CDK serializes through
``AirbyteEntrypoint.airbyte_message_to_string`` and calls it by its class name for ``read``, so
a subclass cannot replace it: the console entry point installs ``message_to_string`` in its
place. Records are written with orjson as they are (one pass, no serializer in between); every
other message goes through the CDK's own serializer.
"""

from __future__ import annotations

from typing import Any

import orjson
from airbyte_cdk.entrypoint import AirbyteEntrypoint
from airbyte_cdk.models import AirbyteMessage, Type

_cdk_message_to_string = AirbyteEntrypoint.airbyte_message_to_string


def message_to_string(message: AirbyteMessage) -> str:
    record = message.record
    if message.type != Type.RECORD or record is None or record.meta is not None \
            or record.file_reference is not None:
        return _cdk_message_to_string(message)
    body: dict[str, Any] = {"stream": record.stream, "data": record.data,
                            "emitted_at": record.emitted_at}
    if record.namespace is not None:
        body["namespace"] = record.namespace
    try:
        return orjson.dumps({"type": "RECORD", "record": body}).decode()
    except TypeError:  # a value orjson cannot write: the CDK's path knows what to do
        return _cdk_message_to_string(message)


def keep_nulls() -> None:
    """Make the CDK write records with their null fields (see the module's docstring)."""
    AirbyteEntrypoint.airbyte_message_to_string = staticmethod(message_to_string)  # type: ignore[method-assign]

