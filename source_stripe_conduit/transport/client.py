"""Stripe's HTTP API as the iterators need it: one list page at a time.

Built on the CDK's ``HttpClient`` (retries, backoff, the rate budget, secret filtering); this
module adds Stripe's headers, its error bodies, counters for the end-of-stream summary (what
the sync cost, by kind of request), and says which stream, account and answer a retry or a
failure is about: the CDK knows none of them, and words every retry as a rate limit. Every
answer also goes to the rate budget, which slows the sync when Stripe refuses it for the
account's limits (pacing.py).
"""

from __future__ import annotations

import copy
import logging
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Hashable, Mapping, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any, TypeVar

import orjson
import requests
from airbyte_cdk.sources.streams.call_rate import LimiterSession
from airbyte_cdk.sources.streams.http import rate_limiting
from airbyte_cdk.sources.streams.http.http_client import HttpClient
from airbyte_cdk.utils.airbyte_secrets_utils import add_to_secrets, filter_secrets
from airbyte_cdk.utils.traced_exception import AirbyteTracedException
from requests.adapters import HTTPAdapter

from source_stripe_conduit.config import Config
from source_stripe_conduit.governor import MAX_PAGES_IN_FLIGHT
from source_stripe_conduit.transport.budget import (
    StripeAPIBudget,
    request_kind,
)
from source_stripe_conduit.transport.counters import KIND_COUNTER, StreamCounters, SyncTotals
from source_stripe_conduit.transport.errors import (
    StripeErrorHandler,
    StripeUnavailable,
    raise_for_stripe_error,
    rate_limited_reason,
    stripe_error_body,
)
from source_stripe_conduit.transport.pool import Pool
from source_stripe_conduit.transport.retry_log import (
    Attempt,
    ReportingBackoff,
    quiet_cdk_retry_lines,
    sending,
)

Params = Sequence[tuple[str, str | int]]
T = TypeVar("T")
K = TypeVar("K", bound=Hashable)
# Requests of one sync in flight at once, at most: the governor's pages, plus what pages fan
# out (children listed, objects fetched again: iterator/children.py), which also covers the
# account lookup and the probes of check and discover. The connection pool holds as many, so
# no request waits for a connection or opens one that the pool then discards: against
# api.stripe.com every new connection is a TLS handshake.
FAN_OUT_REQUESTS = 16
MAX_REQUESTS_IN_FLIGHT = MAX_PAGES_IN_FLIGHT + FAN_OUT_REQUESTS
# Requests that serve the whole sync are counted under this name.
ACCOUNT_STREAM = "account"


@dataclass
class _Clock:
    offset: float | None = None
    """Seconds Stripe's clock is ahead of ours, at least."""

    def observe(self, date: str | None) -> None:
        """An answer's Date header. Stripe wrote it (whole seconds) before the answer arrived,
        so its clock is at least that far ahead of ours: a lower bound, which every answer can
        only raise. Reads stop at seconds that are over by this bound, never at one Stripe may
        still be writing."""
        if not date:
            return
        try:
            offset = parsedate_to_datetime(date).timestamp() - time.time()
        except (TypeError, ValueError):
            return
        if self.offset is None or offset > self.offset:
            self.offset = offset


@dataclass(frozen=True)
class Page:
    data: list[dict[str, Any]]
    has_more: bool

    @staticmethod
    def parse(body: bytes) -> Page:
        parsed = orjson.loads(body)
        return Page(data=parsed.get("data") or [], has_more=bool(parsed.get("has_more")))


@dataclass(frozen=True)
class _AccountFacts:
    created: int | None = None
    id: str | None = None

    @staticmethod
    def of(account: Mapping[str, Any]) -> _AccountFacts:
        created, account_id = account.get("created"), account.get("id")
        return _AccountFacts(int(created) if isinstance(created, (int, float)) else None,
                             account_id if isinstance(account_id, str) else None)


def _headers(config: Config) -> dict[str, str]:
    headers = {"Authorization": f"Bearer {config.secret_key}",
               "User-Agent": "source-stripe-conduit (Airbyte connector)"}
    if config.pinned_version:
        headers["Stripe-Version"] = config.pinned_version
    if config.account_id and not config.many_accounts:
        # With many accounts the client is the platform's; each account has a view.
        headers["Stripe-Account"] = config.account_id
    return headers


