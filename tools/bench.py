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

Other kinds of scenario measure what a sync costs the account it reads rather than how fast
it reads:

- beside the merchant's own traffic (``merchant-*``): the emulator draws the merchant's requests
  on the same limits while a backfill runs with the connector's default ``rate_share``; the
  merchant's refused share, the backfill's rate against its share, the sync's 429s and the
  seconds it slowed (from the connector's last ``Sync done`` line);
- incremental syncs (``idle-all``, ``changes-*``): a first incremental sync of every stream the
  connector discovers, then a second from its states, with nothing changed or with changes made
  through the emulator's control API between the two; the second sync's requests by endpoint
  and by kind, and whether every change arrived;
- change capture across API versions (``versions-*``): the same two syncs of customers and
  charges on an account whose default version is set (and, for ``versions-older``, upgraded
  between the changes and the second sync), the connector reading in the account's version or
  pinned to another: the objects it fetched again, the versions its answers were rendered in,
  whether every change arrived in the version it reads, and its cost beside another scenario's;
- balance transactions that settle (``settling``, ``settling-10k``): the last ten days seeded, a
  first incremental sync, then one after each move of the emulator's clock (a day: some settle;
  a week more: all do; a day more: none left), with no event: each sync's list pages, records,
  those that turned a pending row available, seconds, and the destination against the truth.

Goals are printed beside their figures, met or missed; the machine is still noisy.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import select
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from source_stripe_conduit.records import ADDED_FIELDS
from source_stripe_conduit.resources import RESOURCES
from stripe_emulator.catalog import BY_STREAM as EMULATED


@dataclass(frozen=True)
class Goal:
    """A figure of a result and the bound it should keep: at most ``bound`` (``at_most``), else
    at least."""

    figure: str
    bound: float
    at_most: bool
    label: str

    def met(self, result: dict[str, object]) -> bool | None:
        value = result.get(self.figure)
        if not isinstance(value, int | float):
            return None
        return value <= self.bound if self.at_most else value >= self.bound

    def describe(self, result: dict[str, object]) -> str:
        met = self.met(result)
        return f"goal {self.label}: " + ("no figure" if met is None else "met" if met else "MISSED")


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
    """The scenario this one is compared to, run before it in the same bench run: a child
    stream's parent's own full refresh (wall time), or an incremental scenario whose second
    sync's requests and seconds this one's are divided by."""
    accounts: int = 0
    """Connected accounts of a Connect platform, each with ``counts`` of its own, read in one
    connection (``connected_accounts: all``); the platform itself has no data then."""
    merchant_rps: float = 0.0
    """The merchant's own traffic, drawn by the emulator on the same limits while the connector
    reads (``merchant_requests_per_second``, its default endpoints)."""
    incremental: bool = False
    """Two incremental syncs instead of one full refresh: the first of the streams read, the
    second from the first's last states, after ``changes``."""
    every_stream: bool = False
    """An incremental scenario reads every stream the connector discovers (else those seeded)."""
    changes: int = 0
    """Random changes made through the emulator's control API between the two syncs."""
    changed: tuple[str, ...] = ()
    """The streams those changes are spread over."""
    settle: bool = False
    """An incremental scenario runs a third sync too, as idle as the second, for the cost of an
    idle sync once every stream's position has settled."""
    upgrade_to: str | None = None
    """The account's default API version from the changes' end on: an incremental scenario's
    account upgraded after the changes, before the second sync (its version until then is
    ``emulator``'s ``api_version``)."""
    years: float | None = None
    """Seeded objects are created over this many past years (the emulator's default if None)."""
    clock_days: tuple[float, ...] = ()
    """A settling scenario: after a first incremental sync the emulator's clock moves on by each
    of these days in turn, an incremental sync after each, nothing else changed (balance
    transactions settle on that clock, with no event)."""
    goals: tuple[Goal, ...] = ()

    @property
    def live(self) -> bool:
        return "_live_" in self.key

    @property
    def pinned_version(self) -> str | None:
        """The ``stripe_version`` the connector is pinned to; None where it reads in the
        account's own."""
        given = self.extra_config.get("stripe_version")
        return None if given is None or given == "account" else str(given)

    @property
    def share(self) -> float:
        """The share of Stripe's limits the connector may use: ``rate_share`` as configured,
        else its default (half with a live key, all with a test key)."""
        given = self.extra_config.get("rate_share")
        return float(str(given)) if given is not None else (0.5 if self.live else 1.0)

    @property
    def read(self) -> tuple[str, ...]:
        return self.streams or tuple(self.counts)

    def ceiling(self) -> float | None:
        """The ceiling in records/s of the share the connector may use: min(account limit,
        25/s x endpoints) x 100 x ``share`` (Stripe's own ceiling where the share is 1). With
        connected accounts the emulator's buckets are the platform's, shared by every account
        (its default scope): the same ceiling."""
        if not self.limits or self.streams or self.incremental:
            return None
        account = 100.0 if self.live else 25.0
        return min(account, 25.0 * len(self.counts)) * 100 * self.share


EIGHT = ["customers", "charges", "invoices", "payment_intents", "products", "prices",
         "refunds", "subscriptions"]

# Stripe's whole ceiling: the scenarios that measure how fast a first load can go give the
# connector all of the account's limits, as before rate_share (whose default with a live key
# leaves half of them to the merchant).
FULL_SHARE: dict[str, object] = {"rate_share": 1}
# The connector's own budget lifted too, for the runs bound by CPU.
UNLIMITED: dict[str, object] = {"requests_per_second": 100_000,
                                "endpoint_requests_per_second": 100_000, **FULL_SHARE}

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
                                      streams=(parent,), emulator=MANY_CHILDREN,
                                      extra_config=FULL_SHARE))
        scenarios.append(Scenario(f"{child}-{parents // 1000}k", counts, "sk_live_emulator",
                                  "realistic", note=f"{child} of {parents:,} {parent}",
                                  streams=(child,), emulator=MANY_CHILDREN, compare_to=name,
                                  extra_config=FULL_SHARE))
    return scenarios


