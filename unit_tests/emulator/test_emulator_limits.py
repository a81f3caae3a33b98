"""Rate limits, latency, injected faults and the request statistics."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from threading import Barrier

import pytest
import requests

from stripe_emulator import EmulatorClient
from stripe_emulator.control import ControlError

from .support import LIVE_KEY, TEST_KEY, Api


def statuses(api: Api, count: int, path: str = "/v1/customers", key: str | None = None,
             ) -> list[int]:
    return [api.get(path, key=key).status_code for _ in range(count)]


def test_over_the_rate_limit_is_429_with_should_retry(api: Api,
                                                      control: EmulatorClient) -> None:
    control.configure(rate_limit=True, rate_limit_test=5)
    codes = statuses(api, 12)
    assert codes[:5] == [200] * 5  # one second of burst
    assert 429 in codes[5:]
    response = api.get("/v1/customers")
    assert response.status_code == 429
    assert response.headers["Stripe-Should-Retry"] == "true"
    assert response.headers["Stripe-Rate-Limited-Reason"] == "global-rate"
    assert response.json()["error"] == {
        "code": "rate_limit", "doc_url": "https://stripe.com/docs/error-codes/rate-limit",
        "message": "Too many requests hit the API too quickly. We recommend an exponential "
                   "backoff of your requests.",
        "type": "invalid_request_error"}
    time.sleep(0.45)  # the bucket refills at 5/s
    assert api.get("/v1/customers").status_code == 200
    stats = control.stats()
    assert stats["rate_limited"] >= 2
    assert stats["rate_limited_by_reason"] == {"global-rate": stats["rate_limited"]}


def test_live_keys_have_their_own_higher_limit(api: Api, control: EmulatorClient) -> None:
    control.configure(rate_limit=True, rate_limit_test=3, rate_limit_live=8)
    assert statuses(api, 4)[-1] == 429
    live = statuses(api, 8, key=LIVE_KEY)
    assert live == [200] * 8
    assert api.get("/v1/customers", key=LIVE_KEY).status_code == 429


def test_per_endpoint_limit(api: Api, control: EmulatorClient) -> None:
    control.configure(rate_limit=True, rate_limit_test=100, per_endpoint_limit_enabled=True,
                      per_endpoint_limit=3)
    assert statuses(api, 3, "/v1/customers") == [200] * 3
    refused = api.get("/v1/customers")
    assert refused.status_code == 429
    assert refused.headers["Stripe-Rate-Limited-Reason"] == "endpoint-rate"
    assert refused.json()["error"]["code"] == "rate_limit"
    assert statuses(api, 3, "/v1/charges") == [200] * 3
    assert control.stats()["rate_limited_by_reason"] == {"endpoint-rate": 1}
    control.configure(rate_limit=False)
    assert statuses(api, 10, "/v1/customers") == [200] * 10


def test_lock_timeout(api: Api, control: EmulatorClient) -> None:
    control.configure(lock_timeout_rate=1.0)
    response = api.get("/v1/customers")
    assert response.status_code == 429
    assert response.json()["error"]["code"] == "lock_timeout"
    assert response.headers["Stripe-Should-Retry"] == "true"
    # Stripe: "If a request returns a 429 status code without these headers, it wasn't the
    # result of a rate limiter (for example, it may be a lock timeout)".
    assert "Stripe-Rate-Limited-Reason" not in response.headers
    stats = control.stats()
    assert stats["lock_timeouts"] == 1 and stats["rate_limited"] == 0


def at_once(url: str, paths: list[str], key: str = TEST_KEY) -> list[requests.Response]:
    """The requests sent together, each on its own connection, all answered."""
    barrier = Barrier(len(paths))

    def one(path: str) -> requests.Response:
        barrier.wait(timeout=10)
        return requests.get(f"{url}{path}", auth=(key, ""), timeout=30)

    with ThreadPoolExecutor(len(paths)) as pool:
        return list(pool.map(one, paths))


def test_a_concurrency_limit_refuses_requests_beyond_those_in_flight(
        api: Api, control: EmulatorClient) -> None:
    # Slow answers keep the first ones in flight while the rest arrive (generous on a loaded
    # machine: the five need only start within a second of each other).
    control.configure(rate_limit=True, rate_limit_test=100, concurrency_limit=2, latency=1000)
    answers = at_once(api.url, ["/v1/customers"] * 5)
    codes = [answer.status_code for answer in answers]
    assert codes.count(200) >= 2 and codes.count(429) >= 1, codes
    for answer in answers:
        if answer.status_code == 429:
            assert answer.headers["Stripe-Rate-Limited-Reason"] == "global-concurrency"
            assert answer.headers["Stripe-Should-Retry"] == "true"
            assert answer.json()["error"]["code"] == "rate_limit"
    stats = control.stats()
    assert stats["rate_limited_by_reason"] == {"global-concurrency": codes.count(429)}
    assert stats["rate_limit"]["concurrency"] == 2
    # Answered requests free their slots; refused ones never held one.
    control.configure(latency=0)
    assert statuses(api, 3) == [200] * 3


def test_an_endpoint_concurrency_limit_leaves_other_endpoints_alone(
        api: Api, control: EmulatorClient) -> None:
    control.configure(rate_limit=True, rate_limit_test=100, endpoint_concurrency_limit=1,
                      latency=1000)
    answers = at_once(api.url, ["/v1/customers"] * 3 + ["/v1/charges"])
    customers = [answer.status_code for answer in answers[:3]]
    assert customers.count(200) >= 1 and customers.count(429) >= 1, customers
    assert {answer.headers["Stripe-Rate-Limited-Reason"] for answer in answers[:3]
            if answer.status_code == 429} == {"endpoint-concurrency"}
    assert answers[3].status_code == 200
    assert control.stats()["rate_limited_by_reason"] == {
        "endpoint-concurrency": customers.count(429)}


def test_concurrency_limits_are_off_without_rate_limiting(api: Api,
                                                          control: EmulatorClient) -> None:
    control.configure(rate_limit=False, concurrency_limit=1, latency=300)
    codes = [answer.status_code for answer in at_once(api.url, ["/v1/customers"] * 3)]
    assert codes == [200] * 3


def test_concurrency_limits_are_validated(control: EmulatorClient) -> None:
    for wrong in (0, -1, 1.5, True, "2"):
        with pytest.raises(ControlError, match="concurrency_limit is a number of requests"):
            control.configure(concurrency_limit=wrong)
    assert control.configure(endpoint_concurrency_limit=3)["endpoint_concurrency_limit"] == 3
    assert control.configure(endpoint_concurrency_limit=None)["endpoint_concurrency_limit"] \
        is None


def test_faults_are_500_api_errors(api: Api, control: EmulatorClient) -> None:
    control.configure(fault_rate=1.0, fault_retry_share=1.0)
    response = api.get("/v1/customers")
    assert response.status_code == 500
    assert response.json()["error"]["type"] == "api_error"
    assert response.headers["Stripe-Should-Retry"] == "true"
    assert response.headers["Request-Id"].startswith("req_")
    control.configure(fault_retry_share=0.0)
    assert "Stripe-Should-Retry" not in api.get("/v1/customers").headers
    control.configure(fault_rate=0.2)
    codes = statuses(api, 100)
    assert 5 <= codes.count(500) <= 40 and codes.count(200) == 100 - codes.count(500)
    assert control.stats()["faults"] >= 2 + codes.count(500)


def test_dropped_connections_get_no_answer(api: Api, control: EmulatorClient) -> None:
    control.configure(drop_rate=1.0)
    with pytest.raises(requests.ConnectionError):
        api.get("/v1/customers")
    control.configure(drop_rate=0.0)
    assert api.get("/v1/customers").status_code == 200
    assert control.stats()["drops"] == 1


def test_latency_is_slept_concurrently(emulator: object, api: Api,
                                       control: EmulatorClient) -> None:
    control.configure(latency=150)
    url = api.url

    def one(_: int) -> float:
        started = time.perf_counter()
        response = requests.get(f"{url}/v1/customers", auth=(api.key, ""), timeout=10)
        assert response.status_code == 200
        return time.perf_counter() - started

    started = time.perf_counter()
    with ThreadPoolExecutor(20) as pool:
        durations = list(pool.map(one, range(20)))
    total = time.perf_counter() - started
    assert min(durations) >= 0.15
    assert total < 0.9  # 20 x 150 ms would take 3 s one after the other
    assert control.stats()["peak_concurrency"] >= 5


def test_realistic_latency_grows_with_the_page(api: Api, control: EmulatorClient) -> None:
    control.seed({"customers": 100}, seed=1)
    control.configure(latency="realistic")
    started = time.perf_counter()
    api.get("/v1/customers", {"limit": 100})
    page = time.perf_counter() - started
    started = time.perf_counter()
    api.get("/v1/customers", {"limit": 1})
    small = time.perf_counter() - started
    assert 0.25 <= page <= 0.45 and 0.06 <= small <= 0.15


def test_stats_count_requests_by_endpoint_and_status(api: Api,
                                                     control: EmulatorClient) -> None:
    control.reset_stats()
    control.seed({"customers": 1}, seed=2)
    customer = api.ids("/v1/customers")[0]
    api.get(f"/v1/customers/{customer}")
    api.get("/v1/customers/cus_nope")
    api.get("/v1/nowhere")
    stats = control.stats()
    assert stats["requests"] == 4
    assert stats["by_endpoint"]["GET /v1/customers"] == 1
    assert stats["by_endpoint"]["GET /v1/customers/{customer}"] == 2
    assert stats["by_status"] == {"200": 2, "404": 2}
    assert stats["peak_concurrency"] >= 1 and stats["in_flight"] == 0
    control.reset_stats()
    assert control.stats()["requests"] == 0


def test_stats_tell_how_full_each_answer_was_and_when_requests_came(
        api: Api, control: EmulatorClient) -> None:
    control.seed({"customers": 5}, seed=3)
    control.reset_stats()
    before = time.monotonic()
    api.get("/v1/customers", {"limit": 3})
    api.get("/v1/customers", {"limit": 3, "created[gte]": 1})  # all 5 are newer: 3 again
    api.get("/v1/customers", {"limit": 3, "created[lt]": 1})
    after = time.monotonic()
    stats = control.stats()
    assert stats["objects_per_answer"] == {"0": 1, "3": 2}
    assert sum(stats["per_second"]) == 3
    # The system-wide monotonic clock: comparable with a benchmark's own in another process.
    assert before <= stats["first_request_at"] <= stats["last_response_at"] <= after
