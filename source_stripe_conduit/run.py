"""Console entry point: ``source-stripe-conduit spec|check|discover|read``."""

from __future__ import annotations

import sys

from airbyte_cdk.entrypoint import launch

from source_stripe_conduit.source import SourceStripeConduit


def run() -> None:
    launch(SourceStripeConduit(), sys.argv[1:])


if __name__ == "__main__":
    run()
