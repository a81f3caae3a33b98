"""The Stripe API itself: aiohttp routes for every list, retrieve and the few mutations served.

One catch-all handler takes every ``/v1`` request through Stripe's gauntlet in Stripe's order
(authentication, account, rate limit, injected faults, permission, product) and then dispatches
to the route matched in the emulator's own table, built from the catalogue.
"""

from __future__ import annotations

import asyncio
import base64
import fnmatch
import logging
import random
import re
from dataclasses import dataclass
from email.utils import formatdate
from typing import Any

import orjson
from aiohttp import web

from . import spec, versions
from .calls import ApiError, Call, Dropped, Handler, Result, account_invalid, no_such, unknown_param
from .catalog import ACCOUNT_PERMISSION, BY_OBJECT, CONNECT, KINDS, TREASURY, Kind, Permission
from .config import (
    NOT_SET_UP,
    PLATFORM_REQUIRED,
    ApiKey,
    KeyRing,
    Profile,
    Settings,
    mask_key,
    treasury_not_onboarded,
)
from .limits import REASON_HEADER, RateLimiter, Slot, Stats, latency_seconds
from .lists import (
    check_params,
    created_bounds,
    cursors,
    expand_path,
    list_page,
    parse_expand,
    parse_limit,
    render_list,
    tighten,
)
from .merchant import MerchantTraffic
from .mutate import Config, MutationError, Mutator
from .query import ParamError, Params, parse_int
from .render import Renderer, invoice_id_of, invoice_payment
from .store import PLATFORM_ACCOUNT, RETENTION_SECONDS, Dataset, Obj, Store, walk, walk_merged

LOG = logging.getLogger("stripe_emulator")
MAX_EVENT_TYPES = 20
RATE_LIMIT_MESSAGE = ("Too many requests hit the API too quickly. We recommend an exponential "
                      "backoff of your requests.")
LOCK_TIMEOUT_MESSAGE = (
    "This object cannot be accessed right now because another API request or Stripe process is "
    "currently accessing it. If you see this error intermittently, retry the request. If you "
    "see this error frequently and are making multiple concurrent requests to a single object, "
    "make your requests serially or at a lower rate.")
NO_KEY_MESSAGE = (
    "You did not provide an API key. You need to provide your API key in the Authorization "
    "header, using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY'). See "
    "https://stripe.com/docs/api#authentication for details, or we can help at "
    "https://support.stripe.com/.")
AGED_OUT = "is no longer available because it's aged out of our retention policy"
TREASURY_PREFIX = "/v1/treasury/"
NO_RETRY = {"Stripe-Should-Retry": "false"}



@dataclass
class Route:
    method: str
    template: str
    pattern: re.Pattern[str]
    handler: Handler
    kind: Kind | None
    permission: Permission | None

    @property
    def endpoint(self) -> str:
        return f"{self.method} {self.template}"


class Router:
    def __init__(self) -> None:
        self.static: dict[tuple[str, str], Route] = {}
        self.dynamic: list[Route] = []
        self.templates: set[str] = set()

    def add(self, method: str, template: str, handler: Handler, kind: Kind | None,
            permission: Permission | None = None) -> None:
        regex = "^" + re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(template)) + "$"
        route = Route(method, template, re.compile(regex), handler, kind,
                      permission or (kind.permission if kind is not None else None))
        self.templates.add(template)
        if "{" in template:
            self.dynamic.append(route)
        else:
            self.static[(method, template)] = route

    def match(self, method: str, path: str) -> tuple[Route | None, dict[str, str]]:
        route = self.static.get((method, path))
        if route is not None:
            return route, {}
        for route in self.dynamic:
            if route.method != method:
                continue
            found = route.pattern.match(path)
            if found:
                return route, found.groupdict()
        return None, {}


