"""``python -m stripe_emulator`` starts a seeded server and prints its URL when ready."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import requests

REPO = Path(__file__).resolve().parents[2]


def test_the_command_line_serves_a_seeded_emulator() -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "stripe_emulator", "--port", "0", "--seed",
         "customers=30,charges=20", "--random-seed", "42", "--no-rate-limit",
         "--event-delay", "0", "--api-version", "2025-03-31.basil"],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        url = process.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:"), process.stderr.read() if process.stderr \
            else url
        response = requests.get(f"{url}/v1/customers", params={"limit": 100},
                                auth=("sk_test_emulator", ""), timeout=10)
        assert response.status_code == 200
        assert len(response.json()["data"]) == 30
        assert response.headers["Stripe-Version"] == "2025-03-31.basil"
        config = requests.get(f"{url}/_emulator/config", timeout=10).json()
        assert config["rate_limit"] is False and config["api_version"] == "2025-03-31.basil"
    finally:
        process.terminate()
        process.wait(timeout=10)
    assert process.returncode == 0
