"""`create_app`: the composition root of the gateway."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from openhermit import __version__
from openhermit.config import Settings
from openhermit.gateway.errors import install_error_handlers
from openhermit.gateway.log_buffer import log_buffer
from openhermit.gateway.platform import Platform, start_platform
from openhermit.gateway.routes import (
    admin_users,
    agent_config,
    agents,
    attachments,
    auth_tokens,
    channels,
    events,
    fleet,
    health,
    instructions,
    logs,
    mcp_servers,
    members,
    messages,
    metrics,
    policies,
    providers,
    sandboxes,
    schedules,
    secrets,
    sessions,
    skills,
    stats,
    ws,
)

# Starlette tries routes in this order: the per-turn routes go first, so posting a message does
# not match its path against every admin route before its own.
ROUTERS = (
    messages,
    events,
    sessions,
    health,
    metrics,
    stats,
    logs,
    fleet,
    admin_users,
    auth_tokens,
    providers,
    agents,
    agent_config,
    members,
    secrets,
    instructions,
    channels,
    policies,
    schedules,
    sandboxes,
    skills,
    mcp_servers,
    attachments,
    ws,
)


def create_app(
    settings: Settings, platform: Platform | None = None, *, close_platform: bool = False
) -> FastAPI:
    """Build the gateway app.

    With `platform` given, the app uses it and closes it at shutdown only if `close_platform`;
    without, the app opens one at start-up and closes it at shutdown.
    """

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if platform is not None:
            app.state.platform = platform
            await platform.start_background()
            try:
                yield
            finally:
                if close_platform:
                    await platform.close()
            return
        owned = await start_platform(settings)
        await owned.start_background()
        app.state.platform = owned
        try:
            yield
        finally:
            await owned.close()

    app = FastAPI(title="OpenHermit gateway", version=__version__, lifespan=lifespan)
    if platform is not None:
        app.state.platform = platform
    install_error_handlers(app)
    for module in ROUTERS:
        app.include_router(module.router)
    log_buffer()
    return app
