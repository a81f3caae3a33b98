"""Benchmark: first loads against the local emulator, through the real entry point.

    python -m tools.bench                 # every scenario
    python -m tools.bench --only live-1   # one of them; --list names them
    python -m tools.bench --repeat 3      # each three times, in turn, then medians
    python -m tools.bench --no-tls        # plain http instead of HTTPS

Each scenario starts the emulator with a latency profile and Stripe's rate limits, seeds it,
runs ``source-stripe-conduit read`` as a child process with its stdout in a file, checks that
every seeded object arrived exactly once, and prints records/s, requests/s, 429s, the ceiling
(rate x 100 records/s), the ratio to it, the connector's CPU seconds per 1,000 records, its
peak RSS and the connections it opened. Figures, never pass/fail: the machine is noisy, so
compare ratios within one run.

It runs over HTTPS, as Stripe does, so handshakes and connection reuse cost what they would:
the emulator makes its own CA, and the child trusts it through ``REQUESTS_CA_BUNDLE`` alone
(requests, and the CDK's HttpClient on it, read that variable), with an https ``api_base``.
"""

from __future__ import annotations

import argparse
import json
import os
import select
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import orjson


@dataclass(frozen=True)
class Scenario:
    name: str
    counts: dict[str, int]
    key: str
    latency: str  # "realistic" (about 300 ms per page of 100) or milliseconds
    limits: bool = True
    note: str = ""
    extra_config: dict[str, object] = field(default_factory=dict)
    streams: tuple[str, ...] = ()
    """What is read, when not every seeded stream (a child stream of a seeded parent)."""
    emulator: dict[str, object] = field(default_factory=dict)
    """Emulator settings besides latency and limits (how many children parents have)."""
    compare_to: str | None = None
    """The scenario (the parent stream's own full refresh) whose wall time this one's is
    compared to; run it in the same bench run."""
    accounts: int = 0
    """Connected accounts of a Connect platform, each with ``counts`` of its own, read in one
    connection (``connected_accounts: all``); the platform itself has no data then."""

    @property
    def live(self) -> bool:
        return "_live_" in self.key

    @property
    def read(self) -> tuple[str, ...]:
        return self.streams or tuple(self.counts)

    def ceiling(self) -> float | None:
        """Stripe's ceiling in records/s: min(account limit, 25/s x endpoints) x 100. With
        connected accounts the emulator's buckets are the platform's, shared by every account
        (its default scope): the same ceiling."""
        if not self.limits or self.streams:
            return None
        account = 100.0 if self.live else 25.0
        return min(account, 25.0 * len(self.counts)) * 100


EIGHT = ["customers", "charges", "invoices", "payment_intents", "products", "prices",
         "refunds", "subscriptions"]

# The connector's own budget lifted too, for the runs bound by CPU.
UNLIMITED: dict[str, object] = {"requests_per_second": 100_000,
                                "endpoint_requests_per_second": 100_000}

# Child streams: the field of a child that names its parent, and the parent's stream.
PARENTS = {"invoice_line_items": ("invoice", "invoices"),
           "subscription_items": ("subscription", "subscriptions"),
           "payment_methods": ("customer", "customers"),
           "customer_balance_transactions": ("customer", "customers")}
# Child streams whose parent embeds their first page (an invoice's first 10 lines).
EMBEDDING = ("invoice_line_items", "subscription_items")
MANY_CHILDREN = {"many_children_share": 0.05}  # parents with more than the 10 they embed
CHILDREN_PARENTS = 20_000


def children_scenarios(parents: int) -> list[Scenario]:
    """Each child stream over ``parents`` parents, beside its parent's own full refresh."""
    scenarios: list[Scenario] = []
    for child, (_, parent) in PARENTS.items():
        counts = {parent: parents} if parent != "customers" else {parent: parents, child: parents}
        name = f"{parent}-{parents // 1000}k"
        if not any(s.name == name for s in scenarios):
            scenarios.append(Scenario(name, counts, "sk_live_emulator", "realistic",
                                      note=f"{parent} alone, {parents:,} of them (for the "
                                           f"children beside it)",
                                      streams=(parent,), emulator=MANY_CHILDREN))
        scenarios.append(Scenario(f"{child}-{parents // 1000}k", counts, "sk_live_emulator",
                                  "realistic", note=f"{child} of {parents:,} {parent}",
                                  streams=(child,), emulator=MANY_CHILDREN, compare_to=name))
    return scenarios


