"""The control API under ``/_emulator/`` (no authentication) and its Python client.

Tests and benchmarks drive the emulator through it: seed data, make changes (which emit the
events Stripe would), move the clock, flip switches, register keys, read the ground truth the
connector should converge to, and read request statistics. See README.md for the reference.
"""

from __future__ import annotations

import random
import time
from collections.abc import AsyncIterator
from typing import Any

import orjson
import requests
from aiohttp import web

from . import versions
from .app import STATE_KEY, State, handle_api
from .catalog import KINDS, Kind, Permission, kind_for, permission_named
from .config import ApiKey, ConfigError, check_version
from .connect import (
    RANDOM_TIME,
    AccountPlan,
    ConnectError,
    account_states,
    change_access,
    create_accounts,
)
from .mutate import MutationError, Mutator, removable_child
from .render import Renderer
from .store import ACTIVE, REMOVED, RETENTION_SECONDS, Dataset, Obj

DEFAULT_YEARS = 3.0


class ControlError(Exception):
    pass


def _json(data: Any, status: int = 200) -> web.Response:
    return web.Response(body=orjson.dumps(data), status=status, content_type="application/json")


async def _body(request: web.Request) -> dict[str, Any]:
    raw = await request.read()
    if not raw:
        return {}
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as error:
        raise ControlError(f"The body is not JSON: {error}") from None
    if not isinstance(data, dict):
        raise ControlError("The body must be a JSON object")
    return data


def _kind(name: Any) -> Kind:
    kind = kind_for(name) if isinstance(name, str) else None
    if kind is None:
        raise ControlError(f"Unknown stream or object type: {name!r}")
    return kind


def _not_a_platform(state: State, account: Any) -> bool:
    """Whether ``account`` names a connected account of a platform that is not one."""
    platform = state.store.platform
    return bool(account) and account != platform and not state.settings.profile_of(
        platform).connect_platform


def _dataset(state: State, account: Any, livemode: Any) -> Dataset:
    if account is not None and not isinstance(account, str):
        raise ControlError("account is an account id (acct_...) or null")
    if _not_a_platform(state, account):
        raise ControlError(f"The platform {state.store.platform} is not a Connect platform "
                           "under its profile, so it has no connected accounts (profile full "
                           "makes it one)")
    # A revoked account's data goes on (its owner keeps working), so it can still be
    # seeded and changed: the platform sees it all when its access is restored.
    dataset = state.store.dataset(account or None, bool(livemode), revoked=True)
    if dataset is None:
        if account and state.store.access(account, bool(livemode)) == REMOVED:
            raise ControlError(f"The connected account {account} was removed, with its data")
        raise ControlError(f"No such connected account: {account!r} (seed accounts on the "
                           "platform first, or create them with POST /_emulator/accounts)")
    return dataset


def _flag(value: str | None) -> bool:
    return value in ("1", "true", "yes", "live")


def _guarded(handler: Any) -> Any:
    async def wrapped(request: web.Request) -> web.Response:
        try:
            response: web.Response = await handler(request, request.app[STATE_KEY])
            return response
        except (ControlError, ConfigError, ConnectError, MutationError) as error:
            return _json({"error": str(error)}, 400)
    return wrapped


async def reset(request: web.Request, state: State) -> web.Response:
    state.reset()
    state.stats.reset()
    return _json({"ok": True})


def _counts(counts_in: Any) -> dict[Kind, int]:
    if not isinstance(counts_in, dict):
        raise ControlError("counts maps stream names (or object types) to numbers")
    counts: dict[Kind, int] = {}
    for name, count in counts_in.items():
        kind = _kind(name)
        if kind.object == "event":
            raise ControlError("Events are not seeded: they come with seeded objects created "
                               "in the last 30 days, and with mutations")
        if not isinstance(count, int) or isinstance(count, bool) or count < 0:
            raise ControlError(f"The count of {name} must be a whole number >= 0")
        counts[kind] = counts.get(kind, 0) + count
    return counts


def _years(body: dict[str, Any]) -> float:
    years = body.get("years", DEFAULT_YEARS)
    if isinstance(years, bool) or not isinstance(years, (int, float)) or years <= 0:
        raise ControlError("years must be a number > 0")
    return float(years)


