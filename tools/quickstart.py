"""The README's first command: a real sync of a seeded local Stripe emulator.

    python -m tools.quickstart [--scale 1.0]

Starts the emulator with some data, runs the connector's real entry point (snapshot, then change
capture), shows progress while it runs, changes some objects, syncs again from the saved state to
show the changes arriving (deletes as deletes), prints a summary and stops the emulator.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import orjson

from stripe_emulator import EmulatorClient

STREAMS = {"customers": 2000, "products": 300, "prices": 600, "charges": 3000,
           "invoices": 800, "subscriptions": 500, "refunds": 200, "coupons": 50}


def start_emulator(ca_file: Path) -> tuple[subprocess.Popen[str], str]:
    """An emulator of an ordinary account (no Issuing, Identity, Connect), over HTTPS with a
    certificate of its own: the connector trusts it through REQUESTS_CA_BUNDLE."""
    process = subprocess.Popen([sys.executable, "-m", "stripe_emulator", "--port", "0",
                                "--latency", "40", "--tls", "--ca-file", str(ca_file)],
                               stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    url = process.stdout.readline().strip()
    if not url.startswith("http"):
        process.kill()
        raise SystemExit(f"the emulator did not start: {url!r}")
    return process, url


def connector(workdir: Path, *args: str) -> subprocess.Popen[bytes]:
    # The console script installed beside this Python (make runs .venv/bin/python, whose
    # folder need not be on PATH).
    command = str(Path(sys.executable).with_name("source-stripe-conduit"))
    env = {**os.environ, "REQUESTS_CA_BUNDLE": str(workdir / "emulator-ca.pem")}
    return subprocess.Popen([command, *args], stdout=subprocess.PIPE, env=env)


def check(workdir: Path, config: dict[str, Any]) -> None:
    (workdir / "config.json").write_text(json.dumps(config))
    print(f"\n$ source-stripe-conduit check --config {workdir / 'config.json'}")
    child = connector(workdir, "check", "--config", str(workdir / "config.json"))
    out, _ = child.communicate()
    for line in out.splitlines():
        message = orjson.loads(line)
        if message["type"] == "CONNECTION_STATUS":
            status = message["connectionStatus"]
            print(f"  {status['status']}: {status.get('message', '')}")


def sync(workdir: Path, config: dict[str, Any], state: list[dict[str, Any]] | None,
         label: str) -> tuple[Counter[str], Counter[str], list[dict[str, Any]], float]:
    catalog = {"streams": [{
        "stream": {"name": s, "json_schema": {}, "supported_sync_modes": ["incremental"]},
        "sync_mode": "incremental", "destination_sync_mode": "append_dedup"} for s in STREAMS]}
    (workdir / "config.json").write_text(json.dumps(config))
    (workdir / "catalog.json").write_text(json.dumps(catalog))
    args = ["read", "--config", str(workdir / "config.json"),
            "--catalog", str(workdir / "catalog.json")]
    if state:
        (workdir / "state.json").write_text(json.dumps(state))
        args += ["--state", str(workdir / "state.json")]
    print(f"\n$ source-stripe-conduit {' '.join(args)}")
    records: Counter[str] = Counter()
    deletes: Counter[str] = Counter()
    states: dict[str, dict[str, Any]] = {}
    errors: list[str] = []
    started = last = time.monotonic()
    child = connector(workdir, *args)
    assert child.stdout is not None
    for line in child.stdout:
        message = orjson.loads(line)
        kind = message["type"]
        if kind == "RECORD":
            records[message["record"]["stream"]] += 1
            if message["record"]["data"].get("_ab_cdc_deleted_at"):
                deletes[message["record"]["stream"]] += 1
        elif kind == "STATE":
            states[message["state"]["stream"]["stream_descriptor"]["name"]] = message["state"]
        elif kind == "TRACE" and message["trace"].get("type") == "ERROR":
            errors.append(message["trace"]["error"]["message"])
        elif kind == "LOG" and message["log"]["level"] == "WARN":
            print(f"  warning: {message['log']['message']}")
        now = time.monotonic()
        if now - last >= 0.5:
            last = now
            print(f"\r  {label}: {sum(records.values()):>7} records in {now - started:5.1f} s",
                  end="", flush=True)
    child.wait()
    elapsed = time.monotonic() - started
    print(f"\r  {label}: {sum(records.values()):>7} records in {elapsed:5.1f} s")
    if errors or child.returncode:
        raise SystemExit("the sync failed: " + " | ".join(errors))
    return records, deletes, list(states.values()), elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0, help="multiply the seeded counts")
    args = parser.parse_args()
    counts = {s: max(1, int(n * args.scale)) for s, n in STREAMS.items()}
    tmp = tempfile.TemporaryDirectory(prefix="quickstart-")
    workdir = Path(tmp.name)
    emulator, url = start_emulator(workdir / "emulator-ca.pem")
    try:
        control = EmulatorClient(url, ca_file=str(workdir / "emulator-ca.pem"))
        control.configure(rate_limit=True)  # Stripe's test-mode limit: 25 requests/s
        seeded = control.seed(counts, seed=7)
        created = seeded["created"]
        total = sum(created.values()) if isinstance(created, dict) else created
        print(f"Local Stripe emulator at {url}: an ordinary account (no Issuing, Identity or "
              f"Connect), {total} objects seeded, 40 ms per request, Stripe's test-mode rate "
              f"limit (25 requests/s).")
        config = {"secret_key": "sk_test_emulator", "api_base": url, "lag_seconds": 1}
        check(workdir, config)
        records, _, state, elapsed = sync(workdir, config, None, "first sync (snapshot)")
        changed = control.mutate_random(200, seed=8, streams=list(STREAMS))
        print(f"\nMeanwhile in Stripe: {len(changed['events'])} events "
              f"(creates, updates, deletes). Waiting for the 1 s lag to pass...")
        time.sleep(2.5)
        changes, deletes, _, elapsed2 = sync(workdir, config, state, "second sync (CDC) ")
        print("\nstream            first sync   second sync (deletes)   in Stripe now")
        truth = control.ground_truth()
        for stream in STREAMS:
            print(f"{stream:<17} {records[stream]:>10}   {changes[stream]:>6} ({deletes[stream]:>3})"
                  f"{len(truth.get(stream, [])):>20}")
        print(f"\nFirst sync: {sum(records.values())} records in {elapsed:.1f} s "
              f"({sum(records.values()) / elapsed:.0f} records/s at 25 requests/s). "
              f"Second sync: {sum(changes.values())} changes in {elapsed2:.1f} s.")
    finally:
        emulator.terminate()
        emulator.wait(timeout=30)
        tmp.cleanup()


if __name__ == "__main__":
    main()
