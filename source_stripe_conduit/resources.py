"""The table of Stripe resources this connector replicates: one row per stream.

Each row says where the resource is listed, which Stripe object type it holds and which event
types change it, with what meaning. Event names are listed exactly, never as a prefix:
``customer.*`` would also match ``customer.subscription.*`` and ``charge.*`` would match
``charge.dispute.*``.

The lists are Conduit's (2022), checked against every event type of Stripe's API releases from
2024-06-20 to 2026-10-28.endive (``event_types.py``, from Stripe's Python SDK, with the release
that introduced each): a row has every event type of its object, those of later releases too,
since an account on a newer release sends them whatever version the connector pins. Events
Stripe removed before 2024-06-20 are not here (``invoiceitem.updated``, ``transfer.failed``,
``transfer.paid``), and the Orders beta resource, retired by Stripe, is gone. An event type of a
row's object is the row's object name plus one last part, compared exactly:
``invoice_payment.paid`` (2025-05-28.basil) is an InvoicePayment's, not an invoice's.

Child lists (a customer's payment methods, an invoice's lines) are read through their parent's
list. Those Stripe sends no events for (invoice lines, subscription items, customer balance
transactions, transfer reversals, application fee refunds, credit note lines) follow their
parent's events instead: each one lists that parent's children again.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any
from urllib.parse import parse_qsl, urlsplit

# The parent's id in a child's list path, named as Stripe's docs name it (``{customer}``).
_PARENT_PLACEHOLDER = re.compile(r"\{\w+\}")


class Op(enum.StrEnum):
    """What an event means for the row of its object."""

    CREATE = "create"
    UPDATE = "update"
    DELETE = "delete"


@dataclass(frozen=True)
class Resource:
    stream: str
    """Airbyte stream name: the official connector's where the resource overlaps."""
    object: str
    """Stripe's object type, the ``object`` field of every item (``checkout.session``)."""
    path: str
    """List path. For a child list, one ``{name}`` stands for the id of each object of
    ``parent``: in the path (``/v1/invoices/{invoice}/lines``), or in the query where Stripe
    takes it there (``/v1/subscription_items?subscription={subscription}``)."""
    events: Mapping[str, Op] = field(default_factory=dict)
    list_params: Mapping[str, str] = field(default_factory=dict)
    """Query parameters every list call needs, to undo Stripe's hidden list defaults."""
    created_filter: bool = True
    """Whether the list endpoint accepts ``created[gte|lt]`` (needed to split a snapshot)."""
    paginated: bool = True
    """False for the few lists Stripe returns whole, without cursors."""
    parent: str | None = None
    """Stream whose objects own this list (a customer's payment methods)."""
    parent_events: bool = False
    """No events of its own: ``events`` are the parent's, and each of them lists that parent's
    children again (invoice lines change with ``invoice.updated``)."""
    embedded: str | None = None
    """Field of the parent that embeds its children's first page (an invoice's ``lines``): the
    only trace of them a parent's delete event leaves."""
    append_only: bool = False
    """Objects never change after creation: incremental reads list by ``created``, no events."""
    retained_days: int | None = None
    """Stripe keeps this list's objects only so many days (events: 30)."""
    created_field: str = "created"
    """The object's creation time, which the list's ``created`` filter applies to."""
    retrieve: str | None = None
    """Path of one object, ``{id}`` for its id; by default the list path and the id."""
    permission: str | None = None
    """The restricted-key permission that reads the list, where Stripe's name is not
    ``rak_<object>_read`` (prices are read with the plans' permission)."""
    of_events: bool = False
    """Its records are the account's events themselves: beside streams following changes it
    takes every event of their shared pages, with no read of its own."""
    settles: tuple[str, str] | None = None
    """``(field, value)``: an object whose ``field`` is ``value`` still changes later without
    any event (a balance transaction is ``pending`` until its ``available_on``). Each
    incremental read lists again what was created since the oldest such object it read, and
    emits those that changed since; the window closes as they settle."""
    undated: bool = False
    """Some objects have no ``created`` time (connected accounts of long ago): they match no
    ``created`` filter, and Stripe lists them after every dated one, so a snapshot read in
    ``created`` ranges reads them last, after the oldest dated object."""
    platform_only: bool = False
    """Connect's own objects (connected accounts, their persons): read from the platform
    only, not once more as each connected account."""

    def retrieve_path(self, obj: Mapping[str, Any]) -> str:
        """Path of ``obj`` itself: ``{id}`` and any other ``{field}`` come from the object
        (a person is retrieved under its ``{account}``)."""
        return (self.retrieve or self.path + "/{id}").format_map(obj)

    def children_request(self, parent_id: str) -> tuple[str, list[tuple[str, str]]]:
        """Path and query parameters of the list of one parent's children."""
        url = urlsplit(_PARENT_PLACEHOLDER.sub(lambda _: parent_id, self.path, count=1))
        return url.path, parse_qsl(url.query)

    @property
    def event_object(self) -> str:
        """Stripe's object type in this stream's events: the parent's, for a stream kept
        current by its parent's events."""
        return self.listed.object if self.parent_events else self.object

    @property
    def event_types(self) -> tuple[str, ...]:
        return tuple(sorted(self.events))

    @property
    def follows_events(self) -> bool:
        """Whether its incremental reads take pages of events (its own types, or every event
        when its records are the events)."""
        return bool(self.events) and not self.append_only or self.of_events

    @property
    def incremental(self) -> bool:
        return self.append_only or bool(self.events)

    @property
    def listed(self) -> Resource:
        """The resource whose list a snapshot pages through: the parent's, for a child list."""
        return BY_STREAM[self.parent] if self.parent else self

    @property
    def read_permission(self) -> str:
        return self.permission or f"rak_{self.object.replace('.', '_')}_read"

    @property
    def permissions(self) -> tuple[str, ...]:
        """Every permission a snapshot of this stream needs: a child list's parent's too."""
        own = self.read_permission
        parent = self.listed.read_permission if self.parent else None
        return (parent, own) if parent and parent != own else (own,)

    @property
    def probe(self) -> tuple[str, list[tuple[str, str | int]]]:
        """The cheapest request that shows whether this stream can be read: one object."""
        listed = self.listed
        return listed.path, [("limit", 1)] if listed.paginated else []


