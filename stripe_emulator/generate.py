"""Realistic Stripe objects, built from Stripe's own example of each type.

Every object starts as a deep copy of the example in ``data/examples.json`` (decoding its JSON
is the fastest deep copy) and keeps exactly its field names; only values change, and a value is
only ever replaced by one whose JSON type the OpenAPI description allows for that field, so
generated objects validate against schemas generated from the same description. Values vary
(amounts, names, emails, statuses, metadata) and reference other objects of the same dataset
where Stripe's would (a charge's customer, a price's product).
"""

from __future__ import annotations

import random
import string
from collections.abc import Callable
from typing import Any

import orjson

from . import spec
from .catalog import REPORT_TYPE_IDS, Kind
from .store import Dataset, Obj, random_id

PLACEHOLDER_TIME = 1234567890
"""The timestamp Stripe's examples use everywhere; replaced by a time near ``created``."""
DAY = 86400

FIRST = ("Jenny", "Liam", "Olivia", "Noah", "Emma", "Ava", "Lucas", "Mia", "Amelia", "Ethan",
         "Sofia", "Mateo", "Aiko", "Kenji", "Chloe", "Hugo", "Lena", "Omar", "Priya", "Ravi",
         "Zoe", "Ines", "Jonas", "Freya", "Diego", "Nora", "Yusuf", "Elena", "Marta", "Tomas")
LAST = ("Rosen", "Smith", "Garcia", "Müller", "Martin", "Rossi", "Tanaka", "Nguyen", "Khan",
        "Silva", "Dubois", "Novak", "Kowalski", "Larsen", "Okafor", "Haddad", "Jensen",
        "Moreau", "Santos", "Ivanova", "Cohen", "Park", "Lopez", "Schmidt", "Brown", "Wilson")
DOMAINS = ("example.com", "mail.test", "acme.io", "corp.example", "shop.test")
PRODUCTS = ("T-shirt", "Hoodie", "Pro plan", "Starter plan", "Team plan", "Coffee beans",
            "Notebook", "Sticker pack", "Support hours", "API credits", "Gift card",
            "Consulting", "Enterprise seat", "Storage add-on", "Poster")
WORDS = ("monthly", "annual", "renewal", "order", "invoice", "upgrade", "refill", "premium",
         "basic", "trial", "bundle", "service", "subscription", "one-off", "donation")
CURRENCIES = ("usd",) * 14 + ("eur",) * 3 + ("gbp",) * 2 + ("cad",)
SOURCES = ("web", "ios", "android", "api", "pos")
UPPER = string.ascii_uppercase + string.digits

JSON_TYPE = {type(None): "null", bool: "boolean", int: "integer", float: "number",
             str: "string", list: "array", dict: "object"}


def json_type(value: Any) -> str:
    return JSON_TYPE.get(type(value), "object")


