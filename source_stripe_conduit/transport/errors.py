"""How Stripe's answers are classified: retried, or raised as a ``StripeError`` the caller handles.

The CDK's ``HttpClient`` drives retries from the ``ErrorHandler`` below and waits as long as the
``BackoffStrategy`` says. Final 4xx answers are handed back (``IGNORE``) rather than raised by the
CDK, because some of them are not failures for the caller: an event cursor that aged out of
Stripe's retention means "snapshot again", a snapshot cursor deleted between pages means "go on
from its created time". ``raise_for_stripe_error`` turns the rest into errors that name the stream
and carry Stripe's message and Request-Id.
"""

from __future__ import annotations

import random

import requests
from airbyte_cdk.models import FailureType
from airbyte_cdk.sources.streams.http.error_handlers import BackoffStrategy, ErrorHandler
from airbyte_cdk.sources.streams.http.error_handlers.response_models import (
    ErrorResolution,
    ResponseAction,
)
from airbyte_cdk.utils.traced_exception import AirbyteTracedException

# Stripe's error texts and codes that change what the connector does.
AGED_OUT_TEXT = "aged out of our retention policy"
RESOURCE_MISSING = "resource_missing"
SHOULD_RETRY_HEADER = "Stripe-Should-Retry"
REQUEST_ID_HEADER = "Request-Id"

# Conduit waits 1, 2, 4, 8 s. The CDK's HttpClient adds one second to whatever a strategy
# returns, so the base here is that schedule less the second it adds, with full jitter on top
# so threads rate-limited together do not retry together.
BACKOFF_BASE_SECONDS = 1.0
BACKOFF_CAP_SECONDS = 30.0


class StripeError(AirbyteTracedException):
    """A final answer of Stripe that is not a success."""

    def __init__(self, *, stream: str, status: int, error: dict[str, object],
                 request_id: str | None, path: str) -> None:
        self.status = status
        self.type = str(error.get("type") or "")
        self.code = str(error.get("code") or "")
        self.param = str(error.get("param") or "")
        self.stripe_message = str(error.get("message") or "(no message)")
        self.request_id = request_id
        failure_type = (
            FailureType.config_error if status in (401, 403) else FailureType.system_error
        )
        reason = {
            401: "Stripe rejected the API key",
            403: "The API key lacks a permission",
        }.get(status, f"Stripe answered HTTP {status}")
        message = f"Stream '{stream}': {reason}: {self.stripe_message}"
        if request_id:
            message += f" (Request-Id {request_id})"
        super().__init__(
            message=message,
            internal_message=f"GET {path} -> {status} {self.type}/{self.code}: {self.stripe_message}",
            failure_type=failure_type,
        )

    @property
    def aged_out(self) -> bool:
        return self.status == 400 and AGED_OUT_TEXT in self.stripe_message

    @property
    def resource_missing(self) -> bool:
        return self.status in (400, 404) and self.code == RESOURCE_MISSING


class StripeErrorHandler(ErrorHandler):
    def __init__(self, max_retries: int) -> None:
        self._max_retries = max_retries

    @property
    def max_retries(self) -> int | None:
        return self._max_retries

    @property
    def max_time(self) -> int | None:
        return None

    def interpret_response(
        self, response: requests.Response | Exception | None
    ) -> ErrorResolution:
        if not isinstance(response, requests.Response):
            # A dropped connection or a timeout: a GET is always safe to send again.
            return ErrorResolution(ResponseAction.RETRY, FailureType.transient_error,
                                   f"Connection to Stripe failed: {type(response).__name__}")
        status = response.status_code
        if status < 400:
            return ErrorResolution(ResponseAction.SUCCESS)
        should_retry = response.headers.get(SHOULD_RETRY_HEADER)
        # Stripe's header, when present, overrides the status-code rule.
        if should_retry == "false":
            return ErrorResolution(ResponseAction.IGNORE)
        if status == 429:
            return ErrorResolution(ResponseAction.RATE_LIMITED, FailureType.transient_error,
                                   "Stripe rate limit reached (429)")
        if status >= 500 or should_retry == "true" or status == 409:
            return ErrorResolution(ResponseAction.RETRY, FailureType.transient_error,
                                   f"Stripe answered HTTP {status}")
        return ErrorResolution(ResponseAction.IGNORE)


class StripeBackoffStrategy(BackoffStrategy):
    def backoff_time(
        self,
        response_or_exception: requests.Response | requests.RequestException | None,
        attempt_count: int,
    ) -> float | None:
        if isinstance(response_or_exception, requests.Response):
            retry_after = response_or_exception.headers.get("Retry-After")
            if retry_after:
                try:
                    return max(float(retry_after) - 1.0, 0.01)
                except ValueError:
                    pass
        ceiling = min(BACKOFF_CAP_SECONDS, BACKOFF_BASE_SECONDS * 2 ** max(attempt_count - 1, 0))
        # 0.01 s at least: the CDK treats a zero backoff as "no backoff chosen".
        return max(random.uniform(0, ceiling), 0.01)


def raise_for_stripe_error(stream: str, path: str, response: requests.Response) -> None:
    if response.status_code < 400:
        return
    try:
        body = response.json()
        error = body.get("error") if isinstance(body, dict) else None
    except ValueError:
        error = None
    if not isinstance(error, dict):
        error = {"message": response.text[:500] or response.reason}
    raise StripeError(stream=stream, status=response.status_code, error=error,
                      request_id=response.headers.get(REQUEST_ID_HEADER), path=path)