def _events(prefix: str, *names: str, create: tuple[str, ...] = ("created",),
            delete: tuple[str, ...] = ()) -> Mapping[str, Op]:
    """Event types ``prefix.name``; ``create``/``delete`` name the ones with those meanings."""
    table: dict[str, Op] = {}
    for name in (*create, *delete, *names):
        op = Op.CREATE if name in create else Op.DELETE if name in delete else Op.UPDATE
        table[f"{prefix}.{name}"] = op
    return MappingProxyType(table)


def _merge(*tables: Mapping[str, Op]) -> Mapping[str, Op]:
    merged: dict[str, Op] = {}
    for table in tables:
        merged.update(table)
    return MappingProxyType(merged)


# Event tables shared by a parent and the child streams its events keep current.
_CUSTOMER_EVENTS = _events("customer", "updated", delete=("deleted",))
# invoice.upcoming carries an invoice without an id: the CDC reader skips it. invoice.overpaid
# (2025-03-31.basil) and invoice.payment_attempt_required (2025-10-29.clover) change an invoice
# that goes on existing: updates.
_INVOICE_EVENTS = _events("invoice", "finalization_failed", "finalized", "marked_uncollectible",
                          "overdue", "overpaid", "paid", "payment_action_required",
                          "payment_attempt_required", "payment_failed", "payment_succeeded",
                          "sent", "upcoming", "updated", "voided", "will_be_due",
                          delete=("deleted",))