class State:
    """Everything the server holds: data, switches, keys, limits and counters."""

    def __init__(self, settings: Settings | None = None) -> None:
        self.store = Store()
        self.settings = settings or Settings()
        self.keys = KeyRing()
        self.limiter = RateLimiter()
        self.stats = Stats()
        self.rng = random.Random()
        self.router = build_router()
        self.mutation_rng = random.Random()
        self.merchant = MerchantTraffic(self.settings, self.limiter, self.stats,
                                        self.endpoint_of)

    def endpoint_of(self, method: str, path: str) -> str:
        """The rate-limit endpoint of a request: its route's, else method and path as given."""
        route, _ = self.router.match(method, path)
        return route.endpoint if route is not None else f"{method} {path}"

    def configure(self, changes: dict[str, Any]) -> None:
        self.settings.update(changes)
        # A new merchant rate applies now, not after the gap planned under the old one.
        self.merchant.wake()

    def mutator(self, dataset: Dataset, rng: random.Random | None = None,
                request_id: str | None = None) -> Mutator:
        settings = self.settings
        config = Config(settings.version_of(dataset.account), settings.event_max_delay,
                        settings.profile_of(dataset.account), settings.many_children_share,
                        settings.remove_children_share)
        return Mutator(self.store, dataset, rng or self.mutation_rng, config, request_id)

    def reset(self) -> None:
        self.store.reset()
        self.limiter.reset()


# Authentication and the gauntlet


def api_key_of(request: web.Request) -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    value = value.strip()
    if scheme.lower() == "bearer" and value:
        return value
    if scheme.lower() == "basic" and value:
        try:
            decoded = base64.b64decode(value).decode()
        except (ValueError, UnicodeDecodeError):
            return None
        user = decoded.partition(":")[0]
        return user or None
    return None


def authenticate(state: State, request: web.Request) -> ApiKey:
    key = api_key_of(request)
    if key is None:
        raise ApiError(401, NO_KEY_MESSAGE)
    api_key = state.keys.get(key)
    if api_key is None:
        raise ApiError(401, f"Invalid API Key provided: {mask_key(key, 4)}")
    return api_key


def permission_error(api_key: ApiKey, permission: Permission, account: str) -> ApiError:
    # Only the end of the newer wording is known from Stripe; its beginning is taken to be the
    # older wording's, which is what the rest of that message looked like where seen.
    if api_key.wording == "new":
        advice = (f"Enabling \"{permission.title}\" ('{permission.id}') permissions on this key "
                  "would allow this request to continue.")
    else:
        advice = (f"Having the '{permission.legacy}' permission would allow this request to "
                  "continue.")
    return ApiError(
        403,
        f"The provided key '{mask_key(api_key.key, 6)}' does not have the required permissions "
        f"for this endpoint on account '{account}'. {advice}")


def not_set_up(profile: Profile, route: Route | None, livemode: bool, method: str,
               path: str) -> ApiError | None:
    """Stripe's 400 for a product the account has not set up, if the request needs one."""
    if route is None:
        if path.startswith(TREASURY_PREFIX) and not profile.treasury:
            return ApiError(400, treasury_not_onboarded(method, path), headers=dict(NO_RETRY))
        return None
    product = route.kind.product if route.kind is not None else None
    if product == TREASURY and not profile.treasury:
        return ApiError(400, treasury_not_onboarded(method, path), headers=dict(NO_RETRY))
    # Connect is not refused: a non-platform simply has no connected accounts (see exists).
    if product is None or product in (CONNECT, TREASURY) or profile.serves(product, livemode):
        return None
    return ApiError(400, NOT_SET_UP[product], headers=dict(NO_RETRY))


