"""What this key can read on this account, found with one cheap request per stream.

Real accounts have not enabled every product (Issuing, Identity, Sigma in test mode answer 400
"not set up"), and restricted keys read only what a team needs (403 naming the permission).
``check`` reports both and fails only when nothing can be read; ``discover`` offers what can.
The requests run through the sync's client, so they stay within the rate budget.

``probe`` is the thin shell that sends the requests; what they mean is decided by the pure
functions below it (``classify``, ``check_outcome``, ``offered``), tested without a network.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from airbyte_cdk.utils.traced_exception import AirbyteTracedException

from source_stripe_conduit.resources import EVENTS_PERMISSION, Resource
from source_stripe_conduit.transport.client import StripeClient
from source_stripe_conduit.transport.errors import StripeError

PROBE_THREADS = 8
EVENTS = "events (change capture)"
ACCOUNT = "account (GET /v1/account)"
ACCOUNT_PERMISSION = "rak_accounts_kyc_basic_read"


class Access(enum.StrEnum):
    READABLE = "readable"
    NOT_ENABLED = "not enabled"
    """The account has not enabled the product: the stream is empty, truthfully."""
    DENIED = "denied"
    """The key lacks a permission: objects may exist that it cannot read."""
    FAILED = "failed"
    """Any other answer (a 400 of a request, a 5xx after retries): a failure to report."""


@dataclass(frozen=True)
class StreamAccess:
    target: str
    access: Access
    error: StripeError | None = None

    @property
    def reason(self) -> str:
        return self.error.stripe_message if self.error is not None else ""

    @property
    def permission(self) -> str | None:
        return self.error.permission if self.error is not None else None


class ProbeFailed(Exception):
    """Nothing can be read at all: a rejected key, a refused account, Stripe unreachable."""

    def __init__(self, message: str, *, config_error: bool) -> None:
        super().__init__(message)
        self.config_error = config_error


def classify(target: str, error: StripeError | None) -> StreamAccess:
    """What one probe's answer means for its stream. Raises ``ProbeFailed`` for answers that
    concern every stream alike."""
    if error is None:
        return StreamAccess(target, Access.READABLE)
    if error.status == 401:
        raise ProbeFailed(error.stripe_message, config_error=True)
    if error.account_refused:
        raise ProbeFailed(f"Stripe refused the connected account (account_id): "
                          f"{error.stripe_message}", config_error=True)
    if error.product_not_enabled:
        return StreamAccess(target, Access.NOT_ENABLED, error)
    if error.status == 403:
        return StreamAccess(target, Access.DENIED, error)
    return StreamAccess(target, Access.FAILED, error)


@dataclass(frozen=True)
class Probe:
    streams: tuple[StreamAccess, ...]
    events: StreamAccess | None = None
    """None when no selected stream needs events."""
    account: StreamAccess | None = None

    def of(self, access: Access) -> list[StreamAccess]:
        return [s for s in self.streams if s.access is access]

    @property
    def change_capture(self) -> bool:
        return self.events is None or self.events.access is Access.READABLE


def offered(resources: Sequence[Resource], probe: Probe) -> list[tuple[Resource, bool]]:
    """The streams discover offers, each with whether it may sync incrementally: those the key
    can read on this account; without events, evented streams only as full refresh."""
    readable = {s.target for s in probe.of(Access.READABLE)}
    return [(r, r.incremental and (r.append_only or probe.change_capture))
            for r in resources if r.stream in readable]


def left_out(probe: Probe) -> list[str]:
    """One line per stream discover leaves out, with Stripe's reason."""
    lines = []
    for item in probe.streams:
        if item.access is Access.NOT_ENABLED:
            lines.append(f"Stream '{item.target}' is left out: the account has not enabled its "
                         f"product (Stripe: {item.reason})")
        elif item.access is Access.DENIED:
            lines.append(f"Stream '{item.target}' is left out: the key lacks "
                         f"{_permission(item)} (Stripe: {item.reason})")
        elif item.access is Access.FAILED:
            lines.append(f"Stream '{item.target}' is left out: {item.error}")
    if not probe.change_capture and probe.events is not None:
        lines.append(f"Incremental sync is offered only for append-only streams: the key "
                     f"cannot read events ({_permission(probe.events, EVENTS_PERMISSION)}; Stripe: "
                     f"{probe.events.reason})")
    return lines


