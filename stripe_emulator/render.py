"""Objects rendered in an API version.

Objects are stored once, in 2024-06-20's shape (the shape of Stripe's OpenAPI description the
emulator's data comes from), and rendered per request in the version the request is answered
in: the ``Stripe-Version`` header, else the account's default. Only the kinds a release changed
go through a transform, each one decoding the stored JSON, changing it and encoding it again;
the result is cached on the object until its state changes, so a sync reading a list in basil
pays the transform once per object, and every other kind (and every request in 2024-06-20)
passes its stored bytes through untouched.

What changed, in Stripe's words (docs.stripe.com/changelog) and as the typed Python SDK of
each release shapes it (``stripe`` 12.0.0 pins 2025-03-31.basil, 13.0.0 2025-09-30.clover):

basil (2025-03-31):
* "Removed the ``payment_intent``, ``charge``, ``paid``, and ``paid_out_of_band`` fields from
  the ``Invoice`` object. Removed the ``invoice`` field from the PaymentIntent and Charge
  objects. Removed the ``application_fee_amount`` and ``transfer_data`` fields from the
  ``Invoice`` object." Payments of an invoice are InvoicePayment objects instead: "Invoice
  Payments can be accessed in two ways: 1. By expanding the ``payments`` field on the Invoice
  resource. 2. By using the Invoice Payment retrieve and list endpoints."
* "We're introducing a new ``parent`` field on invoices, invoice items, and invoice line
  items. [...] It replaces top level fields that we previously used to reference these
  objects": on invoices ``quote``, ``subscription``, ``subscription_details`` and
  ``subscription_proration_date``; on invoice items ``subscription_item`` and
  ``subscription``; on line items ``type``, ``subscription_item``, ``invoice_item``,
  ``proration`` and ``proration_details`` (the SDK keeps a line item's ``subscription``).
* "``price`` and ``plan`` fields are no longer available on Invoice Items and Invoice Line
  Items. Move ``unit_amount`` and ``unit_amount_decimal`` to the new ``pricing`` concept":
  ``pricing: {"type": "price_details", "price_details": {"price", "product"},
  "unit_amount_decimal"}``.
* "``tax_rates`` and ``tax_amounts`` are no longer available on the Invoice Line Item [...].
  ``total_tax_amounts`` is no longer available on the Invoice object", replaced by ``taxes``
  and ``total_taxes`` (``{"amount", "tax_behavior", "tax_rate_details": {"tax_rate"},
  "taxability_reason", "taxable_amount", "type": "tax_rate_details"}``); the line items'
  ``amount_excluding_tax`` and ``unit_amount_excluding_tax`` went too, and invoices lost
  ``tax`` and ``discount`` (the SDK's Invoice of 12.0.0 has neither).
* "``current_period_start`` and ``current_period_end`` fields are no longer available on the
  subscription resource. [...] access the subscription item's billing periods directly using
  items.data.current_period_end and items.data.current_period_start"; a subscription's
  singular ``discount`` went ("The coupon and promotion_code parameters and fields are no
  longer available on Subscription [...]": ``discounts`` stays).
* Legacy usage-based billing went: plans and prices' ``recurring`` lose ``aggregate_usage``.

clover (2025-09-30):
* "This change adds a new ``source`` property to the Discount object and removes the
  auto-expanded ``coupon`` property. [...] The Coupon object is not automatically expanded on
  Discount objects, including within event notifications": ``source: {"type": "coupon",
  "coupon": "<id>"}``.
* "Moves the top-level ``coupon`` field on Promotion Codes to promotion.coupon, as part of a
  new promotion hash which is polymorphic. [...] When you retrieve Promotion Codes, they
  don't auto-expand the promotion.coupon field."

Not modelled: credit notes (``refund`` became ``refunds``, ``tax_amounts`` ``total_taxes``),
a Checkout Session's ``shipping_details`` (moved into ``collected_information``), fields
releases only added, and the differences of versions before 2024-06-20.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson

from .store import Dataset, Obj, dump
from .versions import BASIL, CANONICAL, CLOVER

Transform = Callable[[dict[str, Any], "Renderer"], None]


def diff(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """Stripe's ``previous_attributes``: old values of what changed, nested maps partially."""
    previous: dict[str, Any] = {}
    for key in old.keys() | new.keys():
        before, after = old.get(key), new.get(key)
        if before == after:
            continue
        if isinstance(before, dict) and isinstance(after, dict) and before.get("object") != "list":
            previous[key] = diff(before, after)
        else:
            previous[key] = before
    return previous