def _session(budget: StripeAPIBudget,
             hook: Callable[..., None]) -> LimiterSession:
    """The HTTP session every request of the sync goes through (its answers to ``hook``). The
    CDK mounts a pool of its own only on a session it makes; requests' default pool holds 10
    connections: this one holds one per request that can be in flight."""
    session = LimiterSession(api_budget=budget)
    session.hooks["response"].append(hook)
    adapter = HTTPAdapter(pool_connections=1, pool_maxsize=MAX_REQUESTS_IN_FLIGHT)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return session


class StripeClient:
    def __init__(self, config: Config, logger: logging.Logger) -> None:
        self._config = config
        self._logger = logger
        self.budget = StripeAPIBudget(config.requests_per_second,
                                      config.endpoint_requests_per_second,
                                      per_account=config.account_rate_limits == "per_account")
        self._counters: dict[str, StreamCounters] = defaultdict(StreamCounters)
        self._lock = threading.Lock()
        # Smoothed answer times, of the whole sync and per stream: a list page of 100 objects
        # takes Stripe several times as long as a retrieve, so each stream sizes its pages in
        # flight from its own answers.
        self._latency: dict[str | None, float] = {}
        # Which stream the calling thread works for: every attempt, retries included, goes
        # through the session hook below, which the HttpClient's retry loop does not expose.
        self._current = threading.local()
        # Stripe's clock, from the Date header of its answers: event retention and the CDC lag
        # are about Stripe's time, and the machine running the connector may be off.
        self._clock = _Clock()
        self._probe_lock = threading.Lock()
        self._account: Future[_AccountFacts] | None = None
        # Requests a page fans out (children listed, objects fetched again) and the account
        # lookup: the sync's own pool, which ``close`` ends (see lanes.py for the rule).
        self._pool = Pool(FAN_OUT_REQUESTS)
        session = _session(self.budget, self._count_attempt)
        self._slots = threading.BoundedSemaphore(MAX_REQUESTS_IN_FLIGHT)
        # The key travels in the Authorization header, which the CDK logs at debug level.
        if config.secret_key and filter_secrets(config.secret_key) == config.secret_key:
            add_to_secrets(config.secret_key)
        quiet_cdk_retry_lines(logger, rate_limiting.logger)
        # The HttpClient's name shows nowhere: no error or status it raises or prints with it
        # reaches Airbyte (there is no stream "stripe").
        self._http = HttpClient(
            name="stripe",
            logger=logger,
            error_handler=StripeErrorHandler(config.max_retries),
            backoff_strategy=ReportingBackoff(self._current, config.max_retries, logger),
            api_budget=self.budget,
            session=session,
            request_timeout=config.request_timeout_seconds,
        )
        self._headers = _headers(config)
        # The version each account's answers were rendered in (Stripe names it in every
        # answer): without a pinned version, the account's own default.
        self._versions: dict[str | None, str] = {}

    def for_account(self, account_id: str | None) -> StripeClient:
        """This client acting on ``account_id`` (a connected account, sent as Stripe-Account;
        None: the key's own account). Connections, rate budget, counters, answer times and
        Stripe's clock stay shared; only the header and the account lookup are its own."""
        view = copy.copy(self)
        view._headers = {k: v for k, v in self._headers.items() if k != "Stripe-Account"}
        if account_id:
            view._headers["Stripe-Account"] = account_id
        view._account = None
        return view

    def latency(self, stream: str | None = None) -> float | None:
        """Smoothed seconds per answer, of ``stream`` or of the whole sync (None), for sizing
        concurrency; None before the first answer."""
        return self._latency.get(stream)

    def counters(self, stream: str) -> StreamCounters:
        return self._counters[stream]

    def totals(self) -> SyncTotals:
        """What the whole sync cost so far: every stream's counters (the account lookup and
        probes included) added up, and the seconds it gave way (``yielded_seconds``)."""
        totals = SyncTotals()
        with self._lock:
            for counters in self._counters.values():
                totals.add(counters)
        totals.yielded_seconds = self.yielded_seconds()
        return totals

    def yielded_seconds(self) -> float:
        """Seconds so far during which Stripe's refusals held the sync below its rate budget
        (the account's, or one endpoint's)."""
        return self.budget.yielded_seconds()

    def look_up_account(self) -> None:
        """Start reading the account (``GET /v1/account``) in the background, once per sync.
        Its creation time bounds how far back its objects can go (where a snapshot's ranges
        are cut), its id names whose data a state holds, and its answer's Date header gives
        Stripe's clock."""
        self._account = self._pool.submit(self._read_account)

    def _read_account(self) -> _AccountFacts:
        try:
            return _AccountFacts.of(self.get(ACCOUNT_STREAM, "/v1/account"))
        except Exception:  # a key without that permission, or no answer: nothing known
            return _AccountFacts()

    def account_created(self) -> int | None:
        return self._account.result().created if self._account is not None else None

    def account_id(self, wait: bool = True) -> str | None:
        """The key's own account's id (None: not readable, or with ``wait`` false, not known
        yet)."""
        if self._account is None or not (wait or self._account.done()):
            return None
        return self._account.result().id

    def fan_out(self, fetch: Callable[[K], T], keys: Sequence[K]) -> dict[K, T]:
        """``fetch`` of every key, side by side in the sync's pool (``Pool.fan_out``)."""
        return self._pool.fan_out(fetch, keys)

    def close(self) -> None:
        """The sync is over: its pool's threads end (and are joined)."""
        self._pool.close()

    def known_time(self) -> float:
        """Stripe's time now, at least, as far as its answers so far tell (the local clock
        before any)."""
        return time.time() + (self._clock.offset or 0.0)

    def server_time(self, stream: str, probe_path: str, probe_params: Params = ()) -> int:
        """Stripe's time now, in unix seconds; asks ``probe_path`` if no answer was seen yet."""
        with self._probe_lock:
            # One probe for the whole sync, not one per stream starting at the same moment;
            # the account's answer, any answer, tells the time.
            if self._clock.offset is None and self._account is not None:
                self._account.result()
            if self._clock.offset is None:
                self.get(stream, probe_path, probe_params)
        return int(time.time() + (self._clock.offset or 0.0))

    def _count_attempt(self, response: requests.Response, *args: Any, **kwargs: Any) -> None:
        self._clock.observe(response.headers.get("Date"))
        for notice in self.budget.answered(response):
            self._logger.info(notice.describe())
        # Stripe's own time to answer, without the wait in the rate budget before sending:
        # what sizes the number of requests to keep in flight.
        latency = response.elapsed.total_seconds()
        stream = getattr(self._current, "stream", None)
        if stream is None:
            return
        kind = KIND_COUNTER[request_kind(response.request.url or "")]
        refused_by: str | None = None
        if response.status_code == 429:
            refused_by = (rate_limited_reason(response)
                          or str(stripe_error_body(response).get("code") or "no reason"))
        with self._lock:
            # The account lookup, a one-off retrieve, seeds the sync's answer time (so that the
            # first pages of many streams need not go one by one) but no stream's own.
            for key in (None, stream) if stream != ACCOUNT_STREAM else (None,):
                old = self._latency.get(key)
                self._latency[key] = latency if old is None else 0.9 * old + 0.1 * latency
            self._counters[stream].attempted(kind, refused_by)

    def list_page(self, stream: str, path: str, params: Params) -> Page:
        return Page.parse(self.get_bytes(stream, path, params))

    def get(self, stream: str, path: str, params: Params = ()) -> Mapping[str, Any]:
        return orjson.loads(self.get_bytes(stream, path, params))  # type: ignore[no-any-return]

    def get_bytes(self, stream: str, path: str, params: Params = ()) -> bytes:
        """The answer's body as Stripe sent it: pages shared by several streams are parsed by
        each, so that none of them sees another's changes to its records."""
        account = self._headers.get("Stripe-Account")
        self._current.stream = stream
        attempt = self._current.attempt = Attempt(stream, account, path)
        query: dict[str, Any] = {}
        for key, value in params:
            if key.endswith("[]"):
                query.setdefault(key, []).append(str(value))
            else:
                query[key] = str(value)
        with self._slots:
            sending.active = True
            try:
                _, response = self._http.send_request(
                    "GET", self._config.api_base + path, request_kwargs={},
                    headers=self._headers, params=query,
                )
            except AirbyteTracedException as error:
                if attempt.attempts == 0:
                    raise
                # The CDK's error names its HttpClient as the stream and says only that
                # attempts ran out.
                raise StripeUnavailable(stream=stream, account=account, path=path,
                                        attempts=attempt.attempts,
                                        last=attempt.failed) from error
            finally:
                sending.active = False
                self._current.attempt = None
        version = response.headers.get("Stripe-Version")
        with self._lock:
            # Stripe's final answer, an error too: what came before it were the retries.
            self._counters[stream].requests += 1
            if version and response.status_code < 400:
                self._versions[account] = version
        raise_for_stripe_error(stream, path, response, account)
        return response.content

    def api_version(self) -> str | None:
        """The API version this client's account is read in: the pinned one, else the one
        Stripe named in the account's last answer (None before any)."""
        return self._config.pinned_version or self._versions.get(
            self._headers.get("Stripe-Account"))