async def handle_api(request: web.Request) -> web.StreamResponse:
    state: State = request.app[STATE_KEY]
    route, path_params = state.router.match(request.method, request.path)
    endpoint = route.endpoint if route else f"{request.method} (unrecognized)"
    stats = state.stats
    stats.enter(endpoint, request.headers.get("Stripe-Account") or state.store.platform)
    request_id = state.store.new_request_id()
    status: int | None = None
    objects = 0
    headers: dict[str, str] = {}
    held: list[Slot] = []
    try:
        try:
            result = await dispatch(state, request, route, path_params, request_id, held)
            body, status, objects = result.body, result.status, result.objects
        except ApiError as error:
            body, status, headers = error.body(), error.status, error.headers
        except Dropped:
            return await drop(request)
        except Exception as error:  # an emulator bug: say so, never pass it off as a fault
            LOG.exception("Stripe emulator failure on %s %s", request.method, request.path_qs)
            failure = ApiError(500, f"The Stripe emulator failed: {error!r}",
                               error_type="api_error")
            body, status = failure.body(), failure.status
        delay = latency_seconds(state.settings, objects, state.rng)
        if delay > 0:
            await asyncio.sleep(delay)
        headers["Request-Id"] = request_id
        # Stripe's Date header tells clients Stripe's time; here it is the emulator's clock,
        # which tests move forward (retention), so clients must see that clock, not the wall's.
        headers["Date"] = formatdate(state.store.clock.now(), usegmt=True)
        # Stripe names the version every answer is rendered in, also when the request named
        # none (then the account's default): a client learns the account's version this way.
        version = answer_version(state, request)
        headers["Stripe-Version"] = version
        stats.answered_in(version)
        return web.Response(body=body, status=status, headers=headers,
                            content_type="application/json")
    finally:
        # After the latency: a slow answer holds its place among the requests in flight, which
        # is what a concurrency limit counts. Also on a drop or a client that gave up.
        for slot in held:
            state.limiter.release(*slot)
        stats.leave(status, objects)


def answer_version(state: State, request: web.Request) -> str:
    """The version a request is answered in: its Stripe-Version if Stripe accepts it, else
    the default of the account it acts on (an error about a bad version is in the default)."""
    requested = request.headers.get("Stripe-Version")
    if requested is not None and versions.is_valid(requested):
        return requested
    return state.settings.version_of(request.headers.get("Stripe-Account") or PLATFORM_ACCOUNT)


async def drop(request: web.Request) -> web.StreamResponse:
    """Close the connection with no answer at all, as a network failure would."""
    transport = request.transport
    if transport is not None:
        transport.abort()
    # aiohttp finds the transport closed and writes nothing; the client sees a reset.
    return web.Response(status=500)


async def dispatch(state: State, request: web.Request, route: Route | None,
                   path_params: dict[str, str], request_id: str, held: list[Slot]) -> Result:
    """The request's answer, through Stripe's gauntlet; an admitted request's limiter slot
    goes to ``held``, for the caller to release once the answer is out."""
    settings = state.settings
    api_key = authenticate(state, request)
    requested = request.headers.get("Stripe-Version")
    if requested is not None and not versions.is_valid(requested):
        # Stripe's message (see versions.invalid_message); its error code is not known, and
        # none is sent rather than a made-up one.
        raise ApiError(400, versions.invalid_message(requested))
    account = request.headers.get("Stripe-Account")
    platform = state.store.platform
    # Whose data a request reaches is settled before anything else is looked at, so this comes
    # where account_invalid does (before the rate limit), whatever the path.
    if account and not settings.profile_of(platform).connect_platform:
        raise ApiError(403, PLATFORM_REQUIRED, "platform_account_required")
    dataset = state.store.dataset(account or None, api_key.livemode)
    if dataset is None:
        raise account_invalid(api_key, account or "")
    profile = settings.profile_of(dataset.account)
    refused = not_set_up(profile, route, api_key.livemode, request.method, request.path)
    if route is None and refused is None:
        raise ApiError(404, f"Unrecognized request URL ({request.method}: {request.path}). "
                       "Please see https://stripe.com/docs or we can help at "
                       "https://support.stripe.com/.")
    endpoint = route.endpoint if route is not None else f"{request.method} (unrecognized)"
    retry = {"Stripe-Should-Retry": "true"}
    # Stripe does not document whose budget a request with Stripe-Account spends; sharing the
    # platform's is the default, the assumption a connector must survive.
    owner = platform if settings.rate_limit_scope == "platform" else dataset.account
    refused_by = state.limiter.admit(settings, owner, api_key.livemode, endpoint)
    if refused_by is not None:
        state.stats.limited(dataset.account, refused_by)
        # Stripe: "If a request returns a 429 status code without these headers, it wasn't
        # the result of a rate limiter (for example, it may be a lock timeout)". So every
        # limiter's 429 names its limiter, and the lock_timeout below names none.
        raise ApiError(429, RATE_LIMIT_MESSAGE, "rate_limit",
                       headers={**retry, REASON_HEADER: refused_by})
    held.append((owner, api_key.livemode, endpoint))
    rng = state.rng
    if settings.lock_timeout_rate and rng.random() < settings.lock_timeout_rate:
        state.stats.lock_timeouts += 1
        raise ApiError(429, LOCK_TIMEOUT_MESSAGE, "lock_timeout", headers=retry)
    if settings.fault_rate and rng.random() < settings.fault_rate:
        state.stats.faults += 1
        should = rng.random() < settings.fault_retry_share
        raise ApiError(500, "An unknown error occurred", error_type="api_error",
                       headers=retry if should else {})
    if settings.drop_rate and rng.random() < settings.drop_rate:
        state.stats.drops += 1
        raise Dropped()
    permission = route.permission if route is not None else None
    if api_key.permissions is not None and permission is not None \
            and permission.legacy not in api_key.permissions:
        raise permission_error(api_key, permission, dataset.account)
    # Stripe does not document which comes first for a restricted key on a product the account
    # lacks: the permission's 403 is taken to come first, then the product's 400.
    if refused is not None:
        raise refused
    assert route is not None
    try:
        if request.method == "GET":
            params = Params(request.query.items())
        else:
            form = await request.post()
            params = Params((k, v) for k, v in form.items() if isinstance(v, str))
            for key, value in request.query.items():
                params.values.setdefault(key, value)
    except ParamError as error:
        raise ApiError(400, str(error), "parameter_invalid", error.param) from None
    version = requested or settings.version_of(dataset.account)
    now = state.store.clock.now()
    # Pending balance transactions whose available_on has passed are available from now on.
    dataset.settle(now)
    call = Call(request, state, api_key, dataset, params, request_id, now,
                profile, version, Renderer(dataset, versions.shape_of(version)))
    try:
        return route.handler(call, path_params)
    except ParamError as error:
        raise ApiError(400, str(error), "parameter_invalid_integer"
                       if str(error).startswith("Invalid integer") else "parameter_invalid",
                       error.param) from None
    except MutationError as error:
        raise ApiError(error.status, str(error), error.code, error.param) from None


