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
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, fields
from email.utils import parsedate_to_datetime
from typing import Any, TypeVar

import orjson
import requests
from airbyte_cdk.sources.streams.call_rate import LimiterSession
from airbyte_cdk.sources.streams.http import rate_limiting
from airbyte_cdk.sources.streams.http.error_handlers import BackoffStrategy
from airbyte_cdk.sources.streams.http.http_client import HttpClient
from airbyte_cdk.utils.airbyte_secrets_utils import add_to_secrets, filter_secrets
from airbyte_cdk.utils.traced_exception import AirbyteTracedException
from requests.adapters import HTTPAdapter

from source_stripe_conduit.config import Config
from source_stripe_conduit.governor import MAX_PAGES_IN_FLIGHT
from source_stripe_conduit.transport.budget import (
    CHILD_LIST,
    EVENT_PAGE,
    LIST_PAGE,
    RETRIEVE,
    StripeAPIBudget,
    request_kind,
)
from source_stripe_conduit.transport.errors import (
    CDK_ADDED_SECONDS,
    StripeBackoffStrategy,
    StripeErrorHandler,
    StripeUnavailable,
    account_label,
    describe_attempt,
    raise_for_stripe_error,
    rate_limited_reason,
    stripe_error_body,
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
class _Attempt:
    """The request the calling thread is sending, and how its last failed attempt went."""

    stream: str
    account: str | None
    path: str
    failed: requests.Response | BaseException | None = None
    attempts: int = 0


# The thread sending a Stripe request, for the filter below (the CDK's loggers are the
# process's, and other HttpClients may share them).
_sending = threading.local()


class _CdkRetryLines(logging.Filter):
    """Drops the CDK's lines about a Stripe request's retries, which the client writes itself:
    the CDK calls every retry "Rate limit exceeded", a 5xx and a timeout included, and on giving
    up logs the traceback of an exception that says no more than the error then raised."""

    _REPLACED = frozenset({
        ("rate_limiting", "sleep_on_ratelimit"),  # "…: Rate limit exceeded. Retrying in…"
        ("rate_limiting", "log_give_up"),  # "Max retry limit reached after…"
        ("http_client", "_send_with_retry"),  # "Retries exhausted with backoff exception."
    })

    def filter(self, record: logging.LogRecord) -> bool:
        return not (getattr(_sending, "active", False)
                    and (record.module, record.funcName) in self._REPLACED)


_CDK_RETRY_LINES = _CdkRetryLines()


def _quiet_cdk_retry_lines(*loggers: logging.Logger) -> None:
    for logger in loggers:
        if _CDK_RETRY_LINES not in logger.filters:
            logger.addFilter(_CDK_RETRY_LINES)


class _ReportingBackoff(BackoffStrategy):
    """Stripe's backoff, which also logs each retry with its stream, account and answer, and
    keeps the last failed attempt for the error raised when none is left. The CDK calls it on
    the sending thread after every failed attempt, the last one included."""

    def __init__(self, current: threading.local, max_retries: int,
                 logger: logging.Logger) -> None:
        self._strategy = StripeBackoffStrategy()
        self._current = current
        self._max_retries = max_retries
        self._logger = logger

    def backoff_time(
        self,
        response_or_exception: requests.Response | requests.RequestException | None,
        attempt_count: int,
    ) -> float | None:
        wait = self._strategy.backoff_time(response_or_exception, attempt_count)
        attempt: _Attempt | None = getattr(self._current, "attempt", None)
        if attempt is None:
            return wait
        attempt.failed = response_or_exception
        attempt.attempts = attempt_count
        if attempt_count <= self._max_retries and wait is not None:
            self._logger.info(filter_secrets(
                f"Stream '{attempt.stream}' ({account_label(attempt.account)}): GET "
                f"{attempt.path} {describe_attempt(response_or_exception)}, retry "
                f"{attempt_count} of {self._max_retries} in {wait + CDK_ADDED_SECONDS:.1f} s"))
        return wait


@dataclass
class _Clock:
    offset: float | None = None
    """Seconds Stripe's clock is ahead of ours, at least."""


@dataclass(frozen=True)
class Page:
    data: list[dict[str, Any]]
    has_more: bool


@dataclass
class StreamCounters:
    requests: int = 0
    """Successful requests."""
    attempts: int = 0
    """Every response received, retried ones included."""
    rate_limited: int = 0
    # ``attempts`` by kind: what a sync costs against Stripe's read allocation, where every
    # list page, events page and retrieve counts.
    list_pages: int = 0
    event_pages: int = 0
    retrieves: int = 0
    child_lists: int = 0
    rate_limited_by_reason: dict[str, int] = field(default_factory=dict)
    """429s by the limiter that refused them (``global-rate`` …), or by Stripe's error code
    where no limiter did (``lock_timeout``)."""

    @property
    def retries(self) -> int:
        return max(self.attempts - self.requests, 0)

    def add(self, other: StreamCounters) -> None:
        for counter in fields(StreamCounters):
            mine = getattr(self, counter.name)
            if isinstance(mine, int):
                setattr(self, counter.name, mine + getattr(other, counter.name))
        for reason, count in other.rate_limited_by_reason.items():
            self.rate_limited_by_reason[reason] = self.rate_limited_by_reason.get(reason, 0) + count


@dataclass
class SyncTotals(StreamCounters):
    """Every stream's counters added up, and the time the sync gave way to the account's
    other traffic."""

    yielded_seconds: float = 0.0
    """Seconds during which Stripe's refusals held some rate of the sync below its budget."""


_KIND_COUNTER = {LIST_PAGE: "list_pages", EVENT_PAGE: "event_pages", RETRIEVE: "retrieves",
                 CHILD_LIST: "child_lists"}


@dataclass(frozen=True)
class _AccountFacts:
    created: int | None = None
    id: str | None = None


class _Pool:
    """A thread pool started on first use and ended by its owner (the sync, through
    ``StripeClient.close``), never left running by the process."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._lock = threading.Lock()
        self._executor: ThreadPoolExecutor | None = None

    def submit(self, fn: Callable[..., T], *args: Any) -> Future[T]:
        with self._lock:
            if self._executor is None:
                self._executor = ThreadPoolExecutor(self._size,
                                                    thread_name_prefix="stripe-fan-out")
            return self._executor.submit(fn, *args)

    def close(self) -> None:
        with self._lock:
            executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=True, cancel_futures=True)


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
        self._pool = _Pool(FAN_OUT_REQUESTS)
        session = LimiterSession(api_budget=self.budget)
        session.hooks["response"].append(self._count_attempt)
        # The CDK mounts a pool of its own only on a session it makes; requests' default
        # pool holds 10 connections.
        adapter = HTTPAdapter(pool_connections=1, pool_maxsize=MAX_REQUESTS_IN_FLIGHT)
        session.mount("https://", adapter)
        session.mount("http://", adapter)
        self._slots = threading.BoundedSemaphore(MAX_REQUESTS_IN_FLIGHT)
        # The key travels in the Authorization header, which the CDK logs at debug level.
        if config.secret_key and filter_secrets(config.secret_key) == config.secret_key:
            add_to_secrets(config.secret_key)
        _quiet_cdk_retry_lines(logger, rate_limiting.logger)
        # The HttpClient's name shows nowhere: no error or status it raises or prints with it
        # reaches Airbyte (there is no stream "stripe").
        self._http = HttpClient(
            name="stripe",
            logger=logger,
            error_handler=StripeErrorHandler(config.max_retries),
            backoff_strategy=_ReportingBackoff(self._current, config.max_retries, logger),
            api_budget=self.budget,
            session=session,
            request_timeout=config.request_timeout_seconds,
        )
        self._headers = {
            "Authorization": f"Bearer {config.secret_key}",
            "Stripe-Version": config.stripe_version,
            "User-Agent": "source-stripe-conduit (Airbyte connector)",
        }
        if config.account_id and not config.many_accounts:
            # With many accounts this client is the platform's; each account has a view.
            self._headers["Stripe-Account"] = config.account_id

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
        def read() -> _AccountFacts:
            try:
                account = self.get(ACCOUNT_STREAM, "/v1/account")
            except Exception:  # a key without that permission, or no answer: nothing known
                return _AccountFacts()
            created, account_id = account.get("created"), account.get("id")
            return _AccountFacts(int(created) if isinstance(created, (int, float)) else None,
                                 account_id if isinstance(account_id, str) else None)

        self._account = self._pool.submit(read)

    def account_created(self) -> int | None:
        return self._account.result().created if self._account is not None else None

    def account_id(self, wait: bool = True) -> str | None:
        """The key's own account's id (None: not readable, or with ``wait`` false, not known
        yet)."""
        if self._account is None or not (wait or self._account.done()):
            return None
        return self._account.result().id

    def fan_out(self, fetch: Callable[[K], T], keys: Sequence[K]) -> dict[K, T]:
        """``fetch`` of every key, side by side in the sync's pool; the first error is raised.
        The pool's size bounds these requests whatever the number of pages in flight, so with
        the governor's pages they stay within the client's connections."""
        if not keys:
            return {}
        if len(keys) == 1:
            return {keys[0]: fetch(keys[0])}
        futures = [self._pool.submit(fetch, key) for key in keys]
        return {key: future.result() for key, future in zip(keys, futures, strict=True)}

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
        date = response.headers.get("Date")
        if date:
            try:
                # Stripe wrote the header (whole seconds) before this answer arrived, so its
                # clock is at least that far ahead of ours: a lower bound, which every answer
                # can only raise. Reads stop at seconds that are over by this bound, never at
                # one Stripe may still be writing.
                offset = parsedate_to_datetime(date).timestamp() - time.time()
                if self._clock.offset is None or offset > self._clock.offset:
                    self._clock.offset = offset
            except (TypeError, ValueError):
                pass
        for notice in self.budget.answered(response):
            self._logger.info(notice.describe())
        # Stripe's own time to answer, without the wait in the rate budget before sending:
        # what sizes the number of requests to keep in flight.
        latency = response.elapsed.total_seconds()
        stream = getattr(self._current, "stream", None)
        if stream is None:
            return
        kind = _KIND_COUNTER[request_kind(response.request.url or "")]
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
            counters = self._counters[stream]
            counters.attempts += 1
            setattr(counters, kind, getattr(counters, kind) + 1)
            if refused_by is not None:
                counters.rate_limited += 1
                counters.rate_limited_by_reason[refused_by] = (
                    counters.rate_limited_by_reason.get(refused_by, 0) + 1)

    def list_page(self, stream: str, path: str, params: Params) -> Page:
        body = self.get(stream, path, params)
        return Page(data=body.get("data") or [], has_more=bool(body.get("has_more")))

    def get(self, stream: str, path: str, params: Params = ()) -> Mapping[str, Any]:
        account = self._headers.get("Stripe-Account")
        self._current.stream = stream
        attempt = self._current.attempt = _Attempt(stream, account, path)
        query: dict[str, Any] = {}
        for key, value in params:
            if key.endswith("[]"):
                query.setdefault(key, []).append(str(value))
            else:
                query[key] = str(value)
        with self._slots:
            _sending.active = True
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
                _sending.active = False
                self._current.attempt = None
        raise_for_stripe_error(stream, path, response, account)
        body = orjson.loads(response.content)
        with self._lock:
            self._counters[stream].requests += 1
        return body
