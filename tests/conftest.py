"""Shared fixtures: one real PostgreSQL per run, a fresh database per test (cloned from a
migrated template), the gateway app in-process, and repository-backed factories."""

from __future__ import annotations

import asyncio
import base64
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path

import asyncpg
import httpx
import pytest
from sqlalchemy.engine import make_url

from openhermit.config import Settings, load_settings
from openhermit.gateway.app import create_app
from openhermit.gateway.platform import Platform
from openhermit.secrets.crypto import SecretCipher
from openhermit.secrets.db_store import DbSecretStore
from openhermit.store import migrate
from openhermit.store.bootstrap import StoreHandle
from openhermit.store.embedded import EmbeddedPostgres
from openhermit.store.engine import Database, open_database, to_libpq_url
from openhermit.testing.fake_model import FakeModelServer
from tests.factories import Factory
from tests.runtime_helpers import FAKE_KEY_NAME

TEMPLATE_DB = "openhermit_template"
ADMIN_TOKEN = "test-admin-token"
SECRETS_KEY = base64.b64encode(b"k" * 32).decode()


def _database_url(server_url: str, name: str) -> str:
    return make_url(server_url).set(database=name).render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def pg_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """URL of the test server: `DATABASE_URL_TEST` if set, else an embedded one for this run."""
    configured = load_settings().database_url_test
    if configured:
        yield configured
        return
    server = EmbeddedPostgres(tmp_path_factory.mktemp("pg") / "pgdata")
    url = server.start()
    try:
        yield url
    finally:
        server.stop()


@pytest.fixture(scope="session")
def embedded_bin(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return EmbeddedPostgres(tmp_path_factory.mktemp("unused")).bin_dir


async def _create_template(server_url: str) -> None:
    admin = await asyncpg.connect(to_libpq_url(_database_url(server_url, "postgres")))
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{TEMPLATE_DB}" WITH (FORCE)')
        await admin.execute(f'CREATE DATABASE "{TEMPLATE_DB}"')
    finally:
        await admin.close()
    db = open_database(_database_url(server_url, TEMPLATE_DB), pool_size=1)
    try:
        await migrate.upgrade(db)
    finally:
        await db.dispose()


@pytest.fixture(scope="session")
def template_db(pg_server: str) -> str:
    asyncio.run(_create_template(pg_server))
    return TEMPLATE_DB


@asynccontextmanager
async def _scratch_database(server_url: str, template: str | None = None) -> AsyncIterator[str]:
    """A database of its own (optionally cloned from `template`), dropped afterwards."""
    name = f"t_{uuid.uuid4().hex[:12]}"
    clone = f' TEMPLATE "{template}" STRATEGY FILE_COPY' if template else ""
    admin = await asyncpg.connect(to_libpq_url(_database_url(server_url, "postgres")))
    await admin.execute(f'CREATE DATABASE "{name}"{clone}')
    try:
        yield _database_url(server_url, name)
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


@pytest.fixture
async def empty_db_url(pg_server: str) -> AsyncIterator[str]:
    """A new database with no schema (for migration tests)."""
    async with _scratch_database(pg_server) as url:
        yield url


@pytest.fixture
async def db_url(pg_server: str, template_db: str) -> AsyncIterator[str]:
    """A migrated database of its own for this test, cloned from the template."""
    async with _scratch_database(pg_server, template_db) as url:
        yield url


@pytest.fixture
async def db(db_url: str) -> AsyncIterator[Database]:
    database = open_database(db_url, pool_size=5)
    try:
        yield database
    finally:
        await database.dispose()


@pytest.fixture
def settings(tmp_path: Path, db_url: str) -> Settings:
    return Settings(
        home=tmp_path / "home",
        database_url=db_url,
        admin_token=ADMIN_TOKEN,
        secrets_key=SECRETS_KEY,
        jwt_secret="test-jwt-secret-of-at-least-32-bytes",
        provider_api_keys={FAKE_KEY_NAME: "sk-fake-key"},
    )


@pytest.fixture
def cipher() -> SecretCipher:
    return SecretCipher(base64.b64decode(SECRETS_KEY))


@pytest.fixture
async def platform(settings: Settings, db: Database, cipher: SecretCipher) -> Platform:
    secrets = DbSecretStore(db, cipher)
    await secrets.verify_key()
    return Platform(
        settings=settings, store=StoreHandle(db=db, embedded=None, start_seconds=0.0), secrets=secrets
    )


@pytest.fixture
async def client(settings: Settings, platform: Platform) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings, platform)
    transport = httpx.ASGITransport(app=app)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway.test") as http:
            yield http
    finally:
        await platform.fleet.stop()
        await platform.runtime.aclose()


@pytest.fixture
def admin_headers() -> dict[str, str]:
    return {"Authorization": f"Bearer {ADMIN_TOKEN}"}


@pytest.fixture
def factory(db: Database) -> Factory:
    return Factory(db)


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """An environment with none of OpenHermit's variables and a fresh OPENHERMIT_HOME."""
    for name in list(os.environ):
        if (
            name.startswith(("OPENHERMIT_", "GATEWAY_", "DATABASE_URL"))
            or name == "PORT"
            or name.endswith("_API_KEY")
        ):
            monkeypatch.delenv(name)
    home = tmp_path / "ohome"
    monkeypatch.setenv("OPENHERMIT_HOME", str(home))
    return home


@pytest.fixture(scope="session")
def model_server() -> Iterator[FakeModelServer]:
    server = FakeModelServer().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def fake_model(model_server: FakeModelServer) -> Iterator[FakeModelServer]:
    """The shared fake model server, with an empty script for this test."""
    model_server.reset()
    yield model_server
    model_server.reset()