# Handlers


def list_handler(kind: Kind) -> Handler:
    assert kind.list_path is not None
    accepted = spec.list_params(kind.list_path)
    if not kind.paginated:
        return unpaginated_handler(kind, accepted)
    if kind.object == "event":
        return events_handler(accepted)
    parent_param = re.search(r"\{(\w+)\}", kind.list_path)

    def handle(call: Call, path_params: dict[str, str]) -> Result:
        dataset = call.dataset
        if kind.top_level:
            coll = dataset.top[kind.object] if call.exists(kind) else None
            return list_page(call, kind, coll, kind.list_path or "", accepted)
        assert kind.parent is not None
        if kind.parent_in_query:
            name = kind.parent_field or ""
            parent_id = call.params.string(name)
            if not parent_id:
                raise ApiError(400, f"Missing required param: {name}.", "parameter_missing",
                               name)
            url = kind.list_path or ""
        else:
            assert parent_param is not None
            name = parent_param.group(1)
            parent_id = path_params[name]
            url = call.request.path
        parent = dataset.get(parent_id, kind.parent)
        if parent is not None and parent.deleted and kind.parent == "account":
            raise account_invalid(call.key, parent_id)
        if parent is None or parent.deleted or not call.exists(parent.kind):
            raise no_such(kind.parent, parent_id, name, 404)
        coll = dataset.children.get((kind.object, parent_id))
        return list_page(call, kind, coll, url, accepted, parent_id,
                         frozenset({name}) if kind.parent_in_query else frozenset())
    return handle


def unpaginated_handler(kind: Kind, accepted: frozenset[str]) -> Handler:
    """Lists Stripe returns whole, with no cursor (``/v1/reporting/report_types``)."""

    def handle(call: Call, path_params: dict[str, str]) -> Result:
        check_params(call.params, accepted)
        expand = parse_expand(call.params, kind, prefix="data.", shape=call.renderer.shape)
        coll = call.dataset.top[kind.object]
        page = [item for item in reversed(coll.items) if item.listed]
        return Result(render_list(call, kind, page, False, kind.list_path or "", expand),
                      len(page))
    return handle