class Generator:
    """Builds objects for one dataset with one random stream (seeded for reproducibility)."""

    def __init__(self, rng: random.Random, dataset: Dataset, now: int) -> None:
        self.rng = rng
        self.dataset = dataset
        self.now = now

    # Values

    def new_id(self, kind: Kind) -> str:
        if kind.object == "reporting.report_type":
            taken = self.dataset.objects
            for name in REPORT_TYPE_IDS:
                if name not in taken:
                    return name
            base = self.rng.choice(REPORT_TYPE_IDS).rsplit(".", 1)[0]
            version = 2
            while f"{base}.{version}" in taken:
                version += 1
            return f"{base}.{version}"
        if kind.object == "coupon":
            return "".join(self.rng.choices(UPPER, k=kind.id_len))
        prefix = kind.prefix
        if self.dataset.livemode:
            prefix = prefix.replace("_test_", "_live_")
        return prefix + random_id(self.rng, kind.id_len)

    def name(self) -> str:
        return f"{self.rng.choice(FIRST)} {self.rng.choice(LAST)}"

    def email(self, name: str | None = None) -> str:
        local = (name or self.name()).lower().replace(" ", ".").replace("ü", "u")
        return f"{local}{self.rng.randint(1, 999)}@{self.rng.choice(DOMAINS)}"

    def text(self) -> str:
        return " ".join(self.rng.choices(WORDS, k=self.rng.randint(2, 4))).capitalize()

    def amount(self) -> int:
        # Roughly log-uniform from 1.00 to 2,000.00: many small payments, a few large ones.
        return int(100 * 2000 ** self.rng.random()) // 10 * 10 + 100

    def metadata(self) -> dict[str, str]:
        roll = self.rng.random()
        if roll < 0.4:
            return {}
        meta = {"order_id": str(self.rng.randint(10000, 9999999))}
        if roll > 0.7:
            meta["source"] = self.rng.choice(SOURCES)
        return meta

    def status(self, object_type: str, weights: dict[str, float] | None = None) -> str | None:
        values = spec.facts()["status_values"].get(object_type)
        if weights:
            return self.rng.choices(list(weights), weights=list(weights.values()))[0]
        return self.rng.choice(values) if values else None

    def pick(self, object_type: str) -> Obj | None:
        """A random listed object of the dataset, or None if there is none."""
        pool = self.dataset.registry.get(object_type) or []
        for _ in range(8):
            if not pool:
                return None
            obj = pool[self.rng.randrange(len(pool))]
            if self._alive(obj):
                return obj
        for obj in reversed(pool):
            if self._alive(obj):
                return obj
        return None

    def _alive(self, obj: Obj) -> bool:
        """Listed, and so is its parent: the children of a deleted invoice are gone with it."""
        if not obj.listed:
            return False
        parent = self.dataset.objects.get(obj.parent) if obj.parent else None
        return parent is None or parent.listed

    # Objects

    def build(self, kind: Kind, created: int, parent: Obj | None = None,
              plain: bool = False) -> dict[str, Any]:
        """A new object of ``kind``; ``plain`` leaves Stripe's example values (an API create
        sets only what its request gives), else values vary like real data."""
        data: dict[str, Any] = orjson.loads(spec.example_bytes(kind.object))
        types = spec.field_types(kind.object)
        ctx = Ctx(self, kind, data, types, created)
        old_id = data.get("id")
        data["id"] = self.new_id(kind)
        if "created" in data:
            data["created"] = created
        if "livemode" in data:
            data["livemode"] = self.dataset.livemode
        for key, value in data.items():
            if value == PLACEHOLDER_TIME:
                data[key] = created
            elif isinstance(value, dict):
                if value.get("object") == "list":
                    value["data"] = []
                    value["has_more"] = False
                    if isinstance(old_id, str) and isinstance(value.get("url"), str):
                        value["url"] = value["url"].replace(old_id, data["id"])
                else:
                    for inner, inner_value in value.items():
                        if inner_value == PLACEHOLDER_TIME:
                            value[inner] = created
            elif isinstance(value, str) and isinstance(old_id, str) and old_id in value \
                    and key != "id":
                data[key] = value.replace(old_id, data["id"])
        if plain:
            if isinstance(data.get("metadata"), dict):
                data["metadata"] = {}
            if kind.parent_field and parent is not None:
                data[kind.parent_field] = parent.id
            return data
        if "metadata" in data:
            ctx.put("metadata", self.metadata())
        if "currency" in data and isinstance(data["currency"], str):
            ctx.put("currency", self.rng.choice(CURRENCIES))
        if isinstance(data.get("amount"), int):
            sign = -1 if data["amount"] < 0 else 1
            ctx.put("amount", sign * self.amount())
        for field, target in kind.refs.items():
            ref = self.pick(target)
            if ref is not None:
                ctx.put(field, ref.id)
            elif "null" in types.get(field, ()):
                data[field] = None
        if kind.parent_field and parent is not None:
            data[kind.parent_field] = parent.id
        tweak = TWEAKS.get(kind.object)
        if tweak is not None:
            tweak(ctx)
        elif "status" in data:
            status = self.status(kind.object)
            if status is not None:
                ctx.put("status", status)
        return data


