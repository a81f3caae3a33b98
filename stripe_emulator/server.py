"""Running the emulator: in a background thread of the current process, or in the foreground."""

from __future__ import annotations

import asyncio
import os
import ssl
import threading
from types import TracebackType
from typing import Any

from aiohttp import web

from .app import State
from .config import Settings
from .control import EmulatorClient, make_app
from .limits import Stats
from .tls import ServerTls, make_server_tls

DEFAULT_HOST = "127.0.0.1"


def make_state(**config: Any) -> State:
    settings = Settings()
    settings.update(config)
    return State(settings)


class _CountingProtocol(asyncio.Protocol):
    """Stands in for aiohttp's protocol until the connection is made, to count it.

    With TLS, asyncio calls the application protocol's ``connection_made`` only once the
    handshake has completed (a failed one never gets there), so that call is where handshakes
    are counted. It then hands the transport straight to aiohttp's protocol, which stays out
    of every later read and write.
    """

    __slots__ = ("_inner", "_stats", "_tls")

    def __init__(self, inner: asyncio.Protocol, stats: Stats, tls: bool) -> None:
        self._inner = inner
        self._stats = stats
        self._tls = tls

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        if self._tls:
            self._stats.tls_handshakes += 1
        transport.set_protocol(self._inner)
        self._inner.connection_made(transport)

    # Only reached if a transport calls before connection_made, which asyncio's do not.
    def data_received(self, data: bytes) -> None:
        self._inner.data_received(data)

    def eof_received(self) -> bool | None:
        return self._inner.eof_received()

    def connection_lost(self, exc: Exception | None) -> None:
        self._inner.connection_lost(exc)

    def pause_writing(self) -> None:
        self._inner.pause_writing()

    def resume_writing(self) -> None:
        self._inner.resume_writing()


class _CountingSite(web.BaseSite):
    """aiohttp's TCP site, with the protocol factory wrapped to count accepted connections."""

    __slots__ = ("_host", "_port", "_stats", "_reuse_address")

    def __init__(self, runner: web.BaseRunner, host: str, port: int, stats: Stats, *,
                 ssl_context: ssl.SSLContext | None = None, backlog: int = 128,
                 reuse_address: bool = True) -> None:
        super().__init__(runner, ssl_context=ssl_context, backlog=backlog)
        self._host = host
        self._port = port
        self._stats = stats
        self._reuse_address = reuse_address

    @property
    def name(self) -> str:
        scheme = "https" if self._ssl_context else "http"
        return f"{scheme}://{self._host}:{self._port}"

    @property
    def port(self) -> int:
        return self._port

    async def start(self) -> None:
        await super().start()
        server = self._runner.server
        assert server is not None
        stats, tls = self._stats, self._ssl_context is not None

        def factory() -> asyncio.Protocol:
            # asyncio calls the factory once per accepted socket, before any TLS handshake.
            stats.connections += 1
            return _CountingProtocol(server(), stats, tls)

        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(
            factory, self._host, self._port, ssl=self._ssl_context, backlog=self._backlog,
            reuse_address=self._reuse_address)
        sockets = self._server.sockets
        if sockets:
            self._port = int(sockets[0].getsockname()[1])


async def start_site(state: State, host: str, port: int,
                     ssl_context: ssl.SSLContext | None = None) -> tuple[web.AppRunner, int]:
    """Serve ``state`` on ``host:port`` (http, or https with ``ssl_context``); the runner to
    clean up and the port bound (``port`` 0 picks a free one)."""
    # No access log: a log line per request would cost more than serving the page.
    runner = web.AppRunner(make_app(state), access_log=None, handle_signals=False)
    await runner.setup()
    site = _CountingSite(runner, host, port, state.stats, ssl_context=ssl_context,
                         backlog=1024)
    await site.start()
    return runner, site.port


class Emulator:
    """A Stripe emulator serving on ``127.0.0.1`` from a background thread.

    ``Emulator(port=0, rate_limit=False)`` takes any setting of ``Settings`` by name; use it as
    a context manager, or call ``start()`` and ``stop()``. ``tls=True`` serves HTTPS with a
    certificate made at start: clients trust ``ca_file`` (written to the path given, else to
    a temporary directory removed by ``stop()``).
    """

    def __init__(self, port: int = 0, host: str = DEFAULT_HOST, *, tls: bool = False,
                 ca_file: str | os.PathLike[str] | None = None, **config: Any) -> None:
        if ca_file is not None and not tls:
            raise ValueError("ca_file is where the CA of tls=True goes; give tls=True too")
        self.host = host
        self.port = port
        self.tls = tls
        self._ca_path = ca_file
        self.state = make_state(**config)
        self._server_tls: ServerTls | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._client: EmulatorClient | None = None

    @property
    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}://{self.host}:{self.port}"

    @property
    def ca_file(self) -> str | None:
        """The CA certificate (PEM) to trust, once started with ``tls=True``; else None."""
        return str(self._server_tls.ca_file) if self._server_tls is not None else None

    @property
    def client(self) -> EmulatorClient:
        if self._client is None:
            self._client = EmulatorClient(self.url, ca_file=self.ca_file)
        return self._client

    def start(self) -> Emulator:
        if self.tls:
            self._server_tls = make_server_tls(self.host, self._ca_path)
        self._ready.clear()
        self._error = None
        self._thread = threading.Thread(target=self._run, name="stripe-emulator", daemon=True)
        self._thread.start()
        self._ready.wait()
        if self._error is not None:
            self._cleanup_tls()
            raise RuntimeError(f"The Stripe emulator failed to start: {self._error}")
        return self

    def _run(self) -> None:
        loop = self._loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        context = self._server_tls.context if self._server_tls is not None else None
        try:
            self._runner, self.port = loop.run_until_complete(
                start_site(self.state, self.host, self.port, context))
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
            self._client = None
        loop, thread = self._loop, self._thread
        if loop is not None and thread is not None and thread.is_alive():
            loop.call_soon_threadsafe(loop.stop)
            thread.join(timeout=10)
        self._thread = None
        self._cleanup_tls()

    def _cleanup_tls(self) -> None:
        if self._server_tls is not None:
            self._server_tls.cleanup()
            self._server_tls = None

    def __enter__(self) -> Emulator:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()