async def seed(request: web.Request, state: State) -> web.Response:
    body = await _body(request)
    counts = _counts(body.get("counts") or {})
    years = _years(body)
    dataset = _dataset(state, body.get("account"), body.get("livemode"))
    rng = random.Random(body.get("seed"))
    started = time.perf_counter()
    mutator = state.mutator(dataset, rng)
    made = mutator.seed(counts, years)
    return _json({"created": made, "events": len(dataset.events),
                  "seconds": round(time.perf_counter() - started, 3)})


async def mutate(request: web.Request, state: State) -> web.Response:
    body = await _body(request)
    dataset = _dataset(state, body.get("account"), body.get("livemode"))
    rng = random.Random(body.get("seed")) if "seed" in body else None
    mutator = state.mutator(dataset, rng)
    ops: list[dict[str, Any]] = []
    if "random" in body:
        count = body["random"]
        if not isinstance(count, int) or count < 0:
            raise ControlError("random is the number of changes to make")
        streams = body.get("streams")
        if streams is None:
            kinds = [k for k in KINDS if k.all_event_types and k.object != "event"]
        elif isinstance(streams, list):
            kinds = [_kind(name) for name in streams]
        else:
            raise ControlError("streams is a list of stream names")
        ops = mutator.random_ops(count, kinds)
    elif "ops" in body:
        if not isinstance(body["ops"], list):
            raise ControlError("ops is a list of {op, stream, id, changes}")
        for spec in body["ops"]:
            ops.append(_apply_op(mutator, dataset, spec))
    else:
        raise ControlError("Give either random (with streams and seed) or ops")
    events = [orjson.Fragment(event.blob) for event in mutator.made]
    return _json({"ops": ops, "events": events})


def _remove_children(mutator: Mutator, dataset: Dataset, parent: Obj,
                     spec: dict[str, Any]) -> dict[str, Any]:
    """``{"op": "remove_children", "stream": "invoices", "id": "in_…", "children": [ids]}``
    or ``"count": n`` (that many of its lines or items at random): one change, one event."""
    child = removable_child(parent.kind)
    if child is None or child.parent != parent.kind.object:
        raise ControlError(f"remove_children takes an invoice or a subscription, not a "
                           f"{parent.kind.object}")
    named = spec.get("children")
    count = spec.get("count")
    if named is not None:
        if not isinstance(named, list) or not named or not all(
                isinstance(item, str) for item in named):
            raise ControlError("children is a list of the ids to remove")
        children: list[Obj] = []
        for child_id in named:
            found = dataset.get(child_id, child.object)
            if found is None:
                raise ControlError(f"No such {child.object}: {child_id!r}")
            children.append(found)
    elif isinstance(count, int) and not isinstance(count, bool) and count >= 1:
        left = dataset.listed_children(child.object, parent.id)
        if count > len(left):
            raise ControlError(f"{parent.kind.object} {parent.id} has {len(left)} "
                               f"{child.stream}, fewer than {count}")
        children = mutator.rng.sample(left, count)
    else:
        raise ControlError("Give children (ids) or count (how many to remove at random)")
    event = mutator.remove_children(parent, children)
    return {"op": "remove_children", "stream": parent.kind.stream, "id": parent.id,
            "removed": [item.id for item in children], "event": event.type}


def _apply_op(mutator: Any, dataset: Dataset, spec: Any) -> dict[str, Any]:
    if not isinstance(spec, dict):
        raise ControlError("Each op is an object")
    op = spec.get("op")
    if op == "upcoming_invoice":
        sub_id = spec.get("subscription")
        sub = dataset.get(sub_id, "subscription") if isinstance(sub_id, str) else None
        if sub_id is not None and sub is None:
            raise ControlError(f"No such subscription: {sub_id!r}")
        event = mutator.upcoming_invoice(sub)
        if event is None:
            raise ControlError("No subscription that is not canceled to preview an invoice of")
        return {"op": op, "stream": "invoices", "id": None, "event": "invoice.upcoming"}
    kind = _kind(spec.get("stream") or spec.get("object"))
    changes = spec.get("changes") or {}
    if not isinstance(changes, dict):
        raise ControlError("changes is an object of field -> value")
    if op == "create":
        obj = mutator.create(kind, changes)
        return {"op": op, "stream": kind.stream, "id": obj.id}
    object_id = spec.get("id")
    obj = dataset.get(object_id, kind.object) if isinstance(object_id, str) else None
    if obj is None:
        raise ControlError(f"No such {kind.object}: {object_id!r}")
    if op == "update":
        event = spec.get("event")
        mutator.update(obj, changes, event=event if isinstance(event, str) else None)
    elif op == "delete":
        mutator.delete(obj)
    elif op == "remove_children":
        return _remove_children(mutator, dataset, obj, spec)
    else:
        raise ControlError(f"op is create, update, delete, remove_children or "
                           f"upcoming_invoice, not {op!r}")
    return {"op": op, "stream": kind.stream, "id": obj.id}