class Ctx:
    """One object being built: its data, the allowed JSON types of its fields, helpers."""

    def __init__(self, gen: Generator, kind: Kind, data: dict[str, Any],
                 types: dict[str, frozenset[str]], created: int) -> None:
        self.gen = gen
        self.rng = gen.rng
        self.kind = kind
        self.data = data
        self.types = types
        self.created = created

    def put(self, field: str, value: Any) -> None:
        """Set a top-level field the example has, if the description allows the value's type."""
        if field not in self.data:
            return
        allowed = self.types.get(field)
        kind = json_type(value)
        if allowed is None or kind in allowed or (kind == "integer" and "number" in allowed):
            self.data[field] = value

    def later(self, low_days: float, high_days: float) -> int:
        """A time that has already passed, some days after creation (never in the future)."""
        return min(self.gen.now, self.ahead(low_days, high_days))

    def ahead(self, low_days: float, high_days: float) -> int:
        """A time some days after creation, possibly in the future (a due date)."""
        return self.created + int(self.rng.uniform(low_days, high_days) * DAY)

    def choose(self, weights: dict[str, float]) -> str:
        return self.rng.choices(list(weights), weights=list(weights.values()))[0]


def _customer(c: Ctx) -> None:
    name = c.gen.name()
    c.put("name", name)
    c.put("email", c.gen.email(name))
    if c.rng.random() < 0.3:
        c.put("phone", f"+1555{c.rng.randint(1000000, 9999999)}")
    if c.rng.random() < 0.3:
        c.put("description", c.gen.text())
    if c.rng.random() < 0.1:
        c.put("balance", -c.gen.amount())
    c.put("invoice_prefix", "".join(c.rng.choices(UPPER, k=8)))
    c.put("next_invoice_sequence", c.rng.randint(1, 40))
    c.put("preferred_locales", c.rng.choice(([], ["en"], ["fr"], ["de"])))


def _charge(c: Ctx) -> None:
    d = c.data
    status = c.choose({"succeeded": 0.86, "failed": 0.07, "pending": 0.07})
    d["status"] = status
    captured = status == "succeeded" and c.rng.random() < 0.92
    d["captured"] = captured
    d["paid"] = status == "succeeded"
    d["amount_captured"] = d["amount"] if captured else 0
    d["amount_refunded"] = 0
    d["refunded"] = False
    if status == "failed":
        c.put("failure_code", "card_declined")
        c.put("failure_message", "Your card was declined.")
    c.put("description", c.gen.text())
    c.put("balance_transaction", "txn_" + random_id(c.rng, 24))
    c.put("payment_method", "pm_" + random_id(c.rng, 24))
    name = c.gen.name()
    billing = d.get("billing_details")
    if isinstance(billing, dict):
        billing["name"] = name
        billing["email"] = c.gen.email(name)
    c.put("receipt_email", billing.get("email") if isinstance(billing, dict) else None)
    card = (d.get("payment_method_details") or {}).get("card")
    if isinstance(card, dict):
        card["last4"] = f"{c.rng.randint(0, 9999):04d}"
        card["brand"] = card["network"] = c.rng.choice(("visa", "mastercard", "amex"))
        card["exp_year"] = 2025 + c.rng.randint(0, 6)


def _payment_intent(c: Ctx) -> None:
    status = c.choose({"succeeded": 0.6, "requires_payment_method": 0.12,
                       "requires_confirmation": 0.08, "requires_action": 0.06,
                       "processing": 0.04, "requires_capture": 0.04, "canceled": 0.06})
    c.data["status"] = status
    c.put("amount_received", c.data["amount"] if status == "succeeded" else 0)
    c.put("amount_capturable", c.data["amount"] if status == "requires_capture" else 0)
    c.put("canceled_at", c.later(0, 2) if status == "canceled" else None)
    c.put("cancellation_reason", "abandoned" if status == "canceled" else None)
    c.put("client_secret", f"{c.data['id']}_secret_{random_id(c.rng, 25)}")
    c.put("description", c.gen.text())


def invoice_totals(data: dict[str, Any], amount: int) -> None:
    """Set an invoice's amounts from its total (the sum of its lines)."""
    paid = data.get("status") == "paid"
    for field in ("amount_due", "subtotal", "subtotal_excluding_tax", "total",
                  "total_excluding_tax"):
        if field in data:
            data[field] = amount
    if "amount_paid" in data:
        data["amount_paid"] = amount if paid else 0
    if "amount_remaining" in data:
        data["amount_remaining"] = 0 if paid else amount


