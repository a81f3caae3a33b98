"""Which accounts a connection reads: listing a platform's accounts, shards, the platform."""

from __future__ import annotations

from typing import Any

from helpers import DAY, NOW, FakeStripe, config

from source_stripe_conduit.accounts import Account, accounts_to_read, in_shard, list_accounts
from source_stripe_conduit.config import parse_config
from source_stripe_conduit.iterator.accounts_state import PLATFORM
from source_stripe_conduit.transport.client import StripeClient


def _account(n: int, created: int | None) -> dict[str, Any]:
    return {"id": f"acct_{n:05d}Q", "object": "account", "created": created}


def _seed(fake: FakeStripe, count: int, spread: int = 900 * DAY) -> list[str]:
    return [fake.add("/v1/accounts", _account(n, NOW - spread + n * spread // count))["id"]
            for n in range(count)]


def test_every_connected_account_is_listed_once(client: StripeClient, fake: FakeStripe) -> None:
    ids = _seed(fake, 1_234)
    found = list_accounts(client)
    assert [a.key for a in found] == sorted(ids)
    assert all(a.created is not None for a in found)
    # Ranges read side by side, not one page after another: a few requests beyond the 13
    # pages of objects (each range ends in a partial page).
    calls = fake.calls("/v1/accounts")
    assert len(calls) <= 13 + 18
    assert sum(1 for c in calls if c.get("created[gte]") or c.get("created[lt]")) > 1


def test_an_account_without_a_created_time_is_listed_too(client: StripeClient,
                                                          fake: FakeStripe) -> None:
    fake.add("/v1/accounts", _account(99_999, None))
    ids = _seed(fake, 300)
    found = {a.key: a for a in list_accounts(client)}
    assert set(found) == {*ids, "acct_99999Q"}
    assert found["acct_99999Q"].created is None


def test_a_platform_without_connected_accounts_lists_none(client: StripeClient,
                                                          fake: FakeStripe) -> None:
    assert list_accounts(client) == []


def test_shards_split_the_accounts_between_them_and_miss_none() -> None:
    ids = [f"acct_{n:05d}Q" for n in range(2_000)]
    shards = [{i for i in ids if in_shard(i, (index, 4))} for index in range(4)]
    assert set().union(*shards) == set(ids)
    assert sum(len(s) for s in shards) == len(ids)
    assert all(400 < len(s) < 600 for s in shards)
    # The same on every run and machine: a fixed answer for a fixed id.
    assert [in_shard("acct_1Example", (i, 4)) for i in range(4)].count(True) == 1


def test_the_configured_accounts_are_read_after_the_platform(client: StripeClient) -> None:
    parsed = parse_config(config(account_ids=["acct_2", "acct_1"]))
    assert accounts_to_read(parsed, client) == [Account(PLATFORM), Account("acct_1"),
                                                Account("acct_2")]
    alone = parse_config(config(account_ids=["acct_2"], include_platform=False))
    assert accounts_to_read(alone, client) == [Account("acct_2")]


def test_a_single_account_connection_reads_its_account(client: StripeClient) -> None:
    assert accounts_to_read(parse_config(config(account_id="acct_7")), client) == [
        Account("acct_7")]
    assert accounts_to_read(parse_config(config()), client) == [Account(PLATFORM)]


def test_all_accounts_of_one_shard_and_the_platform_only_in_shard_zero(
        client: StripeClient, fake: FakeStripe) -> None:
    ids = _seed(fake, 200)
    first = accounts_to_read(parse_config(config(connected_accounts="all",
                                                 account_shard="0/3")), client)
    second = accounts_to_read(parse_config(config(connected_accounts="all",
                                                  account_shard="1/3")), client)
    assert first[0] == Account(PLATFORM) and PLATFORM not in {a.key for a in second}
    assert {a.key for a in first[1:]} == {i for i in ids if in_shard(i, (0, 3))}
    assert {a.key for a in second} == {i for i in ids if in_shard(i, (1, 3))}
