"""The emulator's switches and its API keys."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from . import spec, versions
from .catalog import CLIMATE, CONNECT, FINANCIAL_CONNECTIONS, FORWARDING, IDENTITY, ISSUING, SIGMA, TREASURY

DEFAULT_TEST_KEY = "sk_test_emulator"
DEFAULT_LIVE_KEY = "sk_live_emulator"
KEY_PATTERN = re.compile(r"^(sk|rk)_(test|live)_[A-Za-z0-9_]+$")


class ConfigError(ValueError):
    pass


@dataclass(frozen=True)
class Profile:
    """What an account has set up: the products Stripe refuses, or hides, until it is.

    Most real accounts have not enabled every product; a connector that only ever met an
    all-enabled account fails at setup on a real one.
    """

    issuing: bool
    identity: bool
    treasury: bool
    sigma_testmode: bool
    """Sigma answers live keys on any account, test keys only where enabled."""
    connect_platform: bool
    """A Connect platform has connected accounts and may act on them (``Stripe-Account``)."""
    climate: bool = False
    financial_connections: bool = False
    forwarding: bool = False
    """Climate, Financial Connections and the Vault and Forward API are set up per account."""

    def serves(self, product: str | None, livemode: bool) -> bool:
        if product is None:
            return True
        if product == ISSUING:
            return self.issuing
        if product == IDENTITY:
            return self.identity
        if product == TREASURY:
            return self.treasury
        if product == SIGMA:
            return livemode or self.sigma_testmode
        if product == CONNECT:
            return self.connect_platform
        if product == CLIMATE:
            return self.climate
        if product == FINANCIAL_CONNECTIONS:
            return self.financial_connections
        if product == FORWARDING:
            return self.forwarding
        raise ValueError(f"Unknown product {product!r}")


PROFILES: Mapping[str, Profile] = MappingProxyType({
    # An account as most users have it: payments and billing, nothing that needs applying for.
    "ordinary": Profile(issuing=False, identity=False, treasury=False, sigma_testmode=False,
                        connect_platform=False),
    "full": Profile(issuing=True, identity=True, treasury=True, sigma_testmode=True,
                    connect_platform=True, climate=True, financial_connections=True,
                    forwarding=True),
})
DEFAULT_PROFILE = "ordinary"

RATE_LIMIT_SCOPES = ("platform", "account")
MERCHANT_ARRIVALS = ("poisson", "even")
"""How the merchant's requests are spaced: a Poisson process (independent customers, bursts
and lulls) or evenly (one every 1/rate seconds)."""
DEFAULT_MERCHANT_ENDPOINTS = (
    # A merchant's integration mostly looks single objects up (checkout, webhooks handlers,
    # support tools); the same retrieves a connector hydrates with, so their buckets meet.
    "GET /v1/customers/{id}",
    "GET /v1/charges/{id}",
    "GET /v1/payment_intents/{id}",
    "GET /v1/invoices/{id}",
    "GET /v1/products/{id}",
)
ENDPOINT_PATTERN = re.compile(r"^(GET|POST|DELETE) (/v1/\S*)$")
"""Stripe does not document whether reads with ``Stripe-Account`` count against the platform
or the connected account: ``platform`` (one shared budget) is the safe assumption."""

# What Stripe answers (400 invalid_request_error, Stripe-Should-Retry: false) for a product
# the account has not set up, as Stripe words it.
NOT_SET_UP: Mapping[str, str] = MappingProxyType({
    ISSUING: "Your account is not set up to use Issuing. Please visit "
             "https://dashboard.stripe.com/issuing/overview to get started.",
    IDENTITY: "Your account is not set up to use Identity. Please have an account admin visit "
              "https://dashboard.stripe.com/identity to get started.",
    SIGMA: "This API surface is not enabled for testmode usage.",
    # Stripe's texts for these three are not known here: the emulator answers with the wording
    # of Issuing and Identity ("Your account is not set up to use X"), best known behaviour.
    CLIMATE: "Your account is not set up to use Climate. Please visit "
             "https://dashboard.stripe.com/climate to get started.",
    FINANCIAL_CONNECTIONS: "Your account is not set up to use Financial Connections. Please "
                           "visit https://dashboard.stripe.com/financial-connections to get "
                           "started.",
    FORWARDING: "Your account is not set up to use the Vault and Forward API. Please contact "
                "Stripe support to get started.",
})
PLATFORM_REQUIRED = (
    "Only Stripe Connect platforms can work with other accounts. If you specified a client_id "
    "parameter, make sure it's correct. If you need to setup a Stripe Connect platform, you can "
    "do so at https://dashboard.stripe.com/account/applications/settings.")
# Creating an account on a non-platform: only this beginning of Stripe's text is known.
CONNECT_REQUIRED = "You can only create new accounts if you've signed up for Connect."


def treasury_not_onboarded(method: str, path: str) -> str:
    # Stripe's hint goes on after its question; the rest of it is not known here, so the
    # message ends with the question rather than with made-up words.
    return (f"Unrecognized request URL ({method}: {path}). Please see https://stripe.com/docs "
            "or we can help at https://support.stripe.com/. (Hint: Have you onboarded to "
            "Treasury?)")


def refusal(product: str | None, path: str | None) -> str:
    """The message of a change to an object of a product the account lacks."""
    if product == CONNECT:
        return CONNECT_REQUIRED
    if product == TREASURY:
        return treasury_not_onboarded("POST", path or "/v1/treasury")
    return NOT_SET_UP[product or ""]


@dataclass
class Settings:
    """Every switch of the emulator; ``POST /_emulator/config`` sets any subset by name."""

    latency: str | float = 0.0
    """Milliseconds added to each response, or ``"realistic"`` (80 ms + 2.2 ms per object
    returned, +-15% jitter: about 300 ms for a page of 100, like Stripe's list calls)."""
    rate_limit: bool = True
    rate_limit_test: float = 25.0
    """Requests per second per account with a test key (Stripe's sandbox limit)."""
    rate_limit_live: float = 100.0
    """Requests per second per account with a live key."""
    per_endpoint_limit_enabled: bool = False
    per_endpoint_limit: float = 25.0
    """Requests per second per account and endpoint (method + path template)."""
    fault_rate: float = 0.0
    """Probability that a request fails with 500 api_error."""
    fault_retry_share: float = 0.5
    """Share of those 500s that say ``Stripe-Should-Retry: true``."""
    drop_rate: float = 0.0
    """Probability that the connection is closed without any response."""
    lock_timeout_rate: float = 0.0
    """Probability of a 429 ``lock_timeout`` (lock contention on an object)."""
    event_max_delay: float = 0.0
    """Each new event becomes listable after a uniform 0..max delay (seconds): the events list
    is eventually consistent on Stripe."""
    api_version: str = field(default_factory=spec.api_version)
    """The accounts' default API version: answers without Stripe-Version, new events."""
    api_versions: dict[str, str] = field(default_factory=dict)
    """Default API version per account id, overriding ``api_version``."""
    profile: str = DEFAULT_PROFILE
    """The accounts' profile (a name of ``PROFILES``): which products they have set up."""
    profiles: dict[str, str] = field(default_factory=dict)
    """Profile per account id, overriding ``profile``."""
    many_children_share: float = 0.05
    """Share of new invoices and subscriptions made with more children than Stripe embeds
    (11..40 lines, 11..25 items); the rest get 1..10, mostly 1..3."""
    remove_children_share: float = 0.0
    """Share of random updates of invoices and subscriptions (or of their lines and items)
    that remove one or two lines of a draft invoice or items of a subscription, in one change
    (one ``invoice.updated`` or ``customer.subscription.updated``)."""
    rate_limit_scope: str = "platform"
    """Whose budget a request with ``Stripe-Account`` spends: ``"platform"`` (one bucket for
    the platform and every account it acts on) or ``"account"`` (one per connected account)."""
    concurrency_limit: int | None = None
    """Requests in flight at once per budget owner and mode (None: no limit)."""
    endpoint_concurrency_limit: int | None = None
    """Requests in flight at once per budget owner, mode and endpoint (None: no limit)."""
    merchant_requests_per_second: float = 0.0
    """The merchant's own traffic on the same limits as the client's (0: none)."""
    merchant_endpoints: list[str] = field(
        default_factory=lambda: list(DEFAULT_MERCHANT_ENDPOINTS))
    """What the merchant calls, in turn at random: ``"GET /v1/customers/{id}"`` (any id or
    placeholder: the endpoint is the emulator's route it matches, else the text as given)."""
    merchant_livemode: bool = True
    """Whether the merchant's traffic spends the live budget (a real shop's) or the test one."""
    merchant_account: str | None = None
    """Whose budget the merchant spends: the platform (None) or this account's own."""
    merchant_arrivals: str = "poisson"
    """``"poisson"`` or ``"even"`` spacing of the merchant's requests."""

    def update(self, changes: dict[str, Any]) -> None:
        known = {f.name: f for f in dataclasses.fields(self)}
        for name, value in changes.items():
            if name not in known:
                raise ConfigError(f"Unknown setting: {name}. Known: {', '.join(sorted(known))}")
            current = getattr(self, name)
            if name == "latency":
                value = parse_latency(value)
            elif name in ("api_version",):
                check_version(value)
            elif name == "api_versions":
                if not isinstance(value, dict) or not all(
                        isinstance(k, str) and versions.is_valid(v) for k, v in value.items()):
                    raise ConfigError("api_versions maps account ids to API versions "
                                      "(2024-06-20, 2025-03-31.basil...)")
                value = dict(value)
            elif name == "profile":
                if value not in PROFILES:
                    raise ConfigError(f"Unknown profile: {value!r}. Known: "
                                      f"{', '.join(PROFILES)}")
            elif name == "rate_limit_scope":
                if value not in RATE_LIMIT_SCOPES:
                    raise ConfigError(f"rate_limit_scope is one of {', '.join(RATE_LIMIT_SCOPES)}, "
                                      f"not {value!r}")
            elif name in ("concurrency_limit", "endpoint_concurrency_limit"):
                if value is not None and (isinstance(value, bool) or not isinstance(value, int)
                                          or value < 1):
                    raise ConfigError(f"{name} is a number of requests >= 1, or null (no limit)")
            elif name == "merchant_endpoints":
                value = parse_endpoints(value)
            elif name == "merchant_account":
                if value is not None and not (isinstance(value, str)
                                              and value.startswith("acct_")):
                    raise ConfigError("merchant_account is an account id (acct_...), or null "
                                      "for the platform")
            elif name == "merchant_arrivals":
                if value not in MERCHANT_ARRIVALS:
                    raise ConfigError(f"merchant_arrivals is one of "
                                      f"{', '.join(MERCHANT_ARRIVALS)}, not {value!r}")
            elif name == "profiles":
                if not isinstance(value, dict) or not all(
                        isinstance(k, str) and v in PROFILES for k, v in value.items()):
                    raise ConfigError(f"profiles maps account ids to profiles "
                                      f"({', '.join(PROFILES)})")
                value = dict(value)
            elif isinstance(current, bool):
                if not isinstance(value, bool):
                    raise ConfigError(f"{name} must be true or false")
            elif isinstance(current, float):
                number = not isinstance(value, bool) and isinstance(value, (int, float))
                if name.endswith("_rate") or name.endswith("_share"):
                    if not number or not 0 <= value <= 1:
                        raise ConfigError(f"{name} is a probability (a share), a number from 0 "
                                          f"to 1, not {value!r}")
                elif not number or value < 0:
                    raise ConfigError(f"{name} must be a number >= 0")
                value = float(value)
            setattr(self, name, value)

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def version_of(self, account: str) -> str:
        return self.api_versions.get(account, self.api_version)

    def profile_of(self, account: str) -> Profile:
        return PROFILES[self.profiles.get(account, self.profile)]


def check_version(value: Any) -> str:
    """``value`` if it is an API version Stripe would accept, else ``ConfigError``."""
    if not versions.is_valid(value):
        raise ConfigError(f"Invalid API version: {value!r} (a date, with its release's name "
                          "from 2024-09-30 on: 2024-06-20, 2025-03-31.basil, "
                          "2025-09-30.clover...)")
    assert isinstance(value, str)
    return value


def parse_endpoints(value: Any) -> list[str]:
    """Endpoints as ``"GET /v1/customers/{id}"``; a bare path is a GET."""
    if not isinstance(value, list) or not value:
        raise ConfigError('merchant_endpoints is a non-empty list like '
                          '["GET /v1/customers/{id}"]')
    endpoints = []
    for item in value:
        text = item.strip() if isinstance(item, str) else ""
        if text.startswith("/"):
            text = f"GET {text}"
        if not ENDPOINT_PATTERN.match(text):
            raise ConfigError('A merchant endpoint is a method and a /v1 path, like '
                              f'"GET /v1/customers/{{id}}", not {item!r}')
        endpoints.append(text)
    return endpoints


def parse_latency(value: Any) -> str | float:
    if value in (None, "none", "off", ""):
        return 0.0
    if value == "realistic":
        return "realistic"
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ConfigError(f"latency is 'realistic' or milliseconds, not {value!r}") from None
    if number < 0:
        raise ConfigError("latency must be >= 0")
    return number


WORDINGS = ("old", "new")
"""The two wordings of Stripe's 403 for a restricted key: naming ``rak_charge_read``, or
``"Prices Read" ('plan_read')``."""


@dataclass(frozen=True)
class ApiKey:
    key: str
    livemode: bool
    permissions: frozenset[str] | None
    """Permissions of a restricted key (``rak_customer_read``...); None for a secret key."""
    wording: str = "old"
    """How its 403s name a missing permission (one of ``WORDINGS``)."""

    @property
    def restricted(self) -> bool:
        return self.permissions is not None


class KeyRing:
    """The keys the emulator accepts."""

    def __init__(self) -> None:
        self.keys: dict[str, ApiKey] = {}
        self.reset()

    def reset(self) -> None:
        self.keys = {
            DEFAULT_TEST_KEY: ApiKey(DEFAULT_TEST_KEY, False, None),
            DEFAULT_LIVE_KEY: ApiKey(DEFAULT_LIVE_KEY, True, None),
        }

    def add(self, key: str, permissions: list[str] | None, wording: str = "old") -> ApiKey:
        """Accept ``key``, replacing any key of that name (how permissions change later)."""
        match = KEY_PATTERN.match(key)
        if not match:
            raise ConfigError("A key looks like sk_test_..., sk_live_..., rk_test_... or "
                              "rk_live_...")
        restricted = match.group(1) == "rk"
        if restricted and permissions is None:
            raise ConfigError("A restricted key needs its list of readable resources "
                              "(permissions)")
        if not restricted and permissions is not None:
            raise ConfigError("Only restricted keys (rk_...) have permissions")
        if wording not in WORDINGS:
            raise ConfigError(f"wording is one of {', '.join(WORDINGS)}, not {wording!r}")
        api_key = ApiKey(key, match.group(2) == "live",
                         frozenset(permissions) if permissions is not None else None, wording)
        self.keys[key] = api_key
        return api_key

    def remove(self, key: str) -> bool:
        return self.keys.pop(key, None) is not None

    def get(self, key: str) -> ApiKey | None:
        return self.keys.get(key)


def mask_key(key: str, visible: int) -> str:
    """A key as Stripe shows it in errors: its prefix, stars, and its last few characters.

    Short keys show fewer characters so that no key is ever echoed whole.
    """
    match = re.match(r"^([a-z]{2}_(?:test|live)_)", key)
    prefix = match.group(1) if match else ""
    rest = key[len(prefix):]
    shown = min(visible, len(rest) // 3)
    hidden = len(rest) - shown
    return prefix + "*" * max(hidden, 4) + (rest[-shown:] if shown else "")
