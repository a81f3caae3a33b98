"""One rate budget for every request of a sync: the account's limit and each endpoint's limit.

The CDK's ``APIBudget`` applies only the first policy that matches a request, but Stripe counts
every request against two limits at once: the account's (100/s live, 25/s test) and the one of
the endpoint it hits (25/s by default). ``StripeAPIBudget`` therefore takes a call from both, the
narrower first.

Reads of connected accounts (``Stripe-Account``) share these limits by default: Stripe does not
document whether they count against the platform or the connected account. With
``per_account`` each account acting in a request gets limits of its own.

An endpoint is a path with every object id folded (``/v1/coupons/{id}``), so that a thousand
retrieves of a thousand coupons count against one limit, as Stripe counts them.

The rates are the budget's ceilings, not fixed: when Stripe refuses requests for the account's
limit or an endpoint's, the budget lets fewer through for a while (pacing.py decides how many;
``answered`` is told every answer).
"""

from __future__ import annotations

import re
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, parse_qsl, urlparse

import requests
from airbyte_cdk.sources.streams.call_rate import APIBudget, CallRateLimitHit

from source_stripe_conduit.resources import RESOURCES
from source_stripe_conduit.transport.errors import rate_limited_reason
from source_stripe_conduit.transport.pacing import Notice, Pacing

# A budget at exactly Stripe's rate would draw 429s from clock and network jitter between us
# and Stripe; a few percent below it keeps them rare at little cost.
HEADROOM = 0.99

# Stripe's paths alternate a collection and one of its ids (/v1/customers/{id}/payment_methods/
# {id}), after a version and any product namespaces (/v1/test_helpers/issuing/cards/{id}). Which
# segment is an id follows from its place, not from its looks: a coupon may be called SUMMER25,
# a plan gold-monthly. The namespaces are those of the paths read here and the rest of Stripe's.
_NAMESPACES = frozenset(
    {parts[0] for parts in (r.path.split("?")[0].strip("/").split("/")[1:] for r in RESOURCES)
     if len(parts) > 1 and not parts[1].startswith("{")}
    | {"apps", "billing", "climate", "entitlements", "financial_connections", "forwarding",
       "tax", "test_helpers", "treasury"}
)
# Objects of which an account has one, with collections under them (/v1/account/persons/{id}).
_SINGLETONS = frozenset({"account", "balance", "cash_balance"})
# Where an id would stand, a few paths name a request about the whole collection instead.
_COLLECTION_REQUESTS = frozenset({"search", "upcoming", "preview", "find"})
_VERSION = re.compile(r"v\d+")
# Child lists that name their parent in the query (/v1/subscription_items?subscription=sub_…):
# the path, and the parameter that holds the parent's id.
_QUERY_PARENTS: Mapping[str, str] = {
    r.path.split("?")[0]: name for r in RESOURCES if r.parent and "?" in r.path
    for name, value in parse_qsl(r.path.split("?", 1)[1]) if value.startswith("{")
}
# What a request is, for the counts of what a sync costs.
LIST_PAGE, EVENT_PAGE, RETRIEVE, CHILD_LIST = "list_page", "event_page", "retrieve", "child_list"
# Last segments of a path that answer one object, not a list (an upcoming invoice).
_ONE_OBJECT = _SINGLETONS | (_COLLECTION_REQUESTS - {"search"})


def endpoint_of(url: str) -> str:
    """The endpoint a request counts against: its path, every object id folded to ``{id}``."""
    segments = [s for s in urlparse(url).path.split("/") if s]
    folded: list[str] = []
    id_next = False
    for n, segment in enumerate(segments):
        if id_next and segment not in _COLLECTION_REQUESTS:
            folded.append("{id}")
            id_next = False
            continue
        folded.append(segment)
        id_next = not (id_next or (n == 0 and _VERSION.fullmatch(segment))
                       or segment in _NAMESPACES or segment in _SINGLETONS)
    return "/" + "/".join(folded)


def request_kind(url: str) -> str:
    """A page of a list, of events, one object, or a list of one object's children, from the
    structure of the path as ``endpoint_of`` folds it."""
    endpoint = endpoint_of(url)
    if endpoint == "/v1/events":
        return EVENT_PAGE
    segments = endpoint.split("/")
    if segments[-1] == "{id}" or segments[-1] in _ONE_OBJECT:
        return RETRIEVE
    if "{id}" in segments:
        return CHILD_LIST
    parsed = urlparse(url)
    parent = _QUERY_PARENTS.get(parsed.path.rstrip("/"))
    if parent is not None and parent in parse_qs(parsed.query):
        return CHILD_LIST
    return LIST_PAGE


class SlidingWindow:
    """At most ``limit`` calls in any ``interval`` seconds.

    Not the CDK's ``MovingWindowCallRatePolicy``: each of those starts a pyrate_limiter thread
    that leaks its bucket and never ends, one per window, and with limits per connected account
    and endpoint the windows come and go with the accounts. This one keeps its calls' times and
    nothing else, so a window no call has used for an interval can simply be dropped.
    """

    __slots__ = ("limit", "interval", "_calls")

    def __init__(self, limit: int, interval: float) -> None:
        self.limit = limit
        self.interval = interval
        self._calls: deque[float] = deque()

    def take(self, now: float) -> float:
        """Take a call at ``now`` if the window has room (0.0); if not, take none and say how
        many seconds until it has."""
        calls = self._calls
        while calls and calls[0] <= now - self.interval:
            calls.popleft()
        if len(calls) < self.limit:
            calls.append(now)
            return 0.0
        return calls[0] + self.interval - now

    def idle(self, now: float) -> bool:
        """No call in the last interval: the window knows nothing a new one would not."""
        return not self._calls or self._calls[-1] <= now - self.interval

    def resize(self, limit: int, interval: float) -> None:
        """A new rate from now on: the calls taken stay, so a lower limit lets the next call
        through only once the window holds fewer than it allows."""
        self.limit = limit
        self.interval = interval


