"""Giving way to the merchant: the rates the sync may use now, from what Stripe answered.

Stripe's limits are the account's, and the sync is a guest on it: the merchant's own
integration (checkout, billing jobs) spends the same limits, and a 429 that reaches one of its
live charges costs the merchant money. So a refusal by one of Stripe's rate limiters is a
signal to step back, not only a request to retry. Stripe names the limiter in
``Stripe-Rate-Limited-Reason``:

- ``global-rate`` and ``global-concurrency``: the account as a whole is over its limit. The
  sync's rate for the account is cut (multiplicatively, down to a floor), held there for a
  while, then raised slowly (additively) back to its budget, never above it.
- ``endpoint-rate`` and ``endpoint-concurrency``: one endpoint is over its limit; only that
  endpoint is slowed, the same way.
- ``resource-specific``, and a 429 without the header (a ``lock_timeout``: another request
  holds the object), say nothing about the sync's rate: the request is retried, no rate moves.

A concurrency refusal is answered by a rate cut too: requests wait in the rate budget before
they are sent, so by Little's law the requests in flight at Stripe fall with the rate.

``Pacing`` is an immutable value: every transition takes the time and returns a new value and
what changed, and the allowed rate is a function of the time, so the whole behaviour is tested
without threads or sleeps. The rate budget (budget.py) holds the current value and feeds it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType

# A halving leaves room at once for a merchant whose traffic grew by as much as the sync
# used; a gentler cut needs several refusals (each one maybe a merchant's request refused
# too) to get there.
CUT_FACTOR = 0.5
# The sync never stops: a floor keeps it moving, far below anything a merchant would notice
# beside it (1 request/s), or a twentieth of the budget where that is more.
FLOOR_RATE = 1.0
FLOOR_SHARE = 0.05
# Stripe counts requests per second, and the requests in flight when a limit is hit come back
# refused together, within about one answer time: such a burst is one signal, one cut.
BURST_SECONDS = 1.0
# A merchant's busy spell (a sale, a billing run) lasts seconds to minutes: coming back at once
# would meet it again, and every refusal of the sync may be a refusal of the merchant too.
HOLD_SECONDS = 20.0
# Then back up by a twentieth of the budget every two seconds: from half the budget to all of
# it in 20 s, from the floor in about 40 s, so a merchant still busy refuses the probe while
# the sync is only a little above the rate that was accepted.
RECOVERY_SHARE_PER_SECOND = 0.025

ACCOUNT = ""
"""The endpoint part of the key of an account's own rate (as in budget.py's windows)."""

Key = tuple[str, str]
"""(account, endpoint): "" for every account sharing a limit; ``ACCOUNT`` for the account's rate,
else the endpoint as the budget names it (``GET /v1/customers``)."""


def scope_of(reason: str | None) -> str | None:
    """What a refusal limits: ``"account"`` (Stripe's global limiters), ``"endpoint"``, or None
    when it says nothing about the sync's rate (``resource-specific``, no limiter at all).
    A prefix, so that a limiter Stripe adds later under the same names is understood too."""
    if not reason:
        return None
    if reason.startswith("global-"):
        return "account"
    if reason.startswith("endpoint-"):
        return "endpoint"
    return None


def floor_of(budget: float) -> float:
    return min(budget, max(FLOOR_RATE, FLOOR_SHARE * budget))


@dataclass(frozen=True)
class Cut:
    """One rate held below its budget: at ``rate`` until ``hold_until``, then rising linearly
    back to ``budget``."""

    budget: float
    rate: float
    at: float
    """When it was cut: refusals in the next ``BURST_SECONDS``, or of requests sent before
    it, belong to this cut."""
    hold_until: float
    since: float
    """When this rate went below its budget (the first of successive cuts)."""
    reason: str

    def rate_at(self, now: float) -> float:
        if now < self.hold_until:
            return self.rate
        return min(self.budget, self.rate
                   + self.budget * RECOVERY_SHARE_PER_SECOND * (now - self.hold_until))

    @property
    def recovered_at(self) -> float:
        """When the rate is back at its budget, unless refused again."""
        return self.hold_until + (self.budget - self.rate) / (
            self.budget * RECOVERY_SHARE_PER_SECOND)

    def includes(self, now: float, sent: float | None) -> bool:
        """Whether a refusal at ``now`` of a request sent at ``sent`` is part of this cut."""
        return now - self.at < BURST_SECONDS or (sent is not None and sent < self.at)


@dataclass(frozen=True)
class Slowed:
    """A rate cut: from ``before`` to ``after`` requests/s, for ``hold`` seconds at least."""

    key: Key
    reason: str
    before: float
    after: float
    hold: float

    def describe(self) -> str:
        account, endpoint = self.key
        limit = "concurrency" if self.reason.endswith("concurrency") else "rate"
        if endpoint:
            refused = f"the {limit} of {endpoint}" + (f" for account {account}" if account else "")
            slowing = "it"
        elif account:
            refused, slowing = f"account {account}'s {limit}", "its requests"
        else:
            refused, slowing = f"the account's {limit}", "the sync"
        return (f"Stripe refused requests for {refused} ({self.reason}): slowing {slowing} "
                f"from {self.before:.1f} to {self.after:.1f} requests/s for at least "
                f"{self.hold:.0f} s")


@dataclass(frozen=True)
class Recovered:
    """A rate back at its budget after ``seconds`` below it."""

    key: Key
    budget: float
    seconds: float

    def describe(self) -> str:
        account, endpoint = self.key
        if endpoint:
            what = endpoint + (f" for account {account}" if account else "")
        else:
            what = f"The requests of account {account}" if account else "The sync"
        return (f"{what} is back at its budget of {self.budget:.1f} requests/s, after "
                f"{self.seconds:.1f} s below it")


Notice = Slowed | Recovered

_NO_CUTS: Mapping[Key, Cut] = MappingProxyType({})


@dataclass(frozen=True)
class Pacing:
    """The sync's rates: ``budget`` for each account's requests, ``endpoint_budget`` for each
    endpoint's, less any ``cuts`` in force."""

    budget: float
    endpoint_budget: float
    cuts: Mapping[Key, Cut] = field(default_factory=lambda: _NO_CUTS)
    yielded: float = 0.0
    """Seconds with some rate below its budget, of spells that are over."""
    yielding_since: float | None = None
    """Start of the spell in progress: some rate is below its budget since then."""

    def budget_of(self, key: Key) -> float:
        return self.endpoint_budget if key[1] else self.budget

    def rate(self, key: Key, now: float) -> float:
        """Requests per second allowed at ``now`` for the account's requests (``key[1]`` is
        ``ACCOUNT``) or one endpoint's."""
        cut = self.cuts.get(key)
        return cut.rate_at(now) if cut is not None else self.budget_of(key)

    def answered(self, account: str, endpoint: str, reason: str | None, now: float,
                 sent: float | None = None) -> tuple[Pacing, tuple[Notice, ...]]:
        """An answer of Stripe at ``now`` to a request to ``endpoint`` for ``account``, sent
        at ``sent``, refused by the limiter ``reason`` (None: not refused by one)."""
        settled, notices = self.settle(now)
        after, slowed = settled._refused(account, endpoint, reason, now, sent)
        return after, notices + ((slowed,) if slowed is not None else ())

    def _refused(self, account: str, endpoint: str, reason: str | None, now: float,
                sent: float | None = None) -> tuple[Pacing, Slowed | None]:
        scope = scope_of(reason)
        if scope is None or reason is None:
            return self, None
        key = (account, endpoint if scope == "endpoint" else ACCOUNT)
        cut = self.cuts.get(key)
        if cut is not None and cut.includes(now, sent):
            if now >= cut.hold_until:
                return self, None  # a late answer of before the cut: nothing new
            held = replace(cut, hold_until=max(cut.hold_until, now + HOLD_SECONDS))
            return self._with(key, held), None
        current = self.rate(key, now)
        if key[1]:
            # An endpoint's requests go no faster than their account's.
            current = min(current, self.rate((account, ACCOUNT), now))
        lowered = max(floor_of(self.budget_of(key)), current * CUT_FACTOR)
        since = cut.since if cut is not None and now < cut.recovered_at else now
        new = Cut(budget=self.budget_of(key), rate=min(lowered, current), at=now,
                  hold_until=now + HOLD_SECONDS, since=since, reason=reason)
        if new.rate >= new.budget:
            return self, None  # a budget at its floor already: nothing to give
        slowed = Slowed(key, reason, current, new.rate, HOLD_SECONDS) \
            if new.rate < current else None
        return self._with(key, new), slowed

    def settle(self, now: float) -> tuple[Pacing, tuple[Recovered, ...]]:
        """The rates back at their budget by ``now`` forget their cuts."""
        if not self.cuts:
            return self, ()
        back = [(key, cut) for key, cut in self.cuts.items() if cut.recovered_at <= now]
        if not back:
            return self, ()
        left = {key: cut for key, cut in self.cuts.items() if cut.recovered_at > now}
        notices = tuple(Recovered(key, cut.budget, cut.recovered_at - cut.since)
                        for key, cut in back)
        if left:
            return replace(self, cuts=MappingProxyType(left)), notices
        since = self.yielding_since if self.yielding_since is not None else now
        ended = max(cut.recovered_at for _, cut in back)
        return replace(self, cuts=_NO_CUTS, yielded=self.yielded + max(ended - since, 0.0),
                       yielding_since=None), notices

    def yielded_seconds(self, now: float) -> float:
        """Seconds until ``now`` during which some rate of the sync was below its budget."""
        if self.yielding_since is None:
            return self.yielded
        ended = max((cut.recovered_at for cut in self.cuts.values()), default=now)
        return self.yielded + max(min(now, ended) - self.yielding_since, 0.0)

    def _with(self, key: Key, cut: Cut) -> Pacing:
        cuts = dict(self.cuts)
        cuts[key] = cut
        since = self.yielding_since if self.yielding_since is not None else cut.since
        return replace(self, cuts=MappingProxyType(cuts), yielding_since=since)