SCENARIOS = [
    Scenario("live-1", {"customers": 100_000}, "sk_live_emulator", "realistic",
             note="one stream of 100,000 customers, live key"),
    Scenario("test-1", {"customers": 50_000}, "sk_test_emulator", "realistic",
             note="one stream of 50,000 customers, test key"),
    Scenario("live-8", {s: 25_000 for s in EIGHT}, "sk_live_emulator", "realistic",
             note="8 streams of 25,000 objects, live key"),
    Scenario("cpu-1", {"customers": 100_000}, "sk_live_emulator", "0", limits=False,
             note="zero latency, limits lifted: bound by CPU", extra_config=UNLIMITED),
    Scenario("cpu-8", {s: 25_000 for s in EIGHT}, "sk_live_emulator", "0", limits=False,
             note="zero latency, limits lifted, 8 streams (200,000 records: peak RSS)",
             extra_config=UNLIMITED),
    *children_scenarios(CHILDREN_PARENTS),
    Scenario("connect-200", {"customers": 500}, "sk_live_emulator", "realistic", accounts=200,
             note="200 connected accounts x 500 customers in one connection, live key"),
    Scenario("connect-1000", {"customers": 50}, "sk_live_emulator", "realistic",
             accounts=1_000,
             note="1,000 connected accounts x 50 customers in one connection (peak RSS)"),
]


@dataclass(frozen=True)
class Running:
    process: subprocess.Popen[bytes]
    url: str
    ca_file: str | None  # the CA to trust over https; None over http

    def http(self, path: str, body: dict[str, object] | None = None) -> object:
        """A control call on a connection of its own (urllib sends ``Connection: close``)."""
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(f"{self.url}{path}", data=data,
                                         method="POST" if body is not None else "GET",
                                         headers={"Content-Type": "application/json"})
        context = ssl.create_default_context(cafile=self.ca_file) if self.ca_file else None
        with urllib.request.urlopen(request, timeout=600, context=context) as response:
            return json.loads(response.read())


def start_emulator(scenario: Scenario, workdir: Path, tls: bool = True) -> Running:
    args = [sys.executable, "-m", "stripe_emulator", "--port", "0",
            "--latency", scenario.latency]
    args += ["--rate-limit-test", "25", "--rate-limit-live", "100", "--per-endpoint-limit", "25"] \
        if scenario.limits else ["--no-rate-limit"]
    if tls:
        args += ["--tls", "--ca-file", str(workdir / "emulator-ca.pem")]
    # Its errors go to a file: a pipe nobody reads after start-up could fill and stall it.
    log_path = workdir / "emulator.log"
    with open(log_path, "wb") as log:
        # Unbuffered: select() must see every line still unread, none held in a buffer.
        process = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=log, bufsize=0)
    assert process.stdout is not None
    # It prints its URL once it accepts requests, then (with --tls) the CA file's path.
    needed = 2 if tls else 1
    lines: list[str] = []
    deadline = time.monotonic() + 60
    while len(lines) < needed:
        ready, _, _ = select.select([process.stdout], [], [], max(deadline - time.monotonic(), 0))
        line = process.stdout.readline().decode().strip() if ready else ""
        if not line:  # its exit, or the deadline
            process.kill()
            process.wait()
            process.stdout.close()
            raise RuntimeError(f"the emulator did not start: {log_path.read_text()[-2000:]}")
        lines.append(line)
    return Running(process, lines[0], lines[1] if tls else None)