# A canceled subscription stays in the list with status=all (which the snapshot sends, or
# Stripe hides canceled ones): customer.subscription.deleted is a status change, not a row
# delete, so snapshot and CDC agree on the row.
_SUBSCRIPTION_EVENTS = _events("customer.subscription", "deleted", "paused",
                               "pending_update_applied", "pending_update_expired", "resumed",
                               "trial_will_end", "updated")

_APPLICATION_FEE_EVENTS = _events("application_fee", "refunded")
_CHECKOUT_SESSION_EVENTS = _events("checkout.session", "async_payment_failed",
                                   "async_payment_succeeded", "completed", "expired", create=())
_CREDIT_NOTE_EVENTS = _events("credit_note", "updated", "voided")
_TRANSFER_EVENTS = _events("transfer", "reversed", "updated")

RESOURCES: tuple[Resource, ...] = (
    Resource("accounts", "account", "/v1/accounts", _events("account", "updated", create=()),
             permission="rak_connected_account_read", undated=True, platform_only=True),
    Resource("application_fees", "application_fee", "/v1/application_fees",
             _APPLICATION_FEE_EVENTS),
    Resource("authorizations", "issuing.authorization", "/v1/issuing/authorizations",
             _events("issuing_authorization", "request", "updated")),
    Resource("balance_transactions", "balance_transaction", "/v1/balance_transactions",
             append_only=True, permission="rak_balance_read", settles=("status", "pending")),
    Resource("billing_portal_configurations", "billing_portal.configuration",
             "/v1/billing_portal/configurations",
             _events("billing_portal.configuration", "updated"), created_filter=False),
    Resource("cardholders", "issuing.cardholder", "/v1/issuing/cardholders",
             _events("issuing_cardholder", "updated")),
    Resource("cards", "issuing.card", "/v1/issuing/cards", _events("issuing_card", "updated")),
    Resource("charges", "charge", "/v1/charges",
             _events("charge", "captured", "expired", "failed", "pending", "refunded",
                     "succeeded", "updated", create=())),
    Resource("checkout_sessions", "checkout.session", "/v1/checkout/sessions",
             _CHECKOUT_SESSION_EVENTS),
    Resource("coupons", "coupon", "/v1/coupons",
             _events("coupon", "updated", delete=("deleted",))),
    Resource("credit_notes", "credit_note", "/v1/credit_notes", _CREDIT_NOTE_EVENTS),
    Resource("customers", "customer", "/v1/customers", _CUSTOMER_EVENTS),
    # A customer embeds none of its balance transactions: a deleted customer's stay (README).
    Resource("customer_balance_transactions", "customer_balance_transaction",
             "/v1/customers/{customer}/balance_transactions", _CUSTOMER_EVENTS,
             created_filter=False, parent="customers", parent_events=True,
             permission="rak_customer_read"),
    Resource("disputes", "dispute", "/v1/disputes",
             _events("charge.dispute", "closed", "funds_reinstated", "funds_withdrawn",
                     "updated")),
    Resource("early_fraud_warnings", "radar.early_fraud_warning",
             "/v1/radar/early_fraud_warnings",
             _events("radar.early_fraud_warning", "updated")),
    Resource("events", "event", "/v1/events", append_only=True, retained_days=30,
             of_events=True),
    Resource("files", "file", "/v1/files", _events("file")),
    Resource("identity_verification_sessions", "identity.verification_session",
             "/v1/identity/verification_sessions",
             _events("identity.verification_session", "canceled", "processing", "redacted",
                     "requires_input", "verified")),
    Resource("invoices", "invoice", "/v1/invoices", _INVOICE_EVENTS),
    Resource("invoice_line_items", "line_item", "/v1/invoices/{invoice}/lines", _INVOICE_EVENTS,
             created_filter=False, parent="invoices", parent_events=True, embedded="lines",
             permission="rak_invoice_read"),
    # An invoice item has ``date``, not ``created``; the list's created filter applies to it.
    Resource("invoice_items", "invoiceitem", "/v1/invoiceitems",
             _events("invoiceitem", delete=("deleted",)), created_field="date",
             permission="rak_invoice_read"),
    Resource("issuing_disputes", "issuing.dispute", "/v1/issuing/disputes",
             _events("issuing_dispute", "closed", "funds_reinstated", "funds_rescinded",
                     "submitted", "updated")),
    Resource("payment_intents", "payment_intent", "/v1/payment_intents",
             _events("payment_intent", "amount_capturable_updated", "canceled",
                     "partially_funded", "payment_failed", "processing", "requires_action",
                     "succeeded")),
    Resource("payment_links", "payment_link", "/v1/payment_links",
             _events("payment_link", "updated"), created_filter=False),
    # /v1/payment_methods without a customer lists only Treasury payment methods (Conduit's
    # bug): a customer's payment methods are listed under the customer. A detached payment
    # method leaves that list, so for this stream detaching is a delete.
    Resource("payment_methods", "payment_method", "/v1/customers/{customer}/payment_methods",
             _events("payment_method", "automatically_updated", "updated",
                     create=("attached",), delete=("detached",)),
             created_filter=False, parent="customers", retrieve="/v1/payment_methods/{id}"),
    Resource("payouts", "payout", "/v1/payouts",
             _events("payout", "canceled", "failed", "paid", "reconciliation_completed",
                     "updated")),
    Resource("persons", "person", "/v1/accounts/{account}/persons",
             _events("person", "updated", delete=("deleted",)), created_filter=False,
             parent="accounts", retrieve="/v1/accounts/{account}/persons/{id}",
             platform_only=True),
    Resource("plans", "plan", "/v1/plans", _events("plan", "updated", delete=("deleted",))),
    # Stripe's 403 for prices asks for "Prices Read" ('plan_read'): one permission for both.
    Resource("prices", "price", "/v1/prices", _events("price", "updated", delete=("deleted",)),
             permission="rak_plan_read"),
    Resource("products", "product", "/v1/products",
             _events("product", "updated", delete=("deleted",))),
    Resource("promotion_codes", "promotion_code", "/v1/promotion_codes",
             _events("promotion_code", "updated")),
    Resource("quotes", "quote", "/v1/quotes",
             _events("quote", "accepted", "canceled", "finalized"), created_filter=False),
    # refund.failed (2024-10-28.acacia): a refund's status moves to failed, the refund stays.
    Resource("refunds", "refund", "/v1/refunds",
             _merge(_events("refund", "failed", "updated"),
                    _events("charge.refund", "updated", create=()))),
    Resource("report_runs", "reporting.report_run", "/v1/reporting/report_runs",
             _events("reporting.report_run", "failed", "succeeded", create=()),
             permission="rak_report_run_read"),
    Resource("report_types", "reporting.report_type", "/v1/reporting/report_types",
             _events("reporting.report_type", "updated", create=()),
             created_filter=False, paginated=False, permission="rak_report_type_read"),
    Resource("reviews", "review", "/v1/reviews",
             _events("review", "closed", create=("opened",))),
    Resource("scheduled_query_runs", "scheduled_query_run", "/v1/sigma/scheduled_query_runs",
             _events("sigma.scheduled_query_run"), created_filter=False,
             permission="rak_sigma_read"),
    Resource("setup_intents", "setup_intent", "/v1/setup_intents",
             _events("setup_intent", "canceled", "requires_action", "setup_failed",
                     "succeeded")),
    Resource("subscriptions", "subscription", "/v1/subscriptions", _SUBSCRIPTION_EVENTS,
             list_params=MappingProxyType({"status": "all"})),
    # Stripe lists a subscription's items by a query parameter, not under the subscription.
    Resource("subscription_items", "subscription_item",
             "/v1/subscription_items?subscription={subscription}", _SUBSCRIPTION_EVENTS,
             created_filter=False, parent="subscriptions", parent_events=True,
             embedded="items", retrieve="/v1/subscription_items/{id}",
             permission="rak_subscription_read"),
    Resource("subscription_schedule", "subscription_schedule", "/v1/subscription_schedules",
             _events("subscription_schedule", "aborted", "canceled", "completed", "expiring",
                     "released", "updated")),
    Resource("tax_rates", "tax_rate", "/v1/tax_rates", _events("tax_rate", "updated")),
    # terminal.reader.action_updated (2025-06-30.basil): the reader's action changed.
    Resource("terminal_readers", "terminal.reader", "/v1/terminal/readers",
             _events("terminal.reader", "action_failed", "action_succeeded", "action_updated",
                     create=()),
             created_filter=False),
    Resource("top_ups", "topup", "/v1/topups",
             _events("topup", "canceled", "failed", "reversed", "succeeded")),
    # issuing_transaction.purchase_details_receipt_updated (2024-10-28.acacia): the
    # transaction's purchase details got a receipt.
    Resource("transactions", "issuing.transaction", "/v1/issuing/transactions",
             _events("issuing_transaction", "purchase_details_receipt_updated", "updated")),
    Resource("transfers", "transfer", "/v1/transfers", _TRANSFER_EVENTS),
)

