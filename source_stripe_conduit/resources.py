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

from collections.abc import Mapping
from types import MappingProxyType

from source_stripe_conduit.resource_row import Op as Op
from source_stripe_conduit.resource_row import Resource as Resource
from source_stripe_conduit.resource_row import _events, _merge

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
    Resource("apple_pay_domains", "apple_pay_domain", "/v1/apple_pay/domains",
             created_filter=False),
    # Child lists of issue 19, read with their parent's permission (as Stripe's docs for the
    # parent's endpoints suggest; unverified: no 403 of them seen). An application fee's
    # refunds change with application_fee.refunded (a new refund); application_fee.refund.updated,
    # a refund's own edit (its metadata), carries the refund, not the fee: not followed here.
    Resource("application_fee_refunds", "fee_refund", "/v1/application_fees/{id}/refunds",
             _APPLICATION_FEE_EVENTS, created_filter=False, parent="application_fees",
             parent_events=True, embedded="refunds", permission="rak_application_fee_read"),
    Resource("application_fees", "application_fee", "/v1/application_fees",
             _APPLICATION_FEE_EVENTS),
    Resource("authorizations", "issuing.authorization", "/v1/issuing/authorizations",
             _events("issuing_authorization", "request", "updated")),
    Resource("balance_transactions", "balance_transaction", "/v1/balance_transactions",
             append_only=True, permission="rak_balance_read", settles=("status", "pending")),
    # billing.meter.* (2025-03-31.basil); an account on an older release sends none of them.
    Resource("billing_meters", "billing.meter", "/v1/billing/meters",
             _events("billing.meter", "deactivated", "reactivated", "updated"),
             created_filter=False),
    Resource("billing_portal_configurations", "billing_portal.configuration",
             "/v1/billing_portal/configurations",
             _events("billing_portal.configuration", "updated"), created_filter=False),
    Resource("cardholders", "issuing.cardholder", "/v1/issuing/cardholders",
             _events("issuing_cardholder", "updated")),
    Resource("cards", "issuing.card", "/v1/issuing/cards", _events("issuing_card", "updated")),
    Resource("charges", "charge", "/v1/charges",
             _events("charge", "captured", "expired", "failed", "pending", "refunded",
                     "succeeded", "updated", create=())),
    # A Checkout Session embeds no line items (only when expanded): each is listed.
    Resource("checkout_session_line_items", "item", "/v1/checkout/sessions/{session}/line_items",
             _CHECKOUT_SESSION_EVENTS, created_filter=False, parent="checkout_sessions",
             parent_events=True, permission="rak_checkout_session_read"),
    Resource("checkout_sessions", "checkout.session", "/v1/checkout/sessions",
             _CHECKOUT_SESSION_EVENTS),
    Resource("climate_orders", "climate.order", "/v1/climate/orders",
             _events("climate.order", "canceled", "delayed", "delivered",
                     "product_substituted"),
             created_filter=False),
    Resource("coupons", "coupon", "/v1/coupons",
             _events("coupon", "updated", delete=("deleted",))),
    Resource("credit_note_line_items", "credit_note_line_item",
             "/v1/credit_notes/{credit_note}/lines", _CREDIT_NOTE_EVENTS, created_filter=False,
             parent="credit_notes", parent_events=True, embedded="lines",
             permission="rak_credit_note_read"),
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
    Resource("entitlements_features", "entitlements.feature", "/v1/entitlements/features",
             created_filter=False),
    Resource("events", "event", "/v1/events", append_only=True, retained_days=30,
             of_events=True),
    Resource("file_links", "file_link", "/v1/file_links"),
    Resource("files", "file", "/v1/files", _events("file")),
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
    # A design is made in review; Stripe sends no event of its creation, only its outcome.
    Resource("issuing_personalization_designs", "issuing.personalization_design",
             "/v1/issuing/personalization_designs",
             _events("issuing_personalization_design", "activated", "deactivated", "rejected",
                     "updated", create=()),
             created_filter=False),
    Resource("payment_intents", "payment_intent", "/v1/payment_intents",
             _events("payment_intent", "amount_capturable_updated", "canceled",
                     "partially_funded", "payment_failed", "processing", "requires_action",
                     "succeeded")),
    Resource("payment_links", "payment_link", "/v1/payment_links",
             _events("payment_link", "updated"), created_filter=False),
    Resource("payment_method_configurations", "payment_method_configuration",
             "/v1/payment_method_configurations", created_filter=False),
    Resource("payment_method_domains", "payment_method_domain", "/v1/payment_method_domains",
             created_filter=False),
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
    Resource("shipping_rates", "shipping_rate", "/v1/shipping_rates"),
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
    Resource("tax_ids", "tax_id", "/v1/tax_ids", created_filter=False),
    Resource("tax_rates", "tax_rate", "/v1/tax_rates", _events("tax_rate", "updated")),
    # status takes "all" besides one status; whether Stripe hides some without it (expired
    # registrations) is not documented: the snapshot asks for all.
    Resource("tax_registrations", "tax.registration", "/v1/tax/registrations",
             list_params=MappingProxyType({"status": "all"}), created_filter=False),
    Resource("terminal_configurations", "terminal.configuration", "/v1/terminal/configurations",
             created_filter=False),
    Resource("terminal_locations", "terminal.location", "/v1/terminal/locations",
             created_filter=False),
    # terminal.reader.action_updated (2025-06-30.basil): the reader's action changed.
    Resource("terminal_readers", "terminal.reader", "/v1/terminal/readers",
             _events("terminal.reader", "action_failed", "action_succeeded", "action_updated",
                     create=()),
             created_filter=False),
    Resource("test_clocks", "test_helpers.test_clock", "/v1/test_helpers/test_clocks",
             _events("test_helpers.test_clock", "advancing", "internal_failure", "ready",
                     delete=("deleted",)),
             created_filter=False),
    Resource("top_ups", "topup", "/v1/topups",
             _events("topup", "canceled", "failed", "reversed", "succeeded")),
    # issuing_transaction.purchase_details_receipt_updated (2024-10-28.acacia): the
    # transaction's purchase details got a receipt.
    Resource("transactions", "issuing.transaction", "/v1/issuing/transactions",
             _events("issuing_transaction", "purchase_details_receipt_updated", "updated")),
    # A transfer's reversals change with transfer.reversed (a new reversal) or
    # transfer.updated.
    Resource("transfer_reversals", "transfer_reversal", "/v1/transfers/{id}/reversals",
             _TRANSFER_EVENTS, created_filter=False, parent="transfers", parent_events=True,
             embedded="reversals", permission="rak_transfer_read"),
    Resource("transfers", "transfer", "/v1/transfers", _TRANSFER_EVENTS),
    Resource("treasury_financial_accounts", "treasury.financial_account",
             "/v1/treasury/financial_accounts",
             _events("treasury.financial_account", "closed", "features_status_updated")),
    # Stripe sends no events of value lists or their items: full refresh only. Stripe lists a
    # value list's items by a query parameter, not under the list.
    Resource("value_list_items", "radar.value_list_item",
             "/v1/radar/value_list_items?value_list={value_list}", parent="value_lists",
             embedded="list_items", retrieve="/v1/radar/value_list_items/{id}",
             permission="rak_radar_value_list_read"),
    Resource("value_lists", "radar.value_list", "/v1/radar/value_lists"),
    Resource("webhook_endpoints", "webhook_endpoint", "/v1/webhook_endpoints",
             created_filter=False),
)




BY_STREAM: Mapping[str, Resource] = MappingProxyType({r.stream: r for r in RESOURCES})
BY_OBJECT: Mapping[str, Resource] = MappingProxyType(
    {r.object: r for r in RESOURCES if r.parent is None}
)

# Change capture reads /v1/events, which needs this permission beside the stream's own.
EVENTS_PERMISSION = "rak_event_read"

# Stripe refuses more than 20 names in one types[] filter.
MAX_EVENT_TYPES_PER_REQUEST = 20
