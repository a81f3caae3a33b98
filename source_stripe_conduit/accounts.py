"""Which accounts a connection reads: the platform, the configured connected accounts, or all of
them listed from ``/v1/accounts``, and of those the connection's shard.

A platform can have tens of thousands of connected accounts: a serial scan of ``/v1/accounts``
takes an hour at that size. The list is read as a snapshot is, in ``created`` ranges side by side:
the first page tells how densely accounts were created, the rest is cut into ranges of equal
expected size, and each range is paged on its own.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from source_stripe_conduit.config import Config
from source_stripe_conduit.iterator.accounts_state import PLATFORM
from source_stripe_conduit.iterator.planning import split
from source_stripe_conduit.iterator.position import SNAPSHOT, Position, Range
from source_stripe_conduit.iterator.snapshot import SnapshotPage, read_range_page
from source_stripe_conduit.resources import BY_STREAM
from source_stripe_conduit.transport.client import FAN_OUT_REQUESTS, StripeClient
from source_stripe_conduit.transport.errors import StripeError

ACCOUNTS = BY_STREAM["accounts"]
# Where the oldest range is cut: no connected account predates Stripe Connect (2012).
CONNECT_LAUNCHED = 1325376000


@dataclass(frozen=True, order=True)
class Account:
    key: str
    """``PLATFORM`` or the connected account's id: the key of its position in a state."""
    created: int | None = None
    """When Stripe created it, if known: no object of the account is older."""

    @property
    def id(self) -> str | None:
        """The id sent as Stripe-Account; None for the platform (no header)."""
        return None if self.key == PLATFORM else self.key


def in_shard(account_id: str, shard: tuple[int, int] | None) -> bool:
    """Whether ``account_id`` is read by shard ``(i, n)``: a hash that is the same on every
    machine and every run (Python's own ``hash`` of a string is not)."""
    if shard is None:
        return True
    index, count = shard
    digest = hashlib.sha256(account_id.encode()).digest()
    return int.from_bytes(digest[:8], "big") % count == index


def home_key(config: Config) -> str:
    """Whose position a single-account state holds: the configured account's, else the
    platform's."""
    return config.account_id or PLATFORM


def accounts_to_read(config: Config, client: StripeClient) -> list[Account]:
    """The accounts this connection reads in this sync, the platform first."""
    if not config.many_accounts:
        return [Account(home_key(config))]
    shard = config.account_shard
    platform = [Account(PLATFORM)] if config.include_platform and (shard is None
                                                                   or shard[0] == 0) else []
    if config.connected_accounts == "all":
        connected = list_accounts(client)
    else:
        connected = [Account(account_id) for account_id in config.account_ids]
    if config.account_id and config.account_id not in {a.key for a in connected}:
        # The account of a former single-account connection, whose state it goes on from.
        connected.append(Account(config.account_id))
    return platform + sorted(a for a in connected if in_shard(a.key, shard))


def refused(client: StripeClient, accounts: Sequence[Account]) -> dict[str, str]:
    """The accounts Stripe does not let this key act on, with Stripe's words, side by side
    (``GET /v1/account`` as each; a key lacking that endpoint's permission refuses nothing)."""
    def ask(account_id: str) -> str | None:
        try:
            client.for_account(account_id).get(ACCOUNTS.stream, "/v1/account")
        except StripeError as error:
            if error.account_refused:
                return error.stripe_message
        return None

    answers = client.fan_out(ask, [a.key for a in accounts if a.id is not None])
    return {key: text for key, text in answers.items() if text is not None}


def list_accounts(client: StripeClient, batch_size: int = 100) -> list[Account]:
    """Every connected account of the platform, by ``created`` ranges read side by side
    (``client`` acting as the platform)."""
    found: dict[str, Account] = {}
    position = Position.snapshot(0, Range())
    densities: dict[Range, float] = {}
    while position.ranges:
        pieces = list(position.ranges)

        def read(piece: Range) -> SnapshotPage:
            return read_range_page(client, ACCOUNTS, piece, batch_size=batch_size,
                                   observed_at=0)

        pages = client.fan_out(read, pieces)
        for piece in pieces:
            page = pages[piece]
            found.update((a.key, a) for a in map(_account_of, page.records))
            position = position.with_range(piece, page.remaining)
            if page.remaining is not None and page.seconds_per_object:
                densities[page.remaining] = page.seconds_per_object
        if position.iterator_type != SNAPSHOT:
            break
        densities = {r: d for r, d in densities.items() if r in position.ranges}
        cut = split(position, densities, target=FAN_OUT_REQUESTS, busy=(),
                    floor=CONNECT_LAUNCHED, batch_size=batch_size)
        position, densities = cut.position, cut.seconds_per_object
    dated = [a for a in found.values() if a.created is not None]
    if dated:
        # An account without a created time matches no created filter: Stripe lists such
        # accounts after every dated one, so the unfiltered list after the oldest holds them.
        oldest = min(dated, key=lambda a: (a.created, a.key))
        found.update((a.key, a) for a in _listed_after(client, oldest.key, batch_size))
    return sorted(found.values())


def _account_of(obj: Mapping[str, Any]) -> Account:
    created = obj.get("created")
    return Account(obj["id"], int(created) if isinstance(created, int | float) else None)


def _listed_after(client: StripeClient, account_id: str, batch_size: int) -> list[Account]:
    accounts: list[Account] = []
    cursor = account_id
    while True:
        page = client.list_page(ACCOUNTS.stream, ACCOUNTS.path,
                                [("limit", batch_size), ("starting_after", cursor)])
        accounts.extend(map(_account_of, page.data))
        if not page.has_more or not page.data:
            return accounts
        cursor = page.data[-1]["id"]