def with_previous(data: dict[str, Any], previous: dict[str, Any]) -> dict[str, Any]:
    """The object before a change: ``data`` with ``previous_attributes`` laid back over it
    (nested maps partially, as ``diff`` made them)."""
    for key, value in previous.items():
        current = data.get(key)
        if isinstance(value, dict) and isinstance(current, dict) \
                and current.get("object") != "list":
            with_previous(current, value)
        else:
            data[key] = value
    return data


def _id(value: Any) -> Any:
    """An id whether the field holds it or the object (an expanded or embedded one)."""
    return value.get("id") if isinstance(value, dict) else value


def _each_nested(data: dict[str, Any], field: str) -> list[dict[str, Any]]:
    """The items of an embedded list (invoice ``lines``, subscription ``items``)."""
    nested = data.get(field)
    if not isinstance(nested, dict) or not isinstance(nested.get("data"), list):
        return []
    return [item for item in nested["data"] if isinstance(item, dict)]


# basil


def _tax(amount: dict[str, Any]) -> dict[str, Any]:
    """A 2024-06-20 ``tax_amounts`` entry as a basil ``taxes`` / ``total_taxes`` entry."""
    return {
        "amount": amount.get("amount", 0),
        "tax_behavior": "inclusive" if amount.get("inclusive") else "exclusive",
        "tax_rate_details": {"tax_rate": _id(amount.get("tax_rate"))},
        # Non-null in basil; a 2024-06-20 amount without a reason had none computed.
        "taxability_reason": amount.get("taxability_reason") or "not_available",
        "taxable_amount": amount.get("taxable_amount"),
        "type": "tax_rate_details",
    }


def _pricing(price: Any, plan: Any, unit_amount_decimal: Any) -> dict[str, Any] | None:
    """basil's ``pricing`` of an invoice item or line from its 2024-06-20 ``price``/``plan``."""
    if isinstance(price, dict):
        price_id, product, decimal = price.get("id"), price.get("product"), \
            price.get("unit_amount_decimal")
    elif isinstance(price, str):
        price_id, product, decimal = price, None, None
    elif isinstance(plan, dict):
        price_id, product, decimal = plan.get("id"), plan.get("product"), \
            plan.get("amount_decimal")
    else:
        return None
    return {"price_details": {"price": price_id, "product": _id(product)},
            "type": "price_details",
            "unit_amount_decimal": unit_amount_decimal if unit_amount_decimal is not None
            else decimal}


INVOICE_GONE = ("application_fee_amount", "charge", "discount", "paid", "paid_out_of_band",
                "payment_intent", "quote", "subscription", "subscription_details",
                "subscription_proration_date", "tax", "total_tax_amounts", "transfer_data")


def _invoice(data: dict[str, Any], renderer: Renderer) -> None:
    subscription = _id(data.get("subscription"))
    quote = _id(data.get("quote"))
    details = data.get("subscription_details")
    parent: dict[str, Any] | None = None
    if subscription:
        parent = {"quote_details": None,
                  "subscription_details": {
                      "metadata": details.get("metadata") if isinstance(details, dict)
                      else None,
                      "subscription": subscription,
                      "subscription_proration_date": data.get("subscription_proration_date"),
                  },
                  "type": "subscription_details"}
    elif quote:
        parent = {"quote_details": {"quote": quote}, "subscription_details": None,
                  "type": "quote_details"}
    totals = data.get("total_tax_amounts") or []
    for field in INVOICE_GONE:
        data.pop(field, None)
    # Overpayments are credited to the customer's balance; the emulator's invoices are never
    # paid more than they ask. Its invoices have no PaymentIntent, so no secret to confirm.
    data["amount_overpaid"] = 0
    data["confirmation_secret"] = None
    data["parent"] = parent
    data["total_taxes"] = [_tax(amount) for amount in totals if isinstance(amount, dict)]
    for line in _each_nested(data, "lines"):
        _line_item(line, renderer)


