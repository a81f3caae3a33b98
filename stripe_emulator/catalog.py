"""The emulator's own catalogue of what it serves: one ``Kind`` per Stripe object type.

Each kind says where Stripe lists and retrieves it, the shape of its ids, and which events
Stripe sends when such an object is created, changes state, is edited or is deleted. It is kept
apart from the connector's table on purpose: a fake Stripe that copied the connector's beliefs
would hide the connector's mistakes instead of exposing them.

Event names are those of API version 2024-06-20 (a unit test checks every one against the
``enabled_events`` enum extracted from Stripe's OpenAPI description). Where Stripe's documents
do not say which event a change sends, the choice made here is the behaviour best known from the
real API, and a comment says so.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any


@dataclass(frozen=True)
class Token:
    """A value a transition computes when it fires (``NOW``, random metadata, ...)."""

    name: str


NOW = Token("now")
"""The emulator clock, in unix seconds."""
META = Token("metadata")
"""A random change of one metadata key."""
TEXT = Token("text")
"""A fresh short sentence."""
TOGGLE = Token("toggle")
"""The opposite of the current boolean."""


@dataclass(frozen=True)
class Copy:
    """The current value of another field of the same object (``amount_paid = amount_due``)."""

    field: str


@dataclass(frozen=True)
class OneOf:
    """One of these values, chosen at random."""

    values: tuple[Any, ...]


@dataclass(frozen=True)
class Transition:
    """A state change Stripe signals with ``event`` (and ``also``, sent for the same change)."""

    event: str
    when: Mapping[str, tuple[Any, ...]] = field(default_factory=dict)
    """Dotted field -> the values it must hold for the change to apply."""
    sets: Mapping[str, Any] = field(default_factory=dict)
    """Dotted field -> new value (a plain value, ``Copy``, ``OneOf`` or a ``Token``)."""
    also: tuple[str, ...] = ()
    weight: float = 1.0


@dataclass(frozen=True)
class Delete:
    """How an object of the kind goes away, and the event Stripe sends for it."""

    event: str
    style: str = "delete"
    """``delete``: the object is gone; ``cancel``: it stays, with status canceled, out of the
    default list; ``detach``: it stays retrievable but leaves its parent's list."""
    when: Mapping[str, tuple[Any, ...]] = field(default_factory=dict)
    refusal: str = ""
    """Stripe's message when ``when`` (or ``parent_when``) does not hold."""
    parent_when: Mapping[str, tuple[Any, ...]] = field(default_factory=dict)
    """For a child: what its parent must hold for the child to be removed (an invoice's lines
    go only while it is a draft)."""


ISSUING = "issuing"
IDENTITY = "identity"
TREASURY = "treasury"
SIGMA = "sigma"
CONNECT = "connect"
CLIMATE = "climate"
FINANCIAL_CONNECTIONS = "financial_connections"
FORWARDING = "forwarding"
"""Products an account may lack (see ``config.Profile``); a kind names the one it belongs to."""


@dataclass(frozen=True)
class Permission:
    """A restricted key's read permission, in both of the spellings Stripe's 403s use."""

    resource: str
    """Stripe's name of the resource: ``plan`` for ``rak_plan_read`` / ``plan_read``."""
    display: str
    """The dashboard's name of the resource, as the newer 403 wording shows it ("Prices")."""

    @property
    def legacy(self) -> str:
        """The older wording's id: ``rak_plan_read``."""
        return f"rak_{self.resource}_read"

    @property
    def id(self) -> str:
        """The newer wording's id: ``plan_read``."""
        return f"{self.resource}_read"

    @property
    def title(self) -> str:
        """The newer wording's name: ``Prices Read``."""
        return f"{self.display} Read"


# Only "Prices" is confirmed by a 403 seen from Stripe; the other display names are the best
# guess at the dashboard's labels for the resource.
PERMISSIONS: Mapping[str, Permission] = MappingProxyType({p.resource: p for p in (
    Permission("application_fee", "Application Fees"),
    Permission("balance", "Balance"),
    Permission("billing_portal_configuration", "Customer Portal"),
    Permission("charge", "Charges"),
    Permission("checkout_session", "Checkout Sessions"),
    Permission("connected_account", "Connected Accounts"),
    Permission("coupon", "Coupons"),
    Permission("credit_note", "Credit Notes"),
    Permission("customer", "Customers"),
    Permission("dispute", "Disputes"),
    Permission("event", "Events"),
    Permission("file", "Files"),
    Permission("identity_verification_session", "Identity Verification Sessions"),
    Permission("invoice", "Invoices"),
    Permission("issuing_authorization", "Issuing Authorizations"),
    Permission("issuing_card", "Issuing Cards"),
    Permission("issuing_cardholder", "Issuing Cardholders"),
    Permission("issuing_dispute", "Issuing Disputes"),
    Permission("issuing_transaction", "Issuing Transactions"),
    Permission("payment_intent", "PaymentIntents"),
    Permission("payment_link", "Payment Links"),
    Permission("payment_method", "PaymentMethods"),
    Permission("payout", "Payouts"),
    Permission("person", "Persons"),
    Permission("plan", "Prices"),
    Permission("product", "Products"),
    Permission("promotion_code", "Promotion Codes"),
    Permission("quote", "Quotes"),
    Permission("radar_early_fraud_warning", "Early Fraud Warnings"),
    Permission("refund", "Refunds"),
    Permission("report_run", "Report Runs"),
    Permission("report_type", "Report Types"),
    Permission("review", "Reviews"),
    Permission("setup_intent", "SetupIntents"),
    Permission("sigma", "Sigma"),
    Permission("subscription", "Subscriptions"),
    Permission("subscription_schedule", "Subscription Schedules"),
    Permission("tax_rate", "Tax Rates"),
    Permission("terminal_reader", "Terminal Readers"),
    Permission("topup", "Top-ups"),
    Permission("transfer", "Transfers"),
    # The streams of issue 19. Their names follow rak_<object>_read like the others; Stripe's
    # own names and display labels for these are unverified (no 403 of them seen).
    Permission("apple_pay_domain", "Apple Pay Domains"),
    Permission("billing_meter", "Meters"),
    Permission("climate_order", "Climate Orders"),
    Permission("entitlements_feature", "Entitlement Features"),
    Permission("file_link", "File Links"),
    Permission("financial_connections_account", "Financial Connections Accounts"),
    Permission("forwarding_request", "Forwarding Requests"),
    Permission("identity_verification_report", "Identity Verification Reports"),
    Permission("issuing_personalization_design", "Issuing Personalization Designs"),
    Permission("payment_method_configuration", "Payment Method Configurations"),
    Permission("payment_method_domain", "Payment Method Domains"),
    Permission("radar_value_list", "Value Lists"),
    Permission("shipping_rate", "Shipping Rates"),
    Permission("tax_registration", "Tax Registrations"),
    Permission("tax_id", "Tax IDs"),
    Permission("terminal_configuration", "Terminal Configurations"),
    Permission("terminal_location", "Terminal Locations"),
    Permission("test_helpers_test_clock", "Test Clocks"),
    Permission("treasury_financial_account", "Financial Accounts"),
    Permission("webhook_endpoint", "Webhook Endpoints"),
    # GET /v1/account. Stripe names rak_accounts_kyc_basic_read; its display name is a guess.
    Permission("accounts_kyc_basic", "Account KYC Basic"),
)})
ACCOUNT_PERMISSION = PERMISSIONS["accounts_kyc_basic"]
"""What ``GET /v1/account`` needs of a restricted key."""