def _invoice(c: Ctx) -> None:
    d = c.data
    status = c.choose({"paid": 0.62, "open": 0.18, "draft": 0.1, "void": 0.05,
                       "uncollectible": 0.05})
    d["status"] = status
    paid = status == "paid"
    c.put("paid", paid)
    invoice_totals(d, c.gen.amount())
    c.put("attempted", status in ("paid", "open", "uncollectible"))
    c.put("attempt_count", 1 if status in ("paid", "uncollectible") else 0)
    c.put("number", None if status == "draft" else
          f"{''.join(c.rng.choices(UPPER, k=8))}-{c.rng.randint(1, 9999):04d}")
    c.put("period_start", c.created - 30 * DAY)
    c.put("period_end", c.created)
    c.put("due_date", c.ahead(7, 30))
    c.put("next_payment_attempt", c.ahead(0, 3) if status in ("draft", "open") else None)
    transitions = d.get("status_transitions")
    if isinstance(transitions, dict):
        finalized = status != "draft"
        transitions["finalized_at"] = c.later(0, 1) if finalized else None
        transitions["paid_at"] = c.later(1, 5) if paid else None
        transitions["voided_at"] = c.later(1, 9) if status == "void" else None
        transitions["marked_uncollectible_at"] = (c.later(20, 40) if status == "uncollectible"
                                                  else None)
    customer = c.gen.dataset.get(d.get("customer") or "", "customer")
    if customer is not None:
        info = customer.data()
        c.put("customer_email", info.get("email"))
        c.put("customer_name", info.get("name"))


def _invoiceitem(c: Ctx) -> None:
    c.put("date", c.created)
    c.put("unit_amount", c.data.get("amount"))
    c.put("unit_amount_decimal", str(c.data.get("amount")))
    c.put("quantity", 1)
    c.put("description", c.gen.text())


def _line_item(c: Ctx) -> None:
    price = c.gen.pick("price")
    if price is not None:
        c.put("price", price.data())
    amount = c.gen.amount()
    c.put("amount", amount)
    c.put("amount_excluding_tax", amount)
    c.put("unit_amount_excluding_tax", str(amount))
    c.put("description", c.gen.text())
    c.put("quantity", 1)


def _checkout_item(c: Ctx) -> None:
    price = c.gen.pick("price")
    if price is not None:
        c.put("price", price.data())
    quantity = c.rng.choice((1, 1, 1, 2, 3))
    amount = c.gen.amount() * quantity
    c.put("quantity", quantity)
    c.put("amount_subtotal", amount)
    c.put("amount_total", amount)
    c.put("description", c.gen.text())


def _subscription(c: Ctx) -> None:
    status = c.choose({"active": 0.58, "canceled": 0.2, "trialing": 0.1, "past_due": 0.05,
                       "unpaid": 0.02, "incomplete": 0.03, "paused": 0.02})
    c.data["status"] = status
    c.put("start_date", c.created)
    c.put("billing_cycle_anchor", c.created)
    c.put("current_period_start", c.created)
    c.put("current_period_end", c.created + 30 * DAY)
    canceled = status == "canceled"
    c.put("canceled_at", c.later(30, 300) if canceled else None)
    c.put("ended_at", c.data["canceled_at"] if canceled else None)
    c.put("cancel_at", None)
    trialing = status == "trialing"
    c.put("trial_start", c.created if trialing else None)
    c.put("trial_end", c.ahead(7, 14) if trialing else None)
    c.put("next_pending_invoice_item_invoice", None)


def _subscription_item(c: Ctx) -> None:
    c.put("quantity", c.rng.choice((1, 1, 1, 2, 3, 5)))
    price = c.gen.pick("price")
    if price is not None:
        c.put("price", price.data())
    if isinstance(c.data.get("plan"), dict) and isinstance(c.data.get("price"), dict):
        c.put("plan", plan_of(c.data["plan"], c.data["price"]))