def _plan(entry: Any, defaults: AccountPlan) -> AccountPlan:
    if not isinstance(entry, dict):
        raise ControlError("Each of accounts is an object {id?, counts?, profile?, created?, "
                           "api_version?}")
    unknown = set(entry) - {"id", "counts", "profile", "created", "api_version"}
    if unknown:
        raise ControlError(f"Unknown field of an account: {', '.join(sorted(unknown))}")
    account_id = entry.get("id")
    if account_id is not None and not (isinstance(account_id, str)
                                       and account_id.startswith("acct_")):
        raise ControlError(f"An account id looks like acct_..., not {account_id!r}")
    created = entry.get("created", defaults.created)
    if created is not None and (isinstance(created, bool) or not isinstance(created, int)
                                or created < 0 and created != RANDOM_TIME):
        raise ControlError("created is a unix time, or null for an account without created")
    profile = entry.get("profile", defaults.profile)
    if profile is not None and not isinstance(profile, str):
        raise ControlError("profile is a profile name")
    version = entry.get("api_version", defaults.api_version)
    if version is not None:
        check_version(version)
    counts = _counts(entry["counts"]) if "counts" in entry else defaults.counts
    return AccountPlan(account_id, counts, profile, created, version)


async def accounts_create(request: web.Request, state: State) -> web.Response:
    body = await _body(request)
    unknown = set(body) - {"count", "accounts", "counts", "profile", "api_version", "seed",
                           "years", "livemode", "undated_share"}
    if unknown:
        raise ControlError(f"Unknown field: {', '.join(sorted(unknown))}")
    count = body.get("count", 0)
    if isinstance(count, bool) or not isinstance(count, int) or count < 0:
        raise ControlError("count is the number of accounts to create")
    entries = body.get("accounts") or []
    if not isinstance(entries, list):
        raise ControlError("accounts is a list of {id?, counts?, profile?, created?, "
                           "api_version?}")
    if not count and not entries:
        raise ControlError("Give count (accounts alike) or accounts (one object each)")
    share = body.get("undated_share", 0.0)
    if isinstance(share, bool) or not isinstance(share, (int, float)) or not 0 <= share <= 1:
        raise ControlError("undated_share is a share of the accounts, from 0 to 1")
    seed = body.get("seed")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, (int, str))):
        raise ControlError("seed is a number or a string")
    defaults = _plan({key: body[key] for key in ("counts", "profile", "api_version")
                      if key in body}, AccountPlan())
    plans = [_plan(entry, defaults) for entry in entries]
    plans += [AccountPlan(None, defaults.counts, defaults.profile, api_version=defaults.api_version)
              for _ in range(count)]
    started = time.perf_counter()
    result = create_accounts(state, plans, bool(body.get("livemode")), seed, _years(body),
                             float(share))
    result["seconds"] = round(time.perf_counter() - started, 3)
    return _json(result)


async def accounts_get(request: web.Request, state: State) -> web.Response:
    return _json({"accounts": account_states(state, _flag(request.query.get("livemode")))})


async def account_access(request: web.Request, state: State) -> web.Response:
    body = await _body(request)
    account = request.match_info["account"]
    livemode = bool(body.get("livemode"))
    access = change_access(state.store, account, livemode, request.match_info["action"])
    return _json({"id": account, "livemode": livemode, "access": access})


