"""A local emulator of Stripe's REST API, faithful to Stripe's documented behaviour.

It serves the lists and objects the connector reads, the events of every change, Stripe's
errors, rate limits, latency and faults, and a control API to seed data, make changes, move the
clock and read the ground truth. It is independent of the connector on purpose. See README.md.
"""

from .control import EmulatorClient
from .server import Emulator

__all__ = ["Emulator", "EmulatorClient"]