def plan_of(template: dict[str, Any], price: dict[str, Any]) -> dict[str, Any]:
    """The legacy ``plan`` Stripe shows beside a recurring price: the same thing, older shape
    (the example's embedded plan is a placeholder, ``"currency": "currency"``)."""
    recurring = price.get("recurring") or {}
    amount = price.get("unit_amount")
    values = {
        "active": price.get("active", True), "amount": amount,
        "amount_decimal": str(amount) if amount is not None else None,
        "billing_scheme": price.get("billing_scheme", "per_unit"),
        "created": price.get("created"), "currency": price.get("currency"),
        "id": price.get("id"), "interval": recurring.get("interval", "month"),
        "interval_count": recurring.get("interval_count", 1),
        "livemode": price.get("livemode", False), "metadata": price.get("metadata", {}),
        "nickname": price.get("nickname"), "object": "plan", "product": price.get("product"),
        "tiers_mode": None, "transform_usage": None,
        "trial_period_days": recurring.get("trial_period_days"),
        "usage_type": recurring.get("usage_type", "licensed"), "aggregate_usage": None,
    }
    return {key: values.get(key, value) for key, value in template.items()}


def _product(c: Ctx) -> None:
    c.put("name", c.rng.choice(PRODUCTS))
    c.put("description", c.gen.text())
    c.put("active", c.rng.random() < 0.9)
    c.put("updated", c.created)
    c.put("default_price", None)


def _price(c: Ctx) -> None:
    amount = c.gen.amount()
    c.put("unit_amount", amount)
    c.put("unit_amount_decimal", str(amount))
    c.put("nickname", c.gen.text() if c.rng.random() < 0.3 else None)
    c.put("active", c.rng.random() < 0.9)
    if c.rng.random() < 0.4:
        c.put("type", "one_time")
        c.put("recurring", None)
    elif isinstance(c.data.get("recurring"), dict):
        c.data["recurring"]["interval"] = c.rng.choice(("month", "month", "year", "week"))


def _plan(c: Ctx) -> None:
    c.put("amount_decimal", str(c.data.get("amount")))
    c.put("interval", c.rng.choice(("month", "month", "year", "week")))
    c.put("nickname", c.gen.text() if c.rng.random() < 0.4 else None)
    c.put("active", c.rng.random() < 0.9)


def _coupon(c: Ctx) -> None:
    if c.rng.random() < 0.6:
        percent = c.rng.choice((5, 10, 15, 20, 25, 50))
        c.put("percent_off", float(percent))
        c.put("amount_off", None)
        c.put("name", f"{percent}% off")
    else:
        amount = c.rng.choice((500, 1000, 2500))
        c.put("amount_off", amount)
        c.put("percent_off", None)
        c.put("name", f"{amount // 100} off")
    duration = c.rng.choice(("once", "repeating", "forever"))
    c.put("duration", duration)
    c.put("duration_in_months", c.rng.randint(1, 12) if duration == "repeating" else None)
    c.put("redeem_by", c.ahead(30, 365) if c.rng.random() < 0.3 else None)
    c.put("times_redeemed", c.rng.randint(0, 50))


def _payment_method(c: Ctx) -> None:
    name = c.gen.name()
    billing = c.data.get("billing_details")
    if isinstance(billing, dict):
        billing["name"] = name
        billing["email"] = c.gen.email(name)
    card = c.data.get("card")
    if isinstance(card, dict):
        card["last4"] = f"{c.rng.randint(0, 9999):04d}"
        card["brand"] = card["display_brand"] = c.rng.choice(("visa", "mastercard", "amex"))
        card["exp_month"] = c.rng.randint(1, 12)
        card["exp_year"] = 2025 + c.rng.randint(0, 6)
        card["fingerprint"] = random_id(c.rng, 16)


def _refund(c: Ctx) -> None:
    charge = c.gen.dataset.get(c.data.get("charge") or "", "charge")
    if charge is not None:
        info = charge.data()
        remaining = info.get("amount", 0) - info.get("amount_refunded", 0)
        c.put("amount", max(1, min(remaining, c.data.get("amount") or remaining)))
        c.put("currency", info.get("currency"))
    c.put("status", c.choose({"succeeded": 0.9, "pending": 0.08, "failed": 0.02}))
    c.put("reason", c.rng.choice((None, "requested_by_customer", "duplicate", "fraudulent")))


def _dispute(c: Ctx) -> None:
    c.put("status", c.choose({"needs_response": 0.2, "warning_needs_response": 0.1,
                              "under_review": 0.2, "won": 0.3, "lost": 0.2}))
    c.put("reason", c.rng.choice(("general", "fraudulent", "product_not_received",
                                  "duplicate", "subscription_canceled")))