def payment_methods_handler() -> Handler:
    """``/v1/payment_methods``: a customer's with ``customer=``, else Treasury ones (none)."""
    accepted = spec.list_params("/v1/payment_methods")
    kind = BY_OBJECT["payment_method"]

    def handle(call: Call, path_params: dict[str, str]) -> Result:
        customer = call.params.string("customer")
        coll = None
        if customer:
            parent = call.dataset.get(customer, "customer")
            if parent is None or parent.deleted:
                raise no_such("customer", customer, "customer", 404)
            coll = call.dataset.children.get(("payment_method", customer))
        return list_page(call, kind, coll, "/v1/payment_methods", accepted, customer,
                         frozenset({"customer"}))
    return handle


def retrieve_handler(kind: Kind, any_parent: bool = False) -> Handler:
    assert kind.retrieve_path is not None
    names = re.findall(r"\{(\w+)\}", kind.retrieve_path)
    id_name = names[-1]
    parent_name = names[0] if len(names) > 1 and not any_parent else None

    def handle(call: Call, path_params: dict[str, str]) -> Result:
        check_params(call.params, frozenset({"expand"}))
        object_id = path_params[id_name]
        if not call.exists(kind):
            # A non-platform's persons: it is their account that is not found.
            if parent_name is not None and kind.parent is not None:
                raise no_such(kind.parent, path_params[parent_name], parent_name)
            raise no_such(kind.object, object_id, "id")
        obj = call.dataset.get(object_id, kind.object)
        if obj is None or (parent_name is not None and (
                obj.parent != path_params[parent_name] or not obj.listed)):
            raise no_such(kind.object, object_id, "id")
        if obj.deleted:
            if kind.object == "account":
                # Removed or disconnected: the platform has lost access, and Stripe says so.
                raise account_invalid(call.key, object_id)
            if kind.object == "customer":
                # Stripe keeps answering for a deleted customer, with its deletion stub.
                return Result(orjson.dumps({"id": obj.id, "object": "customer",
                                            "deleted": True}))
            raise no_such(kind.object, object_id, "id")
        return Result(render_object(call, kind, obj))
    return handle


def render_object(call: Call, kind: Kind, obj: Obj) -> bytes:
    renderer = call.renderer
    expand = parse_expand(call.params, kind, prefix="", shape=renderer.shape)
    if not expand:
        return renderer.blob(obj)
    data = renderer.data(obj)
    for path in expand:
        expand_path(renderer, kind.object, data, path)
    return orjson.dumps(data)


def account_handler() -> Handler:
    """``GET /v1/account``: the account the request acts on."""

    def handle(call: Call, path_params: dict[str, str]) -> Result:
        check_params(call.params, frozenset({"expand"}))
        dataset = call.dataset
        if dataset.connected:
            platform = call.state.store.platform_dataset(dataset.livemode)
            obj = platform.get(dataset.account, "account")
            if obj is not None:
                return Result(obj.blob)
        data = dict(spec.examples()["account"])
        # An account is opened before any of its objects: a day before the oldest one here.
        oldest = dataset.oldest if dataset.oldest is not None else call.state.store.clock.now()
        data.update({"id": dataset.account, "email": "platform@example.com",
                     "charges_enabled": True, "payouts_enabled": True,
                     "details_submitted": True, "created": int(oldest) - 86400})
        return Result(orjson.dumps(data))
    return handle


# Events


def event_type_names(dataset: Dataset, params: Params) -> list[str] | None:
    """The event types asked for, or None for all of them."""
    if "type" in params and "types" in params:
        raise ApiError(400, "You may only specify one of these parameters: type, types.",
                       "parameter_invalid")
    if "types" in params:
        names = params.strings("types")
        if len(names) > MAX_EVENT_TYPES:
            raise ApiError(400, f"You may pass at most {MAX_EVENT_TYPES} event types in "
                           f"types (received {len(names)}).", "parameter_invalid", "types")
        return list(dict.fromkeys(names))
    pattern = params.string("type")
    if pattern is None:
        return None
    if "*" not in pattern:
        return [pattern]
    # Stripe's wildcard spans dots: customer.* matches customer.subscription.created too.
    regex = re.compile(fnmatch.translate(pattern))
    return [name for name in dataset.events_by_type if regex.match(name)]