def run(scenario: Scenario, workdir: Path, tls: bool = True,
        connector: Path | None = None) -> dict[str, object]:
    """One run of ``scenario``; ``connector`` is another checkout whose connector runs instead
    of this one (the child's working directory comes first on its import path)."""
    emulator = start_emulator(scenario, workdir, tls)
    url, http = emulator.url, emulator.http
    try:
        if scenario.emulator:
            http("/_emulator/config", dict(scenario.emulator))
        started = time.monotonic()
        if scenario.accounts:
            http("/_emulator/config", {"profile": "full"})  # a Connect platform
            http("/_emulator/accounts", {"count": scenario.accounts, "counts": scenario.counts,
                                         "seed": 42, "livemode": scenario.live})
            expected = scenario.accounts * sum(scenario.counts.values())
        else:
            http("/_emulator/seed", {"counts": scenario.counts, "seed": 42,
                                     "livemode": scenario.live})
            expected = sum(scenario.counts.values())
        seed_seconds = time.monotonic() - started
        config = {"secret_key": scenario.key, "api_base": url, "lag_seconds": 0,
                  **({"connected_accounts": "all"} if scenario.accounts else {}),
                  **scenario.extra_config}
        catalog = {"streams": [{
            "stream": {"name": s, "json_schema": {}, "supported_sync_modes": ["full_refresh"]},
            "sync_mode": "full_refresh", "destination_sync_mode": "overwrite"}
            for s in scenario.read]}
        (workdir / "config.json").write_text(json.dumps(config))
        (workdir / "catalog.json").write_text(json.dumps(catalog))
        out_path = workdir / f"{scenario.name}.jsonl"
        # The connector learns of TLS only from the https api_base and the CA bundle.
        env = dict(os.environ)
        if emulator.ca_file is not None:
            env["REQUESTS_CA_BUNDLE"] = emulator.ca_file
        http("/_emulator/stats/reset", {})
        with open(out_path, "wb") as out:
            started, started_wall = time.monotonic(), time.time()
            child = subprocess.Popen(
                [sys.executable, "-m", "source_stripe_conduit.run", "read", "--config",
                 str(workdir / "config.json"), "--catalog", str(workdir / "catalog.json")],
                stdout=out, stderr=subprocess.STDOUT, env=env, cwd=connector)
            _, status, usage = os.wait4(child.pid, 0)
            ended = time.monotonic()
            elapsed = ended - started
        stats = http("/_emulator/stats")
        assert isinstance(stats, dict)
        # Read after the connector's run: a child process starts with (and Linux keeps in its
        # peak RSS) the memory of the process that spawns it, and the truth is large.
        children = children_seeded(emulator, scenario) if scenario.streams else None
        if children is not None:
            expected = children["expected"]
        # The stats call's own connection (and handshake) was counted before it answered.
        connections = int(stats["connections"]) - 1
        handshakes = int(stats["tls_handshakes"]) - (1 if tls else 0)
        ids: set[str] = set()
        records = duplicates = 0
        errors: list[str] = []
        finished: dict[str, float] = {}
        state_bytes: dict[str, int] = {}
        with open(out_path, "rb") as lines:
            for line in lines:
                if line.startswith(b'{"type":"RECORD"'):
                    message = orjson.loads(line)
                    records += 1
                    data = message["record"]["data"]
                    key = (message["record"]["stream"] + "/" + (data.get("account_id") or "")
                           + "/" + data["id"])
                    if key in ids:
                        duplicates += 1
                    ids.add(key)
                elif line.startswith(b'{"type":"TRACE"') and b'"COMPLETE"' in line:
                    # The CDK's stream status: when each stream ended, for the tail.
                    trace = orjson.loads(line)["trace"]
                    name = trace["stream_status"]["stream_descriptor"]["name"]
                    finished[name] = round(trace["emitted_at"] / 1000 - started_wall, 1)
                elif line.startswith(b'{"type":"STATE"'):
                    stream_state = orjson.loads(line)["state"]["stream"]
                    state_bytes[stream_state["stream_descriptor"]["name"]] = len(
                        orjson.dumps(stream_state["stream_state"]))
                elif line.startswith(b'{"type":"TRACE"') and b'"error"' in line:
                    errors.append(orjson.loads(line)["trace"]["error"]["message"])
        out_path.unlink()
        cpu = usage.ru_utime + usage.ru_stime
        requests = int(stats["requests"])
        rate_limited = int(stats["rate_limited"])
        ceiling = scenario.ceiling()
        return {
            "scenario": scenario.name, "note": scenario.note,
            "connector": str(connector) if connector else "this checkout",
            "exit": os.waitstatus_to_exitcode(status),
            "expected": expected, "records": records, "unique": len(ids), "duplicates": duplicates,
            "seconds": round(elapsed, 2), "records_per_s": round(records / elapsed),
            "requests_per_s": round(requests / elapsed, 1), "requests": requests,
            "429s": rate_limited, "429_share": round(rate_limited / max(requests, 1), 4),
            "ceiling": ceiling, "ratio": round(records / elapsed / ceiling, 3) if ceiling else None,
            "cpu_s_per_1000": round(cpu / max(records, 1) * 1000, 4),
            "peak_rss_mb": round(usage.ru_maxrss / 1024, 1),
            "peak_concurrency": stats.get("peak_concurrency"),
            # Connections the emulator accepted from the connector, and TLS handshakes done.
            "tls": tls, "connections": connections, "tls_handshakes": handshakes,
            # Answers by how many objects they held: every range ends in a partial page.
            "answers": answer_sizes(stats),
            "requests_each_second": stats.get("per_second"),
            "stream_seconds": dict(sorted(finished.items(), key=lambda kv: kv[1])),
            # Process start to its first request, and its last answer to the process's exit.
            "startup_s": round(float(stats["first_request_at"]) - started, 2)
            if stats.get("first_request_at") else None,
            "shutdown_s": round(ended - float(stats["last_response_at"]), 2)
            if stats.get("last_response_at") else None,
            "seed_seconds": round(seed_seconds, 1), "errors": errors[:3],
            "by_endpoint": stats.get("by_endpoint"),
            **({"accounts": scenario.accounts, "state_bytes": state_bytes,
                "state_bytes_per_account": {
                    s: round(n / (scenario.accounts + 1), 1) for s, n in state_bytes.items()},
                "rate_limit": stats.get("rate_limit")} if scenario.accounts else {}),
            **(children_figures(scenario, children, stats, finished) if children else {}),
        }
    finally:
        emulator.process.terminate()
        emulator.process.wait(timeout=30)
        if emulator.process.stdout is not None:
            emulator.process.stdout.close()


