"""Run the Stripe emulator in the foreground.

    python -m stripe_emulator --port 12111 --seed customers=1000,charges=5000 --random-seed 42

It prints one line, the URL it serves, once it accepts requests (with ``--port 0`` that line
says which port it got), and serves until interrupted. With ``--tls`` it serves HTTPS and a
second line follows: the path of the CA certificate to trust (``--ca-file``, else a file in a
temporary directory removed at exit).
"""

from __future__ import annotations

import argparse
import asyncio
import random
import signal
import sys
from typing import Any

from .catalog import kind_for
from .config import ConfigError
from .server import DEFAULT_HOST, make_state, start_site
from .tls import make_server_tls


def parse_counts(text: str) -> dict[str, int]:
    counts: dict[str, int] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        name, sep, number = part.partition("=")
        if not sep or not number.strip().isdigit() or kind_for(name.strip()) is None:
            raise argparse.ArgumentTypeError(
                f"--seed takes stream=count pairs separated by commas, not {part!r}")
        counts[name.strip()] = int(number)
    return counts


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m stripe_emulator",
                                     description="A local emulator of Stripe's API.")
    parser.add_argument("--host", default=DEFAULT_HOST)
    parser.add_argument("--port", type=int, default=12111)
    parser.add_argument("--seed", type=parse_counts, default={},
                        help="objects to create at start, e.g. customers=1000,charges=5000")
    parser.add_argument("--random-seed", type=int, default=None,
                        help="seed of the random data, for a reproducible dataset")
    parser.add_argument("--years", type=float, default=3.0,
                        help="seeded objects are created over this many past years")
    parser.add_argument("--latency", default="0",
                        help="'realistic' (about 300 ms per page of 100) or milliseconds")
    parser.add_argument("--rate-limit-test", type=float, default=25.0)
    parser.add_argument("--rate-limit-live", type=float, default=100.0)
    parser.add_argument("--per-endpoint-limit", type=float, default=None,
                        help="also limit each endpoint to this many requests/s")
    parser.add_argument("--rate-limit-scope", choices=("platform", "account"),
                        default="platform",
                        help="whose budget a request with Stripe-Account spends")
    parser.add_argument("--no-rate-limit", action="store_true")
    parser.add_argument("--concurrency-limit", type=int, default=None,
                        help="requests in flight at once per account and mode")
    parser.add_argument("--endpoint-concurrency-limit", type=int, default=None,
                        help="requests in flight at once per account, mode and endpoint")
    parser.add_argument("--merchant-rps", type=float, default=0.0,
                        help="the merchant's own requests per second on the same limits")
    parser.add_argument("--merchant-endpoints", default=None,
                        help="what the merchant calls, comma separated, e.g. "
                             "'GET /v1/customers/{id},GET /v1/charges/{id}'")
    parser.add_argument("--merchant-mode", choices=("live", "test"), default="live",
                        help="whose budget the merchant spends: live (default) or test")
    parser.add_argument("--merchant-account", default=None,
                        help="the account whose budget the merchant spends (default: the "
                             "platform)")
    parser.add_argument("--merchant-arrivals", choices=("poisson", "even"), default="poisson")
    parser.add_argument("--fault-rate", type=float, default=0.0)
    parser.add_argument("--drop-rate", type=float, default=0.0)
    parser.add_argument("--many-children-share", type=float, default=0.05,
                        help="share of invoices and subscriptions with more than 10 lines "
                             "or items")
    parser.add_argument("--remove-children-share", type=float, default=0.0,
                        help="share of random updates of invoices and subscriptions that "
                             "remove one or two of their lines or items")
    parser.add_argument("--event-delay", type=float, default=0.0,
                        help="maximum visibility delay of new events, in seconds")
    parser.add_argument("--api-version", default=None,
                        help="the accounts' default API version (answers without "
                             "Stripe-Version, events), e.g. 2025-03-31.basil; default "
                             "2024-06-20")
    parser.add_argument("--tls", action="store_true",
                        help="serve HTTPS with a certificate made at start; prints the CA "
                             "file to trust on a second line")
    parser.add_argument("--ca-file", default=None,
                        help="with --tls, write the CA certificate (PEM) here")
    args = parser.parse_args(argv)
    if args.ca_file is not None and not args.tls:
        parser.error("--ca-file goes with --tls")
    return args


async def serve(args: argparse.Namespace) -> None:
    config: dict[str, Any] = {
        "latency": args.latency,
        "rate_limit": not args.no_rate_limit,
        "rate_limit_test": args.rate_limit_test,
        "rate_limit_live": args.rate_limit_live,
        "fault_rate": args.fault_rate,
        "drop_rate": args.drop_rate,
        "event_max_delay": args.event_delay,
        "rate_limit_scope": args.rate_limit_scope,
        "many_children_share": args.many_children_share,
        "remove_children_share": args.remove_children_share,
        "concurrency_limit": args.concurrency_limit,
        "endpoint_concurrency_limit": args.endpoint_concurrency_limit,
        "merchant_requests_per_second": args.merchant_rps,
        "merchant_livemode": args.merchant_mode == "live",
        "merchant_account": args.merchant_account,
        "merchant_arrivals": args.merchant_arrivals,
    }
    if args.merchant_endpoints is not None:
        config["merchant_endpoints"] = [part for part in args.merchant_endpoints.split(",")
                                        if part.strip()]
    if args.api_version is not None:
        # Before seeding: the seeded objects' creation events carry the version.
        config["api_version"] = args.api_version
    if args.per_endpoint_limit is not None:
        config["per_endpoint_limit_enabled"] = True
        config["per_endpoint_limit"] = args.per_endpoint_limit
    state = make_state(**config)
    if args.seed:
        dataset = state.store.platform_dataset(False)
        counts = {}
        for name, count in args.seed.items():
            kind = kind_for(name)
            assert kind is not None
            counts[kind] = count
        state.mutator(dataset, random.Random(args.random_seed)).seed(counts, args.years)
    server_tls = make_server_tls(args.host, args.ca_file) if args.tls else None
    try:
        runner, port = await start_site(state, args.host, args.port,
                                        server_tls.context if server_tls else None)
        # The URL stays the first line: callers that predate TLS read just that one.
        print(f"{'https' if server_tls else 'http'}://{args.host}:{port}", flush=True)
        if server_tls is not None:
            print(server_tls.ca_file, flush=True)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        try:
            await stop.wait()
        finally:
            await runner.cleanup()
    finally:
        if server_tls is not None:
            server_tls.cleanup()


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        asyncio.run(serve(args))
    except (OSError, ConfigError) as error:
        print(f"stripe_emulator: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
