"""A stream's positions, one per account it reads, and the state messages that carry them.

A single-account connection writes the one position as today's state; a connection of many
accounts writes them all (``iterator/accounts_state.py``). A state goes out whenever a position
moves, holding every position as it is at that moment, so a state never runs ahead of the
records before it; with many accounts at most one per ``MANY_ACCOUNTS_INTERVAL`` (each holds every
account, and a thousand accounts' pages would otherwise each write a thousand positions), and
always at the end of the stream.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from airbyte_cdk.models import FailureType
from airbyte_cdk.sources.connector_state_manager import ConnectorStateManager
from airbyte_cdk.utils.traced_exception import AirbyteTracedException

from source_stripe_conduit.iterator.accounts_state import (
    ACCOUNT,
    API_VERSION,
    identity_problem,
    positions_of,
    state_of,
    with_identity,
)
from source_stripe_conduit.iterator.position import Position, StateError
from source_stripe_conduit.messages import StreamMessages

MANY_ACCOUNTS_INTERVAL = 1.0


@dataclass(frozen=True)
class Owner:
    """Whose data a stream's state is: the key's mode and the account read. A state of another
    mode or account is refused (a config error asking for a reset), not resumed: a live key
    following a test state's time would never snapshot, and its rows would mix with the test
    data already in the destination."""

    livemode: bool
    account_id: str | None = None
    """The configured account (``account_id``), whose position a single-account state is."""
    platform: Callable[[bool], str | None] = lambda wait: None
    """The key's own account's id (None: not readable); ``wait`` for the lookup or not."""
    version: Callable[[], str | None] = lambda: None
    """The API version the state's top-level account is read in (None: not known yet)."""
    upgraded: Callable[[str, str], None] = lambda before, now: None
    """Told once a state read in one version is read on in another (the account upgraded)."""

    def account(self, many: bool, wait: bool) -> str | None:
        """The account a state's top level is: the platform's with many accounts."""
        own = None if many else self.account_id
        return own or self.platform(wait)


class StreamState:
    def __init__(self, stream: str, messages: StreamMessages,
                 state_manager: ConnectorStateManager, *, home: str, many: bool,
                 owner: Owner | None = None) -> None:
        self._stream = stream
        self._owner = owner
        self._messages = messages
        self._state_manager = state_manager
        self._home = home
        self._many = many
        self._lock = threading.Lock()
        self._positions: dict[str, Position] = {}
        self._sources: dict[str, Callable[[], Position | None]] = {}
        self._loaded = False
        self._saved_version: str | None = None
        self._last_emit = 0.0
        self._unsaid = True  # a position moved since the last state went out

    def saved(self) -> dict[str, Position]:
        """Every account's saved position; a state that is not one is a config error."""
        self._load()
        with self._lock:
            return dict(self._positions)

    def saved_position(self, key: str) -> Position | None:
        """One account's saved position (a lane's start: no copy of every account's)."""
        self._load()
        with self._lock:
            return self._positions.get(key)

    def _load(self) -> None:
        with self._lock:
            if self._loaded:
                return
            raw = self._state_manager.get_stream_state(self._stream, None)
        try:
            self._check_owner(raw)
            positions = positions_of(raw, self._home)
        except StateError as error:
            raise AirbyteTracedException(
                message=f"Stream '{self._stream}': the saved state cannot be resumed: "
                        f"{error}. Reset this stream's state to read it again from the start.",
                failure_type=FailureType.config_error) from error
        with self._lock:
            if not self._loaded:
                self._positions, self._loaded = positions, True
                version = raw.get(API_VERSION) if raw else None
                self._saved_version = version if isinstance(version, str) else None

    def _check_owner(self, raw: Mapping[str, Any] | None) -> None:
        """Outside the lock: knowing the key's own account may wait for the account lookup
        (only when the state names an account that the configuration does not)."""
        if self._owner is None or not raw:
            return
        many = self._many and "accounts" in raw
        account = self._owner.account(many, wait=ACCOUNT in raw)
        problem = identity_problem(raw, livemode=self._owner.livemode, account=account)
        if problem:
            raise StateError(problem)

    def follow(self, key: str, current: Callable[[], Position | None]) -> None:
        """From now on ``key``'s position is ``current()`` (read under this lock)."""
        with self._lock:
            self._sources[key] = current

    def release(self, key: str) -> None:
        """``key``'s read is over: its last position is kept as it is."""
        with self._lock:
            source = self._sources.pop(key, None)
            position = source() if source else None
            if position is not None:
                self._positions[key] = position

    def moved(self, *, force: bool = False) -> None:
        """A position moved: a state message, unless one went out too recently (``force``:
        now, if anything moved since the last one)."""
        with self._lock:
            now = time.monotonic()
            if self._many:
                self._unsaid = self._unsaid or not force
                if not self._unsaid or (not force
                                        and now - self._last_emit < MANY_ACCOUNTS_INTERVAL):
                    return
            self._last_emit, self._unsaid = now, False
            self._messages.publish(self._state_manager, self._current())

    def current(self) -> Mapping[str, Any]:
        with self._lock:
            return self._current()

    def _current(self) -> dict[str, Any]:
        positions = dict(self._positions)
        for key, source in self._sources.items():
            position = source()
            if position is not None:
                positions[key] = position
        state = state_of(positions) if self._many else (
            positions[self._home].to_state() if self._home in positions else {})
        if self._owner is None:
            return state
        version = self._owner.version()
        if version and self._saved_version and version != self._saved_version:
            self._owner.upgraded(self._saved_version, version)
            self._saved_version = version
        return with_identity(state, livemode=self._owner.livemode,
                             account=self._owner.account(self._many, wait=False),
                             version=version)
