"""The rows' event types against every event type of Stripe's releases since 2024-06-20.

``event_types.py`` is generated from Stripe's Python SDK (tools/generate_schemas.py); nothing here
reads the SDK.
"""

from __future__ import annotations

import pytest

from source_stripe_conduit.event_types import INTRODUCED, RELEASES
from source_stripe_conduit.resources import BY_STREAM, RESOURCES, Op, Resource
from tools.readme_tables import added_after_first_release

FOLLOWING = [r for r in RESOURCES if r.events]

# Event types of a row's object (by name) that the row leaves out on purpose, with the reason.
# None so far: keep the reason here when one is added.
NOT_FOLLOWED: dict[str, str] = {}


def _object_part(event_type: str) -> str:
    """``invoice.payment_failed`` → ``invoice``: an event type names its object, then what
    happened, in one last part."""
    return event_type.rsplit(".", 1)[0]


def test_releases_run_from_2024_06_20_in_order() -> None:
    assert RELEASES[0] == "2024-06-20"
    assert list(RELEASES) == sorted(RELEASES)  # dates first, so text order is time order
    assert RELEASES[-1] == "2026-10-28.endive"
    assert set(INTRODUCED.values()) <= set(RELEASES)


@pytest.mark.parametrize("resource", FOLLOWING, ids=lambda r: r.stream)
def test_every_event_type_of_a_row_is_one_stripe_sends(resource: Resource) -> None:
    # A misspelt or removed name would silently follow nothing.
    assert set(resource.events) <= set(INTRODUCED), set(resource.events) - set(INTRODUCED)


@pytest.mark.parametrize("resource", FOLLOWING, ids=lambda r: r.stream)
def test_a_row_has_every_event_type_of_its_object(resource: Resource) -> None:
    objects = {_object_part(name) for name in resource.events}
    missing = {name for name in INTRODUCED
               if _object_part(name) in objects and name not in resource.events}
    assert missing <= set(NOT_FOLLOWED), sorted(missing - set(NOT_FOLLOWED))


def test_object_names_are_compared_exactly_never_as_prefixes() -> None:
    # customer.* would take in customer.subscription.* and charge.* charge.dispute.*.
    customers = BY_STREAM["customers"].events
    assert not any(name.startswith("customer.subscription.") for name in customers)
    assert not any(name.startswith("charge.dispute.") for name in BY_STREAM["charges"].events)
    # invoice_payment.paid (basil) is an InvoicePayment's, not an invoice's.
    assert "invoice_payment.paid" in INTRODUCED
    assert "invoice_payment.paid" not in BY_STREAM["invoices"].events


@pytest.mark.parametrize("stream, event_type, release", [
    ("invoices", "invoice.overpaid", "2025-03-31.basil"),
    ("invoices", "invoice.payment_attempt_required", "2025-10-29.clover"),
    ("invoice_line_items", "invoice.overpaid", "2025-03-31.basil"),
    ("refunds", "refund.failed", "2024-10-28.acacia"),
    ("terminal_readers", "terminal.reader.action_updated", "2025-06-30.basil"),
    ("transactions", "issuing_transaction.purchase_details_receipt_updated",
     "2024-10-28.acacia"),
])
def test_event_types_of_later_releases_are_followed_as_updates(
        stream: str, event_type: str, release: str) -> None:
    # Each changes an object that goes on existing: none creates or deletes a row.
    assert BY_STREAM[stream].events[event_type] is Op.UPDATE
    assert INTRODUCED[event_type] == release
    assert f"`{event_type}` ({release})" in added_after_first_release(BY_STREAM[stream])


def test_rows_without_later_event_types_say_so() -> None:
    assert added_after_first_release(BY_STREAM["customers"]) == "–"


@pytest.mark.parametrize("resource", FOLLOWING, ids=lambda r: r.stream)
def test_created_and_deleted_keep_their_meaning(resource: Resource) -> None:
    for name, op in resource.events.items():
        if name.endswith(".created"):
            assert op is Op.CREATE, name
        # A canceled subscription stays listed (status=all): its .deleted is a status change.
        if name.endswith(".deleted") and resource.object != "subscription" \
                and not resource.parent_events:
            assert op is Op.DELETE, name