def _payout(c: Ctx) -> None:
    status = c.choose({"paid": 0.75, "in_transit": 0.1, "pending": 0.08, "failed": 0.04,
                       "canceled": 0.03})
    c.put("status", status)
    c.put("arrival_date", c.ahead(1, 3))
    c.put("reconciliation_status", "completed" if status == "paid" and c.rng.random() < 0.8
          else "in_progress" if status == "paid" else "not_applicable")
    c.put("balance_transaction", "txn_" + random_id(c.rng, 24))


def _topup(c: Ctx) -> None:
    c.put("status", c.choose({"succeeded": 0.7, "pending": 0.2, "failed": 0.05,
                              "canceled": 0.03, "reversed": 0.02}))
    c.put("expected_availability_date", c.ahead(1, 5))
    c.put("description", c.gen.text())


def _transfer(c: Ctx) -> None:
    account = c.gen.pick("account")
    if account is not None:
        c.put("destination", account.id)
    c.put("destination_payment", "py_" + random_id(c.rng, 14))
    c.put("description", c.gen.text() if c.rng.random() < 0.5 else None)


SETTLEMENT_DAYS = {2: 0.7, 3: 0.1, 4: 0.1, 5: 0.1}
"""Business days from a card charge to its funds being available. Stripe: "if a customer makes
a 100 USD card payment on Monday in the US, the funds are initially pending. Then the funds are
available in your balance on Wednesday, 2 business days later. Settlement timing varies based
on your country and the payment method used." Most here settle in 2, some take up to 5 (other
countries, newer accounts): 2 to 7 calendar days with weekends."""


def settlement_date(created: int, business_days: int) -> int:
    """Midnight UTC ``business_days`` weekdays after the day of ``created``. Incoming balance
    transactions seen from Stripe become available at a day's start: a charge created at
    1614156368 (a Wednesday) has available_on 1614729600, 5 business days later; another
    transaction created at 1636680702 (a Friday) 1637020800, the Tuesday 2 business days
    later."""
    day = created // DAY
    left = business_days
    while left:
        day += 1
        if (day + 3) % 7 < 5:  # 1970-01-01 (day 0) was a Thursday; Monday is 0
            left -= 1
    return day * DAY


def _balance_transaction(c: Ctx) -> None:
    kind = c.choose({"charge": 0.7, "refund": 0.1, "payout": 0.1, "stripe_fee": 0.05,
                     "adjustment": 0.05})
    amount = c.data["amount"] if kind == "charge" else -c.data["amount"]
    fee = int(abs(amount) * 0.029) + 30 if kind == "charge" else 0
    c.put("type", kind)
    c.put("reporting_category", "fee" if kind == "stripe_fee" else kind)
    c.put("amount", amount)
    c.put("fee", fee)
    c.put("net", amount - fee)
    if kind == "charge":
        # Incoming funds wait for settlement: pending until available_on.
        available_on = settlement_date(
            c.created, c.rng.choices(list(SETTLEMENT_DAYS), list(SETTLEMENT_DAYS.values()))[0])
    else:
        # Outgoing funds (refunds, payouts, fees, adjustments here) leave the balance at once:
        # Stripe's own example, a transfer of -400, is "available" with available_on equal to
        # its created. (A refund's timing is not documented; this is the best known.)
        available_on = c.created
    c.put("available_on", available_on)
    # As of the emulator's clock: a transaction made long ago has settled since.
    c.put("status", "available" if available_on <= c.gen.now else "pending")
    c.put("source", ("ch_" if kind == "charge" else "re_" if kind == "refund" else "po_")
          + random_id(c.rng, 24))
    c.put("description", c.gen.text())


def _checkout_session(c: Ctx) -> None:
    status = c.choose({"complete": 0.7, "expired": 0.2, "open": 0.1})
    c.put("status", status)
    c.put("payment_status", "paid" if status == "complete" else "unpaid")
    amount = c.gen.amount()
    c.put("amount_subtotal", amount)
    c.put("amount_total", amount)
    c.put("expires_at", c.created + DAY)
    c.put("url", f"https://checkout.stripe.com/c/pay/{c.data['id']}" if status == "open"
          else None)


