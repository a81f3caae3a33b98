"""How Stripe's answers are classified: retried, or raised as a ``StripeRequestFailed`` the
caller handles.

The CDK's ``HttpClient`` drives retries from the ``ErrorHandler`` below and waits as long as the
``BackoffStrategy`` says. Final 4xx answers are handed back (``IGNORE``) rather than raised by the
CDK, because some of them are not failures for the caller: an event cursor that aged out of
Stripe's retention means "snapshot again", a snapshot cursor deleted between pages means "go on
from its created time". ``raise_for_stripe_error`` turns the rest into a ``StripeError`` that
names the stream and carries Stripe's message and Request-Id; a request whose retries ran out
(5xx, 429, no connection) is a ``StripeUnavailable``, with the same facts of its last attempt.
"""

from __future__ import annotations

import random
import re

import requests
from airbyte_cdk.models import FailureType
from airbyte_cdk.sources.streams.http.error_handlers import BackoffStrategy, ErrorHandler
from airbyte_cdk.sources.streams.http.error_handlers.response_models import (
    ErrorResolution,
    ResponseAction,
)
from airbyte_cdk.utils.airbyte_secrets_utils import filter_secrets
from airbyte_cdk.utils.traced_exception import AirbyteTracedException

# Stripe's error texts and codes that change what the connector does.
AGED_OUT_TEXT = "aged out of our retention policy"
RESOURCE_MISSING = "resource_missing"
SHOULD_RETRY_HEADER = "Stripe-Should-Retry"
REQUEST_ID_HEADER = "Request-Id"
# Which of Stripe's limiters refused a 429: global-rate, global-concurrency, endpoint-rate,
# endpoint-concurrency or resource-specific. A 429 without it came from no rate limiter (a
# lock_timeout: another request holds the object).
RATE_LIMITED_REASON_HEADER = "Stripe-Rate-Limited-Reason"

# A product the account has not enabled answers its lists with a 400 (and Stripe-Should-Retry:
# false). No such objects exist: an empty stream is the truth, unlike a 403, where objects may
# exist that the key cannot read.
NOT_SET_UP_TEXT = "Your account is not set up to use"  # Issuing, Identity
NOT_IN_TESTMODE_TEXT = "not enabled for testmode usage"  # Sigma with a test key
NOT_ONBOARDED_TEXT = "Have you onboarded to"  # Treasury: "Unrecognized request URL … (Hint: …)"
PRODUCT_NOT_ENABLED_TEXTS = (NOT_SET_UP_TEXT, NOT_IN_TESTMODE_TEXT, NOT_ONBOARDED_TEXT)
# Stripe-Account on a request of an account that may not use it (not a Connect platform, or
# access to that connected account revoked): nothing of that account can be read.
ACCOUNT_REFUSED_CODES = ("platform_account_required", "account_invalid")
# A restricted key's 403 names the permission, in one of two wordings:
#   "… Having the 'rak_charge_read' permission would allow this request to continue."
#   "… Enabling \"Prices Read\" ('plan_read') permissions on this key would allow …"
_PERMISSION_PATTERNS = (
    re.compile(r"Having the '([\w.]+)' permission"),
    re.compile(r"Enabling \"([^\"]+)\" \('([\w.]+)'\) permission"),
)

# Conduit waits 1, 2, 4, 8 s. The CDK's HttpClient adds one second to whatever a strategy
# returns, so the base here is that schedule less the second it adds, with full jitter on top
# so threads rate-limited together do not retry together.
BACKOFF_BASE_SECONDS = 1.0
BACKOFF_CAP_SECONDS = 30.0
CDK_ADDED_SECONDS = 1.0


def rate_limited_reason(response: requests.Response) -> str | None:
    """The limiter of Stripe that refused ``response`` (``global-rate`` …), None for any answer
    that is not a rate limiter's 429."""
    if response.status_code != 429:
        return None
    reason = response.headers.get(RATE_LIMITED_REASON_HEADER, "").strip().lower()
    return reason or None


def stripe_error_body(response: requests.Response) -> dict[str, object]:
    """Stripe's ``error`` object of an answer, or one made of its text where it has none (a
    proxy's HTML page)."""
    try:
        body = response.json()
        error = body.get("error") if isinstance(body, dict) else None
    except ValueError:
        error = None
    if not isinstance(error, dict):
        error = {"message": response.text[:500] or response.reason}
    return error


def account_label(account: str | None) -> str:
    return f"account {account}" if account else "the key's own account"


def describe_attempt(outcome: requests.Response | BaseException | None) -> str:
    """What one attempt of a request came to, as the retry log and the final error say it."""
    if not isinstance(outcome, requests.Response):
        return f"connection failed ({type(outcome).__name__})"
    status = outcome.status_code
    reason = rate_limited_reason(outcome)
    if reason:
        text = f"rate-limited ({status}, {RATE_LIMITED_REASON_HEADER}: {reason})"
    else:
        code = stripe_error_body(outcome).get("code") if status < 500 else None
        text = f"answered {status}" + (f" (code {code})" if code else "")
    request_id = outcome.headers.get(REQUEST_ID_HEADER)
    return text + (f" (Request-Id {request_id})" if request_id else "")


