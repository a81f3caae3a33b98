"""A parent's children (an invoice's lines, a customer's payment methods), and the requests a
page fans out, side by side.

The snapshot and change capture list children with the same call, so a row is the same
whichever of them produced it. A page's fan-out (the children of its parents, objects fetched
again) runs in one pool shared by every stream of the process, never one request after another
inside a page: the pool's size bounds those requests whatever the number of pages in flight, so
with the governor's pages they stay within the client's connections.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from source_stripe_conduit.resources import Resource
from source_stripe_conduit.transport.client import FAN_OUT_REQUESTS, Params, StripeClient
from source_stripe_conduit.transport.errors import StripeError

T = TypeVar("T")

# Times one parent's children are read again from the start when the child a page started
# after was deleted meanwhile; beyond that the list is changing too fast to read whole.
MAX_CHILD_RESTARTS = 3

_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


def _shared_pool() -> ThreadPoolExecutor:
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(FAN_OUT_REQUESTS, thread_name_prefix="stripe-fan-out")
        return _pool


def fan_out(fetch: Callable[[str], T], keys: Sequence[str]) -> dict[str, T]:
    """``fetch`` of every key, side by side in the shared pool; the first error is raised."""
    if not keys:
        return {}
    if len(keys) == 1:
        return {keys[0]: fetch(keys[0])}
    futures = [_shared_pool().submit(fetch, key) for key in keys]
    return {key: future.result() for key, future in zip(keys, futures, strict=True)}


def children_of(client: StripeClient, resource: Resource,
                parent_ids: Sequence[str]) -> dict[str, list[dict[str, Any]]]:
    """Every child of each parent, side by side."""
    return fan_out(lambda parent_id: list_children(client, resource, parent_id), parent_ids)


def list_children(client: StripeClient, resource: Resource,
                  parent_id: str) -> list[dict[str, Any]]:
    """Every child of one parent, all pages."""
    path, parent_params = resource.children_request(parent_id)
    children: list[dict[str, Any]] = []
    cursor: str | None = None
    restarts = 0
    while True:
        params: Params = [*parent_params, ("limit", 100),
                          *([("starting_after", cursor)] if cursor else [])]
        try:
            page = client.list_page(resource.stream, path, params)
        except StripeError as error:
            if error.status == 404 and error.resource_missing:
                # The parent was deleted after it was listed (or after its event): it has no
                # children any more, and its own deletion says what becomes of them.
                return []
            if cursor and error.resource_missing and error.param == "starting_after" \
                    and restarts < MAX_CHILD_RESTARTS:
                # The child we paged from was deleted meanwhile. Children lists are short and
                # have no created filter to resume by: read this parent's list again.
                restarts += 1
                children, cursor = [], None
                continue
            raise
        children.extend(page.data)
        if not page.has_more or not page.data:
            return children
        cursor = page.data[-1]["id"]