def _p(resource: str) -> Permission:
    return PERMISSIONS[resource]


def permission_named(name: str) -> Permission | None:
    """The permission Stripe calls ``rak_plan_read`` or ``plan_read``."""
    resource = name.removeprefix("rak_").removesuffix("_read")
    if not name.endswith("_read"):
        return None
    return PERMISSIONS.get(resource)


@dataclass(frozen=True, eq=False)
class Kind:
    """One served object type (compared and hashed by identity: there is one of each)."""

    object: str
    stream: str
    prefix: str
    id_len: int
    list_path: str | None
    """Public list path; ``{name}`` is the parent id in the path."""
    retrieve_path: str | None
    """Retrieve path template; its last ``{...}`` is the object id."""
    permission: Permission
    """What a restricted key needs to read the kind (children share their parent's)."""
    create_event: str | Mapping[str, str] | None = None
    """Event on creation, or status -> event where the creating status decides (charges)."""
    update_events: tuple[str, ...] = ()
    """Events of a plain edit (metadata, description...); empty when Stripe sends none."""
    editable: tuple[str, ...] = ("metadata",)
    transitions: tuple[Transition, ...] = ()
    delete: Delete | None = None
    parent: str | None = None
    """Object type that owns the object's list (a customer's payment methods)."""
    parent_field: str | None = None
    """Field holding the parent id."""
    parent_in_query: bool = False
    """The parent id is a query parameter (``/v1/subscription_items?subscription=``)."""
    parent_required: bool = True
    nested_field: str | None = None
    """Field of the parent that embeds the first page of these objects (invoice ``lines``)."""
    top_level: bool = True
    """Listed by its own path regardless of parent (refunds are, payment methods are not)."""
    parent_signal: str | None = None
    """For kinds without events of their own: the parent's event sent when one changes."""
    moves_balance: bool = False
    """Creating one changes the parent's ``balance`` (a customer balance transaction)."""
    in_previous: bool = True
    """For a nested child kind: whether the parent's ``*.updated`` events carry the parent's
    old embedded list in ``previous_attributes`` when the list changes."""
    settles: bool = False
    """Created ``pending``, ``available`` once the clock passes its ``available_on`` (a balance
    transaction); reads show it as of the emulator's clock."""
    refs: Mapping[str, str] = field(default_factory=dict)
    """Field -> object type it references, filled with an existing object when one exists."""
    paginated: bool = True
    hidden_statuses: tuple[str, ...] = ()
    """Statuses a list omits unless its ``status`` parameter asks for them."""
    signals: tuple[str, ...] = ()
    """Other events of the kind, about objects that are not stored (an upcoming invoice)."""
    product: str | None = None
    """The product an account must have enabled for the kind to exist (``ISSUING``...)."""

    @property
    def list_path_template(self) -> str | None:
        """The list path as Stripe's OpenAPI description spells it."""
        return self.list_path

    @property
    def all_event_types(self) -> tuple[str, ...]:
        names: set[str] = set(self.update_events)
        if isinstance(self.create_event, str):
            names.add(self.create_event)
        elif self.create_event:
            names.update(self.create_event.values())
        for transition in self.transitions:
            names.add(transition.event)
            names.update(transition.also)
        if self.delete:
            names.add(self.delete.event)
        if self.parent_signal:
            names.add(self.parent_signal)
        names.update(self.signals)
        return tuple(sorted(names))


def _m(**table: Any) -> Mapping[str, Any]:
    return MappingProxyType(table)


def _t(event: str, when: Mapping[str, tuple[Any, ...]] | None = None,
       sets: Mapping[str, Any] | None = None, also: tuple[str, ...] = (),
       weight: float = 1.0) -> Transition:
    return Transition(event, MappingProxyType(dict(when or {})),
                      MappingProxyType(dict(sets or {})), also, weight)


_ACTIVE_TOGGLE = {"active": TOGGLE}

