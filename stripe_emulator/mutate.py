"""Creating, changing and deleting objects, with the events Stripe sends for each change.

Every change goes through a ``Mutator``, which records the object's new state and emits the
events of the catalogue: each event keeps the object's serialized state of that moment (a deep
snapshot for free, since the state is immutable bytes) and, on updates, the old values of the
changed fields in ``previous_attributes``.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

from .catalog import BY_OBJECT, KINDS, META, NOW, TEXT, TOGGLE, Copy, Kind, OneOf, Token, Transition, kind_for
from .config import PROFILES, Profile, refusal
from .generate import Generator, invoice_totals
from .query import set_in
from .render import Renderer, diff
from .store import (
    NESTED_CHILDREN,
    NESTED_PAGE,
    RETENTION_SECONDS,
    Dataset,
    Event,
    Obj,
    Store,
    dump,
    make_event_blob,
    random_id,
)
from .versions import shape_of

YEAR = 365 * 86400

# Parents and referenced types first, so that children and references find something.
SEED_ORDER: tuple[str, ...] = (
    "account", "customer", "product", "price", "plan", "coupon", "tax_rate", "promotion_code",
    "payment_method", "customer_balance_transaction", "charge", "refund", "dispute",
    "radar.early_fraud_warning", "review", "application_fee", "balance_transaction",
    "payment_intent", "setup_intent", "invoice", "line_item", "invoiceitem", "credit_note",
    "subscription", "subscription_item", "subscription_schedule", "quote", "checkout.session",
    "payment_link", "billing_portal.configuration", "payout", "topup", "transfer", "file",
    "identity.verification_session", "issuing.cardholder", "issuing.card",
    "issuing.authorization", "issuing.transaction", "issuing.dispute", "reporting.report_run",
    "reporting.report_type", "scheduled_query_run", "terminal.reader", "person",
    "apple_pay_domain", "billing.meter", "climate.order", "entitlements.feature", "file_link",
    "financial_connections.account", "forwarding.request", "identity.verification_report",
    "issuing.personalization_design", "payment_method_configuration", "payment_method_domain",
    "radar.value_list", "shipping_rate", "tax.registration", "tax_id", "terminal.configuration",
    "terminal.location", "test_helpers.test_clock", "treasury.financial_account",
    "webhook_endpoint", "transfer_reversal", "fee_refund", "credit_note_line_item",
    "radar.value_list_item", "item",
)
assert set(SEED_ORDER) == {k.object for k in KINDS if k.object != "event"}

@dataclass(frozen=True)
class ChildCounts:
    """How many children Stripe creates together with a parent (an invoice has lines).

    Most parents have a few; a share (``Settings.many_children_share``) has more than Stripe
    embeds (``NESTED_PAGE``), so that a reader meets ``has_more`` on embedded lists and must
    page the child list, as on real accounts.
    """

    child: str
    few: tuple[float, ...]
    """Weights of 1, 2, ... ``NESTED_PAGE`` children for the parents with few."""
    most: int
    """The largest count, for the parents with many (uniform above ``NESTED_PAGE``)."""


AUTO_CHILDREN: dict[str, ChildCounts] = {
    # Most invoices bill one or two things; some (usage, seats, agencies) bill dozens.
    "invoice": ChildCounts("line_item", (55, 22, 10, 5, 3, 2, 1, 1, 0.5, 0.5), 40),
    # Most subscriptions have one price; a few bundle many add-ons.
    "subscription": ChildCounts("subscription_item",
                                (75, 13, 5, 3, 1.5, 1, 0.5, 0.5, 0.25, 0.25), 25),
}
assert all(len(counts.few) == NESTED_PAGE for counts in AUTO_CHILDREN.values())
FEW_COUNTS = tuple(range(1, NESTED_PAGE + 1))
UNREMOVABLE = frozenset({"canceled", "incomplete_expired"})
"""Subscription statuses whose items random changes leave alone: a canceled subscription "can
only update its cancellation_details and metadata" (Stripe)."""

# Previous_attributes never name these embedded lists (see Kind.in_previous): parent type ->
# the fields.
HIDDEN_PREVIOUS: dict[str, frozenset[str]] = {
    parent: frozenset(child.nested_field or "" for child in children if not child.in_previous)
    for parent, children in NESTED_CHILDREN.items()}

