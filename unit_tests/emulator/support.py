"""What the emulator's tests share: the API as a client sees it, and quiet settings."""

from __future__ import annotations

from typing import Any

import requests

from stripe_emulator.config import DEFAULT_MERCHANT_ENDPOINTS

TEST_KEY = "sk_test_emulator"
LIVE_KEY = "sk_live_emulator"
# Settings every test starts from: no rate limit, no latency, no faults.
QUIET: dict[str, Any] = {
    "rate_limit": False, "latency": 0, "fault_rate": 0.0, "drop_rate": 0.0,
    "lock_timeout_rate": 0.0, "event_max_delay": 0.0, "per_endpoint_limit_enabled": False,
    "rate_limit_test": 25.0, "rate_limit_live": 100.0, "per_endpoint_limit": 25.0,
    "fault_retry_share": 0.5, "api_version": "2024-06-20", "api_versions": {},
    "profile": "ordinary", "profiles": {}, "many_children_share": 0.05,
    "remove_children_share": 0.0,
    "rate_limit_scope": "platform", "concurrency_limit": None,
    "endpoint_concurrency_limit": None, "merchant_requests_per_second": 0.0,
    "merchant_endpoints": list(DEFAULT_MERCHANT_ENDPOINTS), "merchant_livemode": True,
    "merchant_account": None, "merchant_arrivals": "poisson",
}


class Api:
    """Stripe's API on the emulator, as a client sees it."""

    def __init__(self, url: str, key: str = TEST_KEY) -> None:
        self.url = url
        self.key = key
        self.session = requests.Session()

    def get(self, path: str, params: Any = None, key: str | None = None,
            headers: dict[str, str] | None = None) -> requests.Response:
        all_headers = {"Authorization": f"Bearer {key or self.key}", **(headers or {})}
        return self.session.get(self.url + path, params=params, headers=all_headers,
                                timeout=30)

    def post(self, path: str, data: Any = None, key: str | None = None) -> requests.Response:
        return self.session.post(self.url + path, data=data, timeout=30,
                                 headers={"Authorization": f"Bearer {key or self.key}"})

    def delete(self, path: str) -> requests.Response:
        return self.session.delete(self.url + path, timeout=30,
                                   headers={"Authorization": f"Bearer {self.key}"})

    def ok(self, path: str, params: Any = None, **kwargs: Any) -> dict[str, Any]:
        response = self.get(path, params, **kwargs)
        assert response.status_code == 200, response.text
        data: dict[str, Any] = response.json()
        return data

    def error(self, path: str, params: Any = None, status: int = 400,
              **kwargs: Any) -> dict[str, Any]:
        response = self.get(path, params, **kwargs)
        assert response.status_code == status, response.text
        error: dict[str, Any] = response.json()["error"]
        return error

    def ids(self, path: str, params: Any = None, **kwargs: Any) -> list[str]:
        return [item["id"] for item in self.ok(path, params, **kwargs)["data"]]

    def all_ids(self, path: str, params: dict[str, Any] | None = None) -> list[str]:
        """Every id of a list, paging with starting_after."""
        query = {"limit": 100, **(params or {})}
        ids: list[str] = []
        while True:
            page = self.ok(path, query)
            ids += [item["id"] for item in page["data"]]
            if not page["has_more"]:
                return ids
            query["starting_after"] = ids[-1]