KINDS: tuple[Kind, ...] = (
    # Stripe sends no account.created: a new connected account announces itself with
    # account.updated as onboarding fills it in (best known behaviour).
    Kind("account", "accounts", "acct_", 16, "/v1/accounts", "/v1/accounts/{account}",
         _p("connected_account"), product=CONNECT, create_event="account.updated",
         update_events=("account.updated",), editable=("metadata", "email"),
         transitions=(
             _t("account.updated", {"charges_enabled": (False,)},
                {"charges_enabled": True, "details_submitted": True}),
             _t("account.updated", {"payouts_enabled": (False,)}, {"payouts_enabled": True}),
         )),
    Kind("application_fee", "application_fees", "fee_", 24, "/v1/application_fees",
         "/v1/application_fees/{id}", _p("application_fee"),
         create_event="application_fee.created",
         transitions=(
             _t("application_fee.refunded", {"refunded": (False,)},
                {"refunded": True, "amount_refunded": Copy("amount")}),
         ), refs=_m(charge="charge")),
    Kind("issuing.authorization", "authorizations", "iauth_", 24,
         "/v1/issuing/authorizations", "/v1/issuing/authorizations/{authorization}",
         _p("issuing_authorization"), product=ISSUING, create_event="issuing_authorization.created",
         update_events=("issuing_authorization.updated",),
         transitions=(
             _t("issuing_authorization.updated", {"status": ("pending",)},
                {"status": OneOf(("closed", "reversed")), "approved": True}),
             _t("issuing_authorization.request", {"status": ("pending",)},
                {"pending_request": None}, weight=0.3),
         )),
    # A balance transaction changes once, by Stripe's own doing: "Funds in a Balance
    # transition from pending to available at the corresponding available_on time for each
    # balance transaction" (Balances and settlement time). No event announces it: Stripe has
    # no balance_transaction.* event type at all (balance.available is about the account's
    # Balance object, /v1/balance, which the emulator does not serve), so a reader sees the
    # new status only by reading the transaction again. See Dataset.settle.
    Kind("balance_transaction", "balance_transactions", "txn_", 24,
         "/v1/balance_transactions", "/v1/balance_transactions/{id}", _p("balance"),
         editable=(), settles=True),
    Kind("billing_portal.configuration", "billing_portal_configurations", "bpc_", 24,
         "/v1/billing_portal/configurations",
         "/v1/billing_portal/configurations/{configuration}",
         _p("billing_portal_configuration"),
         create_event="billing_portal.configuration.created",
         update_events=("billing_portal.configuration.updated",),
         editable=("metadata", "default_return_url")),
    Kind("issuing.cardholder", "cardholders", "ich_", 24, "/v1/issuing/cardholders",
         "/v1/issuing/cardholders/{cardholder}", _p("issuing_cardholder"), product=ISSUING,
         create_event="issuing_cardholder.created",
         update_events=("issuing_cardholder.updated",), editable=("metadata", "email"),
         transitions=(
             _t("issuing_cardholder.updated", {"status": ("active",)}, {"status": "inactive"}),
         )),
    Kind("issuing.card", "cards", "ic_", 24, "/v1/issuing/cards", "/v1/issuing/cards/{card}",
         _p("issuing_card"), product=ISSUING, create_event="issuing_card.created",
         update_events=("issuing_card.updated",),
         transitions=(
             _t("issuing_card.updated", {"status": ("active",)},
                {"status": OneOf(("inactive", "canceled"))}),
         )),
    # A charge announces its outcome, never "created": charge.succeeded, .pending or .failed.
    Kind("charge", "charges", "ch_", 24, "/v1/charges", "/v1/charges/{charge}", _p("charge"),
         create_event=_m(succeeded="charge.succeeded", pending="charge.pending",
                         failed="charge.failed"),
         update_events=("charge.updated",), editable=("metadata", "description"),
         transitions=(
             _t("charge.captured", {"status": ("succeeded",), "captured": (False,)},
                {"captured": True, "amount_captured": Copy("amount")}, weight=2),
             _t("charge.succeeded", {"status": ("pending",)},
                {"status": "succeeded", "paid": True}, weight=2),
             _t("charge.failed", {"status": ("pending",)},
                {"status": "failed", "paid": False, "failure_code": "card_declined",
                 "failure_message": "Your card was declined."}),
             _t("charge.expired", {"status": ("succeeded",), "captured": (False,)},
                {"refunded": True, "amount_refunded": Copy("amount")}, weight=0.5),
             # charge.refunded comes with a refund object (refund.created): see lifecycle.
             _t("charge.refunded", {"status": ("succeeded",), "captured": (True,),
                                    "refunded": (False,)},
                {"refunded": True, "amount_refunded": Copy("amount")}),
         ), refs=_m(customer="customer")),
    # Checkout sessions send no creation event: the first one is completed or expired.
    Kind("checkout.session", "checkout_sessions", "cs_test_", 58, "/v1/checkout/sessions",
         "/v1/checkout/sessions/{session}", _p("checkout_session"), editable=(),
         transitions=(
             _t("checkout.session.completed", {"status": ("open",)},
                {"status": "complete", "payment_status": OneOf(("paid", "unpaid"))}, weight=3),
             _t("checkout.session.expired", {"status": ("open",)}, {"status": "expired"}),
             _t("checkout.session.async_payment_succeeded",
                {"status": ("complete",), "payment_status": ("unpaid",)},
                {"payment_status": "paid"}),
             _t("checkout.session.async_payment_failed",
                {"status": ("complete",), "payment_status": ("unpaid",)}, {}, weight=0.3),
         ), refs=_m(customer="customer")),
    Kind("coupon", "coupons", "", 8, "/v1/coupons", "/v1/coupons/{coupon}", _p("coupon"),
         create_event="coupon.created", update_events=("coupon.updated",),
         editable=("metadata", "name"), delete=Delete("coupon.deleted")),
    Kind("credit_note", "credit_notes", "cn_", 24, "/v1/credit_notes",
         "/v1/credit_notes/{id}", _p("credit_note"), create_event="credit_note.created",
         update_events=("credit_note.updated",), editable=("metadata", "memo"),
         transitions=(
             _t("credit_note.voided", {"status": ("issued",)},
                {"status": "void", "voided_at": NOW}),
         ), refs=_m(customer="customer", invoice="invoice")),
    Kind("customer", "customers", "cus_", 14, "/v1/customers", "/v1/customers/{customer}",
         _p("customer"), create_event="customer.created", update_events=("customer.updated",),
         editable=("metadata", "description", "email", "name", "phone"),
         delete=Delete("customer.deleted")),
    Kind("dispute", "disputes", "dp_", 24, "/v1/disputes", "/v1/disputes/{dispute}",
         _p("dispute"), create_event="charge.dispute.created",
         update_events=("charge.dispute.updated",),
         transitions=(
             _t("charge.dispute.updated",
                {"status": ("warning_needs_response", "needs_response")},
                {"status": "under_review"}, weight=2),
             _t("charge.dispute.closed", {"status": ("under_review",)},
                {"status": OneOf(("won", "lost"))}, weight=2),
             _t("charge.dispute.funds_withdrawn", {"status": ("needs_response",)}, {}),
             _t("charge.dispute.funds_reinstated", {"status": ("won",)}, {}, weight=0.5),
         ), refs=_m(charge="charge")),
    Kind("radar.early_fraud_warning", "early_fraud_warnings", "issfr_", 24,
         "/v1/radar/early_fraud_warnings",
         "/v1/radar/early_fraud_warnings/{early_fraud_warning}",
         _p("radar_early_fraud_warning"), create_event="radar.early_fraud_warning.created",
         editable=(),
         transitions=(
             _t("radar.early_fraud_warning.updated", {"actionable": (True,)},
                {"actionable": False}),
         ), refs=_m(charge="charge")),
    Kind("event", "events", "evt_", 24, "/v1/events", "/v1/events/{id}", _p("event"),
         editable=()),
    Kind("file", "files", "file_", 24, "/v1/files", "/v1/files/{file}", _p("file"),
         create_event="file.created", editable=()),
    Kind("identity.verification_session", "identity_verification_sessions", "vs_", 24,
         "/v1/identity/verification_sessions",
         "/v1/identity/verification_sessions/{session}", _p("identity_verification_session"),
         product=IDENTITY,
         create_event="identity.verification_session.created",
         transitions=(
             _t("identity.verification_session.processing", {"status": ("requires_input",)},
                {"status": "processing"}, weight=2),
             _t("identity.verification_session.verified", {"status": ("processing",)},
                {"status": "verified"}, weight=2),
             _t("identity.verification_session.requires_input", {"status": ("processing",)},
                {"status": "requires_input"}),
             _t("identity.verification_session.canceled", {"status": ("requires_input",)},
                {"status": "canceled"}),
             _t("identity.verification_session.redacted",
                {"status": ("verified", "canceled"), "redaction": (None,)},
                {"redaction": {"status": "redacted"}}, weight=0.3),
         )),
    Kind("invoice", "invoices", "in_", 24, "/v1/invoices", "/v1/invoices/{invoice}",
         _p("invoice"), create_event="invoice.created", update_events=("invoice.updated",),
         editable=("metadata", "description", "footer"),
         transitions=(
             _t("invoice.finalized", {"status": ("draft",)},
                {"status": "open", "status_transitions.finalized_at": NOW}, weight=3),
             _t("invoice.paid", {"status": ("open",)},
                {"status": "paid", "paid": True, "amount_paid": Copy("amount_due"),
                 "amount_remaining": 0, "attempted": True,
                 "status_transitions.paid_at": NOW},
                also=("invoice.payment_succeeded",), weight=3),
             _t("invoice.payment_failed", {"status": ("open",)},
                {"attempted": True, "attempt_count": Token("increment")}),
             _t("invoice.voided", {"status": ("open",)},
                {"status": "void", "status_transitions.voided_at": NOW}),
             _t("invoice.marked_uncollectible", {"status": ("open",)},
                {"status": "uncollectible",
                 "status_transitions.marked_uncollectible_at": NOW}, weight=0.5),
             _t("invoice.sent", {"status": ("open",)}, {"webhooks_delivered_at": NOW},
                weight=0.5),
         ),
         # invoice.upcoming (a preview without id, see Mutator.upcoming_invoice) is sent too.
         signals=("invoice.upcoming",),
         delete=Delete("invoice.deleted", when=_m(status=("draft",)),
                       refusal="You can only delete draft invoices."),
         refs=_m(customer="customer")),
    # Stripe removed invoiceitem.updated: editing an invoice item sends no event at all.
    Kind("invoiceitem", "invoice_items", "ii_", 24, "/v1/invoiceitems",
         "/v1/invoiceitems/{invoiceitem}", _p("invoice"), create_event="invoiceitem.created",
         editable=("metadata", "description"), delete=Delete("invoiceitem.deleted"),
         refs=_m(customer="customer")),
    Kind("issuing.dispute", "issuing_disputes", "idp_", 24, "/v1/issuing/disputes",
         "/v1/issuing/disputes/{dispute}", _p("issuing_dispute"), product=ISSUING,
         create_event="issuing_dispute.created", update_events=("issuing_dispute.updated",),
         transitions=(
             _t("issuing_dispute.submitted", {"status": ("unsubmitted",)},
                {"status": "submitted"}, weight=2),
             _t("issuing_dispute.closed", {"status": ("submitted",)},
                {"status": OneOf(("won", "lost"))}, weight=2),
             _t("issuing_dispute.funds_reinstated", {"status": ("won",)}, {}, weight=0.5),
             _t("issuing_dispute.funds_rescinded", {"status": ("lost",)}, {}, weight=0.5),
         )),
    # PaymentIntents send no payment_intent.updated: a plain edit is silent.
    Kind("payment_intent", "payment_intents", "pi_", 24, "/v1/payment_intents",
         "/v1/payment_intents/{intent}", _p("payment_intent"),
         create_event="payment_intent.created", editable=("metadata", "description"),
         transitions=(
             _t("payment_intent.succeeded",
                {"status": ("requires_payment_method", "requires_confirmation", "processing",
                            "requires_action", "requires_capture")},
                {"status": "succeeded", "amount_received": Copy("amount")}, weight=4),
             _t("payment_intent.processing", {"status": ("requires_confirmation",)},
                {"status": "processing"}),
             _t("payment_intent.requires_action",
                {"status": ("requires_payment_method", "requires_confirmation")},
                {"status": "requires_action"}),
             _t("payment_intent.payment_failed", {"status": ("processing", "requires_action")},
                {"status": "requires_payment_method"}),
             _t("payment_intent.amount_capturable_updated",
                {"status": ("requires_confirmation", "processing")},
                {"status": "requires_capture", "amount_capturable": Copy("amount")}),
             _t("payment_intent.canceled",
                {"status": ("requires_payment_method", "requires_confirmation",
                            "requires_action", "requires_capture")},
                {"status": "canceled", "canceled_at": NOW,
                 "cancellation_reason": "requested_by_customer"}),
             _t("payment_intent.partially_funded", {"status": ("requires_payment_method",)},
                {}, weight=0.2),
         ), refs=_m(customer="customer")),
    Kind("payment_link", "payment_links", "plink_", 24, "/v1/payment_links",
         "/v1/payment_links/{payment_link}", _p("payment_link"),
         create_event="payment_link.created", update_events=("payment_link.updated",),
         transitions=(_t("payment_link.updated", {}, _ACTIVE_TOGGLE),)),
    # A customer's payment methods: attaching is their creation, detaching their deletion.
    Kind("payment_method", "payment_methods", "pm_", 24,
         "/v1/customers/{customer}/payment_methods",
         "/v1/customers/{customer}/payment_methods/{payment_method}", _p("payment_method"),
         create_event="payment_method.attached", update_events=("payment_method.updated",),
         transitions=(
             _t("payment_method.automatically_updated", {"type": ("card",)},
                {"card.exp_year": Token("increment")}, weight=0.5),
         ),
         delete=Delete("payment_method.detached", style="detach"),
         parent="customer", parent_field="customer", top_level=False),
    Kind("payout", "payouts", "po_", 24, "/v1/payouts", "/v1/payouts/{payout}", _p("payout"),
         create_event="payout.created", update_events=("payout.updated",),
         editable=("metadata", "description"),
         transitions=(
             _t("payout.paid", {"status": ("in_transit", "pending")}, {"status": "paid"},
                weight=3),
             _t("payout.failed", {"status": ("in_transit", "pending")},
                {"status": "failed", "failure_code": "account_closed",
                 "failure_message": "The bank account has been closed."}),
             _t("payout.canceled", {"status": ("pending",)}, {"status": "canceled"}),
             _t("payout.reconciliation_completed",
                {"status": ("paid",), "reconciliation_status": ("in_progress",)},
                {"reconciliation_status": "completed"}),
         )),
    Kind("plan", "plans", "price_", 24, "/v1/plans", "/v1/plans/{plan}", _p("plan"),
         create_event="plan.created", update_events=("plan.updated",),
         editable=("metadata", "nickname"),
         transitions=(_t("plan.updated", {}, _ACTIVE_TOGGLE, weight=0.3),),
         delete=Delete("plan.deleted"), refs=_m(product="product")),
    # Prices are governed by the plan permission: Stripe's own 403 for a price list names
    # "Prices Read" ('plan_read'), so prices and plans share rak_plan_read.
    Kind("price", "prices", "price_", 24, "/v1/prices", "/v1/prices/{price}", _p("plan"),
         create_event="price.created", update_events=("price.updated",),
         editable=("metadata", "nickname"),
         transitions=(_t("price.updated", {}, _ACTIVE_TOGGLE, weight=0.3),),
         delete=Delete("price.deleted"), refs=_m(product="product")),
    Kind("product", "products", "prod_", 14, "/v1/products", "/v1/products/{id}",
         _p("product"), create_event="product.created", update_events=("product.updated",),
         editable=("metadata", "description", "name"),
         transitions=(_t("product.updated", {}, {**_ACTIVE_TOGGLE, "updated": NOW},
                         weight=0.3),),
         delete=Delete("product.deleted")),
    Kind("promotion_code", "promotion_codes", "promo_", 24, "/v1/promotion_codes",
         "/v1/promotion_codes/{promotion_code}", _p("promotion_code"),
         create_event="promotion_code.created", update_events=("promotion_code.updated",),
         transitions=(_t("promotion_code.updated", {}, _ACTIVE_TOGGLE),),
         refs=_m(customer="customer")),
    Kind("quote", "quotes", "qt_", 24, "/v1/quotes", "/v1/quotes/{quote}", _p("quote"),
         create_event="quote.created", editable=("metadata", "description"),
         transitions=(
             _t("quote.finalized", {"status": ("draft",)},
                {"status": "open", "status_transitions.finalized_at": NOW}, weight=2),
             _t("quote.accepted", {"status": ("open",)},
                {"status": "accepted", "status_transitions.accepted_at": NOW}),
             _t("quote.canceled", {"status": ("draft", "open")},
                {"status": "canceled", "status_transitions.canceled_at": NOW}),
         ), refs=_m(customer="customer")),
    # A refund's edits send both refund.updated and the older charge.refund.updated.
    Kind("refund", "refunds", "re_", 24, "/v1/refunds", "/v1/refunds/{refund}", _p("refund"),
         create_event="refund.created", update_events=("refund.updated", "charge.refund.updated"),
         transitions=(
             _t("refund.updated", {"status": ("pending",)},
                {"status": OneOf(("succeeded", "failed"))}, also=("charge.refund.updated",)),
         ),
         parent="charge", parent_field="charge", nested_field="refunds"),
    # A report run announces only its outcome.
    Kind("reporting.report_run", "report_runs", "frr_", 24, "/v1/reporting/report_runs",
         "/v1/reporting/report_runs/{report_run}", _p("report_run"),
         create_event=_m(succeeded="reporting.report_run.succeeded",
                         failed="reporting.report_run.failed"),
         editable=(),
         transitions=(
             _t("reporting.report_run.succeeded", {"status": ("pending",)},
                {"status": "succeeded", "succeeded_at": NOW}, weight=3),
             _t("reporting.report_run.failed", {"status": ("pending",)},
                {"status": "failed", "error": "Report run failed: internal error."}),
         )),
    Kind("reporting.report_type", "report_types", "", 0, "/v1/reporting/report_types",
         "/v1/reporting/report_types/{report_type}", _p("report_type"), editable=(),
         transitions=(
             _t("reporting.report_type.updated", {},
                {"data_available_end": NOW, "updated": NOW}),
         ), paginated=False),
    Kind("review", "reviews", "prv_", 24, "/v1/reviews", "/v1/reviews/{review}", _p("review"),
         create_event="review.opened", editable=(),
         transitions=(
             _t("review.closed", {"open": (True,)},
                {"open": False,
                 "closed_reason": OneOf(("approved", "refunded", "refunded_as_fraud",
                                         "disputed"))}),
         ), refs=_m(charge="charge")),
    Kind("scheduled_query_run", "scheduled_query_runs", "sqr_", 24,
         "/v1/sigma/scheduled_query_runs",
         "/v1/sigma/scheduled_query_runs/{scheduled_query_run}", _p("sigma"), product=SIGMA,
         create_event="sigma.scheduled_query_run.created", editable=()),
    Kind("setup_intent", "setup_intents", "seti_", 24, "/v1/setup_intents",
         "/v1/setup_intents/{intent}", _p("setup_intent"), create_event="setup_intent.created",
         editable=("metadata", "description"),
         transitions=(
             _t("setup_intent.succeeded",
                {"status": ("requires_payment_method", "requires_confirmation", "processing",
                            "requires_action")},
                {"status": "succeeded"}, weight=3),
             _t("setup_intent.requires_action",
                {"status": ("requires_payment_method", "requires_confirmation")},
                {"status": "requires_action"}),
             _t("setup_intent.setup_failed", {"status": ("requires_action", "processing")},
                {"status": "requires_payment_method"}),
             _t("setup_intent.canceled",
                {"status": ("requires_payment_method", "requires_confirmation",
                            "requires_action")},
                {"status": "canceled", "cancellation_reason": "requested_by_customer"}),
         ), refs=_m(customer="customer")),
    # Canceling a subscription is its "deletion": customer.subscription.deleted, status
    # canceled, and it stays listed with status=all.
    Kind("subscription", "subscriptions", "sub_", 24, "/v1/subscriptions",
         "/v1/subscriptions/{subscription_exposed_id}", _p("subscription"),
         create_event="customer.subscription.created",
         update_events=("customer.subscription.updated",),
         editable=("metadata", "description"),
         transitions=(
             _t("customer.subscription.updated", {"status": ("trialing",)},
                {"status": "active", "trial_end": NOW}),
             _t("customer.subscription.updated", {"status": ("active",)},
                {"status": "past_due"}, weight=0.5),
             _t("customer.subscription.updated", {"status": ("past_due",)},
                {"status": "active"}, weight=0.5),
             _t("customer.subscription.updated", {"status": ("active", "trialing")},
                {"cancel_at_period_end": TOGGLE}),
             _t("customer.subscription.paused", {"status": ("trialing",)},
                {"status": "paused"}, weight=0.5),
             _t("customer.subscription.resumed", {"status": ("paused",)},
                {"status": "active"}),
             _t("customer.subscription.trial_will_end", {"status": ("trialing",)}, {},
                weight=0.5),
         ),
         delete=Delete("customer.subscription.deleted", style="cancel",
                       when=_m(status=("active", "trialing", "past_due", "unpaid", "paused",
                                       "incomplete")),
                       refusal="A canceled subscription can only update its "
                               "cancellation_details and metadata."),
         refs=_m(customer="customer"), hidden_statuses=("canceled",)),
    Kind("subscription_schedule", "subscription_schedule", "sub_sched_", 24,
         "/v1/subscription_schedules", "/v1/subscription_schedules/{schedule}",
         _p("subscription_schedule"), create_event="subscription_schedule.created",
         update_events=("subscription_schedule.updated",),
         transitions=(
             _t("subscription_schedule.updated", {"status": ("not_started",)},
                {"status": "active"}, weight=2),
             _t("subscription_schedule.canceled", {"status": ("not_started", "active")},
                {"status": "canceled", "canceled_at": NOW}),
             _t("subscription_schedule.released", {"status": ("active",)},
                {"status": "released", "released_at": NOW}),
             _t("subscription_schedule.completed", {"status": ("active",)},
                {"status": "completed", "completed_at": NOW}),
             _t("subscription_schedule.aborted", {"status": ("active",)},
                {"status": "canceled", "canceled_at": NOW}, weight=0.2),
             _t("subscription_schedule.expiring", {"status": ("active",)}, {}, weight=0.3),
         ), refs=_m(customer="customer")),
    Kind("tax_rate", "tax_rates", "txr_", 24, "/v1/tax_rates", "/v1/tax_rates/{tax_rate}",
         _p("tax_rate"), create_event="tax_rate.created", update_events=("tax_rate.updated",),
         editable=("metadata", "description", "display_name"),
         transitions=(_t("tax_rate.updated", {}, _ACTIVE_TOGGLE, weight=0.3),)),
    # Readers send no creation event, only the outcome of the actions they run.
    Kind("terminal.reader", "terminal_readers", "tmr_", 24, "/v1/terminal/readers",
         "/v1/terminal/readers/{reader}", _p("terminal_reader"), editable=(),
         transitions=(
             _t("terminal.reader.action_succeeded", {},
                {"label": TEXT, "status": "online"}, weight=3),
             _t("terminal.reader.action_failed", {}, {"status": OneOf(("offline", "online"))}),
         )),
    Kind("topup", "top_ups", "tu_", 24, "/v1/topups", "/v1/topups/{topup}", _p("topup"),
         create_event="topup.created", editable=("metadata", "description"),
         transitions=(
             _t("topup.succeeded", {"status": ("pending",)}, {"status": "succeeded"},
                weight=3),
             _t("topup.failed", {"status": ("pending",)},
                {"status": "failed", "failure_code": "insufficient_funds",
                 "failure_message": "The bank account has insufficient funds."}),
             _t("topup.canceled", {"status": ("pending",)}, {"status": "canceled"}),
             _t("topup.reversed", {"status": ("succeeded",)}, {"status": "reversed"},
                weight=0.5),
         )),
    Kind("issuing.transaction", "transactions", "ipi_", 24, "/v1/issuing/transactions",
         "/v1/issuing/transactions/{transaction}", _p("issuing_transaction"), product=ISSUING,
         create_event="issuing_transaction.created",
         update_events=("issuing_transaction.updated",)),
    Kind("transfer", "transfers", "tr_", 24, "/v1/transfers", "/v1/transfers/{transfer}",
         _p("transfer"), create_event="transfer.created", update_events=("transfer.updated",),
         editable=("metadata", "description"),
         transitions=(
             _t("transfer.reversed", {"reversed": (False,)},
                {"reversed": True, "amount_reversed": Copy("amount")}, weight=0.5),
         )),
    # The account's other lists (issue 19). Those Stripe sends no events for change only by a
    # request of the account's own (edits are not modelled): random changes leave them alone.
    Kind("apple_pay_domain", "apple_pay_domains", "apwc_", 24, "/v1/apple_pay/domains",
         "/v1/apple_pay/domains/{domain}", _p("apple_pay_domain"), editable=()),
    # billing.meter.* events came with 2025-03-31.basil; the emulator's version (2024-06-20)
    # sends none. Stripe's example id is a placeholder (meter_123; real ones are mtr_).
    Kind("billing.meter", "billing_meters", "meter_", 24, "/v1/billing/meters",
         "/v1/billing/meters/{id}", _p("billing_meter"), editable=()),
    Kind("climate.order", "climate_orders", "climorder_", 24, "/v1/climate/orders",
         "/v1/climate/orders/{order}", _p("climate_order"), product=CLIMATE,
         create_event="climate.order.created", editable=(),
         transitions=(
             _t("climate.order.delivered", {"status": ("confirmed",)},
                {"status": "delivered", "delivered_at": NOW}, weight=2),
             _t("climate.order.canceled", {"status": ("open", "awaiting_funds")},
                {"status": "canceled", "canceled_at": NOW}),
             _t("climate.order.delayed", {"status": ("open", "confirmed")}, {}, weight=0.5),
         )),
    # Stripe's example id is a placeholder (obj_123; real ones are feat_).
    Kind("entitlements.feature", "entitlements_features", "obj_", 24,
         "/v1/entitlements/features", "/v1/entitlements/features/{id}",
         _p("entitlements_feature"), editable=()),
    Kind("file_link", "file_links", "link_", 24, "/v1/file_links", "/v1/file_links/{link}",
         _p("file_link"), editable=(), refs=_m(file="file")),
    Kind("financial_connections.account", "financial_connections_accounts", "fca_", 24,
         "/v1/financial_connections/accounts", "/v1/financial_connections/accounts/{account}",
         _p("financial_connections_account"), product=FINANCIAL_CONNECTIONS,
         create_event="financial_connections.account.created", editable=(),
         transitions=(
             _t("financial_connections.account.deactivated", {"status": ("active",)},
                {"status": "inactive"}),
             _t("financial_connections.account.reactivated", {"status": ("inactive",)},
                {"status": "active"}),
             _t("financial_connections.account.disconnected", {"status": ("active", "inactive")},
                {"status": "disconnected"}, weight=0.5),
             _t("financial_connections.account.refreshed_balance", {"status": ("active",)},
                {"balance_refresh": None}),
         )),
    # A forwarded request is a record of what was sent: it never changes, and has no events.
    Kind("forwarding.request", "forwarding_requests", "fwdreq_", 24, "/v1/forwarding/requests",
         "/v1/forwarding/requests/{id}", _p("forwarding_request"), product=FORWARDING,
         editable=()),
    Kind("identity.verification_report", "identity_verification_reports", "vr_", 24,
         "/v1/identity/verification_reports", "/v1/identity/verification_reports/{report}",
         _p("identity_verification_report"), product=IDENTITY, editable=()),
    # A design is created in review: Stripe sends no creation event, only its outcome.
    Kind("issuing.personalization_design", "issuing_personalization_designs", "ipcd_", 14,
         "/v1/issuing/personalization_designs",
         "/v1/issuing/personalization_designs/{personalization_design}",
         _p("issuing_personalization_design"), product=ISSUING,
         update_events=("issuing_personalization_design.updated",),
         transitions=(
             _t("issuing_personalization_design.activated", {"status": ("review",)},
                {"status": "active"}, weight=2),
             _t("issuing_personalization_design.rejected", {"status": ("review",)},
                {"status": "rejected"}),
             _t("issuing_personalization_design.deactivated", {"status": ("active",)},
                {"status": "inactive"}),
         )),
    Kind("payment_method_configuration", "payment_method_configurations", "pmc_", 24,
         "/v1/payment_method_configurations", "/v1/payment_method_configurations/{configuration}",
         _p("payment_method_configuration"), editable=()),
    Kind("payment_method_domain", "payment_method_domains", "pmd_", 24,
         "/v1/payment_method_domains", "/v1/payment_method_domains/{payment_method_domain}",
         _p("payment_method_domain"), editable=()),
    Kind("radar.value_list", "value_lists", "rsl_", 24, "/v1/radar/value_lists",
         "/v1/radar/value_lists/{value_list}", _p("radar_value_list"), editable=()),
    Kind("shipping_rate", "shipping_rates", "shr_", 24, "/v1/shipping_rates",
         "/v1/shipping_rates/{shipping_rate_token}", _p("shipping_rate"), editable=()),
    # The list's status takes "all"; whether Stripe hides expired registrations without it is
    # not documented: hidden here, the stricter case for a reader.
    Kind("tax.registration", "tax_registrations", "taxreg_", 14, "/v1/tax/registrations",
         "/v1/tax/registrations/{id}", _p("tax_registration"), editable=(),
         hidden_statuses=("expired",)),
    # The account's own tax ids (owner self, the list's default).
    Kind("tax_id", "tax_ids", "txi_", 24, "/v1/tax_ids", "/v1/tax_ids/{id}", _p("tax_id"),
         editable=()),
    Kind("terminal.configuration", "terminal_configurations", "tmc_", 14,
         "/v1/terminal/configurations", "/v1/terminal/configurations/{configuration}",
         _p("terminal_configuration"), editable=()),
    Kind("terminal.location", "terminal_locations", "tml_", 24, "/v1/terminal/locations",
         "/v1/terminal/locations/{location}", _p("terminal_location"), editable=()),
    Kind("test_helpers.test_clock", "test_clocks", "clock_", 24, "/v1/test_helpers/test_clocks",
         "/v1/test_helpers/test_clocks/{test_clock}", _p("test_helpers_test_clock"),
         create_event="test_helpers.test_clock.created", editable=(),
         transitions=(
             _t("test_helpers.test_clock.advancing", {"status": ("ready",)},
                {"status": "advancing"}),
             _t("test_helpers.test_clock.ready", {"status": ("advancing",)},
                {"status": "ready", "frozen_time": NOW}, weight=2),
             _t("test_helpers.test_clock.internal_failure", {"status": ("advancing",)},
                {"status": "internal_failure"}, weight=0.3),
         ), delete=Delete("test_helpers.test_clock.deleted")),
    Kind("treasury.financial_account", "treasury_financial_accounts", "fa_", 24,
         "/v1/treasury/financial_accounts",
         "/v1/treasury/financial_accounts/{financial_account}",
         _p("treasury_financial_account"), product=TREASURY,
         create_event="treasury.financial_account.created", editable=(),
         transitions=(
             _t("treasury.financial_account.closed", {"status": ("open",)},
                {"status": "closed"}, weight=0.5),
             _t("treasury.financial_account.features_status_updated", {"status": ("open",)}, {}),
         )),
    Kind("webhook_endpoint", "webhook_endpoints", "we_", 24, "/v1/webhook_endpoints",
         "/v1/webhook_endpoints/{webhook_endpoint}", _p("webhook_endpoint"), editable=()),
    # Child lists. A customer's balance transactions, an invoice's lines and a subscription's
    # items have no events of their own: a change shows as an update of the parent.
    Kind("customer_balance_transaction", "customer_balance_transactions", "cbtxn_", 24,
         "/v1/customers/{customer}/balance_transactions",
         "/v1/customers/{customer}/balance_transactions/{transaction}", _p("customer"),
         editable=("metadata", "description"), parent="customer", parent_field="customer",
         top_level=False, parent_signal="customer.updated", moves_balance=True),
    # Lines leave a draft invoice only ("Removes multiple line items from an invoice. This is
    # only possible when an invoice is still a draft.", POST /v1/invoices/{id}/remove_lines),
    # announced by invoice.updated. Stripe documents no previous_attributes.lines on it (its
    # event docs promise old values of changed "attributes", and whole arrays; nothing says an
    # invoice's embedded lines list is among them, and invoice.updated payloads seen from
    # Stripe carry scalar fields only): the emulator leaves lines out, so a reader cannot tell
    # which lines went (the invoice's totals, which change, are there).
    Kind("line_item", "invoice_line_items", "il_", 24, "/v1/invoices/{invoice}/lines", None,
         _p("invoice"), editable=("metadata", "description"), parent="invoice",
         parent_field="invoice", nested_field="lines", top_level=False,
         parent_signal="invoice.updated", in_previous=False,
         # Stripe's wording for a line of a finalized invoice is not known; this one says why.
         delete=Delete("invoice.updated", parent_when=_m(status=("draft",)),
                       refusal="You can only remove line items from a draft invoice.")),
    # An item's removal is customer.subscription.updated with the items before in
    # previous_attributes.items: Stripe's basil changelog tells integrations to read
    # previous_attributes on customer.subscription.updated "for price or quantity changes",
    # and its event docs say "If an array attribute has any updated elements, this object
    # contains the entire array" (here: the embedded first page, as data.object shows it).
    Kind("subscription_item", "subscription_items", "si_", 14, "/v1/subscription_items",
         "/v1/subscription_items/{item}", _p("subscription"),
         editable=("metadata", "quantity"), parent="subscription",
         parent_field="subscription", parent_in_query=True, nested_field="items",
         top_level=False, parent_signal="customer.subscription.updated",
         delete=Delete("customer.subscription.updated")),
    # Issue 19's child lists. None has events of its own that the emulator sends: a new one
    # is announced by its parent's event (parent_signal), and they are never edited. A
    # transfer's reversal is announced by transfer.reversed, an application fee's refund by
    # application_fee.refunded (Stripe's application_fee.refund.updated, about a fee refund's
    # own edits, is never sent: refunds are not edited here).
    Kind("transfer_reversal", "transfer_reversals", "trr_", 24, "/v1/transfers/{id}/reversals",
         None, _p("transfer"), editable=(), parent="transfer", parent_field="transfer",
         nested_field="reversals", top_level=False, parent_signal="transfer.reversed"),
    Kind("fee_refund", "application_fee_refunds", "fr_", 24,
         "/v1/application_fees/{id}/refunds", None, _p("application_fee"), editable=(),
         parent="application_fee", parent_field="fee", nested_field="refunds",
         top_level=False, parent_signal="application_fee.refunded"),
    # A credit note's lines are made with it; the emulator announces a later one with
    # credit_note.updated (a line holds no id of its credit note).
    Kind("credit_note_line_item", "credit_note_line_items", "cnli_", 24,
         "/v1/credit_notes/{credit_note}/lines", None, _p("credit_note"), editable=(),
         parent="credit_note", nested_field="lines", top_level=False,
         parent_signal="credit_note.updated", in_previous=False),
    # A Checkout Session's line items are fixed when it is made: no event names them (a new
    # one, made through the control API, is announced by nothing).
    Kind("item", "checkout_session_line_items", "li_", 24,
         "/v1/checkout/sessions/{session}/line_items", None, _p("checkout_session"),
         editable=(), parent="checkout.session", top_level=False),
    # Value list items have no events at all (neither have value lists).
    Kind("radar.value_list_item", "value_list_items", "rsli_", 24,
         "/v1/radar/value_list_items", "/v1/radar/value_list_items/{item}",
         _p("radar_value_list"), editable=(), parent="radar.value_list",
         parent_field="value_list", parent_in_query=True, nested_field="list_items",
         top_level=False),
    Kind("person", "persons", "person_", 24, "/v1/accounts/{account}/persons",
         "/v1/accounts/{account}/persons/{person}", _p("person"), product=CONNECT,
         create_event="person.created", update_events=("person.updated",),
         editable=("metadata", "first_name", "last_name"), delete=Delete("person.deleted"),
         parent="account", parent_field="account", top_level=False),
)