def check_outcome(probe: Probe) -> tuple[bool, str]:
    """``check``'s verdict and message: it fails when no stream can be read or a request failed
    for a reason other than a product or a permission; otherwise it succeeds and says which
    streams will be empty (product not enabled) and which the key cannot read."""
    total = len(probe.streams)
    readable = probe.of(Access.READABLE)
    failed = probe.of(Access.FAILED)
    if probe.events is not None and probe.events.access is Access.FAILED:
        failed.append(probe.events)
    notes = _not_enabled_note(probe.of(Access.NOT_ENABLED)) + _denied_note(probe)
    if failed:
        errors = "; ".join(str(f.error) for f in failed)
        return False, f"{len(failed)} of {total + (probe.events is not None)} endpoints " \
                      f"cannot be read: {errors}." + "".join(f" {n}" for n in notes)
    if not readable:
        return False, f"The key can read none of the {total} streams selected." + \
            "".join(f" {n}" for n in notes)
    head = f"The key can read {len(readable)} of {total} streams."
    return True, " ".join([head, *notes])


def _not_enabled_note(items: list[StreamAccess]) -> list[str]:
    if not items:
        return []
    by_reason: dict[str, list[str]] = {}
    for item in items:
        by_reason.setdefault(item.reason, []).append(item.target)
    groups = "; ".join(f"{', '.join(names)} (Stripe: {reason})"
                       for reason, names in by_reason.items())
    return [f"Empty, because the account has not enabled their product: {groups}."]


def _denied_note(probe: Probe) -> list[str]:
    notes = []
    denied = probe.of(Access.DENIED)
    if denied:
        names = ", ".join(f"{d.target} ({_permission(d)})" for d in denied)
        notes.append(f"Not readable with this key: {names}. Give the key those permissions, "
                     f"or leave those streams out.")
    if probe.events is not None and probe.events.access is Access.DENIED:
        needed = _permission(probe.events, EVENTS_PERMISSION)
        notes.append(f"The key cannot read events ({needed}): streams can "
                     f"sync only as full refresh (append-only ones incrementally).")
    if probe.account is not None and probe.account.access is Access.DENIED:
        needed = _permission(probe.account, ACCOUNT_PERMISSION)
        notes.append(f"The key cannot read the account ({needed}): "
                     f"syncs work, but first loads split less well without its creation date.")
    return notes


def _permission(item: StreamAccess, needed: str | None = None) -> str:
    return item.permission or needed or "a permission Stripe did not name"


# -- the shell: the requests themselves ----------------------------------------------------------

def probe(client: StripeClient, resources: Sequence[Resource], *,
          api_base: str) -> Probe:
    """One request per stream (and one child list per child stream), side by side; raises
    ``ProbeFailed`` for a rejected key, a refused account or an unreachable Stripe."""
    targets: list[tuple[str, Callable[[], None]]] = [
        (r.stream, _stream_probe(client, r)) for r in resources]
    if any(r.events for r in resources):
        targets.append((EVENTS, lambda: _get(client, EVENTS, "/v1/events", [("limit", 1)])))
    targets.append((ACCOUNT, lambda: _get(client, ACCOUNT, "/v1/account", [])))

    def run(target: tuple[str, Callable[[], None]]) -> StreamAccess:
        name, request = target
        try:
            request()
        except StripeError as error:
            return classify(name, error)
        except AirbyteTracedException as error:  # the transport gave up: no answer at all
            raise ProbeFailed(f"Could not reach Stripe at {api_base}: {error.message}",
                              config_error=False) from error
        return classify(name, None)

    # A bad key or a refused account answers the first request alike: one request, not 50.
    first = run(targets[0])
    with ThreadPoolExecutor(PROBE_THREADS) as pool:
        found = [first, *pool.map(run, targets[1:])]
    by_name = {item.target: item for item in found}
    account = by_name.pop(ACCOUNT)
    events = by_name.pop(EVENTS, None)
    return Probe(tuple(by_name.values()), events, account)


def _get(client: StripeClient, stream: str, path: str,
         params: list[tuple[str, str | int]]) -> None:
    client.get(stream, path, params)


def _stream_probe(client: StripeClient, resource: Resource) -> Callable[[], None]:
    def request() -> None:
        body = client.get(resource.stream, *resource.probe)
        parents = body.get("data") or []
        if resource.parent and parents:
            # A child list needs its own permission: read one parent's children.
            path, params = resource.children_request(parents[0]["id"])
            client.get(resource.stream, path, [*params, ("limit", 1)])
    return request