LINE_GONE = ("amount_excluding_tax", "invoice_item", "plan", "price", "proration",
             "proration_details", "subscription_item", "tax_amounts", "tax_rates", "type",
             "unit_amount_excluding_tax")


def _line_item(data: dict[str, Any], renderer: Renderer) -> None:
    subscription = _id(data.get("subscription"))
    proration = bool(data.get("proration"))
    proration_details = data.get("proration_details")
    invoice_item = _id(data.get("invoice_item"))
    if data.get("type") == "subscription":
        parent: dict[str, Any] = {
            "invoice_item_details": None,
            "subscription_item_details": {
                "invoice_item": invoice_item, "proration": proration,
                "proration_details": proration_details, "subscription": subscription,
                "subscription_item": _id(data.get("subscription_item")),
            },
            "type": "subscription_item_details"}
    else:
        parent = {
            "invoice_item_details": {
                "invoice_item": invoice_item, "proration": proration,
                "proration_details": proration_details, "subscription": subscription,
            },
            "subscription_item_details": None,
            "type": "invoice_item_details"}
    pricing = _pricing(data.get("price"), data.get("plan"), None)
    taxes = [_tax(amount) for amount in data.get("tax_amounts") or []
             if isinstance(amount, dict)]
    for field in LINE_GONE:
        data.pop(field, None)
    data["parent"] = parent
    data["pricing"] = pricing
    data["taxes"] = taxes


def _invoiceitem(data: dict[str, Any], renderer: Renderer) -> None:
    subscription = _id(data.pop("subscription", None))
    subscription_item = _id(data.pop("subscription_item", None))
    decimal = data.pop("unit_amount_decimal", None)
    data.pop("unit_amount", None)
    data["pricing"] = _pricing(data.pop("price", None), data.pop("plan", None), decimal)
    data["parent"] = {"subscription_details": {"subscription": subscription,
                                               "subscription_item": subscription_item},
                      "type": "subscription_details"} if subscription else None


def _subscription(data: dict[str, Any], renderer: Renderer) -> None:
    period = (data.pop("current_period_start", None), data.pop("current_period_end", None))
    data.pop("discount", None)
    for item in _each_nested(data, "items"):
        _item_in_period(item, period)


def _subscription_item(data: dict[str, Any], renderer: Renderer) -> None:
    _item_in_period(data, renderer.period_of(_id(data.get("subscription"))))


def _item_in_period(data: dict[str, Any], period: tuple[Any, Any]) -> None:
    # Every item of a subscription shares its period here: the emulator's subscriptions bill
    # all their items together, as every subscription did before basil.
    data["current_period_start"], data["current_period_end"] = period
    if isinstance(data.get("plan"), dict):
        _plan(data["plan"], None)
    if isinstance(data.get("price"), dict):
        _price(data["price"], None)


def _plan(data: dict[str, Any], renderer: Renderer | None) -> None:
    data.pop("aggregate_usage", None)


def _price(data: dict[str, Any], renderer: Renderer | None) -> None:
    recurring = data.get("recurring")
    if isinstance(recurring, dict):
        recurring.pop("aggregate_usage", None)


def _without_invoice(data: dict[str, Any], renderer: Renderer) -> None:
    data.pop("invoice", None)


# clover


def _discount(data: dict[str, Any]) -> None:
    coupon = data.pop("coupon", None)
    data.setdefault("source", {"coupon": _id(coupon), "type": "coupon"})


def _customer(data: dict[str, Any], renderer: Renderer) -> None:
    if isinstance(data.get("discount"), dict):
        _discount(data["discount"])


def _promotion_code(data: dict[str, Any], renderer: Renderer) -> None:
    coupon = data.pop("coupon", None)
    data.setdefault("promotion", {"coupon": _id(coupon), "type": "coupon"})