MISSING = object()
"""What ``get_path`` returns for a field the object does not have (None is a value)."""


def removable_child(kind: Kind) -> Kind | None:
    """The child kind whose objects a change of ``kind`` may remove in bulk: an invoice's lines,
    a subscription's items (for the parent, or for the child itself); None for other kinds."""
    if kind.parent_signal and kind.nested_field and kind.delete is not None:
        return kind
    for child in NESTED_CHILDREN.get(kind.object, ()):
        if child.parent_signal and child.delete is not None:
            return child
    return None


class MutationError(Exception):
    """A change Stripe would refuse, or an op that names nothing that exists."""

    def __init__(self, message: str, status: int = 400, code: str | None = None,
                 param: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.param = param


def get_path(data: dict[str, Any], path: str) -> Any:
    value: Any = data
    for part in path.split("."):
        if not isinstance(value, dict) or part not in value:
            return MISSING
        value = value[part]
    return value


@dataclass
class Config:
    """What the mutator needs from the emulator's configuration."""

    api_version: str
    max_delay: float = 0.0
    profile: Profile = PROFILES["full"]
    """The account's products: nothing of a product it lacks is ever made."""
    many_children_share: float = 0.05
    """Share of new invoices and subscriptions with more children than Stripe embeds."""
    remove_children_share: float = 0.0
    """Share of random updates of invoices and subscriptions (and of their lines and items)
    that remove one or two of their lines or items, in one change."""


class Mutator:
    def __init__(self, store: Store, dataset: Dataset, rng: random.Random, config: Config,
                 request_id: str | None = None) -> None:
        self.store = store
        self.dataset = dataset
        self.rng = rng
        self.config = config
        self.request_id = request_id
        self.now_float = store.clock.now()
        self.now = int(self.now_float)
        # A change starts from the state of now, settled balance transactions included.
        dataset.settle(self.now_float)
        self.gen = Generator(rng, dataset, self.now)
        self.made: list[Event] = []
        self._removable: dict[str, list[Obj]] = {}
        """Per child type, the parents random changes may remove children from (lazily)."""
        # Events are rendered once, when made, in the account's default version of that
        # moment: Stripe renders "each event data [...] according to Stripe API version at its
        # creation time", whatever version later reads it.
        self.renderer = Renderer(dataset, shape_of(config.api_version))

    def available(self, kind: Kind) -> bool:
        """Whether the account can have objects of ``kind`` at all."""
        return self.config.profile.serves(kind.product, self.dataset.livemode)

    def _refuse_unavailable(self, kind: Kind) -> None:
        # The API's own answer for the product, so that the control API and curl agree.
        if not self.available(kind):
            raise MutationError(refusal(kind.product, kind.list_path))

    # Events

    def event(self, event_type: str, obj: Obj, previous: dict[str, Any] | None = None,
              created: int | None = None, request: bool = True) -> Event:
        dataset = self.dataset
        when = self.now if created is None else created
        base = self.now_float if created is None else float(created)
        event_id = "evt_" + random_id(self.rng, 24)
        hidden = HIDDEN_PREVIOUS.get(obj.kind.object)
        if previous and hidden and not hidden.isdisjoint(previous):
            # What Stripe is not known to send: an invoice's old lines (Kind.in_previous).
            previous = {key: value for key, value in previous.items() if key not in hidden}
        object_blob, previous = self.renderer.event_payload(obj, previous)
        blob = make_event_blob(
            event_id, event_type, when, object_blob, previous, dataset.livemode,
            self.config.api_version,
            (self.request_id or self.store.new_request_id()) if request else None,
            dataset.account if dataset.connected else None)
        delay = self.rng.uniform(0, self.config.max_delay) if self.config.max_delay > 0 else 0.0
        event = Event(event_id, event_type, when, dataset.next_seq(), base + delay, blob)
        self.made.append(event)
        return event

    def emit(self, event_type: str, obj: Obj, previous: dict[str, Any] | None = None,
             request: bool = True) -> Event:
        event = self.event(event_type, obj, previous, request=request)
        self.dataset.add_event(event)
        return event

    # Creation

    def create(self, kind: Kind, fields: dict[str, Any] | None = None, parent: Obj | None = None,
               created: int | None = None, events: bool = True, bulk: list[Obj] | None = None,
               plain: bool = False) -> Obj:
        """Create one object (and the children Stripe makes with it) and emit its events.

        With ``bulk`` the object is appended there for one sorted insertion later (seeding)
        and no event is emitted here.
        """
        dataset = self.dataset
        if kind.object == "event":
            raise MutationError("Events are made by changes to other objects, not created.")
        self._refuse_unavailable(kind)
        if kind.parent and parent is None:
            parent_id = (fields or {}).get(kind.parent_field or "")
            if isinstance(parent_id, str):
                parent = dataset.get(parent_id, kind.parent)
                if parent is None or not parent.listed:
                    raise MutationError(f"No such {kind.parent}: '{parent_id}'", 404,
                                        "resource_missing", kind.parent_field)
            else:
                parent = self._pick_parent(kind)
            if parent is None and kind.parent_required:
                raise MutationError(
                    f"Creating {kind.stream} needs a {kind.parent}: create some first.")
        when = self.now if created is None else created
        data = self.gen.build(kind, when, parent, plain)
        fields = dict(fields or {})
        custom_id = fields.pop("id", None)
        if custom_id is not None:
            data["id"] = str(custom_id)
        if isinstance(fields.get("metadata"), dict):
            # Metadata given at creation is the whole of it, not a change to random values.
            data["metadata"] = {}
        if fields:
            self.apply_changes(data, fields)
        while custom_id is None and data["id"] in dataset.objects:
            # Two random sources with the same seed draw the same ids; Stripe's are unique.
            data["id"] = self.gen.new_id(kind)
        obj = Obj(kind, data["id"], when, dataset.next_seq(), b"", parent.id if parent else None,
                  None)
        if obj.id in dataset.objects:
            raise MutationError(f"{kind.object} with id '{obj.id}' already exists.",
                                code="resource_already_exists", param="id")
        dataset.add(obj, bulk)
        auto = AUTO_CHILDREN.get(kind.object)
        if auto:
            child_kind = kind_for(auto.child)
            assert child_kind is not None
            children = [self.create(child_kind, parent=obj, created=when, events=False,
                                    plain=plain)
                        for _ in range(self.child_count(auto))]
            if kind.object == "invoice" and "amount_due" not in fields:
                invoice_totals(data, sum(child.data().get("amount", 0)
                                               for child in children))
        dataset.render(obj, data)
        if events:
            self._creation_events(obj)
        # A parent still being built (its blob empty) embeds its children when rendered.
        if parent is not None and parent.blob and (kind.nested_field or kind.moves_balance):
            self._parent_changed(obj, parent, created=True, events=events)
        return obj

    def child_count(self, counts: ChildCounts) -> int:
        if self.rng.random() < self.config.many_children_share:
            return self.rng.randint(NESTED_PAGE + 1, counts.most)
        return self.rng.choices(FEW_COUNTS, weights=counts.few)[0]

    def _pick_parent(self, kind: Kind) -> Obj | None:
        assert kind.parent is not None
        if kind.object == "refund":
            # A refund needs a charge with something left to refund.
            for _ in range(20):
                charge = self.gen.pick("charge")
                if charge is None:
                    return None
                info = charge.data()
                if info.get("status") == "succeeded" and not info.get("refunded"):
                    return charge
            return None
        return self.gen.pick(kind.parent)

    def _creation_events(self, obj: Obj) -> None:
        name = self._creation_event_type(obj)
        if name:
            self.emit(name, obj)

    @staticmethod
    def _creation_event_type(obj: Obj) -> str | None:
        create = obj.kind.create_event
        if create is None or isinstance(create, str):
            return create
        return create.get(obj.status or "")

    def _parent_changed(self, child: Obj, parent: Obj, *, created: bool, events: bool) -> None:
        """Re-embed a changed child in its parent, with the events that change makes."""
        if parent.deleted or not parent.listed:
            return  # a deleted parent announces nothing more, as on Stripe
        old = parent.data()
        self.dataset.refresh_parent(child)
        if child.kind.object == "refund":
            if created:
                self._refund_charge(child, parent, old, events)
        elif child.kind.moves_balance:
            if created:
                # A customer balance transaction moves the customer's balance: Stripe sends
                # customer.updated with the old balance.
                data = parent.data()
                data["balance"] = int(data.get("balance") or 0) + int(
                    child.data().get("amount") or 0)
                self.dataset.render(parent, data)
                if events:
                    self.emit(child.kind.parent_signal or "customer.updated", parent,
                              diff(old, data))
        else:
            if created:
                self._retotal(parent)
            if events and child.kind.parent_signal:
                self.emit(child.kind.parent_signal, parent, diff(old, parent.data()))

    def _retotal(self, parent: Obj) -> bool:
        """A draft invoice's amounts follow its lines (an added or removed line changes them);
        a finalized invoice's amounts are fixed. Whether it changed anything."""
        if parent.kind.object != "invoice" or parent.status != "draft":
            return False
        data = parent.data()
        before = dict(data)
        invoice_totals(data, sum(int(line.data().get("amount") or 0) for line in
                                 self.dataset.listed_children("line_item", parent.id)))
        if data == before:
            return False
        self.dataset.render(parent, data)
        return True

    def _refund_charge(self, refund: Obj, charge: Obj, old: dict[str, Any],
                       events: bool) -> None:
        """A new refund raises its charge's amount_refunded: Stripe sends charge.refunded."""
        data = charge.data()
        if old.get("status") != "succeeded":
            return
        amount = refund.data().get("amount", 0)
        refunded = min(data.get("amount", 0), data.get("amount_refunded", 0) + amount)
        if refunded != data.get("amount_refunded"):
            data["amount_refunded"] = refunded
            data["refunded"] = refunded >= data.get("amount", 0)
            self.dataset.render(charge, data)
        if events:
            self.emit("charge.refunded", charge, diff(old, data))

    # Updates

    def apply_changes(self, data: dict[str, Any], changes: dict[str, Any]) -> None:
        """Stripe's update semantics: metadata merges (empty value unsets), the rest replaces."""
        for field, value in changes.items():
            if field == "metadata" and isinstance(value, dict):
                merged = dict(data.get("metadata") or {})
                for key, item in value.items():
                    if item in ("", None):
                        merged.pop(key, None)
                    else:
                        merged[key] = str(item)
                data["metadata"] = merged
            elif field == "id":
                raise MutationError("You cannot change the id of an object.", param="id")
            else:
                set_in(data, field.split("."), value)

    def resolve(self, value: Any, data: dict[str, Any], field: str) -> Any:
        if isinstance(value, Copy):
            return get_path(data, value.field)
        if isinstance(value, OneOf):
            return self.rng.choice(value.values)
        if isinstance(value, Token):
            current = get_path(data, field)
            if value is NOW:
                return self.now
            if value is TOGGLE:
                return not current
            if value is TEXT:
                return self.gen.text()
            if value is META:
                return self._metadata_change(current if isinstance(current, dict) else {})
            if value.name == "increment":
                return (current if isinstance(current, int) else 0) + 1
        return value

    def _metadata_change(self, current: dict[str, Any]) -> dict[str, Any]:
        meta = dict(current)
        if meta and self.rng.random() < 0.2:
            meta.pop(self.rng.choice(sorted(meta)))
        else:
            meta[self.rng.choice(("order_id", "note", "campaign", "segment"))] = (
                str(self.rng.randint(10000, 9999999)))
        return meta

    def edit_values(self, obj: Obj, data: dict[str, Any]) -> dict[str, Any]:
        """A plain edit of one or two of the kind's editable fields."""
        fields = [f for f in obj.kind.editable if f in data]
        if not fields:
            return {}
        changes: dict[str, Any] = {}
        for field in self.rng.sample(fields, min(len(fields), self.rng.choice((1, 1, 2)))):
            if field == "metadata":
                changes[field] = self._metadata_change(data.get("metadata") or {})
            elif field == "email":
                changes[field] = self.gen.email()
            elif field in ("name", "first_name", "last_name"):
                changes[field] = self.gen.name() if field == "name" else self.gen.name().split()[0]
            elif field == "phone":
                changes[field] = f"+1555{self.rng.randint(1000000, 9999999)}"
            elif field == "quantity":
                changes[field] = self.rng.randint(1, 9)
            elif field == "default_return_url":
                changes[field] = f"https://example.com/return/{self.rng.randint(1, 999)}"
            else:
                changes[field] = self.gen.text()
        return changes

    def applicable(self, obj: Obj, data: dict[str, Any]) -> list[Transition]:
        return [t for t in obj.kind.transitions
                if all(get_path(data, f) in allowed for f, allowed in t.when.items())]

    def update(self, obj: Obj, changes: dict[str, Any] | None = None,
               event: str | None = None, transition: Transition | None = None,
               request: bool = True) -> Obj:
        """Change ``obj`` and emit the events Stripe sends for that change.

        ``transition`` (or the one whose event is ``event``) is a state change; ``changes``
        alone is a plain edit, announced by the kind's update events (``customer.updated``),
        by the transition its new ``status`` matches, or by nothing where Stripe sends nothing
        (a PaymentIntent's metadata).
        """
        if obj.deleted or (not obj.listed and obj.kind.delete
                           and obj.kind.delete.style != "cancel"):
            raise MutationError(f"No such {obj.kind.object}: '{obj.id}'", 404,
                                "resource_missing", "id")
        kind = obj.kind
        self._refuse_unavailable(kind)
        rule = kind.delete
        if rule is not None and rule.style == "cancel" and (changes or {}).get(
                "status") == "canceled" and event is None and transition is None:
            # Setting a subscription's status to canceled is canceling it.
            return self.delete(obj)
        old = obj.data()
        data = obj.data()
        if event is None and transition is None and changes:
            transition = self._implied_transition(obj, old, changes)
        if event is not None and transition is None:
            matching = [t for t in self.applicable(obj, data) if t.event == event]
            if not matching and event not in kind.update_events:
                raise MutationError(
                    f"The {kind.object} '{obj.id}' cannot have a {event} event in its current "
                    f"state.")
            transition = matching[0] if matching else None
        if transition is not None:
            for field, value in transition.sets.items():
                if field not in (changes or {}):
                    set_in(data, field.split("."), self.resolve(value, data, field))
        if changes:
            self.apply_changes(data, changes)
        previous = diff(old, data)
        if not previous and transition is None and event is None:
            return obj  # nothing changed, so Stripe says nothing
        if previous:
            self.dataset.render(obj, data)
        if transition is not None:
            names: tuple[str, ...] = (transition.event, *transition.also)
        elif event is not None:
            names = (event,)
        else:
            names = kind.update_events
        for name in names:
            # A signal without a change (trial_will_end) has no previous_attributes.
            self.emit(name, obj, previous or None, request=request)
        parent = self.dataset.objects.get(obj.parent or "")
        if previous and parent is not None and kind.nested_field:
            self._parent_changed(obj, parent, created=False, events=True)
        if transition is not None and transition.event == "charge.refunded":
            self._refund_for(obj, old)
        return obj

    def _implied_transition(self, obj: Obj, old: dict[str, Any],
                            changes: dict[str, Any]) -> Transition | None:
        """The state change an explicit edit amounts to (``status=paid`` is invoice.paid).

        A transition matches when it applies to the old state and the edit sets at least one
        of its fields to the value the transition would give, and none to another value.
        """
        for transition in self.applicable(obj, old):
            matched = False
            for field, value in transition.sets.items():
                if field not in changes:
                    continue
                new = changes[field]
                if isinstance(value, OneOf):
                    ok = new in value.values
                elif isinstance(value, (Token, Copy)):
                    continue
                else:
                    ok = new == value
                if not ok:
                    matched = False
                    break
                matched = True
            if matched:
                return transition
        return None

    def _refund_for(self, charge: Obj, old: dict[str, Any]) -> None:
        """A refunded charge gets its refund object (refund.created), as on Stripe."""
        refund_kind = kind_for("refund")
        assert refund_kind is not None
        amount = charge.data().get("amount_refunded", 0) - old.get("amount_refunded", 0)
        if amount <= 0:
            return
        refund = self.create(refund_kind, {"amount": amount, "status": "succeeded"},
                             parent=charge, events=False)
        self.emit("refund.created", refund)

    # Deletion

    def delete(self, obj: Obj) -> Obj:
        kind = obj.kind
        self._refuse_unavailable(kind)
        rule = kind.delete
        if rule is None:
            raise MutationError(f"{kind.object} objects cannot be deleted.")
        if obj.deleted or not obj.listed:
            raise MutationError(f"No such {kind.object}: '{obj.id}'", 404, "resource_missing",
                                "id")
        data = obj.data()
        if not all(get_path(data, f) in allowed for f, allowed in rule.when.items()):
            raise MutationError(rule.refusal or f"This {kind.object} cannot be deleted.")
        parent = self.dataset.objects.get(obj.parent or "")
        if rule.style == "cancel":
            data.update({"status": "canceled", "canceled_at": self.now, "ended_at": self.now})
            self.dataset.render(obj, data)
            self.emit(rule.event, obj)
            return obj
        if kind.parent_signal and kind.nested_field and parent is not None:
            # A line or an item: its parent announces it (see remove_children).
            self.remove_children(parent, [obj])
            return obj
        obj.listed = False
        if rule.style == "detach":
            previous = {kind.parent_field or "customer": obj.parent}
            data[kind.parent_field or "customer"] = None
            self.dataset.render(obj, data)
            self.emit(rule.event, obj, previous)
            return obj
        obj.deleted = True
        if kind.parent_signal and parent is not None:
            self._parent_changed(obj, parent, created=False, events=True)
            return obj
        self.emit(rule.event, obj)
        if parent is not None and kind.nested_field:
            self._parent_changed(obj, parent, created=False, events=False)
        if kind.object == "customer":
            self._cascade_customer(obj)
        return obj

    def remove_children(self, parent: Obj, children: list[Obj]) -> Event:
        """Remove some of a parent's lines or items in one change, announced by one event of
        the parent, as Stripe does for several lines removed by one ``remove_lines`` call or
        several items deleted by one subscription update.

        A subscription's event carries the items it embedded before in
        ``previous_attributes.items``; an invoice's carries its old totals, not its old lines
        (``Kind.in_previous``). Lines go only from a draft invoice, whose totals follow.
        """
        if not children:
            raise MutationError("Name at least one child to remove.")
        kind = children[0].kind
        rule = kind.delete
        if rule is None or kind.parent != parent.kind.object or not kind.parent_signal \
                or not kind.nested_field:
            raise MutationError(f"{kind.object} objects cannot be removed from a "
                                f"{parent.kind.object}.")
        self._refuse_unavailable(kind)
        if parent.deleted or not parent.listed:
            raise MutationError(f"No such {parent.kind.object}: '{parent.id}'", 404,
                                "resource_missing", "id")
        seen: set[str] = set()
        for child in children:
            if child.kind is not kind or child.parent != parent.id or child.deleted \
                    or not child.listed or child.id in seen:
                raise MutationError(f"No such {kind.object}: '{child.id}' on "
                                    f"{parent.kind.object} '{parent.id}'", 404,
                                    "resource_missing", "id")
            seen.add(child.id)
        if not self._parent_allows(parent, rule.parent_when):
            raise MutationError(rule.refusal or f"This {kind.object} cannot be removed.")
        old = parent.data()
        for child in children:
            child.listed = False
            child.deleted = True
        self.dataset.render(parent, parent.data())  # embeds what is left
        self._retotal(parent)
        assert kind.parent_signal is not None
        return self.emit(kind.parent_signal, parent, diff(old, parent.data()))

    @staticmethod
    def _parent_allows(parent: Obj, when: Any) -> bool:
        if not when:
            return True
        data: dict[str, Any] | None = None
        for field, allowed in when.items():
            if field == "status":
                value: Any = parent.status
            else:
                data = data if data is not None else parent.data()
                value = get_path(data, field)
            if value not in allowed:
                return False
        return True

    def _cascade_customer(self, customer: Obj) -> None:
        """Deleting a customer cancels its subscriptions at once (Stripe documents this).

        Its payment methods leave with it (its list is gone) without events of their own:
        Stripe documents none, and the connector must read customer.deleted as their end.
        """
        subscription_kind = kind_for("subscription")
        assert subscription_kind is not None
        for sub in self.dataset.registry["subscription"]:
            if sub.status in ("canceled", "incomplete_expired") or not sub.listed:
                continue
            if sub.customer == customer.id:
                self.delete(sub)

    # Random changes

    def random_ops(self, count: int, kinds: list[Kind]) -> list[dict[str, Any]]:
        """A random mix of creations, updates and deletions, each one Stripe announces."""
        ops: list[dict[str, Any]] = []
        changeable = [k for k in kinds if k.object != "event"]
        if not changeable:
            raise MutationError("No stream given can be changed.")
        candidates = [k for k in changeable if self.available(k)]
        if not candidates:
            return ops  # the account has none of these products: there is nothing to change
        share = self.config.remove_children_share
        for _ in range(count):
            kind = self.rng.choice(candidates)
            roll = self.rng.random()
            done: dict[str, Any] | None = None
            child = removable_child(kind)
            # No draw without a share: the same seed makes the same changes as before.
            if roll >= 0.35 and share and child is not None and self.rng.random() < share:
                done = self._random_remove_children(child)
            if done is None and roll >= 0.35:
                if roll >= 0.9 and kind.delete is not None:
                    done = self._random_delete(kind)
                if done is None:
                    done = self._random_update(kind)
            if done is None:
                done = self._random_create(kind)
            ops.append(done)
        return ops

    def _random_create(self, kind: Kind) -> dict[str, Any]:
        if kind.parent and not kind.top_level and self._pick_parent(kind) is None:
            parent_kind = kind_for(kind.parent)
            assert parent_kind is not None
            kind = parent_kind
        parent = None
        if kind.object == "refund":
            # The charge found is the one refunded: a second random draw could find none.
            parent = self._pick_parent(kind)
            if parent is None:
                charge = kind_for("charge")
                assert charge is not None
                obj = self.create(charge, {"status": "succeeded", "captured": True,
                                           "paid": True})
                return {"op": "create", "stream": charge.stream, "id": obj.id}
        obj = self.create(kind, parent=parent)
        return {"op": "create", "stream": kind.stream, "id": obj.id}

    def _random_object(self, kind: Kind) -> Obj | None:
        pool = self.dataset.registry.get(kind.object) or []
        for _ in range(12):
            if not pool:
                return None
            obj = pool[self.rng.randrange(len(pool))]
            if obj.listed and not obj.deleted and (
                    kind.object != "subscription" or obj.status != "canceled"):
                return obj
        return None

    def upcoming_invoice(self, subscription: Obj | None = None) -> Event | None:
        """``invoice.upcoming``: the next invoice of a subscription, days before it renews.

        The invoice does not exist yet, so its ``data.object`` has no ``id`` (Stripe's
        preview); nothing is stored. None when there is no live subscription to preview.
        """
        sub = subscription or self._random_object(BY_OBJECT["subscription"])
        if sub is None or sub.status in ("canceled", "incomplete_expired"):
            return None
        invoice_kind = BY_OBJECT["invoice"]
        data = self.gen.build(invoice_kind, self.now)
        data.pop("id", None)
        info = sub.data()
        data.update({"status": "draft", "paid": False, "number": None, "amount_paid": 0,
                     "customer": info.get("customer"), "subscription": sub.id,
                     "billing_reason": "upcoming", "currency": info.get("currency")})
        preview = Obj(invoice_kind, "", self.now, 0, dump(data), None, "draft")
        return self.emit("invoice.upcoming", preview, request=False)

    def _random_update(self, kind: Kind) -> dict[str, Any] | None:
        if kind.object == "invoice" and self.rng.random() < 0.05:
            event = self.upcoming_invoice()
            if event is not None:
                return {"op": "upcoming", "stream": kind.stream, "id": None,
                        "event": "invoice.upcoming"}
        for _ in range(6):
            obj = self._random_object(kind)
            if obj is None:
                return None
            data = obj.data()
            options: list[tuple[Transition | None, float]] = [
                (t, t.weight) for t in self.applicable(obj, data)]
            if kind.update_events or kind.parent_signal:
                options.append((None, 2.0))
            if not options:
                continue
            transition = self.rng.choices([o[0] for o in options],
                                          weights=[o[1] for o in options])[0]
            if transition is None:
                changes = self.edit_values(obj, data)
                if not changes:
                    continue
                self.update(obj, changes)
            else:
                # State changes are Stripe's own doing: their events carry no request id.
                self.update(obj, transition=transition, request=False)
            return {"op": "update", "stream": kind.stream, "id": obj.id,
                    "event": transition.event if transition else None}
        return None

    def _random_remove_children(self, child: Kind) -> dict[str, Any] | None:
        """One or two of the lines or items of a parent that has more, removed in one change
        (the parent keeps at least one); None if no parent can lose any."""
        parent = self._removal_parent(child)
        if parent is None:
            return None
        left = self.dataset.listed_children(child.object, parent.id)
        chosen = self.rng.sample(left, min(self.rng.choice((1, 2)), len(left) - 1))
        event = self.remove_children(parent, chosen)
        return {"op": "remove_children", "stream": parent.kind.stream, "id": parent.id,
                "removed": [item.id for item in chosen], "event": event.type}

    def _removal_parent(self, child: Kind) -> Obj | None:
        """A random parent that may lose some of its ``child`` objects and has two or more."""
        pool = self._removable.get(child.object)
        if pool is None:
            assert child.parent is not None
            pool = self._removable[child.object] = [
                parent for parent in self.dataset.registry.get(child.parent, ())
                if self._can_lose(parent, child)]
        while pool:
            index = self.rng.randrange(len(pool))
            parent = pool[index]
            if self._can_lose(parent, child):
                return parent
            pool[index] = pool[-1]
            pool.pop()
        return None

    def _can_lose(self, parent: Obj, child: Kind) -> bool:
        if not parent.listed or parent.deleted or parent.status in UNREMOVABLE:
            return False
        assert child.delete is not None
        if not self._parent_allows(parent, child.delete.parent_when):
            return False
        coll = self.dataset.children.get((child.object, parent.id))
        if coll is None:
            return False
        listed = 0
        for item in coll.items:
            listed += item.listed
            if listed >= 2:
                return True
        return False

    def _random_delete(self, kind: Kind) -> dict[str, Any] | None:
        rule = kind.delete
        assert rule is not None
        if not kind.in_previous:
            # A removal its parent's event does not show (an invoice's lines) is made only when
            # asked for (remove_children_share): no reader can follow it without a full read.
            return None
        for _ in range(6):
            obj = self._random_object(kind)
            if obj is None:
                return None
            data = obj.data()
            if all(get_path(data, f) in allowed for f, allowed in rule.when.items()):
                self.delete(obj)
                return {"op": "delete", "stream": kind.stream, "id": obj.id}
        return None

    # Seeding

    def seed(self, counts: dict[Kind, int], years: float) -> dict[str, int]:
        """Create objects spread over the last ``years``, oldest history without events.

        Objects created within the event retention window get their creation event, dated
        like the object, as if the emulator had been running when they were made.
        """
        dataset = self.dataset
        start = self.now - int(years * YEAR)
        recent = self.now - RETENTION_SECONDS
        made: dict[str, int] = {}
        events: list[Event] = []
        for object_type in SEED_ORDER:
            kind = kind_for(object_type)
            assert kind is not None
            count = counts.get(kind, 0)
            if count <= 0:
                continue
            if not self.available(kind):
                # "Not set up to use X" means no X objects exist: asked for, none are made.
                made[kind.stream] = 0
                continue
            if kind.parent and not kind.top_level and not self._has_parent(kind):
                raise MutationError(
                    f"Seeding {kind.stream} needs {kind.parent} objects: seed them first or in "
                    f"the same call.")
            if kind.object == "refund" and not self._has_parent(kind):
                raise MutationError("Seeding refunds needs charges: seed them first or in the "
                                    "same call.")
            bulk: list[Obj] = []
            made[kind.stream] = 0
            for _ in range(count):
                parent = self._pick_parent(kind) if kind.parent else None
                if kind.parent and parent is None:
                    continue  # e.g. no charge left with an amount to refund
                low = max(start, parent.created) if parent is not None else start
                created = low + int(self.rng.random() * max(0, self.now - low))
                obj = self.create(kind, parent=parent, created=created, events=False, bulk=bulk)
                made[kind.stream] += 1
                if obj.created >= recent:
                    event = self.seed_event(obj)
                    if event is not None:
                        events.append(event)
            if kind.top_level:
                dataset.flush_top(kind.object, bulk)
        dataset.add_events(events)
        return made

    def _has_parent(self, kind: Kind) -> bool:
        assert kind.parent is not None
        return any(obj.listed for obj in self.dataset.registry.get(kind.parent, ()))

    def seed_event(self, obj: Obj) -> Event | None:
        """The creation event of a seeded object, dated like it, kept out of ``made``."""
        name = self._creation_event_type(obj)
        if not name:
            return None
        event = self.event(name, obj, created=obj.created)
        self.made.pop()
        return event