async def clock_get(request: web.Request, state: State) -> web.Response:
    clock = state.store.clock
    return _json({"now": clock.now(), "offset": clock.offset})


async def clock_set(request: web.Request, state: State) -> web.Response:
    body = await _body(request)
    clock = state.store.clock
    if isinstance(body.get("advance"), (int, float)):
        clock.advance(float(body["advance"]))
    elif isinstance(body.get("set"), (int, float)):
        clock.set(float(body["set"]))
    else:
        raise ControlError("Give advance (seconds) or set (unix time)")
    return _json({"now": clock.now(), "offset": clock.offset})


async def config_get(request: web.Request, state: State) -> web.Response:
    return _json(state.settings.as_dict())


async def config_set(request: web.Request, state: State) -> web.Response:
    state.configure(await _body(request))
    return _json(state.settings.as_dict())


def _key_info(api_key: ApiKey) -> dict[str, Any]:
    return {"key": api_key.key, "livemode": api_key.livemode,
            "permissions": sorted(api_key.permissions)
            if api_key.permissions is not None else None,
            "wording": api_key.wording}


def _permission(name: Any) -> Permission:
    """A permission named by a stream, an object type, or Stripe (rak_plan_read, plan_read)."""
    if isinstance(name, str):
        kind = kind_for(name)
        if kind is not None:
            return kind.permission
        permission = permission_named(name)
        if permission is not None:
            return permission
    raise ControlError(f"Unknown permission: {name!r} (give a stream, an object type, or "
                       "Stripe's name: rak_customer_read or customer_read)")


async def keys_get(request: web.Request, state: State) -> web.Response:
    return _json({"keys": [_key_info(k) for k in state.keys.keys.values()]})


async def keys_set(request: web.Request, state: State) -> web.Response:
    body = await _body(request)
    key = body.get("key")
    if not isinstance(key, str):
        raise ControlError("key is the API key to accept")
    if body.get("remove"):
        return _json({"removed": state.keys.remove(key)})
    permissions = body.get("permissions")
    granted: list[str] | None = None
    if permissions is not None:
        if not isinstance(permissions, list):
            raise ControlError("permissions is a list of streams, object types or Stripe "
                               "permissions it may read")
        granted = [_permission(name).legacy for name in permissions]
    wording = body.get("wording", "old")
    if not isinstance(wording, str):
        raise ControlError("wording is old or new")
    # Adding a key again replaces it whole: that is how a test revokes a permission.
    return _json(_key_info(state.keys.add(key, granted, wording)))


async def account_version(request: web.Request, state: State) -> web.Response:
    """An account's default API version, changed as its owner does in the Dashboard: answers
    without Stripe-Version, and the events made from now on, are in the new version; events
    already made keep theirs. Any version may be set (Stripe lets an upgrade be rolled back
    within 72 hours)."""
    body = await _body(request)
    account = request.match_info["account"]
    version = check_version(body.get("version"))
    store = state.store
    if account != store.platform and store.access(account, False) is None \
            and store.access(account, True) is None:
        raise ControlError(f"No such account: {account!r} (the platform is "
                           f"{store.platform})")
    state.settings.api_versions[account] = version
    return _json({"id": account, "api_version": version})


def ground_truth_of(state: State, dataset: Dataset, kind: Kind,
                    renderer: Renderer | None = None) -> list[bytes]:
    """What a complete, correct read of the stream holds now, as its list renders it (in
    ``renderer``'s version; events in their own, as their list shows them in any)."""
    render = renderer.blob if renderer is not None else (lambda obj: obj.blob)
    profile = state.settings.profile_of(dataset.account)
    if not profile.serves(kind.product, dataset.livemode):
        # Not set up (or not a platform): no such objects exist, so a correct read has none.
        return []
    now = state.store.clock.now()
    # As a read now would show them: balance transactions due by now have settled.
    dataset.settle(now)
    if kind.object == "event":
        horizon = int(now) - RETENTION_SECONDS
        return [e.blob for e in reversed(dataset.events.items)
                if e.created >= horizon and e.visible_at <= now]
    if kind.top_level:
        return [render(o) for o in reversed(dataset.top[kind.object].items) if o.listed]
    parent_kind = kind_for(kind.parent or "")
    assert parent_kind is not None
    if not profile.serves(parent_kind.product, dataset.livemode):
        return []
    parents: list[Obj] = [o for o in reversed(dataset.top[parent_kind.object].items)
                          if o.listed and not o.deleted]
    blobs: list[bytes] = []
    for parent in parents:
        blobs.extend(render(child) for child in dataset.listed_children(kind.object, parent.id))
    return blobs


