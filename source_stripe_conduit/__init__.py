"""An Airbyte source for Stripe on Conduit's design: snapshot, then change capture from events."""

from source_stripe_conduit.source import SourceStripeConduit

__all__ = ["SourceStripeConduit"]