# Every stream the emulator serves, a few objects each (events are made by the others).
SMALL_SEED = {s: 5 for s in EMULATED if s != "events"}
# Streams whose objects the emulator creates, changes and deletes at random, with events.
CHANGING = ("customers", "products", "prices", "coupons", "invoices", "subscriptions", "charges",
            "refunds", "payment_intents", "plans", "invoice_items", "promotion_codes", "tax_rates")
# The changed streams hold more: the emulator's random creations need parents it can use (a
# refund a charge with something left to refund, a promotion code a coupon not deleted), and
# with five of each a run of changes can use them all up.
CHANGES_SEED = {**SMALL_SEED, **{s: 50 for s in CHANGING}}


# Change capture across API versions: customers and charges (basil removed a charge's
# ``invoice``, so a charge shows the version it was rendered in), a first incremental sync, then
# changes to both and the measured second sync.
OLD_VERSION = "2024-06-20"
BASIL = "2025-03-31.basil"
VERSIONS_SEED = {"customers": 300, "charges": 300}
VERSIONS_CHANGED = ("customers", "charges")
VERSIONS_CHANGES = 1_000
EVERY_CHANGE = Goal("changes_missing", 0, True, "every change arrives")
IN_ITS_VERSION = Goal("second_other_shape", 0, True, "every change in the version read")


def versions_scenario(name: str, account: str, note: str, pinned: str | None = None,
                      upgrade_to: str | None = None, compare_to: str | None = None,
                      goals: tuple[Goal, ...] = ()) -> Scenario:
    """Two incremental syncs of customers and charges with changes between, live key,
    ``rate_share`` 1, on an account whose default version is ``account`` (then ``upgrade_to``
    from the second sync on); the connector pinned to ``pinned``, else in the account's own."""
    return Scenario(name, VERSIONS_SEED, "sk_live_emulator", "realistic", incremental=True,
                    emulator={"api_version": account}, changes=VERSIONS_CHANGES,
                    changed=VERSIONS_CHANGED, upgrade_to=upgrade_to, compare_to=compare_to,
                    extra_config={**FULL_SHARE, **({"stripe_version": pinned} if pinned else {})},
                    goals=(EVERY_CHANGE, IN_ITS_VERSION, *goals), note=note)


def versions_scenarios() -> list[Scenario]:
    """The baseline (events in the version read: nothing to fetch again), then the account's
    version compared to it, the pinned case compared to the account's (the saving), and an
    account upgraded after its changes."""
    changes = f"{VERSIONS_CHANGES:,} changes to customers and charges"
    seed = "300 customers and 300 charges, live key, rate_share 1"
    return [
        versions_scenario("versions-baseline", OLD_VERSION, pinned=OLD_VERSION,
                          note=f"{seed}; account at {OLD_VERSION}, connector pinned to it: "
                               f"{changes} rendered in the version read"),
        versions_scenario("versions-account", BASIL, compare_to="versions-baseline",
                          goals=(Goal("second_retrieves", 0, True, "no retrieve per change"),
                                 Goal("requests_ratio", 1.2, True,
                                      "requests <= 1.2 x versions-baseline"),
                                 Goal("seconds_ratio", 1.2, True,
                                      "seconds <= 1.2 x versions-baseline")),
                          note=f"{seed}; account at basil, connector in the account's version: "
                               f"{changes} rendered in basil"),
        versions_scenario("versions-pinned", BASIL, pinned=OLD_VERSION,
                          compare_to="versions-account",
                          note=f"{seed}; account at basil, connector pinned to {OLD_VERSION}: "
                               f"{changes} rendered in basil, each fetched again"),
        versions_scenario("versions-older", OLD_VERSION, upgrade_to=BASIL,
                          compare_to="versions-baseline",
                          note=f"{seed}; account at {OLD_VERSION} for the first sync and "
                               f"{changes}, upgraded to basil before the second, connector in "
                               f"the account's version: the older events fetched again"),
    ]


# Balance transactions that settle: the last ten days seeded, so that the newest charges are
# still pending (2 to 7 calendar days); one day on, some have settled; a week more, all have;
# a day more, none is left pending and the window read again should have closed.
SETTLING_YEARS = 10 / 365
SETTLING_DAYS = (1.0, 7.0, 1.0)
# Transactions settle at the start of business days only: a day on from a Saturday settles
# none. The emulator's clock starts on the next Wednesday at noon UTC (Monday is 0), whatever
# day the bench runs on, so that a day on crosses a business day's midnight.
SETTLING_WEEKDAY = 2
STATUS_AS_TRUTH = (Goal("second_status_differs", 0, True, "second sync's statuses as Stripe's"),
                   Goal("third_status_differs", 0, True, "third sync's statuses as Stripe's"))


def settling_scenario(name: str, transactions: int) -> Scenario:
    """``transactions`` balance transactions over the last ten days, live key, ``rate_share``
    1: a first incremental sync, then one after each of ``SETTLING_DAYS``."""
    return Scenario(name, {"balance_transactions": transactions}, "sk_live_emulator",
                    "realistic", incremental=True, years=SETTLING_YEARS,
                    clock_days=SETTLING_DAYS, extra_config=FULL_SHARE, goals=STATUS_AS_TRUTH,
                    note=f"{transactions:,} balance transactions over the last 10 days, live "
                         f"key, rate_share 1: incremental, then again 1 day on (some settle), "
                         f"7 more days on (all settle, with no event) and 1 more (none left)")


def merchant_scenario(rps: int, goals: tuple[Goal, ...]) -> Scenario:
    """A live backfill of 8 streams beside the merchant's own traffic at ``rps`` requests/s,
    the connector with its default share."""
    return Scenario(f"merchant-{rps}", {s: 10_000 for s in EIGHT}, "sk_live_emulator",
                    "realistic", merchant_rps=rps, goals=goals,
                    note=f"8 streams of 10,000 objects, live key, default rate_share, beside "
                         f"the merchant's {rps} requests/s")


