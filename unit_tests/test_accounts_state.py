"""One position per account in a stream's state: compact, and a single-account state carried over."""

from __future__ import annotations

import json

import pytest

from source_stripe_conduit.iterator.accounts_state import (
    PLATFORM,
    decode,
    encode,
    positions_of,
    state_of,
)
from source_stripe_conduit.iterator.position import CDC, SNAPSHOT, Position, Range, StateError

NOW = 1_718_841_600
FOLLOWING = Position(CDC, NOW, "evt_1PabcdefghijklmnopqrstuV", cursor_created=NOW - 30)


def test_a_position_following_events_is_one_short_string() -> None:
    assert encode(FOLLOWING) == f"cdc:{NOW}:evt_1PabcdefghijklmnopqrstuV:{NOW - 30}"
    assert len(json.dumps(encode(FOLLOWING))) < 60
    assert decode(encode(FOLLOWING)) == FOLLOWING
    assert decode(encode(Position.cdc(NOW))) == Position.cdc(NOW)


def test_a_snapshot_position_keeps_the_object_form() -> None:
    snapshot = Position(SNAPSHOT, NOW, "cus_1", ranges=(Range(lt=NOW, cursor="cus_1"),))
    assert encode(snapshot) == snapshot.to_state()
    assert decode(encode(snapshot)) == snapshot


def test_every_accounts_position_comes_back() -> None:
    positions = {PLATFORM: FOLLOWING, "acct_1": Position.cdc(NOW - 5),
                 "acct_2": Position.snapshot(NOW, Range())}
    state = json.loads(json.dumps(state_of(positions)))
    assert positions_of(state, home=PLATFORM) == positions


def test_a_single_account_state_is_the_position_of_the_former_account_id() -> None:
    single = FOLLOWING.to_state()
    assert positions_of(single, home="acct_9") == {"acct_9": FOLLOWING}
    assert positions_of(single, home=PLATFORM) == {PLATFORM: FOLLOWING}


def test_an_accounts_own_entry_wins_over_the_single_account_keys() -> None:
    state = {**Position.cdc(NOW - 99).to_state(), "accounts": {"acct_9": encode(FOLLOWING)}}
    assert positions_of(state, home="acct_9") == {"acct_9": FOLLOWING}


@pytest.mark.parametrize("bad", [
    {"accounts": []},
    {"accounts": {"cus_1": f"cdc:{NOW}::"}},
    {"accounts": {"acct_1": "snapshot:1:2:3"}},
    {"accounts": {"acct_1": "cdc:soon::"}},
    {"accounts": {"acct_1": 7}},
])
def test_a_state_that_is_not_one_position_per_account_is_refused(bad: dict[str, object]) -> None:
    with pytest.raises(StateError):
        positions_of(bad, home=PLATFORM)


def test_no_state_is_no_position() -> None:
    assert positions_of(None, PLATFORM) == {} == positions_of({}, PLATFORM)
