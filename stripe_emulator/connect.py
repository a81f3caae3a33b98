"""A Connect platform's connected accounts in bulk: creating many, each with its own data and
profile, and ending or suspending the platform's access to one.

Removing an account is the platform deleting it (``DELETE /v1/accounts/{id}``, allowed for
accounts it controls): gone from ``/v1/accounts``, its data gone with it. Revoking is the
account's owner disconnecting the platform (a Standard account's "deauthorize"): Stripe then no
longer lists it to the platform, and every request with its ``Stripe-Account`` is 403
``account_invalid`` ("... Application access may have been revoked."), the same answer as for
an account that never existed. The account itself lives on, so its data is kept (and may still
change through the control API) and comes back whole when access is restored (the owner
connects the platform again). Stripe sends ``account.application.deauthorized`` to the
platform's Connect webhooks only, and has no event for a deleted account: neither makes an
event the platform could list, so none is made here.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from .app import State
from .catalog import BY_OBJECT, Kind
from .config import PROFILES
from .mutate import YEAR
from .store import ACTIVE, REMOVED, RETENTION_SECONDS, REVOKED, Dataset, Event, Obj, Store

RANDOM_TIME = -1
"""``AccountPlan.created`` for "a random time within the years seeded"."""
UNDATED_KEY = 0
"""The time an account without ``created`` sorts by: before any dated one."""


class ConnectError(ValueError):
    pass


@dataclass
class AccountPlan:
    """One connected account to create."""

    account_id: str | None = None
    """Its id; None for a random ``acct_...``."""
    counts: dict[Kind, int] = field(default_factory=dict)
    """Objects to seed in its own dataset."""
    profile: str | None = None
    """Its profile (written to ``Settings.profiles``); None leaves ``Settings`` to decide."""
    created: int | None = RANDOM_TIME
    """When it was connected; None for an account without ``created``."""
    api_version: str | None = None
    """Its default API version (written to ``Settings.api_versions``)."""


def require_platform(state: State) -> None:
    platform = state.store.platform
    if not state.settings.profile_of(platform).connect_platform:
        raise ConnectError(
            f"The platform {platform} is not a Connect platform under its profile, so it "
            f"cannot have connected accounts (set profiles={{'{platform}': 'full'}} or "
            "profile='full')")


def create_accounts(state: State, plans: list[AccountPlan], livemode: bool,
                    seed: int | str | None, years: float,
                    undated_share: float = 0.0) -> dict[str, Any]:
    """Create the accounts on the platform, then seed each one's data.

    Accounts are connected at times spread over the last ``years`` (those of the last 30
    days with their creation event on the platform, as seeding does); ``undated_share`` of
    those without a time of their own have no ``created`` at all, as some real ones do
    (listed after every dated account, matched by no ``created`` filter).
    """
    require_platform(state)
    store, settings = state.store, state.settings
    platform = store.platform_dataset(livemode)
    wanted = [plan.account_id for plan in plans if plan.account_id is not None]
    for account_id in wanted:
        if account_id == store.platform or account_id in platform.objects:
            raise ConnectError(f"An account with id {account_id!r} already exists")
    if len(set(wanted)) != len(wanted):
        raise ConnectError("The same account id is given twice")
    for plan in plans:
        if plan.profile is not None and plan.profile not in PROFILES:
            raise ConnectError(f"Unknown profile: {plan.profile!r}. Known: {', '.join(PROFILES)}")
    rng = random.Random(seed)
    accounts = _make_accounts(state, platform, plans, rng, years, undated_share)
    ids = [obj.id for obj in accounts]
    # Profiles first: an account's data never has anything of a product its profile lacks,
    # and its events carry its own version.
    for plan, account_id in zip(plans, ids, strict=True):
        if plan.profile is not None:
            settings.profiles[account_id] = plan.profile
        if plan.api_version is not None:
            settings.api_versions[account_id] = plan.api_version
    made: Counter[str] = Counter({"accounts": len(ids)})
    for plan, account_id in zip(plans, ids, strict=True):
        if not plan.counts:
            continue
        dataset = store.dataset(account_id, livemode)
        assert dataset is not None
        # Each account draws from its own stream, so that the same seed gives the same data
        # to an account whatever the other accounts of the call hold.
        account_rng = random.Random(f"{seed}:{account_id}") if seed is not None \
            else random.Random()
        made.update(state.mutator(dataset, account_rng).seed(plan.counts, years))
    return {"ids": ids, "created": dict(made)}


def _make_accounts(state: State, platform: Dataset, plans: list[AccountPlan],
                   rng: random.Random, years: float, undated_share: float) -> list[Obj]:
    kind = BY_OBJECT["account"]
    mutator = state.mutator(platform, rng)
    now = mutator.now
    start = now - int(years * YEAR)
    recent = now - RETENTION_SECONDS
    bulk: list[Obj] = []
    events: list[Event] = []
    for plan in plans:
        undated = plan.created is None
        created = plan.created
        if created is None or created == RANDOM_TIME:
            created = start + int(rng.random() * max(0, now - start))
            if not undated and undated_share > 0:
                undated = rng.random() < undated_share
        fields = {"id": plan.account_id} if plan.account_id is not None else None
        obj = mutator.create(kind, fields, created=created, events=False, bulk=bulk)
        if undated:
            data = obj.data()
            data.pop("created", None)
            platform.render(obj, data)
            platform.undated.add(obj.id)
            # Listed after every dated account, as a sort on a missing value puts it lowest
            # (not documented by Stripe; connectors reading /v1/accounts assume it). Its other
            # dates stay those of its real connection time. Too old for a creation event.
            obj.created = UNDATED_KEY
        if obj.created >= recent:
            event = mutator.seed_event(obj)
            if event is not None:
                events.append(event)
    platform.flush_top(kind.object, bulk)
    platform.add_events(events)
    return bulk


def change_access(store: Store, account: str, livemode: bool, action: str) -> str:
    """``remove``, ``revoke`` or ``restore`` the platform's access to ``account``; returns
    the access it has after (``ACTIVE``, ``REVOKED`` or ``REMOVED``).

    Doing again what is done already changes nothing; a removed account stays removed.
    """
    access = store.access(account, livemode)
    mode = "live" if livemode else "test"
    if access is None:
        raise ConnectError(f"No such connected account in {mode} mode: {account!r}")
    platform = store.platform_dataset(livemode)
    obj = platform.get(account, "account")
    assert obj is not None
    key = (account, livemode)
    if action == "remove":
        obj.listed, obj.deleted = False, True
        store.revoked.discard(key)
        store.datasets.pop(key, None)
        return REMOVED
    if access == REMOVED:
        raise ConnectError(f"The account {account} was removed: Stripe deleted it with its "
                           "data, so it cannot be revoked or restored")
    if action == "revoke":
        obj.listed, obj.deleted = False, True
        store.revoked.add(key)
        return REVOKED
    if action == "restore":
        obj.listed, obj.deleted = True, False
        store.revoked.discard(key)
        return ACTIVE
    raise ConnectError(f"The action is remove, revoke or restore, not {action!r}")


def account_states(state: State, livemode: bool) -> list[dict[str, Any]]:
    """Every account the platform has had in the mode, newest first, with its access."""
    store = state.store
    platform = store.platform_dataset(livemode)
    found: list[dict[str, Any]] = []
    for obj in reversed(platform.top["account"].items):
        found.append({
            "id": obj.id,
            "access": store.access(obj.id, livemode),
            "created": None if obj.id in platform.undated else obj.created,
            "profile": state.settings.profiles.get(obj.id, state.settings.profile),
            "api_version": state.settings.version_of(obj.id),
        })
    return found