def _account(c: Ctx) -> None:
    name = c.gen.name()
    c.put("email", c.gen.email(name))
    profile = c.data.get("business_profile")
    if isinstance(profile, dict):
        profile["name"] = f"{name.split()[1]} {c.rng.choice(PRODUCTS)}"
    enabled = c.rng.random() < 0.8
    c.put("charges_enabled", enabled)
    c.put("payouts_enabled", enabled)
    c.put("details_submitted", enabled)
    c.put("country", c.rng.choice(("US", "US", "GB", "FR", "DE", "CA")))
    c.put("type", c.rng.choice(("standard", "express", "custom")))


def _person(c: Ctx) -> None:
    c.put("first_name", c.rng.choice(FIRST))
    c.put("last_name", c.rng.choice(LAST))


def _report_type(c: Ctx) -> None:
    report_id: str = c.data["id"]
    c.put("name", report_id.split(".")[0].replace("_", " ").capitalize())
    c.put("version", int(report_id.rsplit(".", 1)[1]))
    c.put("updated", c.created)
    c.put("data_available_start", c.created - 365 * DAY)
    c.put("data_available_end", c.created)


def _report_run(c: Ctx) -> None:
    status = c.choose({"succeeded": 0.85, "pending": 0.1, "failed": 0.05})
    c.put("status", status)
    c.put("succeeded_at", c.later(0, 0.01) if status == "succeeded" else None)
    c.put("error", "Report run failed: internal error." if status == "failed" else None)
    c.put("result", c.data.get("result") if status == "succeeded" else None)
    c.put("report_type", c.rng.choice(REPORT_TYPE_IDS))


def _customer_balance_transaction(c: Ctx) -> None:
    c.put("type", c.rng.choice(("adjustment", "applied_to_invoice", "credit_note")))
    c.put("ending_balance", c.data.get("amount"))


def _issuing_cardholder(c: Ctx) -> None:
    name = c.gen.name()
    c.put("name", name)
    c.put("email", c.gen.email(name))
    c.put("status", c.choose({"active": 0.9, "inactive": 0.1}))


def _status_only(weights: dict[str, float]) -> Callable[[Ctx], None]:
    def tweak(c: Ctx) -> None:
        c.put("status", c.choose(weights))
    return tweak


TWEAKS: dict[str, Callable[[Ctx], None]] = {
    "account": _account,
    "balance_transaction": _balance_transaction,
    "charge": _charge,
    "checkout.session": _checkout_session,
    "coupon": _coupon,
    "customer": _customer,
    "customer_balance_transaction": _customer_balance_transaction,
    "dispute": _dispute,
    "invoice": _invoice,
    "invoiceitem": _invoiceitem,
    "item": _checkout_item,
    "issuing.cardholder": _issuing_cardholder,
    "line_item": _line_item,
    "payment_intent": _payment_intent,
    "payment_method": _payment_method,
    "payout": _payout,
    "person": _person,
    "plan": _plan,
    "price": _price,
    "product": _product,
    "refund": _refund,
    "reporting.report_run": _report_run,
    "reporting.report_type": _report_type,
    "subscription": _subscription,
    "subscription_item": _subscription_item,
    "topup": _topup,
    "transfer": _transfer,
    "issuing.authorization": _status_only({"closed": 0.7, "pending": 0.2, "reversed": 0.1}),
    "issuing.card": _status_only({"active": 0.85, "inactive": 0.1, "canceled": 0.05}),
    "issuing.dispute": _status_only({"won": 0.3, "lost": 0.2, "submitted": 0.2,
                                     "unsubmitted": 0.2, "expired": 0.1}),
    "credit_note": _status_only({"issued": 0.9, "void": 0.1}),
    "quote": _status_only({"accepted": 0.4, "open": 0.25, "draft": 0.2, "canceled": 0.15}),
    "setup_intent": _status_only({"succeeded": 0.6, "requires_payment_method": 0.15,
                                  "requires_confirmation": 0.05, "requires_action": 0.08,
                                  "processing": 0.02, "canceled": 0.1}),
    "identity.verification_session": _status_only({"verified": 0.6, "requires_input": 0.2,
                                                   "processing": 0.1, "canceled": 0.1}),
    "subscription_schedule": _status_only({"active": 0.4, "not_started": 0.2,
                                           "completed": 0.2, "released": 0.1,
                                           "canceled": 0.1}),
    "terminal.reader": _status_only({"online": 0.8, "offline": 0.2}),
}