def children_seeded(emulator: Running, scenario: Scenario) -> dict[str, int]:
    """What a complete read of the scenario's streams holds, from the emulator's ground truth,
    and for a child stream how many parents have more children than they embed."""
    expected = over_embedded = 0
    for stream in scenario.read:
        query = f"stream={stream}&livemode={'true' if scenario.live else 'false'}"
        truth = emulator.http(f"/_emulator/ground_truth?{query}")
        assert isinstance(truth, dict)
        rows = truth["streams"][stream]
        expected += len(rows)
        if stream in PARENTS:
            per_parent: dict[str, int] = {}
            for row in rows:
                parent = row[PARENTS[stream][0]]
                per_parent[parent] = per_parent.get(parent, 0) + 1
            over_embedded += sum(1 for n in per_parent.values() if n > EMBEDDED_PAGE)
    return {"expected": expected, "over_embedded": over_embedded}


EMBEDDED_PAGE = 10  # children Stripe embeds in a parent (an invoice's first 10 lines)


def children_figures(scenario: Scenario, children: dict[str, int], stats: dict[str, object],
                     finished: dict[str, float]) -> dict[str, object]:
    """Requests by kind for a child stream: its parent's list pages, its own lists."""
    by_endpoint = stats.get("by_endpoint") or {}
    assert isinstance(by_endpoint, dict)
    stream = scenario.read[0]
    parent = PARENTS[stream][1] if stream in PARENTS else stream
    parent_path = f"GET /v1/{parent}"
    parent_pages = sum(int(n) for e, n in by_endpoint.items() if e == parent_path)
    child_lists = sum(int(n) for e, n in by_endpoint.items()
                      if e != parent_path and e.startswith("GET /v1/") and "account" not in e)
    seconds = finished.get(stream) or 0.0
    figures: dict[str, object] = {"parent_pages": parent_pages, "child_lists": child_lists,
                                  "parents_over_embedded": children["over_embedded"]}
    if stream in PARENTS:
        figures["child_lists_per_s"] = round(child_lists / seconds, 1) if seconds else None
    if stream in EMBEDDING:
        figures["request_bound"] = round((parent_pages + children["over_embedded"]) * 1.02)
    return figures


