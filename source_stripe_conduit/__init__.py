"""An Airbyte source for Stripe on Conduit's design: snapshot, then change capture from events."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from source_stripe_conduit.source import SourceStripeConduit

__all__ = ["SourceStripeConduit"]


def __getattr__(name: str) -> Any:
    # Imported on first use, not with the package: the entry point (run.py) controls how the
    # CDK is imported.
    if name == "SourceStripeConduit":
        from source_stripe_conduit.source import SourceStripeConduit

        return SourceStripeConduit
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
