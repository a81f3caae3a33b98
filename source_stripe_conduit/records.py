"""The fields every record carries beside the object's own.

``updated`` is when this version of the object was observed (the event's ``created``, or the
snapshot's start); ``_ab_cdc_updated_at`` is the same instant as Airbyte's CDC destinations expect
it; ``_ab_cdc_deleted_at`` is set on deletes, so deduping destinations drop the row; ``is_deleted``
is the official Stripe connector's name for the same fact; ``account_id`` is the connected account
the object belongs to (null for the key's own account), set where a page's records are made
(``partitions.py``).

Records are completed in place: the parsed JSON of a page is not used for anything else, and a
copy per record would cost more than the rest of the per-record work.
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

OBSERVED_FIELDS = ("updated", "_ab_cdc_updated_at", "_ab_cdc_deleted_at", "is_deleted")
ADDED_FIELDS = (*OBSERVED_FIELDS, "account_id")


@lru_cache(maxsize=4096)
def iso(ts: int) -> str:
    """Unix seconds as RFC 3339 UTC; cached because a page shares a handful of instants."""
    return datetime.fromtimestamp(ts, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def observed(obj: dict[str, Any], at: int, deleted: bool = False) -> dict[str, Any]:
    stamp = iso(at)
    obj["updated"] = at
    obj["_ab_cdc_updated_at"] = stamp
    obj["_ab_cdc_deleted_at"] = stamp if deleted else None
    obj["is_deleted"] = deleted
    return obj
