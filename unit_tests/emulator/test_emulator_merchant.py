"""The merchant's own traffic: drawn inside the emulator on the limits a client reads under.

Timings are loose on purpose: the tests share two cores with whatever else runs.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import requests

from stripe_emulator import Emulator, EmulatorClient
from stripe_emulator.control import ControlError

from .support import LIVE_KEY, QUIET, Api

REPO = Path(__file__).resolve().parents[2]


def merchant(control: EmulatorClient) -> dict[str, object]:
    stats: dict[str, object] = control.stats()["merchant"]
    return stats


def flood(api: Api, seconds: float, path: str = "/v1/customers", key: str = LIVE_KEY,
          ) -> list[int]:
    """As many requests as one client gets through in ``seconds``, one after the other."""
    codes = []
    ends = time.monotonic() + seconds
    while time.monotonic() < ends:
        codes.append(api.get(path, key=key).status_code)
    return codes


def test_merchant_requests_come_at_the_rate_set_and_apart_from_the_clients(
        control: EmulatorClient) -> None:
    control.configure(merchant_requests_per_second=50, merchant_arrivals="even")
    control.reset_stats()
    started = time.monotonic()
    time.sleep(1.0)
    stats = control.stats()
    expected = 50 * (time.monotonic() - started)
    count = stats["merchant"]["requests"]
    assert 0.6 * expected <= count <= 1.4 * expected + 2, (count, expected)
    # Without rate limiting nothing is refused; none of it is the client's.
    assert stats["merchant"]["refused"] == 0 and stats["merchant"]["refused_by_reason"] == {}
    assert stats["requests"] == 0 and stats["in_flight"] == 0
    assert stats["rate_limit"]["merchant_per_second"] == 50


def test_a_client_flooding_the_account_gets_the_merchant_refused(
        api: Api, control: EmulatorClient) -> None:
    # 15/s of the merchant's fit a 20/s budget; a client taking all it can leaves them only
    # the tokens it does not reach first.
    control.configure(rate_limit=True, rate_limit_live=20, merchant_requests_per_second=15,
                      merchant_arrivals="even")
    control.reset_stats()
    codes = flood(api, 0.8)
    stats = control.stats()
    refused = stats["merchant"]["refused"]
    assert stats["merchant"]["requests"] >= 5
    assert refused >= 1, stats["merchant"]
    assert stats["merchant"]["refused_by_reason"] == {"global-rate": refused}
    assert 429 in codes
    assert stats["rate_limited_by_reason"] == {"global-rate": codes.count(429)}


def test_the_merchant_meets_a_client_on_an_endpoint(api: Api, control: EmulatorClient) -> None:
    customer = control.seed({"customers": 1}, seed=5, livemode=True) and \
        api.ids("/v1/customers", key=LIVE_KEY)[0]
    # "{id}" is any id: the merchant's retrieves share the client's endpoint bucket.
    control.configure(rate_limit=True, rate_limit_live=10000, per_endpoint_limit_enabled=True,
                      per_endpoint_limit=10, merchant_requests_per_second=15,
                      merchant_endpoints=["GET /v1/customers/{id}"])
    control.reset_stats()
    codes = flood(api, 0.8, f"/v1/customers/{customer}")
    stats = control.stats()
    refused = stats["merchant"]["refused"]
    assert refused >= 1, stats["merchant"]
    assert stats["merchant"]["refused_by_reason"] == {"endpoint-rate": refused}
    assert stats["rate_limited_by_reason"] == {"endpoint-rate": codes.count(429)}


def test_a_client_on_another_budget_leaves_the_merchant_alone(
        api: Api, control: EmulatorClient) -> None:
    # The merchant spends the live budget; the client's test key, the test one.
    control.configure(rate_limit=True, rate_limit_live=30, rate_limit_test=30,
                      merchant_requests_per_second=20)
    control.reset_stats()
    flood(api, 0.4, key="sk_test_emulator")
    # The merchant spends another account's budget than the client's live key.
    control.configure(merchant_account="acct_1OtherShop")
    flood(api, 0.4)
    stats = control.stats()
    assert stats["merchant"]["requests"] >= 4 and stats["merchant"]["refused"] == 0, \
        stats["merchant"]
    assert stats["rate_limited"] > 0


def test_slow_client_requests_hold_the_merchant_off_and_the_merchant_the_client(
        api: Api, control: EmulatorClient) -> None:
    # Every 200 ms, each in flight for a retrieve's time (~80 ms): never two of its own at
    # once, so what refuses it is the client's two slow requests taking both places.
    control.configure(rate_limit=True, rate_limit_live=1000, concurrency_limit=2,
                      latency=800, merchant_requests_per_second=5, merchant_arrivals="even")
    control.reset_stats()
    slow = [threading.Thread(target=api.get, args=("/v1/customers",),
                             kwargs={"key": LIVE_KEY}) for _ in range(2)]
    for thread in slow:
        thread.start()
    for thread in slow:
        thread.join()
    stats = merchant(control)
    assert stats["refused"] >= 1, stats
    assert stats["refused_by_reason"] == {"global-concurrency": stats["refused"]}
    # The other way: at 60/s the merchant has its one place taken most of the time (80 ms
    # held, the next one ~16 ms later), and a client allowed the same place finds it taken.
    control.configure(concurrency_limit=1, latency=0, merchant_requests_per_second=60,
                      merchant_arrivals="poisson")
    time.sleep(0.2)
    # Asked until refused once (at most 200 times): on a loaded machine the client's own
    # requests can be slow enough to miss the merchant's place many times in a row.
    refusals: list[str | None] = []
    for _ in range(200):
        response = api.get("/v1/customers", key=LIVE_KEY)
        if response.status_code == 429:
            refusals.append(response.headers.get("Stripe-Rate-Limited-Reason"))
            break
    assert "global-concurrency" in refusals
    assert set(refusals) == {"global-concurrency"}


def test_rate_0_stops_it_and_reset_clears_its_counts(control: EmulatorClient) -> None:
    control.configure(merchant_requests_per_second=100)
    time.sleep(0.3)
    control.configure(merchant_requests_per_second=0)
    stopped = merchant(control)["requests"]
    assert stopped > 0
    time.sleep(0.4)
    assert merchant(control)["requests"] == stopped
    control.reset_stats()
    assert merchant(control) == {"requests": 0, "refused": 0, "refused_by_reason": {}}
    control.configure(merchant_requests_per_second=100)
    time.sleep(0.2)
    control.configure(merchant_requests_per_second=0)
    assert merchant(control)["requests"] > 0
    control.reset()  # the whole reset too
    assert merchant(control)["requests"] == 0


def test_merchant_settings_are_checked(control: EmulatorClient) -> None:
    for wrong in ([], ["/v2/customers"], ["FETCH /v1/customers"], "GET /v1/customers", [3]):
        with pytest.raises(ControlError, match="merchant"):
            control.configure(merchant_endpoints=wrong)
    # A bare path is a GET.
    assert control.configure(merchant_endpoints=["/v1/charges/ch_1"])[
        "merchant_endpoints"] == ["GET /v1/charges/ch_1"]
    with pytest.raises(ControlError, match="merchant_account"):
        control.configure(merchant_account="cus_1")
    with pytest.raises(ControlError, match="merchant_arrivals"):
        control.configure(merchant_arrivals="bursty")
    with pytest.raises(ControlError, match=">= 0"):
        control.configure(merchant_requests_per_second=-1)


def test_the_merchant_ends_with_the_emulator() -> None:
    emulator = Emulator(port=0, **{**QUIET, "merchant_requests_per_second": 200,
                                   "rate_limit": True, "concurrency_limit": 50})
    with emulator:
        thread, task = emulator._thread, emulator.state.merchant.task
        assert thread is not None and task is not None and emulator.state.merchant.running
        time.sleep(0.2)
        assert emulator.client.stats()["merchant"]["requests"] > 0
    assert not thread.is_alive()
    assert task.done() and not emulator.state.merchant.running
    # Its requests in flight were let go with it, so the same state starts clean again.
    assert emulator.state.limiter.in_flight == {}
    with emulator:
        time.sleep(0.1)
        assert emulator.state.merchant.running
    assert not emulator.state.merchant.running


def test_the_command_line_runs_merchant_traffic_and_stops_with_it() -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "stripe_emulator", "--port", "0", "--merchant-rps", "100",
         "--concurrency-limit", "4", "--merchant-mode", "test",
         "--merchant-endpoints", "GET /v1/customers/{id},GET /v1/charges/{id}"],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        url = process.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:"), process.stderr.read() if process.stderr \
            else url
        config = requests.get(f"{url}/_emulator/config", timeout=10).json()
        assert config["merchant_requests_per_second"] == 100
        assert config["concurrency_limit"] == 4 and config["merchant_livemode"] is False
        assert len(config["merchant_endpoints"]) == 2
        deadline = time.monotonic() + 5
        while requests.get(f"{url}/_emulator/stats", timeout=10).json()[
                "merchant"]["requests"] == 0:
            assert time.monotonic() < deadline
            time.sleep(0.05)
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=10)
    assert process.returncode == 0