def events_handler(accepted: frozenset[str]) -> Handler:
    def handle(call: Call, path_params: dict[str, str]) -> Result:
        params = call.params
        check_params(params, accepted)
        dataset = call.dataset
        limit = parse_limit(params)
        names = event_type_names(dataset, params)
        after, before = cursors(params)
        lo, hi = created_bounds(params)
        now = call.now
        horizon = int(now) - RETENTION_SECONDS
        lo, hi = tighten(lo, hi, (horizon, -1), None)
        for name, cursor in (("starting_after", after), ("ending_before", before)):
            if cursor is None:
                continue
            event = dataset.events_by_id.get(cursor)
            if event is None:
                raise no_such("event", cursor, name, 400)
            if event.created < horizon:
                raise ApiError(400, f"The event {cursor} {AGED_OUT}. Events are available for "
                               "30 days.", "resource_missing", name)
            if name == "starting_after":
                lo, hi = tighten(lo, hi, None, event.key)
            else:
                lo, hi = tighten(lo, hi, (event.created, event.seq + 1), None)
        expand = params.strings("expand")
        for raw in expand:
            # Events cannot expand what their payload holds.
            if raw not in ("data.request", "data.data"):
                raise ApiError(400, f"This property cannot be expanded ({raw}).",
                               "parameter_invalid", "expand")
        delivered = params.string("delivery_success")
        if delivered not in (None, "true", "false"):
            raise ApiError(400, f"Invalid boolean: {delivered}", "parameter_invalid",
                           "delivery_success")
        if names is None:
            colls = [dataset.events]
        else:
            colls = [dataset.events_by_type[n] for n in names if n in dataset.events_by_type]

        def visible(event: Any) -> bool:
            return bool(event.visible_at <= now)

        page: list[Any] = []
        more = False
        # Every event is delivered at once here (no webhooks pending): none ever failed.
        if delivered != "false" and colls:
            page, more = walk_merged(colls, lo, hi, limit, before is not None, visible)
        body = orjson.dumps({"object": "list",
                             "data": [orjson.Fragment(event.blob) for event in page],
                             "has_more": more, "url": "/v1/events"})
        return Result(body, len(page))
    return handle


def event_retrieve_handler() -> Handler:
    def handle(call: Call, path_params: dict[str, str]) -> Result:
        check_params(call.params, frozenset({"expand"}))
        event_id = path_params["id"]
        event = call.dataset.events_by_id.get(event_id)
        if event is None:
            raise no_such("event", event_id, "id")
        if event.created < int(call.now) - RETENTION_SECONDS:
            raise ApiError(404, f"No such event: '{event_id}'; it {AGED_OUT}.",
                           "resource_missing", "id")
        return Result(event.blob)
    return handle


# Invoice payments (basil's InvoicePayment objects)


INVOICE_PAYMENT_PARAMS = frozenset({"limit", "starting_after", "ending_before", "expand",
                                    "created", "invoice", "status", "payment"})
"""The list's parameters as Stripe's SDKs name them (``created`` came after 12.0.0)."""
INVOICE_PAYMENT_EXPANDABLE = frozenset({"invoice", "payment"})
PAYMENT_STATUSES = ("canceled", "open", "paid")


def payment_invoice(dataset: Dataset, payment: str) -> Obj | None:
    """The invoice whose default payment ``payment`` is, if it has one (it is finalized)."""
    invoice_id = invoice_id_of(payment)
    obj = dataset.get(invoice_id, "invoice") if invoice_id else None
    if obj is None or obj.deleted or obj.status in (None, "draft"):
        return None
    return obj


def payment_expand(params: Params, prefix: str) -> list[list[str]]:
    paths = []
    for raw in params.strings("expand"):
        segments = raw[len(prefix):].split(".") if raw.startswith(prefix) else []
        if not segments or segments[0] not in INVOICE_PAYMENT_EXPANDABLE \
                or len(segments) + (1 if prefix else 0) > 4:
            raise ApiError(400, f"This property cannot be expanded ({raw}).",
                           "parameter_invalid", "expand")
        paths.append(segments)
    return paths


