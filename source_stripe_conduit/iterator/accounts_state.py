"""A stream's state with one position per account: pure encoding and decoding.

A connection reading a platform and its connected accounts keeps, per stream,
``{"accounts": {"platform" | "acct_…": <position>}}``. A position following events (what nearly
every account is at once its snapshot is done) is written as one short string,
``"cdc:<created_at>:<cursor>:<cursor_created>"``, so a stream's state stays small with thousands of
accounts; a snapshot's position keeps the object form of a single-account state (``position.py``).

A state without ``accounts`` (what a single-account connection writes) is the position of the
connection's ``home``: its former ``account_id``, else the platform. So a connection switched from
one account to many goes on from where that account was.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from source_stripe_conduit.iterator.position import CDC, Position, StateError

PLATFORM = "platform"
"""The key of the platform's own position (account ids all begin with acct_)."""
_CDC_PREFIX = "cdc:"
# Beside the positions: the mode of the key that wrote them and the account whose data the
# top-level position is (with many accounts, the platform's).
LIVEMODE = "livemode"
ACCOUNT = "account"
API_VERSION = "api_version"
"""The API version the positions' records were read in (an account upgraded since reads in its
new one: said once, nothing else changes)."""
_IDENTITY = (LIVEMODE, ACCOUNT, API_VERSION)


def encode(position: Position) -> str | dict[str, Any]:
    if position.iterator_type == CDC and not position.ranges and not position.index \
            and position.pending is None:
        created = "" if position.cursor_created is None else str(position.cursor_created)
        return f"{_CDC_PREFIX}{position.created_at}:{position.cursor or ''}:{created}"
    return position.to_state()


def decode(value: Any) -> Position | None:
    if isinstance(value, str):
        parts = value.split(":")
        if len(parts) != 4 or parts[0] + ":" != _CDC_PREFIX:
            raise StateError(f"an account's position must be cdc:<created_at>:<cursor>:"
                             f"<cursor_created> or an object, got {value!r}")
        state: dict[str, Any] = {"iterator_type": CDC, "created_at": _number(parts[1], value),
                                 "cursor": parts[2] or None}
        if parts[3]:
            state["cursor_created"] = _number(parts[3], value)
        return Position.from_state(state)
    if isinstance(value, Mapping):
        return Position.from_state(value)
    raise StateError(f"an account's position must be a string or an object, got {value!r}")


def _number(text: str, value: str) -> int:
    if not text.isdigit():
        raise StateError(f"an account's position has a time that is not a number: {value!r}")
    return int(text)


def positions_of(state: Mapping[str, Any] | None, home: str) -> dict[str, Position]:
    """Each account's saved position (by ``PLATFORM`` or account id). Raises ``StateError``."""
    if not state:
        return {}
    positions: dict[str, Position] = {}
    accounts = state.get("accounts")
    if accounts is not None:
        if not isinstance(accounts, Mapping):
            raise StateError("state accounts must map account ids to positions")
        for key, value in accounts.items():
            if key != PLATFORM and not str(key).startswith("acct_"):
                raise StateError(f"state accounts has a key {key!r} that is neither "
                                 f"'{PLATFORM}' nor an account id")
            position = decode(value)
            if position is not None:
                positions[str(key)] = position
    single = {k: v for k, v in state.items() if k != "accounts" and k not in _IDENTITY}
    if single and home not in positions:
        position = Position.from_state(single)
        if position is not None:
            positions[home] = position
    return positions


def state_of(positions: Mapping[str, Position]) -> dict[str, Any]:
    return {"accounts": {key: encode(positions[key]) for key in sorted(positions)}}


def identity_problem(state: Mapping[str, Any] | None, *, livemode: bool,
                     account: str | None) -> str | None:
    """Why ``state`` is not this connection's (None: it is, or it does not say). ``account`` is
    the account whose data the state's top level would be now (None: not known)."""
    if not state:
        return None
    saved_mode = state.get(LIVEMODE)
    if isinstance(saved_mode, bool) and saved_mode != livemode:
        return (f"it was written with a {_mode(saved_mode)} key and this connection now uses a "
                f"{_mode(livemode)} key: its positions belong to the other mode's data")
    saved_account = state.get(ACCOUNT)
    if isinstance(saved_account, str) and account and saved_account != account:
        return (f"it holds the data of account {saved_account} and this connection now reads "
                f"account {account}: its positions belong to the other account's data")
    return None


def _mode(livemode: bool) -> str:
    return "live-mode" if livemode else "test mode"


def with_identity(state: dict[str, Any], *, livemode: bool, account: str | None,
                  version: str | None = None) -> dict[str, Any]:
    """``state`` saying whose it is, and in which API version it was read (an empty state
    stays empty)."""
    if not state:
        return state
    state[LIVEMODE] = livemode
    if account:
        state[ACCOUNT] = account
    if version:
        state[API_VERSION] = version
    return state
