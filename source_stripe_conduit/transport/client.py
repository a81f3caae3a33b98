"""Stripe's HTTP API as the iterators need it: one list page at a time.

Built on the CDK's ``HttpClient`` (retries, backoff, the rate budget, secret filtering); this
module adds Stripe's headers, its error bodies, and counters for the end-of-stream summary.
"""

from __future__ import annotations

import copy
import logging
import threading
import time
from collections import defaultdict
from collections.abc import Mapping, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any

import orjson
import requests
from airbyte_cdk.sources.streams.call_rate import LimiterSession
from airbyte_cdk.sources.streams.http.http_client import HttpClient
from requests.adapters import HTTPAdapter

from source_stripe_conduit.config import Config
from source_stripe_conduit.governor import MAX_PAGES_IN_FLIGHT
from source_stripe_conduit.transport.budget import StripeAPIBudget
from source_stripe_conduit.transport.errors import (
    StripeBackoffStrategy,
    StripeErrorHandler,
    raise_for_stripe_error,
)

Params = Sequence[tuple[str, str | int]]
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

    @property
    def retries(self) -> int:
        return max(self.attempts - self.requests, 0)


class StripeClient:
    def __init__(self, config: Config, logger: logging.Logger) -> None:
        self._config = config
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
        self._account: Future[int | None] | None = None
        session = LimiterSession(api_budget=self.budget)
        session.hooks["response"].append(self._count_attempt)
        # The CDK mounts a pool of its own only on a session it makes; requests' default
        # pool holds 10 connections.
        adapter = HTTPAdapter(pool_connections=1, pool_maxsize=MAX_REQUESTS_IN_FLIGHT)
        session.mount("https://", adapter)
        session.mount("http://", adapter)
        self._slots = threading.BoundedSemaphore(MAX_REQUESTS_IN_FLIGHT)
        self._http = HttpClient(
            name="stripe",
            logger=logger,
            error_handler=StripeErrorHandler(config.max_retries),
            backoff_strategy=StripeBackoffStrategy(),
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

    def look_up_account(self) -> None:
        """Start reading the account (``GET /v1/account``) in the background, once per sync.
        Its creation time bounds how far back its objects can go (where a snapshot's ranges
        are cut), and its answer's Date header gives Stripe's clock."""
        account: Future[int | None] = Future()
        self._account = account

        def read() -> None:
            try:
                created = self.get(ACCOUNT_STREAM, "/v1/account").get("created")
                account.set_result(int(created) if isinstance(created, (int, float)) else None)
            except Exception:  # a key without that permission, or no answer: no bound
                account.set_result(None)

        threading.Thread(target=read, name="stripe-account", daemon=True).start()

    def account_created(self) -> int | None:
        return self._account.result() if self._account is not None else None

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
        # Stripe's own time to answer, without the wait in the rate budget before sending:
        # what sizes the number of requests to keep in flight.
        latency = response.elapsed.total_seconds()
        stream = getattr(self._current, "stream", None)
        with self._lock:
            if stream is None:
                return
            # The account lookup, a one-off retrieve, seeds the sync's answer time (so that the
            # first pages of many streams need not go one by one) but no stream's own.
            for key in (None, stream) if stream != ACCOUNT_STREAM else (None,):
                old = self._latency.get(key)
                self._latency[key] = latency if old is None else 0.9 * old + 0.1 * latency
            counters = self._counters[stream]
            counters.attempts += 1
            if response.status_code == 429:
                counters.rate_limited += 1

    def list_page(self, stream: str, path: str, params: Params) -> Page:
        body = self.get(stream, path, params)
        return Page(data=body.get("data") or [], has_more=bool(body.get("has_more")))

    def get(self, stream: str, path: str, params: Params = ()) -> Mapping[str, Any]:
        self._current.stream = stream
        query: dict[str, Any] = {}
        for key, value in params:
            if key.endswith("[]"):
                query.setdefault(key, []).append(str(value))
            else:
                query[key] = str(value)
        with self._slots:
            _, response = self._http.send_request(
                "GET", self._config.api_base + path, request_kwargs={},
                headers=self._headers, params=query,
            )
        raise_for_stripe_error(stream, path, response)
        body = orjson.loads(response.content)
        with self._lock:
            self._counters[stream].requests += 1
        return body