def render_payment(call: Call, payment: dict[str, Any], expand: list[list[str]]
                   ) -> dict[str, Any]:
    for path in expand:
        expand_path(call.renderer, "invoice_payment", payment, path)
    return payment


def invoice_payments_handler() -> Handler:
    """``GET /v1/invoice_payments``: every finalized invoice's default payment, or one
    invoice's (``invoice=``), in the order of their invoices, newest first.

    Served in every version: Stripe counts "new API resources" among its backward-compatible
    changes. The payments are made from their invoices when asked for, never stored, so they
    follow every change of their invoice. Their ``created`` is the invoice's finalization
    (when Stripe creates the default payment), so it is not strictly in the list's order.
    """
    def handle(call: Call, path_params: dict[str, str]) -> Result:
        params = call.params
        check_params(params, INVOICE_PAYMENT_PARAMS)
        limit = parse_limit(params)
        after, before = cursors(params)
        dataset = call.dataset
        lo: Any = None
        hi: Any = None
        for name, cursor in (("starting_after", after), ("ending_before", before)):
            if cursor is None:
                continue
            invoice = payment_invoice(dataset, cursor)
            if invoice is None:
                raise no_such("invoice_payment", cursor, name, 400)
            if name == "starting_after":
                lo, hi = tighten(lo, hi, None, invoice.key)
            else:
                lo, hi = tighten(lo, hi, (invoice.created, invoice.seq + 1), None)
        created_lo, created_hi = created_bounds(params)
        status = params.string("status")
        if status is not None and status not in PAYMENT_STATUSES:
            raise ApiError(400, f"Invalid status: must be one of {', '.join(PAYMENT_STATUSES)}",
                           "parameter_invalid", "status")
        wanted = params.get("payment")
        if wanted is not None and not isinstance(wanted, dict):
            raise ApiError(400, "Invalid hash: payment", "parameter_invalid", "payment")
        expand = payment_expand(params, "data.")
        made: dict[str, dict[str, Any]] = {}

        def accept(obj: Obj) -> bool:
            if not obj.listed or obj.status in (None, "draft"):
                return False
            payment = invoice_payment(obj.data())
            if payment is None:
                return False
            created = payment["created"]
            if created_lo is not None and created < created_lo[0] \
                    or created_hi is not None and created >= created_hi[0]:
                return False
            if status is not None and payment["status"] != status:
                return False
            if wanted and any(payment["payment"].get(key) != value
                              for key, value in wanted.items()):
                return False
            made[obj.id] = payment
            return True

        invoice_id = params.string("invoice")
        if invoice_id is not None:
            one = dataset.get(invoice_id, "invoice")
            candidates = [one] if one is not None and (lo is None or one.key >= lo) \
                and (hi is None or one.key < hi) else []
            page = [obj for obj in candidates if accept(obj)][:limit]
            more = False
        else:
            page, more = walk(dataset.top["invoice"], lo, hi, limit, before is not None, accept)
        data = [render_payment(call, made[obj.id], expand) for obj in page]
        url = "/v1/invoice_payments"
        return Result(orjson.dumps({"object": "list", "data": data, "has_more": more,
                                    "url": url}), len(data))
    return handle


def invoice_payment_retrieve_handler() -> Handler:
    def handle(call: Call, path_params: dict[str, str]) -> Result:
        check_params(call.params, frozenset({"expand"}))
        payment_id = path_params["invoice_payment"]
        invoice = payment_invoice(call.dataset, payment_id)
        payment = invoice_payment(invoice.data()) if invoice is not None else None
        if payment is None:
            raise no_such("invoice_payment", payment_id, "id")
        return Result(orjson.dumps(render_payment(call, payment,
                                                  payment_expand(call.params, ""))))
    return handle


# Mutations (a user's curl calls; tests mostly use the control API)


MUTABLE_KINDS = ("customer", "product", "price", "plan", "coupon", "tax_rate", "invoiceitem",
                 "invoice", "subscription", "payment_method", "promotion_code", "payout",
                 "refund", "charge")