async def ground_truth(request: web.Request, state: State) -> web.Response:
    query = request.query
    account = query.get("account")
    livemode = _flag(query.get("livemode"))
    names = query.getall("stream", [])
    kinds = [_kind(name) for name in names] if names else list(KINDS)
    version = query.get("version") or state.settings.version_of(account or state.store.platform)
    if not versions.is_valid(version):
        raise ControlError(f"Invalid API version: {version!r}")
    access = state.store.access(account, livemode) \
        if account and account != state.store.platform else None
    if _not_a_platform(state, account) or access not in (None, ACTIVE):
        # Every request with Stripe-Account is refused (not a platform, or the account was
        # removed or its access revoked): nothing of the account can be read.
        return _json({"account": account, "livemode": livemode, "access": access,
                      "version": version, "streams": {kind.stream: [] for kind in kinds}})
    dataset = _dataset(state, account, livemode)
    renderer = Renderer(dataset, versions.shape_of(version))
    streams = {kind.stream: [orjson.Fragment(blob)
                             for blob in ground_truth_of(state, dataset, kind, renderer)]
               for kind in kinds}
    return _json({"account": dataset.account, "livemode": dataset.livemode,
                  "access": access, "version": version, "streams": streams})


async def stats_get(request: web.Request, state: State) -> web.Response:
    settings = state.settings
    # Which ceiling is enforced, so that a benchmark's figures say what they were run under.
    ceiling = {
        "enabled": settings.rate_limit, "scope": settings.rate_limit_scope,
        "test_per_second": settings.rate_limit_test,
        "live_per_second": settings.rate_limit_live,
        "per_endpoint_per_second": settings.per_endpoint_limit
        if settings.per_endpoint_limit_enabled else None,
        "buckets": len(state.limiter.global_buckets),
        "concurrency": settings.concurrency_limit,
        "endpoint_concurrency": settings.endpoint_concurrency_limit,
        "merchant_per_second": settings.merchant_requests_per_second,
    }
    return _json({**state.stats.as_dict(), "rate_limit": ceiling})


async def stats_reset(request: web.Request, state: State) -> web.Response:
    state.stats.reset()
    return _json({"ok": True})


async def health(request: web.Request, state: State) -> web.Response:
    return _json({"ok": True, "account": state.store.platform})


async def not_found(request: web.Request) -> web.Response:
    return _json({"error": f"No control route {request.method} {request.path}"}, 404)


async def merchant_traffic(app: web.Application) -> AsyncIterator[None]:
    """The merchant's traffic lives as long as the server: started with it (idle at rate 0),
    ended by its cleanup, which both ``Emulator.stop`` and the command line's exit run."""
    merchant = app[STATE_KEY].merchant
    merchant.start()
    yield
    await merchant.stop()


def make_app(state: State) -> web.Application:
    app = web.Application(client_max_size=64 * 1024 * 1024)
    app[STATE_KEY] = state
    app.cleanup_ctx.append(merchant_traffic)
    routes = [
        ("POST", "/_emulator/reset", reset),
        ("POST", "/_emulator/seed", seed),
        ("POST", "/_emulator/mutate", mutate),
        ("GET", "/_emulator/clock", clock_get),
        ("POST", "/_emulator/clock", clock_set),
        ("GET", "/_emulator/config", config_get),
        ("POST", "/_emulator/config", config_set),
        ("GET", "/_emulator/keys", keys_get),
        ("POST", "/_emulator/keys", keys_set),
        ("GET", "/_emulator/ground_truth", ground_truth),
        ("GET", "/_emulator/accounts", accounts_get),
        ("POST", "/_emulator/accounts", accounts_create),
        ("POST", "/_emulator/accounts/{account}/{action:remove|revoke|restore}",
         account_access),
        ("POST", "/_emulator/accounts/{account}/version", account_version),
        ("GET", "/_emulator/stats", stats_get),
        ("POST", "/_emulator/stats/reset", stats_reset),
        ("GET", "/_emulator/health", health),
    ]
    for method, path, handler in routes:
        app.router.add_route(method, path, _guarded(handler))
    app.router.add_route("*", "/_emulator/{tail:.*}", not_found)
    app.router.add_route("*", "/{tail:.*}", handle_api)
    return app


