"""A tiny, faithful fake of Stripe's list and events endpoints for requests-mock, and helpers
to run the connector through the CDK's entrypoint wrapper.

The fake implements what the connector relies on, the way Stripe documents it: lists newest
first by ``created``; ``limit`` 1..100; ``starting_after``/``ending_before`` (both at once is a
400, an unknown id a 400 ``resource_missing`` naming the parameter); ``created`` filters
(``created=`` and ``created[gt|gte|lt|lte]``) on the lists that take them and a 400 "unknown
parameter" on those that do not; ``types[]`` on events (at most 20, exact names); 30 days of
event retention (an aged-out event as a cursor is Stripe's 400 "…aged out of our retention
policy"); ``status=all`` needed for canceled subscriptions; a ``Date`` header on every answer;
child lists (a customer's payment methods, an invoice's lines, a subscription's items by
``?subscription=``) of parents that exist, a 404 ``resource_missing`` for a parent that does not.

Objects created in the same second keep their insertion order (later inserted = newer), which
is one of the orders Stripe may use for ties: tests must not depend on more than that.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from email.utils import formatdate
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlparse

import requests
import requests_mock
from airbyte_cdk.models import (
    AirbyteMessage,
    AirbyteStateMessage,
    ConfiguredAirbyteCatalog,
    Level,
    SyncMode,
    TraceType,
    Type,
)
from airbyte_cdk.test.catalog_builder import CatalogBuilder
from airbyte_cdk.test.entrypoint_wrapper import EntrypointOutput, _run_command, make_file
from airbyte_cdk.test.entrypoint_wrapper import read as entrypoint_read
from airbyte_cdk.test.models.scenario import ExpectedOutcome
from airbyte_cdk.test.state_builder import StateBuilder

from source_stripe_conduit.resources import RESOURCES, Resource
from source_stripe_conduit.source import SourceStripeConduit
from source_stripe_conduit.transport.client import Page
from source_stripe_conduit.transport.errors import StripeError

# 2024-06-20T00:00:00Z: Stripe's time in the fake, unless a test moves it.
NOW = 1_718_841_600
DAY = 24 * 3600
RETENTION = 30 * DAY
SECRET = "sk_test_51UnitTestSecretKeyThatMustNeverLeak"
API_BASE = "https://api.stripe.com"
EXAMPLES = Path(__file__).parent / "data" / "examples"

AGED_OUT_MESSAGE = ("The event {id} is no longer available because it's aged out of our "
                    "retention policy.")

LIST_PATHS = frozenset(r.path for r in RESOURCES if r.parent is None)
# Child lists other than payment methods (kept apart: their tests list them by customer field).
CHILD_LISTS = tuple(r for r in RESOURCES if r.parent and r.stream != "payment_methods")

# Stripe's lists that take no ``created`` filter (of those the connector reads).
NO_CREATED_FILTER = (
    "/v1/billing_portal/configurations", "/v1/payment_links", "/v1/quotes",
    "/v1/sigma/scheduled_query_runs", "/v1/terminal/readers", "/v1/reporting/report_types",
)


def config(**overrides: Any) -> dict[str, Any]:
    """A valid configuration whose rate budget never slows a unit test down."""
    base: dict[str, Any] = {
        "secret_key": SECRET,
        "api_base": API_BASE,
        "requests_per_second": 1000,
        "endpoint_requests_per_second": 1000,
        "max_retries": 2,
    }
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not None}


def example(stream: str) -> dict[str, Any]:
    return json.loads((EXAMPLES / f"{stream}.json").read_text(encoding="utf-8"))


def stripe_error(status: int, message: str, *, type_: str = "invalid_request_error",
                 code: str | None = None, param: str | None = None) -> dict[str, Any]:
    error: dict[str, Any] = {"type": type_, "message": message}
    if code:
        error["code"] = code
    if param:
        error["param"] = param
    return {"error": error}


@dataclass(frozen=True)
class SeenRequest:
    method: str
    path: str
    params: tuple[tuple[str, str], ...]
    headers: Mapping[str, str]
    timeout: Any = None

    def get(self, key: str) -> str | None:
        values = self.all(key)
        return values[0] if values else None

    def all(self, key: str) -> list[str]:
        return [v for k, v in self.params if k == key]


@dataclass
class Failure:
    """An answer the fake gives instead of the list, ``times`` times (None: always)."""

    matches: Callable[[SeenRequest], bool]
    status: int
    body: Any = None
    headers: Mapping[str, str] = field(default_factory=dict)
    times: int | None = None
    exc: type[BaseException] | None = None


@dataclass
class _Item:
    created: int
    seq: int
    obj: dict[str, Any]

    @property
    def key(self) -> tuple[int, int]:
        return self.created, self.seq


class FakeStripe:
    def __init__(self, now: int = NOW) -> None:
        self.now = now
        self.lists: dict[str, list[_Item]] = {}
        self.events: list[_Item] = []
        self.requests: list[SeenRequest] = []
        self.failures: list[Failure] = []
        self.aged_out: set[str] = set()
        """Event ids Stripe refuses as cursors whatever their age (a test's shortcut)."""
        self.delays: dict[str, float] = {}
        """Seconds the fake takes to answer a path (Stripe's answer time)."""
        self.api_version = "2024-06-20"
        """The account's default API version: answers name it (or the request's
        Stripe-Version) in their Stripe-Version header, as Stripe does."""
        self.account_created: int | None = None
        """When set, ``GET /v1/account`` answers with an account created then."""
        self.connected: dict[str, FakeStripe] = {}
        """Connected accounts' own data, answered for requests with their Stripe-Account."""
        self._seq = 0
        self._lock = threading.Lock()

    def connect(self, account_id: str, created: int | None = None) -> FakeStripe:
        """A connected account of this platform (listed at /v1/accounts), with data of its own."""
        account = self.connected[account_id] = FakeStripe(self.now)
        self.add("/v1/accounts", {"id": account_id, "object": "account",
                                  "created": created if created is not None else self.now - 400 * DAY})
        return account

    def revoke(self, account_id: str) -> None:
        """The platform's access to the account revoked: it is no longer listed, and requests
        acting on it are refused as Stripe refuses them."""
        self.connected.pop(account_id, None)
        self.remove("/v1/accounts", account_id)

    # -- data ---------------------------------------------------------------------------------

    def add(self, path: str, obj: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            self._seq += 1
            # Invoice items have `date` where other objects have `created`; Stripe's created
            # filter on their list uses it.
            created = int(obj.get("created") or obj.get("date") or 0)
            self.lists.setdefault(path, []).append(_Item(created, self._seq, obj))
        return obj

    def add_child(self, stream: str, parent_id: str, obj: dict[str, Any]) -> dict[str, Any]:
        """A child object in the list of one parent (``invoice_line_items``, ``in_1``)."""
        resource = next(r for r in CHILD_LISTS if r.stream == stream)
        return self.add(_child_key(resource, parent_id), obj)

    def remove(self, path: str, object_id: str) -> None:
        with self._lock:
            self.lists[path] = [i for i in self.lists.get(path, []) if i.obj["id"] != object_id]

    def add_event(self, type_: str, obj: dict[str, Any], created: int,
                  event_id: str | None = None) -> dict[str, Any]:
        with self._lock:
            self._seq += 1
            event = {
                "id": event_id or f"evt_{self._seq:06d}",
                "object": "event",
                "type": type_,
                "created": created,
                "api_version": "2024-06-20",
                "data": {"object": json.loads(json.dumps(obj))},
            }
            self.events.append(_Item(created, self._seq, event))
        return event

    def add_raw_event(self, event: dict[str, Any]) -> dict[str, Any]:
        """An event object as Stripe lists it (the events stream's own records)."""
        with self._lock:
            self._seq += 1
            self.events.append(_Item(int(event["created"]), self._seq, event))
        return event

    def fail(self, matches: Callable[[SeenRequest], bool], status: int, body: Any = None, *,
             headers: Mapping[str, str] | None = None, times: int | None = None,
             exc: type[BaseException] | None = None) -> None:
        self.failures.append(Failure(matches, status, body, dict(headers or {}), times, exc))

    # -- requests-mock --------------------------------------------------------------------------

    def install(self, mocker: requests_mock.Mocker) -> FakeStripe:
        mocker.add_matcher(self)
        return self

    def __call__(self, request: requests.PreparedRequest) -> requests.Response | None:
        url = urlparse(request.url)
        if f"{url.scheme}://{url.netloc}" != API_BASE:
            return None
        seen = SeenRequest(request.method or "", url.path,
                           tuple(parse_qsl(url.query, keep_blank_values=True)),
                           dict(request.headers), getattr(request, "timeout", None))
        with self._lock:
            self.requests.append(seen)
            for failure in self.failures:
                if failure.times == 0 or not failure.matches(seen):
                    continue
                if failure.times is not None:
                    failure.times -= 1
                if failure.exc is not None:
                    raise failure.exc("injected by the fake")
                return self._answer(request, failure.status, failure.body, failure.headers)
            acting = seen.headers.get("Stripe-Account")
        if acting:
            status, body = self._route_connected(acting, seen)
        else:
            with self._lock:
                status, body = self._route(seen)
        if seen.path in self.delays:
            time.sleep(self.delays[seen.path])
        owner = self.connected.get(acting, self) if acting else self
        version = seen.headers.get("Stripe-Version") or owner.api_version
        return self._answer(request, status, body, {"Stripe-Version": version})

    def _route_connected(self, account_id: str, seen: SeenRequest) -> tuple[int, Any]:
        account = self.connected.get(account_id)
        if account is None:
            return 403, stripe_error(
                403, f"The provided key 'sk_test_****Leak' does not have access to account "
                     f"'{account_id}' (or that account does not exist). Application access "
                     f"may have been revoked.", code="account_invalid")
        account.now = self.now
        with account._lock:
            account.requests.append(seen)
            return account._route(seen)

    def _answer(self, request: Any, status: int, body: Any,
                headers: Mapping[str, str]) -> requests.Response:
        all_headers = {"Date": formatdate(self.now, usegmt=True),
                       "Request-Id": f"req_{len(self.requests):06d}", **headers}
        if isinstance(body, str):
            return requests_mock.create_response(request, status_code=status, text=body,
                                                 headers=all_headers)
        return requests_mock.create_response(request, status_code=status, json=body,
                                             headers=all_headers)

    # -- Stripe's semantics ---------------------------------------------------------------------

    def _route(self, seen: SeenRequest) -> tuple[int, Any]:
        if seen.method != "GET":
            return 405, stripe_error(405, "Only GET in this fake")
        if seen.path == "/v1/account" and self.account_created is not None:
            return 200, {"id": "acct_1Fake", "object": "account",
                         "created": self.account_created}
        if seen.path == "/v1/events":
            horizon = self.now - RETENTION
            visible = [i for i in self.events if i.created >= horizon]
            types = seen.all("types[]")
            if len(types) > 20:
                return 400, stripe_error(400, "types[] takes at most 20 names", param="types")
            if types and seen.get("type"):
                return 400, stripe_error(400, "type and types[] cannot both be given")
            keep = (lambda i: i.obj["type"] in types) if types else (lambda i: True)
            return self._list(seen, visible, keep, events=True)
        parts = seen.path.split("/")
        if len(parts) == 5 and parts[2] == "customers" and parts[4] == "payment_methods":
            customer = parts[3]
            items = [i for i in self.lists.get("/v1/payment_methods", [])
                     if i.obj.get("customer") == customer]
            if not any(i.obj["id"] == customer for i in self.lists.get("/v1/customers", [])):
                return 404, stripe_error(404, f"No such customer: '{customer}'",
                                         code="resource_missing", param="customer")
            return self._list(seen, items, lambda i: True, created_filter=False)
        for resource in CHILD_LISTS:
            parent_id = _parent_of(resource, seen)
            if parent_id is None:
                continue
            parent = resource.listed
            if not any(i.obj["id"] == parent_id for i in self.lists.get(parent.path, [])):
                name = parent.object
                return 404, stripe_error(404, f"No such {name}: '{parent_id}'",
                                         code="resource_missing", param=name)
            return self._list(seen, self.lists.get(_child_key(resource, parent_id), []),
                              lambda i: True, created_filter=False)
        if seen.path not in self.lists and seen.path not in LIST_PATHS:
            return 404, stripe_error(404, f"Unrecognized request URL (GET: {seen.path}).")
        items = self.lists.get(seen.path, [])
        keep: Callable[[_Item], bool] = lambda i: True  # noqa: E731
        if seen.path == "/v1/subscriptions" and seen.get("status") != "all":
            keep = lambda i: i.obj.get("status") != "canceled"  # noqa: E731
        return self._list(seen, items, keep, created_filter=seen.path not in NO_CREATED_FILTER)

    def _list(self, seen: SeenRequest, items: Iterable[_Item], keep: Callable[[_Item], bool], *,
              events: bool = False, created_filter: bool = True) -> tuple[int, Any]:
        ordered = sorted(items, key=lambda i: i.key, reverse=True)
        after, before = seen.get("starting_after"), seen.get("ending_before")
        if after and before:
            return 400, stripe_error(400, "You may only specify one of these parameters: "
                                          "starting_after, ending_before.")
        try:
            limit = int(seen.get("limit") or 10)
        except ValueError:
            return 400, stripe_error(400, "Invalid integer: limit", param="limit")
        if not 1 <= limit <= 100:
            return 400, stripe_error(400, "This value must be between 1 and 100.",
                                     param="limit")
        bounds: list[tuple[str, int]] = []
        for key, value in seen.params:
            if key == "created" or key.startswith("created["):
                if not created_filter:
                    return 400, stripe_error(400, f"Received unknown parameter: {key}",
                                             param=key)
                bounds.append((key, int(value)))
        # An object without a created time (a connected account of long ago) matches no
        # created filter, and is listed after every dated one (it sorts as created 0).
        matching = [i for i in ordered if keep(i) and (not bounds or _dated(i.obj))
                    and _within(i.created, bounds)]
        cursor = after or before
        if cursor:
            found = [i for i in (self.events if events else ordered) if i.obj["id"] == cursor]
            if events and (cursor in self.aged_out
                           or (found and found[0].created < self.now - RETENTION)):
                return 400, stripe_error(400, AGED_OUT_MESSAGE.format(id=cursor),
                                         param="starting_after" if after else "ending_before")
            if not found:
                param = "starting_after" if after else "ending_before"
                return 400, stripe_error(400, f"No such object: '{cursor}'",
                                         code="resource_missing", param=param)
            mark = found[0].key
            if after:
                older = [i for i in matching if i.key < mark]
                page, has_more = older[:limit], len(older) > limit
            else:
                newer = [i for i in matching if i.key > mark]
                page, has_more = newer[-limit:], len(newer) > limit
        else:
            page, has_more = matching[:limit], len(matching) > limit
        url = seen.path
        return 200, {"object": "list", "url": url, "has_more": has_more,
                     "data": [json.loads(json.dumps(i.obj)) for i in page]}

    # -- in process, without HTTP: the StripeClient interface the page readers use ------------

    def list_page(self, stream: str, path: str, params: Iterable[tuple[str, str | int]]) -> Page:
        seen = SeenRequest("GET", path, tuple((k, str(v)) for k, v in params), {})
        with self._lock:
            self.requests.append(seen)
            status, body = self._route(seen)
        if status >= 400:
            raise StripeError(stream=stream, status=status, error=body["error"],
                              request_id=None, path=path)
        return Page(body["data"], body["has_more"])

    # -- what the connector asked ---------------------------------------------------------------

    def calls(self, path: str | None = None) -> list[SeenRequest]:
        with self._lock:
            return [r for r in self.requests if path is None or r.path == path]


_PARENT = "PARENT-ID"


def _child_key(resource: Resource, parent_id: str) -> str:
    path, params = resource.children_request(parent_id)
    return path + "".join(f"?{k}={v}" for k, v in params)


def _parent_of(resource: Resource, seen: SeenRequest) -> str | None:
    """The parent id of a request for ``resource``'s list, or None if it is not one."""
    path, params = resource.children_request(_PARENT)
    if params:
        ((name, _),) = params
        return seen.get(name) if seen.path == path else None
    before, _, after = path.partition(_PARENT)
    match = re.fullmatch(re.escape(before) + "([^/]+)" + re.escape(after), seen.path)
    return match.group(1) if match else None


def _dated(obj: Mapping[str, Any]) -> bool:
    return obj.get("created") is not None or obj.get("date") is not None


def _within(created: int, bounds: list[tuple[str, int]]) -> bool:
    for key, value in bounds:
        op = key[len("created["):-1] if key != "created" else "eq"
        if not {"eq": created == value, "gt": created > value, "gte": created >= value,
                "lt": created < value, "lte": created <= value}.get(op, True):
            return False
    return True


# -- running the connector ------------------------------------------------------------------------


def catalog(*streams: str, mode: SyncMode = SyncMode.full_refresh) -> ConfiguredAirbyteCatalog:
    builder = CatalogBuilder()
    for stream in streams:
        builder.with_stream(stream, mode)
    return builder.build()


def state_of(stream: str, value: Mapping[str, Any]) -> list[AirbyteStateMessage]:
    return StateBuilder().with_stream_state(stream, dict(value)).build()


def run_read(cfg: Mapping[str, Any], streams: Iterable[str] | ConfiguredAirbyteCatalog, *,
             mode: SyncMode = SyncMode.full_refresh,
             state: list[AirbyteStateMessage] | None = None,
             failure: bool = False) -> EntrypointOutput:
    configured = streams if isinstance(streams, ConfiguredAirbyteCatalog) \
        else catalog(*streams, mode=mode)
    outcome = ExpectedOutcome.EXPECT_EXCEPTION if failure else ExpectedOutcome.EXPECT_SUCCESS
    return entrypoint_read(SourceStripeConduit(), cfg, configured, state,
                           expected_outcome=outcome)


def run_check(cfg: Mapping[str, Any], tmp_path: Path) -> EntrypointOutput:
    """``check`` through the real entrypoint (the CDK's wrapper has no ``check`` of its own)."""
    path = make_file(tmp_path / "config.json", dict(cfg))
    return _run_command(SourceStripeConduit(), ["check", "--config", path],
                        expected_outcome=ExpectedOutcome.EXPECT_SUCCESS)


def record_data(output: EntrypointOutput, stream: str | None = None) -> list[dict[str, Any]]:
    return [m.record.data for m in output.records
            if m.record is not None and (stream is None or m.record.stream == stream)]


def stream_states(output: EntrypointOutput, stream: str) -> list[dict[str, Any]]:
    states = []
    for message in output.state_messages:
        assert message.state is not None and message.state.stream is not None
        if message.state.stream.stream_descriptor.name == stream:
            state = message.state.stream.stream_state
            states.append(state.__dict__ if not isinstance(state, dict) else state)
    return states


def warnings(output: EntrypointOutput) -> list[str]:
    return [m.log.message for m in output.logs
            if m.log is not None and m.log.level == Level.WARN]


def error_traces(output: EntrypointOutput) -> list[str]:
    return [m.trace.error.message for m in output.errors
            if m.trace is not None and m.trace.error is not None]


def config_error_traces(output: EntrypointOutput) -> list[str]:
    return [m.trace.error.message for m in output.errors
            if m.trace is not None and m.trace.type == TraceType.ERROR
            and m.trace.error is not None and m.trace.error.failure_type is not None
            and m.trace.error.failure_type.value == "config_error"]


def records_and_states(output: EntrypointOutput) -> list[AirbyteMessage]:
    return [m for m in output.records_and_state_messages
            if m.type in (Type.RECORD, Type.STATE)]


class Sleeps(list[float]):
    """The waits the CDK's retry loop asked for, none of them slept."""