def coerce_fields(kind: Kind, params: Params) -> dict[str, Any]:
    """Form values are strings: give them the example's types (ints, booleans, null)."""
    example = spec.examples()[kind.object]
    fields: dict[str, Any] = {}
    for name in params:
        if name in ("expand",):
            continue
        value = params.get(name)
        sample = example.get(name)
        if name not in example and name != "id":
            raise unknown_param(params, name)
        if isinstance(value, str):
            if isinstance(sample, bool) or value in ("true", "false") and sample is None:
                value = value == "true"
            elif isinstance(sample, int) and not isinstance(sample, bool):
                value = parse_int(value, name)
            elif isinstance(sample, float):
                try:
                    value = float(value)
                except ValueError:
                    raise ApiError(400, f"Invalid decimal: {value}", "parameter_invalid",
                                   name) from None
            elif value == "" and name != "metadata":
                value = None
        fields[name] = value
    return fields


def create_handler(kind: Kind) -> Handler:
    def handle(call: Call, path_params: dict[str, str]) -> Result:
        fields = coerce_fields(kind, call.params)
        mutator = call.state.mutator(call.dataset, request_id=call.request_id)
        obj = mutator.create(kind, fields, plain=True)
        return Result(call.renderer.blob(obj))
    return handle


def update_handler(kind: Kind) -> Handler:
    names = re.findall(r"\{(\w+)\}", kind.retrieve_path or "")

    def handle(call: Call, path_params: dict[str, str]) -> Result:
        object_id = path_params[names[-1]]
        obj = call.dataset.get(object_id, kind.object)
        if obj is None or obj.deleted:
            raise no_such(kind.object, object_id, "id")
        fields = coerce_fields(kind, call.params)
        mutator = call.state.mutator(call.dataset, request_id=call.request_id)
        mutator.update(obj, fields)
        return Result(call.renderer.blob(obj))
    return handle


def delete_handler(kind: Kind, path_name: str | None = None) -> Handler:
    names = re.findall(r"\{(\w+)\}", kind.retrieve_path or "")

    def handle(call: Call, path_params: dict[str, str]) -> Result:
        object_id = path_params[path_name or names[-1]]
        obj = call.dataset.get(object_id, kind.object)
        if obj is None or obj.deleted:
            raise no_such(kind.object, object_id, "id")
        mutator = call.state.mutator(call.dataset, request_id=call.request_id)
        mutator.delete(obj)
        if obj.deleted:
            stub = spec.examples().get(f"deleted_{kind.object}", {"deleted": True})
            return Result(orjson.dumps({**stub, "id": obj.id, "object": kind.object}))
        return Result(call.renderer.blob(obj))
    return handle


def build_router() -> Router:
    router = Router()
    for kind in KINDS:
        if kind.list_path is not None:
            router.add("GET", kind.list_path, list_handler(kind), kind)
        if kind.retrieve_path is not None:
            handler = event_retrieve_handler() if kind.object == "event" \
                else retrieve_handler(kind)
            router.add("GET", kind.retrieve_path, handler, kind)
        if kind.object in MUTABLE_KINDS and kind.top_level and kind.list_path:
            router.add("POST", kind.list_path, create_handler(kind), kind)
        if kind.object in MUTABLE_KINDS and kind.retrieve_path:
            if kind.top_level:
                router.add("POST", kind.retrieve_path, update_handler(kind), kind)
            if kind.delete is not None:
                router.add("DELETE", kind.retrieve_path, delete_handler(kind), kind)
    payment_method = BY_OBJECT["payment_method"]
    router.add("GET", "/v1/payment_methods", payment_methods_handler(), payment_method)
    router.add("GET", "/v1/payment_methods/{payment_method}",
               retrieve_handler(payment_method, any_parent=True), payment_method)
    router.add("POST", "/v1/payment_methods/{payment_method}/detach",
               delete_handler(payment_method, "payment_method"), payment_method)
    router.add("GET", "/v1/account", account_handler(), None, ACCOUNT_PERMISSION)
    invoice = BY_OBJECT["invoice"]
    router.add("GET", "/v1/invoice_payments", invoice_payments_handler(), invoice)
    router.add("GET", "/v1/invoice_payments/{invoice_payment}",
               invoice_payment_retrieve_handler(), invoice)
    return router


STATE_KEY: web.AppKey[State] = web.AppKey("stripe_emulator_state", State)
