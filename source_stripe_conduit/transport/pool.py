"""The sync's thread pool for the requests a page fans out, and for the account lookup."""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")
K = TypeVar("K", bound=Hashable)


class Pool:
    """A thread pool started on first use and ended by its owner (the sync, through
    ``StripeClient.close``), never left running by the process."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._lock = threading.Lock()
        self._executor: ThreadPoolExecutor | None = None

    def submit(self, fn: Callable[..., T], *args: Any) -> Future[T]:
        with self._lock:
            if self._executor is None:
                self._executor = ThreadPoolExecutor(self._size,
                                                    thread_name_prefix="stripe-fan-out")
            return self._executor.submit(fn, *args)

    def close(self) -> None:
        with self._lock:
            executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=True, cancel_futures=True)

    def fan_out(self, fetch: Callable[[K], T], keys: Sequence[K]) -> dict[K, T]:
        """``fetch`` of every key, side by side; the first error is raised. The pool's size
        bounds these requests whatever the number of pages in flight, so with the governor's
        pages they stay within the client's connections."""
        if not keys:
            return {}
        if len(keys) == 1:
            return {keys[0]: fetch(keys[0])}
        futures = [self.submit(fetch, key) for key in keys]
        return {key: future.result() for key, future in zip(keys, futures, strict=True)}