SCENARIOS = [
    Scenario("live-1", {"customers": 100_000}, "sk_live_emulator", "realistic",
             note="one stream of 100,000 customers, live key, rate_share 1",
             extra_config=FULL_SHARE),
    Scenario("test-1", {"customers": 50_000}, "sk_test_emulator", "realistic",
             note="one stream of 50,000 customers, test key"),
    Scenario("live-8", {s: 25_000 for s in EIGHT}, "sk_live_emulator", "realistic",
             note="8 streams of 25,000 objects, live key, rate_share 1",
             extra_config=FULL_SHARE),
    Scenario("cpu-1", {"customers": 100_000}, "sk_live_emulator", "0", limits=False,
             note="zero latency, limits lifted: bound by CPU", extra_config=UNLIMITED),
    Scenario("cpu-8", {s: 25_000 for s in EIGHT}, "sk_live_emulator", "0", limits=False,
             note="zero latency, limits lifted, 8 streams (200,000 records: peak RSS)",
             extra_config=UNLIMITED),
    *children_scenarios(CHILDREN_PARENTS),
    Scenario("connect-200", {"customers": 500}, "sk_live_emulator", "realistic", accounts=200,
             note="200 connected accounts x 500 customers in one connection, live key, "
                  "rate_share 1", extra_config=FULL_SHARE),
    Scenario("connect-1000", {"customers": 50}, "sk_live_emulator", "realistic",
             accounts=1_000, extra_config=FULL_SHARE,
             note="1,000 connected accounts x 50 customers in one connection (peak RSS), "
                  "rate_share 1"),
    merchant_scenario(40, (Goal("merchant_refused_share", 0.001, True, "merchant refused <= 0.1 %"),
                           Goal("ratio", 0.9, False, "backfill >= 0.9 of its share"))),
    merchant_scenario(70, (Goal("merchant_refused_share", 0.01, True, "merchant refused <= 1 %"),)),
    Scenario("idle-all", SMALL_SEED, "sk_live_emulator", "realistic", incremental=True,
             every_stream=True, emulator={"profile": "full"}, settle=True,
             goals=(Goal("second_requests", 3, True, "second sync <= 3 requests"),),
             note="every stream, 5 objects each, incremental twice, nothing changed between"),
    Scenario("changes-1000", CHANGES_SEED, "sk_live_emulator", "realistic", incremental=True,
             every_stream=True, emulator={"profile": "full"}, changes=1_000, changed=CHANGING,
             goals=(Goal("changes_missing", 0, True, "every change arrives"),),
             note=f"every stream, 5 objects each (50 of the changed ones), incremental twice, "
                  f"1,000 changes over {len(CHANGING)} streams between"),
    *versions_scenarios(),
    settling_scenario("settling", 2_000),
    settling_scenario("settling-10k", 10_000),
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
        try:
            with urllib.request.urlopen(request, timeout=600, context=context) as response:
                return json.loads(response.read())
        except urllib.error.HTTPError as error:
            raise RuntimeError(f"{path}: {error.code} {error.read()[:2000]!r}") from error


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


def connector_env(emulator: Running) -> dict[str, str]:
    """The connector learns of TLS only from the https api_base and the CA bundle."""
    env = dict(os.environ)
    if emulator.ca_file is not None:
        env["REQUESTS_CA_BUNDLE"] = emulator.ca_file
    return env


def connector_command(command: str, workdir: Path, config: dict[str, object],
                      catalog: dict[str, object] | None = None,
                      state: list[object] | None = None) -> list[str]:
    """``source_stripe_conduit.run`` with its files written in ``workdir``."""
    (workdir / "config.json").write_text(json.dumps(config))
    args = [sys.executable, "-m", "source_stripe_conduit.run", command,
            "--config", str(workdir / "config.json")]
    if catalog is not None:
        (workdir / "catalog.json").write_text(json.dumps(catalog))
        args += ["--catalog", str(workdir / "catalog.json")]
    if state is not None:
        (workdir / "state.json").write_text(json.dumps(state))
        args += ["--state", str(workdir / "state.json")]
    return args


SLOWED = re.compile(r"slowed for ([0-9.]+) s")


@dataclass
class Logs:
    """What the connector logged about the account's limits: its last line (``Sync done: …``,
    absent before it existed) and how often it slowed down."""

    sync_done: str | None = None
    slowdowns: int = 0

    def take(self, line: bytes) -> None:
        message = str(orjson.loads(line)["log"]["message"])
        if message.startswith("Sync done:"):
            self.sync_done = message
        elif message.startswith("Stripe refused requests"):
            self.slowdowns += 1

    @property
    def slowed_s(self) -> float | None:
        found = SLOWED.search(self.sync_done or "")
        return float(found.group(1)) if found else None


def run(scenario: Scenario, workdir: Path, tls: bool = True,
        connector: Path | None = None) -> dict[str, object]:
    """One run of ``scenario``; ``connector`` is another checkout whose connector runs instead
    of this one (the child's working directory comes first on its import path)."""
    if scenario.clock_days:
        return run_settling(scenario, workdir, tls, connector)
    if scenario.incremental:
        return run_incremental(scenario, workdir, tls, connector)
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
        args = connector_command("read", workdir, config, catalog)
        out_path = workdir / f"{scenario.name}.jsonl"
        if scenario.merchant_rps:
            # Drawn from now on (seeding is over: it would hold the emulator's loop), and
            # counted from the reset below.
            http("/_emulator/config", {"merchant_requests_per_second": scenario.merchant_rps})
        http("/_emulator/stats/reset", {})
        with open(out_path, "wb") as out:
            started, started_wall = time.monotonic(), time.time()
            child = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT,
                                     env=connector_env(emulator), cwd=connector)
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
        logs = Logs()
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
                elif line.startswith(b'{"type":"LOG"'):
                    logs.take(line)
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
            **(merchant_figures(scenario, stats, logs, records) if scenario.merchant_rps else {}),
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