BASIL_TRANSFORMS: dict[str, Transform] = {
    "invoice": _invoice,
    "line_item": _line_item,
    "invoiceitem": _invoiceitem,
    "subscription": _subscription,
    "subscription_item": _subscription_item,
    "charge": _without_invoice,
    "payment_intent": _without_invoice,
    "plan": _plan,
    "price": _price,
}
TRANSFORMS: dict[str, dict[str, Transform]] = {
    CANONICAL: {},
    BASIL: BASIL_TRANSFORMS,
    CLOVER: {**BASIL_TRANSFORMS, "customer": _customer, "promotion_code": _promotion_code},
}
MARKERS: dict[tuple[str, str], bytes] = {
    # Only a customer with a discount changes in clover: the others skip the decoding.
    (CLOVER, "customer"): b'"discount":{',
}

# Expansion: fields a release removed cannot be expanded any more, and the new ones can.
_BASIL_EXPAND: dict[str, tuple[frozenset[str], frozenset[str]]] = {
    "invoice": (frozenset(INVOICE_GONE), frozenset({"parent", "payments"})),
    "line_item": (frozenset(LINE_GONE), frozenset({"parent", "pricing"})),
    "invoiceitem": (frozenset({"price", "plan", "subscription", "subscription_item"}),
                    frozenset({"parent", "pricing"})),
    "subscription": (frozenset({"discount"}), frozenset()),
    "charge": (frozenset({"invoice"}), frozenset()),
    "payment_intent": (frozenset({"invoice"}), frozenset()),
}
EXPAND_CHANGES: dict[str, dict[str, tuple[frozenset[str], frozenset[str]]]] = {
    CANONICAL: {},
    BASIL: _BASIL_EXPAND,
    CLOVER: {**_BASIL_EXPAND,
             "promotion_code": (frozenset({"coupon"}), frozenset({"promotion"}))},
}


def expandable(base: frozenset[str], object_type: str, shape: str) -> frozenset[str]:
    """The fields of ``object_type`` that can be expanded in ``shape``."""
    change = EXPAND_CHANGES[shape].get(object_type)
    if change is None:
        return base
    removed, added = change
    return (base - removed) | added


# Invoice payments (basil's InvoicePayment objects), derived from their invoices


PAYMENT_PREFIX = "inpay_"
PAYMENT_STATUS = {"open": "open", "uncollectible": "open", "paid": "paid", "void": "canceled"}
"""An invoice's status -> its default payment's; a draft has none yet ("Stripe automatically
creates a default InvoicePayment when the invoice is finalized")."""


def payment_id(invoice_id: str) -> str:
    """The id of an invoice's default payment, made from the invoice's own."""
    return PAYMENT_PREFIX + invoice_id.partition("_")[2]


def invoice_id_of(payment: str) -> str | None:
    if not payment.startswith(PAYMENT_PREFIX):
        return None
    return "in_" + payment[len(PAYMENT_PREFIX):]


def invoice_payment(invoice: dict[str, Any]) -> dict[str, Any] | None:
    """The default InvoicePayment of an invoice (2024-06-20's data), None for a draft.

    Stripe creates it at finalization and keeps it "synchronized with the invoice's
    ``amount_remaining``"; an invoice the emulator marks paid was paid by it in full. It names
    the invoice's PaymentIntent, else its charge ("charge is only surfaced if the charge object
    is not associated with a payment intent"); the emulator's invoices often name neither,
    and so does their payment then (``payment_intent: null``).
    """
    status = invoice.get("status")
    invoice_id = invoice.get("id")
    if status not in PAYMENT_STATUS or not isinstance(invoice_id, str):
        return None
    transitions = invoice.get("status_transitions") or {}
    paid = status == "paid"
    intent = _id(invoice.get("payment_intent"))
    charge = _id(invoice.get("charge"))
    payment = {"charge": charge, "type": "charge"} if charge and not intent \
        else {"payment_intent": intent, "type": "payment_intent"}
    return {
        "id": payment_id(invoice_id),
        "object": "invoice_payment",
        "amount_paid": invoice.get("amount_paid") if paid else None,
        "amount_requested": invoice.get("amount_due"),
        "created": transitions.get("finalized_at") or invoice.get("created"),
        "currency": invoice.get("currency"),
        "invoice": invoice_id,
        "is_default": True,
        "livemode": invoice.get("livemode"),
        "payment": payment,
        "status": PAYMENT_STATUS[status],
        "status_transitions": {
            "canceled_at": transitions.get("voided_at") if status == "void" else None,
            "paid_at": transitions.get("paid_at") if paid else None,
        },
    }


