"""Console entry point: ``source-stripe-conduit spec|check|discover|read``."""

from __future__ import annotations

import ctypes
import gc
import sys

# glibc's mallopt parameter for the most malloc arenas (malloc.h).
M_ARENA_MAX = -8


def run() -> None:
    _few_malloc_arenas()
    # The CDK's import builds some hundred thousand objects that live as long as the process.
    # Collecting while they are made, in every later full collection, and once more at exit
    # finds nothing to free: it cost ~0.1 s at start and ~0.15 s at exit (1% of a 20 s first
    # load). So the import runs without the collector and what it made is frozen: left out of
    # collections, the one at exit included. Objects made later are collected as usual.
    gc.disable()
    try:
        from airbyte_cdk.entrypoint import launch

        from source_stripe_conduit.output import keep_nulls
        from source_stripe_conduit.source import SourceStripeConduit
    finally:
        gc.freeze()
        gc.enable()
    keep_nulls()
    launch(SourceStripeConduit(), sys.argv[1:])


def _few_malloc_arenas() -> None:
    """glibc gives each thread that allocates its own malloc arena, up to 8 per core; pages of
    a few hundred KB parsed in some 50 reader threads leave each arena fragmented, and the
    process held 210 MB at its peak for 200,000 records where 2 arenas hold 140 MB, at the
    same speed (MALLOC_ARENA_MAX=2, set here before any thread starts). Elsewhere than glibc,
    nothing changes."""
    try:
        libc = ctypes.CDLL("libc.so.6")
        libc.mallopt(M_ARENA_MAX, 2)
    except (OSError, AttributeError):
        pass


if __name__ == "__main__":
    run()