def _rate(per_second: float) -> tuple[int, float]:
    """Calls per window and the window's seconds: one second, unless a fractional rate is
    spread over a longer one."""
    calls = max(int(per_second * HEADROOM), 1)
    return calls, calls / (per_second * HEADROOM)


Key = tuple[str, str]
"""(account, endpoint) of a window: "" for every account sharing it, "" for the whole account."""


class StripeAPIBudget(APIBudget):
    def __init__(self, requests_per_second: float, endpoint_requests_per_second: float,
                 per_account: bool = False, *, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self._account_rate = _rate(requests_per_second)
        self._endpoint_rate = _rate(endpoint_requests_per_second)
        self._endpoint_matters = endpoint_requests_per_second < requests_per_second
        self._per_account = per_account
        # Replaced whole under the lock, read without it: an immutable value.
        self._pacing = Pacing(requests_per_second, endpoint_requests_per_second)
        self._windows: dict[Key, SlidingWindow] = {}
        self._lock = threading.Lock()
        self._clock = clock
        self._sleep = sleep
        # How often idle windows are dropped: a window is idle after its interval at the latest.
        self._sweep_every = max(self._account_rate[1], self._endpoint_rate[1])
        self._swept = clock()
        super().__init__(policies=[])

    def window_keys(self) -> set[Key]:
        """The windows held now."""
        with self._lock:
            return set(self._windows)

    def keys_of(self, request: Any) -> list[Key]:
        """The windows a request takes a call from, the narrower first."""
        if not isinstance(request, requests.PreparedRequest) or not request.url:
            return [("", "")]
        account = self._account_of(request)
        endpoint = (account, f"{request.method} {endpoint_of(request.url)}")
        # Two windows at one rate let through less than either: the endpoint limit counts
        # only when it is narrower than the account's (test mode: both are 25/s), or when
        # Stripe refused that endpoint and it is slowed.
        if self._endpoint_matters or endpoint in self._pacing.cuts:
            return [endpoint, (account, "")]
        return [(account, "")]

    def rate(self, account: str = "", endpoint: str = "") -> float:
        """Requests per second let through now: of the account's requests, or of one endpoint
        (``GET /v1/customers``); ``account`` only with limits per account."""
        return self._pacing.rate((account, endpoint), self._clock())

    def answered(self, response: requests.Response) -> tuple[Notice, ...]:
        """Stripe's answer to a request of this budget: a refusal of one of its rate limiters
        slows the sync, and time without one brings it back. What changed, to be logged."""
        reason = rate_limited_reason(response)
        if reason is None and not self._pacing.cuts:
            return ()
        # The request sent (requests-mock's answers carry a proxy of it, not the request).
        request = response.request
        url = getattr(request, "url", None)
        if not url:
            return ()
        endpoint = f"{getattr(request, 'method', 'GET')} {endpoint_of(url)}"
        with self._lock:
            now = self._clock()
            # A refusal of a request sent before the last cut was sent at the old rate.
            sent = now - response.elapsed.total_seconds()
            self._pacing, notices = self._pacing.answered(self._account_of(request), endpoint,
                                                          reason, now, sent)
        return notices

    def yielded_seconds(self) -> float:
        """Seconds so far during which Stripe's refusals held some rate below its budget."""
        return self._pacing.yielded_seconds(self._clock())

    def _account_of(self, request: Any) -> str:
        if not self._per_account:
            return ""
        return str(getattr(request, "headers", {}).get("Stripe-Account") or "")

    def acquire_call(self, request: Any, block: bool = True,
                     timeout: float | None = None) -> None:
        deadline = None if timeout is None else self._clock() + timeout
        for key in self.keys_of(request):
            self._take(request, key, block, deadline)

    def _take(self, request: Any, key: Key, block: bool, deadline: float | None) -> None:
        while True:
            with self._lock:
                now = self._clock()
                window = self._window(key, now)
                wait = window.take(now)
            if wait <= 0:
                return
            if not block or (deadline is not None and now + wait > deadline):
                raise CallRateLimitHit(
                    error=f"{window.limit} calls in {window.interval:.2f} s taken ({key})",
                    item=request, weight=1, rate=f"{window.limit} per {window.interval:.2f} s",
                    time_to_wait=timedelta(seconds=wait))
            self._sleep(wait)

    def _window(self, key: Key, now: float) -> SlidingWindow:
        if now - self._swept >= self._sweep_every:
            for idle in [k for k, w in self._windows.items() if w.idle(now)]:
                del self._windows[idle]
            self._swept = now
        window = self._windows.get(key)
        limit, interval = self._endpoint_rate if key[1] else self._account_rate
        if key in self._pacing.cuts:
            limit, interval = _rate(self._pacing.rate(key, now))
        if window is None:
            window = self._windows[key] = SlidingWindow(limit, interval)
        elif window.limit != limit or window.interval != interval:
            window.resize(limit, interval)
        return window
