"""Running the emulator: in a background thread of the current process, or in the foreground."""

from __future__ import annotations

import asyncio
import threading
from types import TracebackType
from typing import Any

from aiohttp import web

from .app import State
from .config import Settings
from .control import EmulatorClient, make_app

DEFAULT_HOST = "127.0.0.1"


def make_state(**config: Any) -> State:
    settings = Settings()
    settings.update(config)
    return State(settings)


async def start_site(state: State, host: str, port: int) -> tuple[web.AppRunner, int]:
    # No access log: a log line per request would cost more than serving the page.
    runner = web.AppRunner(make_app(state), access_log=None, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, host, port, backlog=1024, reuse_address=True)
    await site.start()
    server = site._server
    assert server is not None
    sockets = getattr(server, "sockets", None) or []
    bound = sockets[0].getsockname()[1] if sockets else port
    return runner, int(bound)


class Emulator:
    """A Stripe emulator serving on ``127.0.0.1`` from a background thread.

    ``Emulator(port=0, rate_limit=False)`` takes any setting of ``Settings`` by name; use it as
    a context manager, or call ``start()`` and ``stop()``.
    """

    def __init__(self, port: int = 0, host: str = DEFAULT_HOST, **config: Any) -> None:
        self.host = host
        self.port = port
        self.state = make_state(**config)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._client: EmulatorClient | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def client(self) -> EmulatorClient:
        if self._client is None:
            self._client = EmulatorClient(self.url)
        return self._client

    def start(self) -> Emulator:
        self._thread = threading.Thread(target=self._run, name="stripe-emulator", daemon=True)
        self._thread.start()
        self._ready.wait()
        if self._error is not None:
            raise RuntimeError(f"The Stripe emulator failed to start: {self._error}")
        return self

    def _run(self) -> None:
        loop = self._loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        try:
            self._runner, self.port = loop.run_until_complete(
                start_site(self.state, self.host, self.port))
        except BaseException as error:  # reported to start(), in the caller's thread
            self._error = error
            self._ready.set()
            loop.close()
            return
        self._ready.set()
        try:
            loop.run_forever()
        finally:
            loop.run_until_complete(self._runner.cleanup())
            loop.close()

    def stop(self) -> None:
        if self._client is not None:
            self._client.close()
        loop, thread = self._loop, self._thread
        if loop is not None and thread is not None and thread.is_alive():
            loop.call_soon_threadsafe(loop.stop)
            thread.join(timeout=10)
        self._thread = None

    def __enter__(self) -> Emulator:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()
