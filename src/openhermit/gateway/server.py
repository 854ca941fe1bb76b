"""Run the gateway process: check configuration, open the platform, serve HTTP, clean up."""

from __future__ import annotations

import asyncio
import errno
import logging
import socket
import sys
from collections.abc import Coroutine
from typing import Any

import uvicorn

from openhermit.config import Settings, load_settings
from openhermit.errors import ConfigError, OpenHermitError
from openhermit.gateway.app import create_app
from openhermit.gateway.heap import settle_heap
from openhermit.gateway.log_buffer import configure_logging
from openhermit.gateway.platform import start_platform

log = logging.getLogger("openhermit.gateway")
KEEP_ALIVE_SECONDS = 75


def check_port_free(host: str, port: int) -> None:
    """Fail early, with one line, when the listen address is taken."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise ConfigError(
                    f"GATEWAY_PORT: {host}:{port} is already in use (is another gateway running?)"
                ) from None
            raise ConfigError(f"GATEWAY_HOST: cannot listen on {host}:{port} ({exc.strerror})") from None


async def serve(settings: Settings) -> None:
    check_port_free(settings.host, settings.port)
    platform = await start_platform(settings)
    try:
        # The platform is closed by the app's shutdown, before uvicorn re-raises Ctrl-C.
        app = create_app(settings, platform, close_platform=True)
        config = uvicorn.Config(
            app,
            host=settings.host,
            port=settings.port,
            log_level=settings.log_level,
            lifespan="on",
            proxy_headers=False,
            ws_ping_interval=30.0,
            ws_ping_timeout=30.0,
            # Longer than clients' and load balancers' idle timeouts (httpx: 5 s, most load
            # balancers: 60 s), so the client side always closes an idle connection first.
            # With equal timeouts a request sent as the server closes fails with a read error.
            timeout_keep_alive=KEEP_ALIVE_SECONDS,
        )
        server = uvicorn.Server(config)
        settle_heap()
        log.info("gateway listening on http://%s:%d", settings.host, settings.port)
        await server.serve()
    finally:
        await platform.close()


def run_event_loop(main: Coroutine[Any, Any, None]) -> None:
    """Run on uvloop where it is installed (it comes with `uvicorn[standard]`): the gateway's
    sockets, timers and asyncpg's protocol cost about a third less CPU than on the default loop."""
    try:
        import uvloop
    except ImportError:  # pragma: no cover - platforms without uvloop (Windows)
        asyncio.run(main)
        return
    uvloop.run(main)


def main() -> None:
    """Entry point of `python -m openhermit.gateway` (what `hermit gateway run` executes)."""
    try:
        settings = load_settings()
        configure_logging(settings.log_level)
        run_event_loop(serve(settings))
    except (ConfigError, OpenHermitError) as exc:
        print(f"openhermit: {exc.message}", file=sys.stderr)
        sys.exit(2)
    except KeyboardInterrupt:
        pass