def payments_list(invoice: dict[str, Any]) -> dict[str, Any]:
    """An invoice's ``payments`` when expanded: "an includable payments property containing
    the first handful of those items" (the list's ``url`` is a guess, by analogy with
    subscription items')."""
    payment = invoice_payment(invoice)
    return {"object": "list", "data": [payment] if payment else [], "has_more": False,
            "url": f"/v1/invoice_payments?invoice={invoice.get('id')}"}


class Renderer:
    """Renders one dataset's objects in one shape (a request's, an event's)."""

    __slots__ = ("dataset", "shape", "identity", "transforms", "_periods")

    def __init__(self, dataset: Dataset | None, shape: str) -> None:
        self.dataset = dataset
        self.shape = shape
        self.transforms = TRANSFORMS[shape]
        self.identity = not self.transforms
        """2024-06-20's shape: everything is served as stored."""
        self._periods: dict[str, tuple[Any, Any]] = {}

    def changes(self, object_type: str) -> bool:
        return object_type in self.transforms

    def blob(self, obj: Obj) -> bytes:
        """``obj`` in this shape, as JSON bytes (its stored bytes when nothing changes)."""
        if self.identity:
            return obj.blob
        transform = self.transforms.get(obj.kind.object)
        if transform is None:
            return obj.blob
        marker = MARKERS.get((self.shape, obj.kind.object))
        if marker is not None and marker not in obj.blob:
            return obj.blob
        depends = self._dependency(obj)
        cached = obj.rendered
        # Identity, not equality: a changed object has new bytes, and the cache holds the old
        # ones alive, so they cannot be mistaken for each other.
        if cached is not None and cached[0] == self.shape and cached[1] is obj.blob \
                and cached[2] is depends:
            return cached[3]
        data: dict[str, Any] = orjson.loads(obj.blob)
        transform(data, self)
        rendered = dump(data)
        obj.rendered = (self.shape, obj.blob, depends, rendered)
        return rendered

    def data(self, obj: Obj) -> dict[str, Any]:
        """``obj`` in this shape, decoded (a fresh dict the caller may change)."""
        result: dict[str, Any] = orjson.loads(self.blob(obj))
        return result

    def render(self, object_type: str, data: dict[str, Any]) -> dict[str, Any]:
        """``data`` (2024-06-20's shape) changed in place into this shape."""
        transform = self.transforms.get(object_type)
        if transform is not None:
            transform(data, self)
        return data

    def event_payload(self, obj: Obj, previous: dict[str, Any] | None
                      ) -> tuple[bytes, dict[str, Any] | None]:
        """An event's ``data.object`` and ``previous_attributes`` in this shape.

        The old values are those of the old object rendered in this shape: a change of a
        field the version no longer has shows as the change of where it went (a
        subscription's period as its items'), or not at all.
        """
        if self.identity or not self.changes(obj.kind.object):
            return obj.blob, previous
        # Through the object's cache: the list read that follows the event (in the account's
        # version, as the event) finds the object already rendered.
        blob = self.blob(obj)
        if previous is None:
            return blob, None
        new: dict[str, Any] = orjson.loads(blob)
        old = self.render(obj.kind.object, with_previous(orjson.loads(obj.blob), previous))
        return blob, diff(old, new)

    def period_of(self, subscription_id: Any) -> tuple[Any, Any]:
        """A subscription's current period, which basil shows on its items."""
        if not isinstance(subscription_id, str) or self.dataset is None:
            return (None, None)
        period = self._periods.get(subscription_id)
        if period is None:
            sub = self.dataset.objects.get(subscription_id)
            data = sub.data() if sub is not None else {}
            period = self._periods[subscription_id] = (
                data.get("current_period_start"), data.get("current_period_end"))
        return period

    def _dependency(self, obj: Obj) -> bytes | None:
        """The bytes of another object ``obj``'s rendering depends on (a subscription item's
        subscription, whose period it shows), so that its cache follows that one's changes."""
        if obj.kind.object != "subscription_item" or self.dataset is None or not obj.parent:
            return None
        parent = self.dataset.objects.get(obj.parent)
        return parent.blob if parent is not None else None