class StripeRequestFailed(AirbyteTracedException):
    """A request to Stripe that did not succeed, for one stream and one account: Stripe's final
    answer (``StripeError``) or every attempt spent (``StripeUnavailable``)."""

    transient = False
    """Whether retries ran out, rather than Stripe answering for good."""

    def __init__(self, *, stream: str, account: str | None, path: str, status: int | None,
                 stripe_message: str | None, request_id: str | None, message: str,
                 internal_message: str, failure_type: FailureType) -> None:
        self.stream = stream
        self.account = account
        self.path = path
        self.status = status
        self.stripe_message = stripe_message
        self.request_id = request_id
        # No stream_descriptor: the CDK gives the stream reading when it reports the error, and
        # some requests (the account lookup, probes) serve no one stream.
        super().__init__(message=filter_secrets(message),
                         internal_message=filter_secrets(internal_message),
                         failure_type=failure_type)


class StripeError(StripeRequestFailed):
    """A final answer of Stripe that is not a success."""

    status: int
    stripe_message: str

    def __init__(self, *, stream: str, status: int, error: dict[str, object],
                 request_id: str | None, path: str, account: str | None = None) -> None:
        self.type = str(error.get("type") or "")
        self.code = str(error.get("code") or "")
        self.param = str(error.get("param") or "")
        self.status = status
        self.stripe_message = str(error.get("message") or "(no message)")
        permission = self.permission
        if status == 401:
            reason = "Stripe rejected the API key"
        elif self.account_refused:
            reason = "Stripe refused the connected account"
        elif status == 403:
            reason = (f"The API key lacks the permission '{permission}'" if permission
                      else "The API key lacks a permission")
        else:
            reason = f"Stripe answered HTTP {status}"
        failure_type = (
            FailureType.config_error if status in (401, 403) or self.account_refused
            else FailureType.system_error
        )
        message = f"Stream '{stream}': {reason}: {self.stripe_message}"
        if request_id:
            message += f" (Request-Id {request_id})"
        super().__init__(
            stream=stream, account=account, path=path, status=status,
            stripe_message=self.stripe_message, request_id=request_id, message=message,
            internal_message=f"GET {path} -> {status} {self.type}/{self.code}: {self.stripe_message}",
            failure_type=failure_type,
        )

    @property
    def aged_out(self) -> bool:
        return self.status == 400 and AGED_OUT_TEXT in self.stripe_message

    @property
    def resource_missing(self) -> bool:
        return self.status in (400, 404) and self.code == RESOURCE_MISSING

    @property
    def product_not_enabled(self) -> bool:
        """The account has not enabled the product this list belongs to: no objects exist."""
        return self.status in (400, 404) and any(
            text in self.stripe_message for text in PRODUCT_NOT_ENABLED_TEXTS)

    @property
    def account_refused(self) -> bool:
        """The key may not act on the account named by Stripe-Account."""
        return self.status in (400, 403) and self.code in ACCOUNT_REFUSED_CODES

    @property
    def permission(self) -> str | None:
        """The permission a restricted key lacks, as Stripe names it (None if it names none)."""
        if self.status != 403:
            return None
        for pattern in _PERMISSION_PATTERNS:
            found = pattern.search(self.stripe_message)
            if found:
                return found.group(found.lastindex or 1)
        return None


class StripeUnavailable(StripeRequestFailed):
    """Every attempt of a request spent on 5xx answers, 429s or failed connections: the facts
    of the last one (``status`` None where no answer came)."""

    transient = True

    def __init__(self, *, stream: str, account: str | None, path: str, attempts: int,
                 last: requests.Response | BaseException | None) -> None:
        self.attempts = attempts
        self.connection_error: str | None = None
        self.rate_limited_reason: str | None = None
        self.code: str | None = None
        status: int | None = None
        stripe_message: str | None = None
        request_id: str | None = None
        outcome = describe_attempt(last)
        if isinstance(last, requests.Response):
            status = last.status_code
            error = stripe_error_body(last)
            stripe_message = str(error.get("message") or "(no message)")
            self.code = str(error.get("code") or "") or None
            request_id = last.headers.get(REQUEST_ID_HEADER)
            self.rate_limited_reason = rate_limited_reason(last)
            outcome += f": {stripe_message}"
            code = f" {self.code}" if self.code else ""
            internal = f"GET {path} -> {status}{code}: {stripe_message}"
        else:
            self.connection_error = type(last).__name__
            internal = f"GET {path} -> {self.connection_error}: {last}"
        tries = "attempt" if attempts == 1 else "attempts"
        super().__init__(
            stream=stream, account=account, path=path, status=status,
            stripe_message=stripe_message, request_id=request_id,
            message=(f"Stream '{stream}' ({account_label(account)}): GET {path} gave up after "
                     f"{attempts} {tries}; last attempt: {outcome}"),
            internal_message=f"{internal} (after {attempts} {tries})",
            failure_type=FailureType.transient_error,
        )


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
                                   describe_attempt(response))
        status = response.status_code
        if status < 400:
            return ErrorResolution(ResponseAction.SUCCESS)
        should_retry = response.headers.get(SHOULD_RETRY_HEADER)
        # Stripe's header, when present, overrides the status-code rule.
        if should_retry == "false":
            return ErrorResolution(ResponseAction.IGNORE)
        # A 429 is retried like a 5xx, not as RATE_LIMITED: on that action the CDK prints a
        # stream status naming its HttpClient ("stripe"), a stream that does not exist.
        if status >= 500 or should_retry == "true" or status in (409, 429):
            return ErrorResolution(ResponseAction.RETRY, FailureType.transient_error,
                                   describe_attempt(response))
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


def raise_for_stripe_error(stream: str, path: str, response: requests.Response,
                           account: str | None = None) -> None:
    if response.status_code < 400:
        return
    raise StripeError(stream=stream, status=response.status_code,
                      error=stripe_error_body(response),
                      request_id=response.headers.get(REQUEST_ID_HEADER), path=path,
                      account=account)