BY_OBJECT: Mapping[str, Kind] = MappingProxyType({k.object: k for k in KINDS})
BY_STREAM: Mapping[str, Kind] = MappingProxyType({k.stream: k for k in KINDS})

# Served besides the kinds' own paths: the customer-filtered payment method list (without a
# customer Stripe lists only Treasury payment methods, which the emulator has none of).
EXTRA_LIST_PATHS: tuple[str, ...] = ("/v1/payment_methods",)

# Stripe's real report type ids (a fixed set Stripe publishes, not generated objects).
REPORT_TYPE_IDS: tuple[str, ...] = (
    "balance.summary.1",
    "balance_change_from_activity.itemized.1",
    "balance_change_from_activity.itemized.2",
    "balance_change_from_activity.itemized.3",
    "balance_change_from_activity.summary.1",
    "connected_account_balance.summary.1",
    "connected_account_balance_change_from_activity.itemized.1",
    "connected_account_payouts.itemized.1",
    "connected_account_payout_reconciliation.summary.1",
    "ending_balance_reconciliation.itemized.1",
    "ending_balance_reconciliation.itemized.2",
    "ending_balance_reconciliation.itemized.3",
    "ending_balance_reconciliation.itemized.4",
    "ending_balance_reconciliation.summary.1",
    "payout_reconciliation.itemized.1",
    "payout_reconciliation.itemized.2",
    "payout_reconciliation.itemized.3",
    "payout_reconciliation.itemized.4",
    "payout_reconciliation.itemized.5",
    "payout_reconciliation.summary.1",
    "payouts.itemized.1",
    "payouts.itemized.2",
    "payouts.itemized.3",
    "payouts.summary.1",
    "card_payments_fees.transaction_level.2",
)


def kind_for(name: str) -> Kind | None:
    """The kind named by a stream name or an object type."""
    return BY_STREAM.get(name) or BY_OBJECT.get(name)