# Issue 19: the account's other lists. Stripe sends no events for many of them: those are full
# refresh only (``incremental`` False), unless their objects never change (append-only). Their
# restricted-key permissions follow rak_<object>_read: Stripe's names for these are unverified.
NEW_RESOURCES: tuple[Resource, ...] = (
    # Child lists of issue 19, read with their parent's permission (as Stripe's docs for the
    # parent's endpoints suggest; unverified: no 403 of them seen). An application fee's
    # refunds change with application_fee.refunded (a new refund); application_fee.refund.updated,
    # a refund's own edit (its metadata), carries the refund, not the fee: not followed here.
    Resource("application_fee_refunds", "fee_refund", "/v1/application_fees/{id}/refunds",
             _APPLICATION_FEE_EVENTS, created_filter=False, parent="application_fees",
             parent_events=True, embedded="refunds", permission="rak_application_fee_read"),
    # A Checkout Session embeds no line items (only when expanded): each is listed.
    Resource("checkout_session_line_items", "item", "/v1/checkout/sessions/{session}/line_items",
             _CHECKOUT_SESSION_EVENTS, created_filter=False, parent="checkout_sessions",
             parent_events=True, permission="rak_checkout_session_read"),
    Resource("credit_note_line_items", "credit_note_line_item",
             "/v1/credit_notes/{credit_note}/lines", _CREDIT_NOTE_EVENTS, created_filter=False,
             parent="credit_notes", parent_events=True, embedded="lines",
             permission="rak_credit_note_read"),
    # A transfer's reversals change with transfer.reversed (a new reversal) or
    # transfer.updated.
    Resource("transfer_reversals", "transfer_reversal", "/v1/transfers/{id}/reversals",
             _TRANSFER_EVENTS, created_filter=False, parent="transfers", parent_events=True,
             embedded="reversals", permission="rak_transfer_read"),
    # Stripe sends no events of value lists or their items: full refresh only. Stripe lists a
    # value list's items by a query parameter, not under the list.
    Resource("value_list_items", "radar.value_list_item",
             "/v1/radar/value_list_items?value_list={value_list}", parent="value_lists",
             embedded="list_items", retrieve="/v1/radar/value_list_items/{id}",
             permission="rak_radar_value_list_read"),
    Resource("apple_pay_domains", "apple_pay_domain", "/v1/apple_pay/domains",
             created_filter=False),
    # billing.meter.* (2025-03-31.basil); an account on an older release sends none of them.
    Resource("billing_meters", "billing.meter", "/v1/billing/meters",
             _events("billing.meter", "deactivated", "reactivated", "updated"),
             created_filter=False),
    Resource("climate_orders", "climate.order", "/v1/climate/orders",
             _events("climate.order", "canceled", "delayed", "delivered",
                     "product_substituted"),
             created_filter=False),
    Resource("entitlements_features", "entitlements.feature", "/v1/entitlements/features",
             created_filter=False),
    Resource("file_links", "file_link", "/v1/file_links"),
    Resource("financial_connections_accounts", "financial_connections.account",
             "/v1/financial_connections/accounts",
             _events("financial_connections.account", "account_numbers_updated", "deactivated",
                     "disconnected", "expected_deactivation_date_updated", "reactivated",
                     "refreshed_balance", "refreshed_ownership", "refreshed_transactions",
                     "supported_payment_method_types_updated",
                     "upcoming_account_number_expiry", "upcoming_deactivation"),
             created_filter=False),
    # A forwarded request is the record of one call through Stripe: it never changes.
    Resource("forwarding_requests", "forwarding.request", "/v1/forwarding/requests",
             append_only=True),
    # A verification report is the outcome of one verification check: it never changes.
    Resource("identity_verification_reports", "identity.verification_report",
             "/v1/identity/verification_reports", append_only=True),
    # A design is made in review; Stripe sends no event of its creation, only its outcome.
    Resource("issuing_personalization_designs", "issuing.personalization_design",
             "/v1/issuing/personalization_designs",
             _events("issuing_personalization_design", "activated", "deactivated", "rejected",
                     "updated", create=()),
             created_filter=False),
    Resource("payment_method_configurations", "payment_method_configuration",
             "/v1/payment_method_configurations", created_filter=False),
    Resource("payment_method_domains", "payment_method_domain", "/v1/payment_method_domains",
             created_filter=False),
    Resource("shipping_rates", "shipping_rate", "/v1/shipping_rates"),
    Resource("tax_ids", "tax_id", "/v1/tax_ids", created_filter=False),
    # status takes "all" besides one status; whether Stripe hides some without it (expired
    # registrations) is not documented: the snapshot asks for all.
    Resource("tax_registrations", "tax.registration", "/v1/tax/registrations",
             list_params=MappingProxyType({"status": "all"}), created_filter=False),
    Resource("terminal_configurations", "terminal.configuration", "/v1/terminal/configurations",
             created_filter=False),
    Resource("terminal_locations", "terminal.location", "/v1/terminal/locations",
             created_filter=False),
    Resource("test_clocks", "test_helpers.test_clock", "/v1/test_helpers/test_clocks",
             _events("test_helpers.test_clock", "advancing", "internal_failure", "ready",
                     delete=("deleted",)),
             created_filter=False),
    Resource("treasury_financial_accounts", "treasury.financial_account",
             "/v1/treasury/financial_accounts",
             _events("treasury.financial_account", "closed", "features_status_updated")),
    Resource("value_lists", "radar.value_list", "/v1/radar/value_lists"),
    Resource("webhook_endpoints", "webhook_endpoint", "/v1/webhook_endpoints",
             created_filter=False),
)


def _merged(rows: tuple[Resource, ...], new: tuple[Resource, ...]) -> tuple[Resource, ...]:
    """``rows`` in their order, each new row before the first whose name sorts after it."""
    merged = list(rows)
    for row in new:
        at = next((i for i, r in enumerate(merged) if r.stream > row.stream), len(merged))
        merged.insert(at, row)
    return tuple(merged)


RESOURCES = _merged(RESOURCES, NEW_RESOURCES)

BY_STREAM: Mapping[str, Resource] = MappingProxyType({r.stream: r for r in RESOURCES})
BY_OBJECT: Mapping[str, Resource] = MappingProxyType(
    {r.object: r for r in RESOURCES if r.parent is None}
)

# Change capture reads /v1/events, which needs this permission beside the stream's own.
EVENTS_PERMISSION = "rak_event_read"

# Stripe refuses more than 20 names in one types[] filter.
MAX_EVENT_TYPES_PER_REQUEST = 20
