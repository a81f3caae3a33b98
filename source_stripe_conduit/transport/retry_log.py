"""What a retried Stripe request logs: its stream, account and answer, in place of the CDK's lines.

The CDK words every retry as a rate limit ("Rate limit exceeded", a 5xx and a timeout
included) and, on giving up, logs a traceback that says no more than the error then raised. The
client's backoff strategy logs each retry as what it was, and a filter drops the CDK's own lines
about Stripe's requests (only on the thread sending one).
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass

import requests
from airbyte_cdk.sources.streams.http.error_handlers import BackoffStrategy
from airbyte_cdk.utils.airbyte_secrets_utils import filter_secrets

from source_stripe_conduit.transport.errors import (
    CDK_ADDED_SECONDS,
    StripeBackoffStrategy,
    account_label,
    describe_attempt,
)


@dataclass
class Attempt:
    """The request the calling thread is sending, and how its last failed attempt went."""

    stream: str
    account: str | None
    path: str
    failed: requests.Response | BaseException | None = None
    attempts: int = 0


# The thread sending a Stripe request, for the filter below (the CDK's loggers are the
# process's, and other HttpClients may share them).
sending = threading.local()


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
        return not (getattr(sending, "active", False)
                    and (record.module, record.funcName) in self._REPLACED)


_CDK_RETRY_LINES = _CdkRetryLines()


def quiet_cdk_retry_lines(*loggers: logging.Logger) -> None:
    for logger in loggers:
        if _CDK_RETRY_LINES not in logger.filters:
            logger.addFilter(_CDK_RETRY_LINES)


class ReportingBackoff(BackoffStrategy):
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
        attempt: Attempt | None = getattr(self._current, "attempt", None)
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
