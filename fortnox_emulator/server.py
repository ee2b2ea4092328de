"""Running the emulator over real HTTP: in a background thread (tests, the demo) or in the foreground.

The server is Werkzeug's threaded WSGI server: one thread per connection, so a fault that waits
30 seconds holds up nobody else, and bench/emulator_throughput.py shows it is fast enough.
"""

from __future__ import annotations

import logging
import socket
import threading
from typing import Any

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from fortnox_emulator.app import EmulatorApp
from fortnox_emulator.control import EmulatorControl
from fortnox_emulator.settings import EmulatorSettings

log = logging.getLogger("fortnox_emulator")


class _QuietHandler(WSGIRequestHandler):
    """Werkzeug's handler without its access log (tests and benchmarks make thousands of calls)."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass


class _AccessLogHandler(WSGIRequestHandler):
    """Werkzeug's handler, logging each request (plain text, no colours) through our logger."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        log.info("%s %s %s", self.command, self.path, code)

    def log(self, type: str, message: str, *args: Any) -> None:
        log.info("%s %s", self.address_string(), message % args)


class RunningEmulator:
    """An emulator serving on 127.0.0.1 in a background thread.

    url: base URL, e.g. "http://127.0.0.1:50123" (the API is url + "/3/...", OAuth url + "/oauth-v1/...")
    port: the port it listens on
    app: the `EmulatorApp` (its state, settings, token service)
    control: an `EmulatorControl` for this emulator's control API
    Use as a context manager, or call `stop()`.
    """

    def __init__(self, app: EmulatorApp, server: BaseWSGIServer) -> None:
        self.app = app
        self._server = server
        self.port: int = server.port
        self.url = f"http://127.0.0.1:{self.port}"
        self.control = EmulatorControl(self.url, token=app.settings.control_token)
        self._thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name=f"fortnox-emulator-{self.port}", daemon=True)
        self._thread.start()

    @property
    def default_tenant_id(self) -> int:
        """The id of the seeded demo company (the lowest tenant id)."""
        return min(self.app.store.state.tenants)

    def stop(self) -> None:
        """Stop serving, end pending delays, close the socket and write the state file."""
        self.app.stopping.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
        self.control.close()
        self.app.store.save_if_dirty()

    def __enter__(self) -> RunningEmulator:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def start_emulator(*, port: int = 0, access_log: bool = False, control: bool = True,
                   **settings: Any) -> RunningEmulator:
    """Start an emulator on 127.0.0.1 (a free port unless `port` is given) in a background thread.

    `settings` are `EmulatorSettings` fields (client_id, auto_approve, access_token_lifetime,
    rate_limit_window, state_file, ...). The control API is on by default here, because tests and
    the demo drive it through `.control`; pass control=False to serve only what Fortnox serves.
    """
    app = EmulatorApp(EmulatorSettings.from_kwargs(control=control, **settings))
    server = _make_server("127.0.0.1", port, app, _AccessLogHandler if access_log else _QuietHandler)
    return RunningEmulator(app, server)


def _make_server(host: str, port: int, app: EmulatorApp, handler: type[WSGIRequestHandler]) -> BaseWSGIServer:
    """Werkzeug's threaded server on a socket bound here first: a taken port raises `OSError`
    (Werkzeug itself would print a message and call `sys.exit`, ending the caller's process)."""
    listening = socket.create_server((host, port))
    try:
        return make_server(host, port, app, threaded=True, request_handler=handler, fd=listening.fileno())
    finally:
        listening.close()  # Werkzeug serves on its own duplicate of the socket


def serve_forever(settings: EmulatorSettings, *, host: str = "127.0.0.1", port: int = 5050) -> None:
    """Serve in the foreground with an access log until interrupted (`python -m fortnox_emulator`)."""
    app = EmulatorApp(settings)
    server = _make_server(host, port, app, _AccessLogHandler)
    log.info("Fortnox-emulatorn kör på http://%s:%s/ (klient-id %s)", host, server.port, settings.client_id)
    if settings.control:
        log.info("Kontroll-API:t på /_emulator/ kräver X-Emulator-Token: %s", settings.control_token)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        app.stopping.set()
        server.server_close()
        app.store.save_if_dirty()