def merchant_figures(scenario: Scenario, stats: dict[str, object], logs: Logs,
                     records: int) -> dict[str, object]:
    """The merchant's requests and refusals while the sync ran (the stats were reset just
    before the connector started and read right after it ended), and what the sync gave up.
    ``read_ratio`` is the backfill's rate against its share from its first request to its last
    answer: the process's start-up left out, which weighs on a run this short."""
    merchant = stats.get("merchant") or {}
    assert isinstance(merchant, dict)
    requests, refused = int(merchant.get("requests", 0)), int(merchant.get("refused", 0))
    first, last = stats.get("first_request_at"), stats.get("last_response_at")
    read_s = float(str(last)) - float(str(first)) if first and last else None
    ceiling = scenario.ceiling()
    return {"merchant_rps": scenario.merchant_rps, "share": scenario.share,
            "read_s": round(read_s, 2) if read_s else None,
            "read_ratio": round(records / read_s / ceiling, 3) if read_s and ceiling else None,
            "merchant_requests": requests, "merchant_refused": refused,
            "merchant_refused_share": round(refused / max(requests, 1), 5),
            "merchant_refused_by_reason": merchant.get("refused_by_reason") or {},
            "429s_by_reason": stats.get("rate_limited_by_reason") or {},
            "slowed_s": logs.slowed_s, "slowdowns": logs.slowdowns,
            "sync_done": logs.sync_done}


# What each endpoint the emulator counts is, for requests by kind: paths with their
# placeholders written alike, since the emulator and the connector name them differently.
def _template(path: str) -> str:
    return re.sub(r"\{\w+\}", "{}", path.split("?")[0])


LISTS = {_template(r.path): ("child lists" if r.parent else "list pages") for r in RESOURCES}
LISTS[_template("/v1/events")] = "event pages"


def kind_of(endpoint: str) -> str:
    """``GET /v1/customers`` is a list page, ``GET /v1/customers/{customer}`` a retrieve."""
    method, _, path = endpoint.partition(" ")
    template = _template(path)
    if method != "GET":
        return "other"
    if template in LISTS:
        return LISTS[template]
    if template == "/v1/account":
        return "account"
    return "retrieves" if template.endswith("{}") else "other"


def by_kind(by_endpoint: dict[str, int]) -> dict[str, int]:
    kinds: dict[str, int] = {}
    for endpoint, n in by_endpoint.items():
        kind = kind_of(endpoint)
        kinds[kind] = kinds.get(kind, 0) + int(n)
    return dict(sorted(kinds.items()))


@dataclass
class Sync:
    """One incremental sync's output: records by stream, each stream's last state, its logs."""

    exit: int = 0
    seconds: float = 0.0
    records: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    states: dict[str, object] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    logs: Logs = field(default_factory=Logs)
    stats: dict[str, Any] = field(default_factory=dict)

    @property
    def requests(self) -> int:
        return int(self.stats.get("requests", 0))

    @property
    def by_endpoint(self) -> dict[str, int]:
        return dict(self.stats.get("by_endpoint") or {})

    @property
    def read_seconds(self) -> float | None:
        """From its first request to its last answer (the emulator's clock): the process's
        start-up left out."""
        first, last = self.stats.get("first_request_at"), self.stats.get("last_response_at")
        return round(float(last) - float(first), 2) if first and last else None


def versions_of(events: list[dict[str, Any]]) -> dict[str, int]:
    """Events by the API version they were rendered in."""
    found: dict[str, int] = {}
    for event in events:
        version = str(event.get("api_version"))
        found[version] = found.get(version, 0) + 1
    return dict(sorted(found.items()))


def sync(emulator: Running, workdir: Path, config: dict[str, object], catalog: dict[str, object],
         state: list[object] | None, connector: Path | None) -> Sync:
    """One read of ``catalog`` from ``state``, the emulator's counters reset just before it."""
    args = connector_command("read", workdir, config, catalog, state)
    out_path = workdir / "sync.jsonl"
    emulator.http("/_emulator/stats/reset", {})
    with open(out_path, "wb") as out:
        started = time.monotonic()
        child = subprocess.run(args, stdout=out, stderr=subprocess.STDOUT,
                               env=connector_env(emulator), cwd=connector, check=False)
        result = Sync(exit=child.returncode, seconds=round(time.monotonic() - started, 2))
    stats = emulator.http("/_emulator/stats")
    assert isinstance(stats, dict)
    result.stats = stats
    with open(out_path, "rb") as lines:
        for line in lines:
            if line.startswith(b'{"type":"RECORD"'):
                record = orjson.loads(line)["record"]
                result.records.append((record["stream"], record["data"]))
            elif line.startswith(b'{"type":"STATE"'):
                message = orjson.loads(line)["state"]
                result.states[message["stream"]["stream_descriptor"]["name"]] = message
            elif line.startswith(b'{"type":"TRACE"') and b'"error"' in line:
                result.errors.append(orjson.loads(line)["trace"]["error"]["message"])
            elif line.startswith(b'{"type":"LOG"'):
                result.logs.take(line)
    out_path.unlink()
    return result


def discovered(emulator: Running, workdir: Path, config: dict[str, object],
               connector: Path | None) -> dict[str, dict[str, Any]]:
    """The streams the connector offers (``discover``), by name."""
    args = connector_command("discover", workdir, config)
    output = subprocess.run(args, capture_output=True, env=connector_env(emulator),
                            cwd=connector, check=False).stdout
    for line in output.splitlines():
        if line.startswith(b'{"type":"CATALOG"'):
            return {s["name"]: s for s in orjson.loads(line)["catalog"]["streams"]}
    raise RuntimeError(f"discover gave no catalog: {output[-2000:]!r}")


def without_cursor(result: Sync, streams: list[str]) -> int:
    """Streams following changes whose last state holds no event cursor: their next sync reads
    events from their own ``created_at`` instead of from the cursor the others share."""
    following = {r.stream for r in RESOURCES if r.events and not r.append_only}
    count = 0
    for stream in streams:
        message = result.states.get(stream)
        state = message.get("stream", {}).get("stream_state") if isinstance(message, dict) else None
        if stream in following and isinstance(state, dict) and "cursor" in state \
                and state["cursor"] is None:
            count += 1
    return count


