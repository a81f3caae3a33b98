"""What a route's handler gets and gives: the call, its result, and Stripe's errors."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import orjson
from aiohttp import web

from .catalog import Kind
from .config import ApiKey, Profile, mask_key
from .query import Params
from .render import Renderer
from .store import Dataset

if TYPE_CHECKING:
    from .app import State

DOC_URL = "https://stripe.com/docs/error-codes/"


class ApiError(Exception):
    """An error answered the way Stripe answers it."""

    def __init__(self, status: int, message: str, code: str | None = None,
                 param: str | None = None, error_type: str = "invalid_request_error",
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code
        self.param = param
        self.error_type = error_type
        self.headers = headers or {}

    def body(self) -> bytes:
        error: dict[str, Any] = {}
        if self.code:
            error["code"] = self.code
            error["doc_url"] = DOC_URL + self.code.replace("_", "-")
        error["message"] = self.message
        if self.param:
            error["param"] = self.param
        error["type"] = self.error_type
        return orjson.dumps({"error": error})


class Dropped(Exception):
    """The connection was closed without an answer (an injected fault)."""


@dataclass
class Call:
    """One API request after authentication."""

    request: web.Request
    state: State
    key: ApiKey
    dataset: Dataset
    params: Params
    request_id: str
    now: float
    profile: Profile
    """The profile of the account the call acts on."""
    version: str
    """The API version the answer is rendered in (Stripe-Version, else the account's)."""
    renderer: Renderer
    """Renders the dataset's objects in ``version``."""

    def exists(self, kind: Kind) -> bool:
        """Whether the account can have objects of ``kind`` (a non-platform has no accounts)."""
        return self.profile.serves(kind.product, self.dataset.livemode)


Handler = Callable[[Call, dict[str, str]], "Result"]


@dataclass
class Result:
    body: bytes
    objects: int = 1
    status: int = 200


def no_such(kind_name: str, object_id: str, param: str | None, status: int = 404) -> ApiError:
    return ApiError(status, f"No such {kind_name}: '{object_id}'", "resource_missing", param)


def unknown_param(params: Params, name: str) -> ApiError:
    raw = params.raw.get(name, name)
    return ApiError(400, f"Received unknown parameter: {raw}", "parameter_unknown", raw)



def account_invalid(api_key: ApiKey, account: str) -> ApiError:
    """Stripe's 403 for an account the key cannot reach: unknown, deleted, or disconnected
    from the platform (the text names all three, so it cannot tell them apart either)."""
    return ApiError(
        403,
        f"The provided key '{mask_key(api_key.key, 4)}' does not have access to account "
        f"'{account}' (or that account does not exist). Application access may have been "
        f"revoked.", "account_invalid")