class EmulatorClient:
    """The control API from Python (synchronous, ``requests``).

    Over https, ``ca_file`` is the emulator's CA (``Emulator.ca_file``) to trust.
    """

    def __init__(self, base_url: str, timeout: float = 600.0, ca_file: str | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        # Given with every call, not set on the session: requests lets REQUESTS_CA_BUNDLE
        # from the environment override a session's verify, not a request's.
        self.verify: str | bool = ca_file if ca_file is not None else True
        self.session = requests.Session()

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None,
              params: Any = None) -> Any:
        response = self.session.request(method, f"{self.base_url}/_emulator/{path}",
                                        json=body, params=params, timeout=self.timeout,
                                        verify=self.verify)
        if response.status_code != 200:
            try:
                message = response.json().get("error", response.text)
            except ValueError:
                message = response.text
            raise ControlError(f"{method} /_emulator/{path}: {response.status_code} {message}")
        return response.json()

    def reset(self) -> None:
        self._call("POST", "reset")

    def seed(self, counts: dict[str, int], seed: int | None = None, account: str | None = None,
             years: float = DEFAULT_YEARS, livemode: bool = False) -> dict[str, Any]:
        result: dict[str, Any] = self._call("POST", "seed", {
            "counts": counts, "seed": seed, "account": account, "years": years,
            "livemode": livemode})
        return result

    def mutate_random(self, count: int, seed: int | None = None,
                      streams: list[str] | None = None, account: str | None = None,
                      livemode: bool = False) -> dict[str, Any]:
        body: dict[str, Any] = {"random": count, "streams": streams, "account": account,
                                "livemode": livemode}
        if seed is not None:
            body["seed"] = seed
        result: dict[str, Any] = self._call("POST", "mutate", body)
        return result

    def mutate(self, ops: list[dict[str, Any]], account: str | None = None,
               livemode: bool = False, seed: int | None = None) -> dict[str, Any]:
        """Explicit changes; ``seed`` makes their random parts (ids, values) repeatable."""
        body: dict[str, Any] = {"ops": ops, "account": account, "livemode": livemode}
        if seed is not None:
            body["seed"] = seed
        result: dict[str, Any] = self._call("POST", "mutate", body)
        return result

    def create(self, stream: str, changes: dict[str, Any] | None = None,
               **kwargs: Any) -> dict[str, Any]:
        return self.mutate([{"op": "create", "stream": stream, "changes": changes or {}}],
                           **kwargs)

    def update(self, stream: str, object_id: str, changes: dict[str, Any] | None = None,
               event: str | None = None, **kwargs: Any) -> dict[str, Any]:
        op: dict[str, Any] = {"op": "update", "stream": stream, "id": object_id,
                              "changes": changes or {}}
        if event is not None:
            op["event"] = event
        return self.mutate([op], **kwargs)

    def delete(self, stream: str, object_id: str, **kwargs: Any) -> dict[str, Any]:
        return self.mutate([{"op": "delete", "stream": stream, "id": object_id}], **kwargs)

    def remove_children(self, stream: str, parent_id: str, children: list[str] | None = None,
                        count: int | None = None, **kwargs: Any) -> dict[str, Any]:
        """Remove lines of a draft invoice or items of a subscription in one change (one
        event): the ``children`` named, or ``count`` of them at random."""
        op: dict[str, Any] = {"op": "remove_children", "stream": stream, "id": parent_id}
        if children is not None:
            op["children"] = children
        if count is not None:
            op["count"] = count
        return self.mutate([op], **kwargs)

    def clock(self) -> float:
        now: float = self._call("GET", "clock")["now"]
        return now

    def advance_clock(self, seconds: float) -> float:
        now: float = self._call("POST", "clock", {"advance": seconds})["now"]
        return now

    def set_clock(self, timestamp: float) -> float:
        now: float = self._call("POST", "clock", {"set": timestamp})["now"]
        return now

    def config(self) -> dict[str, Any]:
        result: dict[str, Any] = self._call("GET", "config")
        return result

    def configure(self, **settings: Any) -> dict[str, Any]:
        result: dict[str, Any] = self._call("POST", "config", settings)
        return result

    def add_key(self, key: str, permissions: list[str] | None = None,
                wording: str = "old") -> dict[str, Any]:
        """Accept ``key``; adding it again replaces its permissions (and wording)."""
        result: dict[str, Any] = self._call("POST", "keys", {
            "key": key, "permissions": permissions, "wording": wording})
        return result

    def remove_key(self, key: str) -> bool:
        removed: bool = self._call("POST", "keys", {"key": key, "remove": True})["removed"]
        return removed

    def ground_truth(self, stream: str | None = None, account: str | None = None,
                     livemode: bool = False, version: str | None = None) -> Any:
        """Objects per stream; with ``stream``, that stream's list alone. Rendered in
        ``version`` (default: the account's current version), as a read in it lists them."""
        params: dict[str, str] = {}
        if version is not None:
            params["version"] = version
        if stream is not None:
            params["stream"] = stream
        if account is not None:
            params["account"] = account
        if livemode:
            params["livemode"] = "true"
        data = self._call("GET", "ground_truth", params=params)
        if stream is not None:
            return data["streams"][_kind(stream).stream]
        return data["streams"]

    def create_accounts(self, count: int = 0, counts: dict[str, int] | None = None,
                        seed: int | str | None = None, profile: str | None = None,
                        livemode: bool = False, years: float = DEFAULT_YEARS,
                        undated_share: float = 0.0, api_version: str | None = None,
                        accounts: list[dict[str, Any]] | None = None) -> list[str]:
        """Create connected accounts on the platform, each seeded with ``counts``; returns
        their ids (``accounts`` first, then ``count`` more alike).

        ``accounts`` entries may set ``id``, ``counts``, ``profile``, ``api_version`` and
        ``created`` (a unix time, or None for an account without ``created``) of their own.
        """
        body: dict[str, Any] = {"count": count, "seed": seed, "livemode": livemode,
                                "years": years, "undated_share": undated_share}
        if counts is not None:
            body["counts"] = counts
        if profile is not None:
            body["profile"] = profile
        if api_version is not None:
            body["api_version"] = api_version
        if accounts is not None:
            body["accounts"] = accounts
        ids: list[str] = self._call("POST", "accounts", body)["ids"]
        return ids

    def set_api_version(self, account: str, version: str) -> str:
        """Change an account's default API version (the platform's id for the platform's);
        returns it."""
        result: str = self._call("POST", f"accounts/{account}/version",
                                 {"version": version})["api_version"]
        return result

    def accounts(self, livemode: bool = False) -> list[dict[str, Any]]:
        """Every account the platform has had: ``{id, access, created, profile,
        api_version}``."""
        found: list[dict[str, Any]] = self._call(
            "GET", "accounts", params={"livemode": "true"} if livemode else None)["accounts"]
        return found

    def _access(self, account: str, action: str, livemode: bool) -> str:
        access: str = self._call("POST", f"accounts/{account}/{action}",
                                 {"livemode": livemode})["access"]
        return access

    def remove_account(self, account: str, livemode: bool = False) -> str:
        """Delete a connected account with its data (it leaves /v1/accounts; 403 after)."""
        return self._access(account, "remove", livemode)

    def revoke_account(self, account: str, livemode: bool = False) -> str:
        """Disconnect the platform from an account (unlisted, 403; its data is kept)."""
        return self._access(account, "revoke", livemode)

    def restore_account(self, account: str, livemode: bool = False) -> str:
        """Connect a revoked account again, with its data as it is now."""
        return self._access(account, "restore", livemode)

    def stats(self) -> dict[str, Any]:
        result: dict[str, Any] = self._call("GET", "stats")
        return result

    def reset_stats(self) -> None:
        self._call("POST", "stats/reset")

    def health(self) -> bool:
        return bool(self._call("GET", "health")["ok"])

    def close(self) -> None:
        self.session.close()