def seeded_for_incremental(scenario: Scenario, emulator: Running, workdir: Path,
                           connector: Path | None
                           ) -> tuple[dict[str, object], list[str], dict[str, Any]]:
    """The emulator set up and seeded for an incremental scenario: the connector's config, the
    streams read and their catalog (each incremental where it can be, deduped by id)."""
    if scenario.emulator:
        emulator.http("/_emulator/config", dict(scenario.emulator))
    emulator.http("/_emulator/seed", {"counts": scenario.counts, "seed": 42,
                                      "livemode": scenario.live,
                                      **({"years": scenario.years} if scenario.years else {})})
    config = {"secret_key": scenario.key, "api_base": emulator.url, "lag_seconds": 0,
              **scenario.extra_config}
    offered = discovered(emulator, workdir, config, connector)
    streams = sorted(offered) if scenario.every_stream else \
        [s for s in offered if s in scenario.counts]
    catalog: dict[str, Any] = {"streams": [{
        "stream": offered[s],
        "sync_mode": "incremental" if "incremental" in offered[s]["supported_sync_modes"]
        else "full_refresh",
        "destination_sync_mode": "append_dedup"} for s in streams]}
    return config, streams, catalog


def run_incremental(scenario: Scenario, workdir: Path, tls: bool = True,
                    connector: Path | None = None) -> dict[str, object]:
    """Two incremental syncs: the first from nothing, the second from its states after
    ``scenario.changes`` random changes (none: an idle sync)."""
    emulator = start_emulator(scenario, workdir, tls)
    http = emulator.http
    try:
        config, streams, catalog = seeded_for_incremental(scenario, emulator, workdir, connector)
        first = sync(emulator, workdir, config, catalog, None, connector)
        made: dict[str, Any] = {"ops": [], "events": []}
        if scenario.changes:
            answer = http("/_emulator/mutate", {"random": scenario.changes, "seed": 7,
                                                "streams": list(scenario.changed),
                                                "livemode": scenario.live})
            assert isinstance(answer, dict)
            made = answer
        if scenario.upgrade_to:
            # As its owner does in the Dashboard: answers and new events in the new version,
            # events already made keep theirs.
            http("/_emulator/config", {"api_version": scenario.upgrade_to})
        # A second later, as a next sync would come: the changes' events lie before its
        # horizon, which counts whole seconds.
        time.sleep(1.1)
        second = sync(emulator, workdir, config, catalog, list(first.states.values()),
                      connector)
        third = None
        if scenario.settle:
            time.sleep(1.1)
            third = sync(emulator, workdir, config, catalog,
                         list({**first.states, **second.states}.values()), connector)
        return {
            "scenario": scenario.name, "note": scenario.note,
            "connector": str(connector) if connector else "this checkout",
            "streams": len(streams),
            "incremental_streams": sum(1 for s in catalog["streams"]
                                       if s["sync_mode"] == "incremental"),
            "first_exit": first.exit, "first_seconds": first.seconds,
            "first_requests": first.requests, "first_records": len(first.records),
            "first_by_kind": by_kind(first.by_endpoint), "first_errors": first.errors[:3],
            "first_left_without_cursor": without_cursor(first, streams),
            "changes": len(made["ops"]), "change_events": len(made["events"]),
            "change_events_by_version": versions_of(made["events"]),
            "exit": second.exit, "errors": second.errors[:3],
            "second_seconds": second.seconds, "second_requests": second.requests,
            "second_read_seconds": second.read_seconds,
            "second_retrieves": by_kind(second.by_endpoint).get("retrieves", 0),
            "second_by_version": dict(second.stats.get("by_version") or {}),
            "second_429s": int(second.stats.get("rate_limited", 0)),
            "second_records": len(second.records),
            "second_by_kind": by_kind(second.by_endpoint),
            "second_by_endpoint": second.by_endpoint,
            "sync_done": second.logs.sync_done,
            **({"third_requests": third.requests, "third_by_endpoint": third.by_endpoint,
                "third_records": len(third.records), "third_exit": third.exit}
               if third is not None else {}),
            **arrival(emulator, scenario, streams, first, second, made["events"]),
        }
    finally:
        emulator.process.terminate()
        emulator.process.wait(timeout=30)
        if emulator.process.stdout is not None:
            emulator.process.stdout.close()


SYNCS = ("first", "second", "third", "fourth", "fifth")
"""The names of a scenario's syncs, in turn, as its figures' prefixes."""
DAY = 86_400

Row = tuple[str, str]
"""A destination's row: its stream and id."""


def truth_of(emulator: Running, scenario: Scenario, streams: list[str]) -> dict[Row, Any]:
    """The emulator's ground truth of ``streams`` now, by row."""
    query = "&".join(f"stream={s}" for s in streams)
    truth = emulator.http(f"/_emulator/ground_truth?{query}&livemode="
                          f"{'true' if scenario.live else 'false'}")
    assert isinstance(truth, dict)
    return {(stream, o["id"]): o for stream in streams for o in truth["streams"].get(stream, [])}


def pending(rows: dict[Row, Any]) -> set[Row]:
    return {row for row, data in rows.items() if data.get("status") == "pending"}


