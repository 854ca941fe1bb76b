"""`hermit db`: schema migrations."""

from __future__ import annotations

import asyncio

import typer

from openhermit.config import load_settings
from openhermit.errors import ConfigError

app = typer.Typer(help="Database schema: migrate and inspect.", no_args_is_help=True)


async def _upgrade() -> tuple[str | None, float]:
    # The store (SQLAlchemy, Alembic) loads only for this command: `hermit --help` stays fast.
    from openhermit.store import migrate
    from openhermit.store.bootstrap import open_store

    handle = await open_store(load_settings(), run_migrations=True)
    try:
        return await migrate.current_revision(handle.db), handle.start_seconds
    finally:
        await handle.close()


@app.command("upgrade")
def upgrade() -> None:
    """Apply every pending migration (the gateway also does this at start)."""
    try:
        revision, seconds = asyncio.run(_upgrade())
    except ConfigError as exc:
        typer.echo(f"hermit: {exc.message}", err=True)
        raise typer.Exit(2) from None
    typer.echo(f"database at revision {revision} in {seconds:.2f}s")