def answer_sizes(stats: dict[str, object]) -> dict[str, int]:
    sizes = stats.get("objects_per_answer") or {}
    assert isinstance(sizes, dict)
    summary = {"full": 0, "partial": 0, "empty": 0}
    for objects, count in sizes.items():
        n = int(objects)
        summary["full" if n >= 100 else "partial" if n > 0 else "empty"] += int(count)
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", action="append", help="scenario name (repeatable)")
    parser.add_argument("--repeat", type=int, default=1,
                        help="runs of each scenario, in turn; then the median and range")
    parser.add_argument("--list", action="store_true")
    parser.add_argument("--no-tls", action="store_true",
                        help="plain http instead of HTTPS with the emulator's own CA")
    parser.add_argument("--baseline", type=Path,
                        help="another checkout (a git worktree): each run is made with its "
                             "connector too, in turn, to compare within one run")
    parser.add_argument("--parents", type=int, default=CHILDREN_PARENTS,
                        help="parents of the child-stream scenarios (names end in thousands)")
    args = parser.parse_args()
    scenarios = [s for s in SCENARIOS if not s.streams] + children_scenarios(args.parents)
    if args.list:
        for s in scenarios:
            print(f"{s.name}: {s.note}")
        return
    chosen = [s for s in scenarios if not args.only or s.name in args.only]
    connectors: list[Path | None] = [None, *([args.baseline.resolve()] if args.baseline else [])]
    results: dict[tuple[str, Path | None], list[dict[str, object]]] = {
        (s.name, c): [] for s in chosen for c in connectors}
    with tempfile.TemporaryDirectory(prefix="bench-") as tmp:
        # Scenarios (and connectors) take turns, so that a slow minute of a noisy machine is
        # shared out.
        for _ in range(args.repeat):
            for scenario in chosen:
                for connector in connectors:
                    result = run(scenario, Path(tmp), tls=not args.no_tls, connector=connector)
                    results[(scenario.name, connector)].append(result)
                    print(json.dumps(result), flush=True)
                    print(summary(scenario, result), flush=True)
                    if scenario.compare_to:
                        print(beside_parent(scenario, result,
                                            results.get((scenario.compare_to, connector))),
                              flush=True)
    if args.repeat > 1:
        for scenario in chosen:
            for connector in connectors:
                runs = results[(scenario.name, connector)]
                name = scenario.name + (" (baseline)" if connector else "")
                for key in ("ratio" if scenario.ceiling() else "records_per_s",
                            "cpu_s_per_1000", "peak_rss_mb", "connections"):
                    values = sorted(float(str(r[key])) for r in runs)
                    print(f"{name}: {key} median {statistics.median(values):g}, range "
                          f"{values[0]:g} to {values[-1]:g} over {len(values)} runs", flush=True)


def beside_parent(scenario: Scenario, result: dict[str, object],
                  parent_runs: list[dict[str, object]] | None) -> str:
    """A child stream's figures against its bounds: requests, and wall time beside the
    parent's own full refresh (its last run in this bench run)."""
    line = (f"  {scenario.name}: {result.get('parent_pages')} parent pages + "
            f"{result.get('child_lists')} child lists = {result['requests']} requests")
    if "request_bound" in result:
        line += (f" (bound {result['request_bound']}: parent pages + "
                 f"{result.get('parents_over_embedded')} parents with more than they embed "
                 f"+ 2%)")
    line += f", child lists {result.get('child_lists_per_s')}/s"
    if parent_runs:
        parent = parent_runs[-1]
        ratio = float(str(result["seconds"])) / float(str(parent["seconds"]))
        line += (f", wall {result['seconds']} s = {ratio:.2f} x {scenario.compare_to}'s "
                 f"{parent['seconds']} s")
    return line


def summary(scenario: Scenario, result: dict[str, object]) -> str:
    ok = result["unique"] == result["expected"] and result["exit"] == 0
    ratio = f" = {result['ratio']:.2f} of {result['ceiling']:.0f}" if result["ratio"] else ""
    answers = result["answers"]
    assert isinstance(answers, dict)
    name = scenario.name + ("" if result["connector"] == "this checkout" else " (baseline)")
    return (f"  {name}: {result['records_per_s']} records/s{ratio},"
            f" {result['requests_per_s']} req/s, 429s {result['429s']}"
            f" ({result['429_share']:.2%}), CPU {result['cpu_s_per_1000']} s/1000 records,"
            f" peak RSS {result['peak_rss_mb']} MB, {result['connections']} connections"
            f" ({'https' if result['tls'] else 'http'}), {answers['partial']} partial pages,"
            f" start-up {result['startup_s']} s, {'complete' if ok else 'INCOMPLETE'}"
            + (f", state {result['state_bytes_per_account']} bytes per account"
               if "state_bytes_per_account" in result else ""))


if __name__ == "__main__":
    main()