def next_noon(now: float, weekday: int) -> float:
    """The first noon UTC at or after ``now`` that falls on ``weekday`` (Monday is 0)."""
    day = int(now // DAY)
    # 1970-01-01 was a Thursday (weekday 3).
    ahead = (weekday - (day + 3)) % 7
    noon = (day + ahead) * DAY + DAY / 2
    return noon if noon >= now else noon + 7 * DAY


def run_settling(scenario: Scenario, workdir: Path, tls: bool = True,
                 connector: Path | None = None) -> dict[str, object]:
    """A first incremental sync, then one after each of ``scenario.clock_days`` by which the
    emulator's clock moves on: the balance transactions whose ``available_on`` it passes
    settle, with no event. A destination upserting by id is fed every sync and compared with
    the emulator's truth after each, statuses included. The emulator's clock is set to the next
    ``SETTLING_WEEKDAY`` noon before the seed (ahead of this machine's: both connectors take
    Stripe's clock from its answers)."""
    emulator = start_emulator(scenario, workdir, tls)
    try:
        clock = emulator.http("/_emulator/clock")
        assert isinstance(clock, dict)
        emulator.http("/_emulator/clock",
                      {"set": next_noon(float(clock["now"]), SETTLING_WEEKDAY)})
        config, streams, catalog = seeded_for_incremental(scenario, emulator, workdir, connector)
        result: dict[str, object] = {
            "scenario": scenario.name, "note": scenario.note,
            "connector": str(connector) if connector else "this checkout",
            "streams": len(streams), "seeded": sum(scenario.counts.values()),
            "seeded_days": round((scenario.years or 0) * 365, 1)}
        table: dict[Row, dict[str, Any]] = {}
        states: dict[str, object] = {}
        truth: dict[Row, Any] = {}
        for name, days in zip(SYNCS, (0.0, *scenario.clock_days), strict=False):
            if days:
                emulator.http("/_emulator/clock", {"advance": days * DAY})
            clock = emulator.http("/_emulator/clock")
            assert isinstance(clock, dict)
            before = dict(table)
            done = sync(emulator, workdir, config, catalog, list(states.values()) or None,
                        connector)
            states.update(done.states)
            for stream, data in done.records:
                table[(stream, data["id"])] = data
            pending_before, truth = pending(truth), truth_of(emulator, scenario, streams)
            result.update({f"{name}_{key}": value for key, value in settling_figures(
                done, days, float(clock["now"]), before, table, pending_before, truth).items()})
        result["exit"] = next((v for k, v in result.items() if k.endswith("_exit") and v != 0),
                              0)
        result["errors"] = [e for k, v in result.items() if k.endswith("_errors")
                            for e in (v if isinstance(v, list) else [])][:3]
        return result
    finally:
        emulator.process.terminate()
        emulator.process.wait(timeout=30)
        if emulator.process.stdout is not None:
            emulator.process.stdout.close()


def settling_figures(done: Sync, days: float, now: float, before: dict[Row, dict[str, Any]],
                     table: dict[Row, dict[str, Any]], pending_before: set[Row],
                     truth: dict[Row, Any]) -> dict[str, object]:
    """One sync of a settling scenario: its requests (list pages among them), the records it
    emitted, the rows they were of, how many of those rows it turned from pending in the
    destination ``before`` it to available and how many it found there as they are (emitted
    again, unchanged), the transactions settled in the truth since the sync before
    (``pending_before``), the window the destination's oldest pending row opened (days before
    the emulator's clock ``now``), and the destination ``table`` after it against the truth:
    rows missing, extra, stale (any field apart) and whose status is apart."""
    waiting = [int(data["created"]) for row, data in before.items()
               if data.get("status") == "pending"]
    emitted = {(stream, data["id"]): data for stream, data in done.records}
    shared = table.keys() & truth.keys()
    stale = [row for row in shared if any(table[row].get(k) != v for k, v in truth[row].items()
                                          if k not in ADDED_FIELDS)]
    status_apart = [row for row in shared if table[row].get("status") != truth[row].get("status")]
    missing, extra = len(truth.keys() - table.keys()), len(table.keys() - truth.keys())
    example = None
    if stale:
        row = sorted(stale)[0]
        fields = [k for k, v in truth[row].items()
                  if k not in ADDED_FIELDS and table[row].get(k) != v]
        example = f"{row[0]} {row[1]}: {', '.join(fields[:5])}"
    return {
        "days": days, "exit": done.exit, "errors": done.errors[:3],
        "requests": done.requests,
        "list_pages": by_kind(done.by_endpoint).get("list pages", 0),
        "by_endpoint": done.by_endpoint, "429s": int(done.stats.get("rate_limited", 0)),
        "records": len(done.records), "rows": len(emitted),
        "unchanged": sum(1 for row, data in emitted.items() if row in before and all(
            before[row].get(k) == v for k, v in data.items() if k not in ADDED_FIELDS)),
        "to_available": sum(1 for row, data in emitted.items()
                            if before.get(row, {}).get("status") == "pending"
                            and data.get("status") == "available"),
        "settled": len(pending_before - pending(truth)), "pending": len(pending(truth)),
        "window_days": round((now - min(waiting)) / DAY, 2) if waiting else None,
        "seconds": done.seconds, "read_seconds": done.read_seconds,
        "missing": missing, "extra": extra, "stale": len(stale),
        "status_differs": len(status_apart), "stale_example": example,
        "equal_truth": not (missing or extra or stale),
    }


# The stream that follows each event type of each object: (object, event type) -> stream.
FOLLOWING = {(r.object, event): r.stream for r in RESOURCES
             if not r.parent_events and not r.append_only for event in r.events}


def arrival(emulator: Running, scenario: Scenario, streams: list[str], first: Sync, second: Sync,
            events: list[dict[str, Any]]) -> dict[str, object]:
    """Whether every change reached the second sync, and whether a deduping destination fed
    both syncs holds what the emulator holds.

    A change is what Stripe announces: each object of the ``events`` the changes made (a random
    edit that changed nothing sends none) must have a record in the stream that follows its
    event type, and each event one in ``events``. The destination is compared stream by
    stream with the emulator's ground truth: its ids, and each row's fields as the emulator
    renders them but for the fields the connector sets (its ``updated`` is when it saw the row,
    where Stripe's products have an ``updated`` of their own). The truth is rendered in the
    version the connector reads: the one it is pinned to, else the account's (now). A record of
    the second sync whose fields are not the truth's (one a version removed, or lacking one it
    added) is in another version's shape: an event's copy where its object should have been
    fetched again."""
    seen = {(stream, data.get("id")) for stream, data in second.records}
    changed: set[tuple[str, str]] = set()
    for event in events:
        obj = (event.get("data") or {}).get("object") or {}
        stream = FOLLOWING.get((obj.get("object"), event.get("type")))
        if stream in streams and obj.get("id"):  # an upcoming invoice's preview has none
            changed.add((stream, obj["id"]))
    made = {("events", str(event["id"])) for event in events} if "events" in streams else set()
    missing = sorted(changed - seen)
    table: dict[str, dict[str, dict[str, Any]]] = {}
    for stream, data in first.records + second.records:
        rows = table.setdefault(stream, {})
        if data.get("_ab_cdc_deleted_at"):
            rows.pop(data["id"], None)
        else:
            rows[data["id"]] = data
    query = "&".join(f"stream={s}" for s in streams)
    version = f"&version={scenario.pinned_version}" if scenario.pinned_version else ""
    truth = emulator.http(f"/_emulator/ground_truth?{query}&livemode="
                          f"{'true' if scenario.live else 'false'}{version}")
    assert isinstance(truth, dict)
    rendered = {(stream, o["id"]): set(o) for stream in streams
                for o in truth["streams"].get(stream, [])}
    other_shape: list[str] = []
    for stream, data in second.records:
        want = rendered.get((stream, data.get("id")))
        if want is None or data.get("_ab_cdc_deleted_at"):
            continue
        apart = sorted((set(data) ^ want) - set(ADDED_FIELDS))
        if apart:
            other_shape.append(f"{stream} {data['id']}: {', '.join(apart[:3])}")
    differing: dict[str, dict[str, int]] = {}
    example = None
    for stream in streams:
        want = {o["id"]: o for o in truth["streams"].get(stream, [])}
        got = table.get(stream, {})
        stale = [i for i in want.keys() & got.keys()
                 if any(got[i].get(k) != v for k, v in want[i].items() if k not in ADDED_FIELDS)]
        counts = {"missing": len(want.keys() - got.keys()), "extra": len(got.keys() - want.keys()),
                  "stale": len(stale)}
        if any(counts.values()):
            differing[stream] = counts
            if example is None and stale:
                fields = [k for k, v in want[stale[0]].items()
                          if k not in ADDED_FIELDS and got[stale[0]].get(k) != v]
                example = f"{stream} {stale[0]}: {', '.join(fields[:5])}"
    return {"changes_checked": len(changed), "changes_arrived": len(changed) - len(missing),
            "changes_missing": len(missing),
            "missing_examples": [f"{stream} {id_}" for stream, id_ in missing[:5]],
            "events_made": len(made), "events_missing": len(made - seen),
            "streams_equal_truth": len(streams) - len(differing),
            "streams_differing": differing, "stale_example": example,
            "second_other_shape": len(other_shape), "other_shape_examples": other_shape[:3]}


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
                    if scenario.incremental and scenario.compare_to:
                        result.update(beside_other(
                            scenario, result, results.get((scenario.compare_to, connector))))
                    results[(scenario.name, connector)].append(result)
                    print(json.dumps(result), flush=True)
                    print(summary(scenario, result), flush=True)
                    if scenario.compare_to and not scenario.incremental:
                        print(beside_parent(scenario, result,
                                            results.get((scenario.compare_to, connector))),
                              flush=True)
    if args.repeat > 1:
        for scenario in chosen:
            for connector in connectors:
                runs = results[(scenario.name, connector)]
                name = scenario.name + (" (baseline)" if connector else "")
                for key in repeated_figures(scenario):
                    values = sorted(float(str(r[key])) for r in runs if r.get(key) is not None)
                    if not values:
                        continue
                    print(f"{name}: {key} median {statistics.median(values):g}, range "
                          f"{values[0]:g} to {values[-1]:g} over {len(values)} runs", flush=True)


def repeated_figures(scenario: Scenario) -> tuple[str, ...]:
    """The figures whose median and range a repeated run prints."""
    if scenario.clock_days:
        return tuple(f"{name}_{key}" for name in SYNCS[1:len(scenario.clock_days) + 1]
                     for key in ("list_pages", "records", "to_available", "seconds",
                                 "status_differs"))
    if scenario.incremental and scenario.compare_to:
        return ("second_requests", "second_retrieves", "second_seconds", "changes_missing",
                "requests_ratio", "seconds_ratio")
    if scenario.incremental:
        return ("second_requests", "second_seconds", "changes_missing")
    if scenario.merchant_rps:
        return ("merchant_refused_share", "ratio", "429s")
    return ("ratio" if scenario.ceiling() else "records_per_s", "cpu_s_per_1000", "peak_rss_mb",
            "connections")


def beside_other(scenario: Scenario, result: dict[str, object],
                 other_runs: list[dict[str, object]] | None) -> dict[str, object]:
    """An incremental scenario's second sync beside that of ``compare_to`` (its last run in this
    bench run): requests and seconds, wall and over the read, divided by its."""
    if not other_runs:
        return {"compared_to": None}
    other = other_runs[-1]

    def ratio(key: str) -> float | None:
        mine, theirs = result.get(key), other.get(key)
        if not isinstance(mine, int | float) or not isinstance(theirs, int | float) or not theirs:
            return None
        return round(mine / theirs, 2)

    return {"compared_to": scenario.compare_to,
            "compared_requests": other.get("second_requests"),
            "compared_seconds": other.get("second_seconds"),
            "compared_read_seconds": other.get("second_read_seconds"),
            "requests_ratio": ratio("second_requests"), "seconds_ratio": ratio("second_seconds"),
            "read_seconds_ratio": ratio("second_read_seconds")}


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
    if scenario.clock_days:
        return settling_summary(scenario, result)
    if scenario.incremental:
        return incremental_summary(scenario, result)
    if scenario.merchant_rps:
        return merchant_summary(scenario, result)
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


def _name(scenario: Scenario, result: dict[str, object]) -> str:
    return scenario.name + ("" if result["connector"] == "this checkout" else " (baseline)")


def _goals(scenario: Scenario, result: dict[str, object], *figures: str) -> str:
    goals = [g.describe(result) for g in scenario.goals if not figures or g.figure in figures]
    return f" [{'; '.join(goals)}]" if goals else ""


def _counts(counts: object) -> str:
    assert isinstance(counts, dict)
    return ", ".join(f"{k} {v}" for k, v in counts.items()) or "none"


def compared_summary(scenario: Scenario, result: dict[str, object]) -> str:
    """The second sync beside ``compare_to``'s, with the goals on the ratios."""
    other = result.get("compared_to")
    if other is None:
        return f"{scenario.compare_to} not run before it: nothing to compare"
    return (f"beside {other}: requests {result['requests_ratio']} x its "
            f"{result['compared_requests']}, seconds {result['seconds_ratio']} x its "
            f"{result['compared_seconds']} (over the read {result['read_seconds_ratio']} x its "
            f"{result['compared_read_seconds']})"
            f"{_goals(scenario, result, 'requests_ratio', 'seconds_ratio')}")


def merchant_summary(scenario: Scenario, result: dict[str, object]) -> str:
    ok = result["unique"] == result["expected"] and result["exit"] == 0
    slowed = result["slowed_s"]
    return (f"  {_name(scenario, result)}: merchant refused {result['merchant_refused']} of "
            f"{result['merchant_requests']} = {float(str(result['merchant_refused_share'])):.3%}"
            f" ({_counts(result['merchant_refused_by_reason'])})"
            f"{_goals(scenario, result, 'merchant_refused_share')}; backfill "
            f"{result['records_per_s']} records/s = {result['ratio']:.2f} of its share's "
            f"{result['ceiling']:.0f}{_goals(scenario, result, 'ratio')} ({result['read_ratio']}"
            f" from its first request to its last answer); 429s {result['429s']}"
            f" ({_counts(result['429s_by_reason'])}); slowed "
            + (f"{slowed} s" if slowed is not None else "(not reported)")
            + f" ({result['slowdowns']} slowdowns logged); {result['seconds']} s, "
            f"{'complete' if ok else 'INCOMPLETE'}")


def settling_summary(scenario: Scenario, result: dict[str, object]) -> str:
    """Each sync of a settling scenario: after how many days, what settled, what it cost and
    brought, and the destination against the truth."""
    parts = [f"  {_name(scenario, result)}: {result['seeded']:,} seeded over "
             f"{result['seeded_days']} days"]
    for name in SYNCS[:len(scenario.clock_days) + 1]:
        figure = {k.removeprefix(f"{name}_"): v for k, v in result.items()
                  if k.startswith(f"{name}_")}
        if "exit" not in figure:
            break
        days = float(str(figure["days"]))
        step = f"+{days:g} day{'s' if days != 1 else ''} ({figure['settled']} settled), " \
            if days else ""
        window = figure["window_days"]
        line = (f"{step}{name} sync {figure['requests']} requests ({figure['list_pages']} list "
                f"pages), {figure['records']} records of {figure['rows']} rows"
                + (f" ({figure['to_available']} pending ones now available, "
                   f"{figure['unchanged']} unchanged)" if days else "")
                + f", {figure['seconds']} s"
                + (f", oldest pending row {window} days back" if window is not None else "")
                + f", {figure['pending']} still pending; destination "
                + ("equals the truth" if figure["equal_truth"] else
                   f"apart from the truth: missing {figure['missing']}, extra "
                   f"{figure['extra']}, stale {figure['stale']}")
                + f", statuses apart {figure['status_differs']}"
                + _goals(scenario, result, f"{name}_status_differs"))
        if figure["exit"] != 0 or figure["errors"]:
            line += f", FAILED (exit {figure['exit']}): {figure['errors']}"
        parts.append(line)
    return "; ".join(parts)


def incremental_summary(scenario: Scenario, result: dict[str, object]) -> str:
    ok = result["exit"] == 0 and result["first_exit"] == 0 and not result["errors"]
    line = (f"  {_name(scenario, result)}: {result['streams']} streams "
            f"({result['incremental_streams']} incremental); first sync "
            f"{result['first_requests']} requests, {result['first_seconds']} s, "
            f"{result['first_left_without_cursor']} streams left without an event cursor; ")
    versioned = bool(scenario.emulator.get("api_version") or scenario.pinned_version)
    if result["changes"]:
        line += (f"{result['changes']} changes ({result['change_events']} events"
                 + (f": {_counts(result.get('change_events_by_version'))}" if versioned else "")
                 + "); ")
    if versioned:
        reading = scenario.pinned_version or "the account's version"
        upgraded = f", account upgraded to {scenario.upgrade_to}" if scenario.upgrade_to else ""
        line += f"connector in {reading}{upgraded}; "
    line += (f"second sync {result['second_requests']} requests "
             f"({_counts(result['second_by_kind'])}), {result['second_429s']} 429s, "
             f"{result['second_records']} records, {result['second_seconds']} s"
             + (f" ({result.get('second_read_seconds')} s over the read)" if versioned else "")
             + f"{_goals(scenario, result, 'second_requests', 'second_retrieves')}")
    if versioned:
        line += f", answers by version: {_counts(result.get('second_by_version'))}"
    if "compared_to" in result:
        line += "; " + compared_summary(scenario, result)
    if "third_requests" in result:
        line += (f"; a third, as idle: {result['third_requests']} requests "
                 f"({_counts(result['third_by_endpoint'])})")
    if result["changes"]:
        line += (f"; changed objects arrived {result['changes_arrived']} of "
                 f"{result['changes_checked']}{_goals(scenario, result, 'changes_missing')}, "
                 f"events missing from the events stream {result['events_missing']} of "
                 f"{result['events_made']}")
    if versioned:
        line += (f"; second-sync records in another version's shape "
                 f"{result.get('second_other_shape')}"
                 f"{_goals(scenario, result, 'second_other_shape')}")
    line += (f"; streams equal to the emulator's truth {result['streams_equal_truth']} of "
             f"{result['streams']}")
    differing = result["streams_differing"]
    assert isinstance(differing, dict)
    if differing:
        line += " (differing: " + "; ".join(f"{s} {_counts(c)}" for s, c in differing.items()) + ")"
    errors = [str(e) for key in ("first_errors", "errors")
              for e in (result[key] if isinstance(result[key], list) else [])]
    return line + ("" if ok else ", FAILED: " + "; ".join(errors))


if __name__ == "__main__":
    main()
