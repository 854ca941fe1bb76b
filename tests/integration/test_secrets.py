from __future__ import annotations

import base64
import json
import subprocess
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from openhermit.config import Settings
from openhermit.errors import ConfigError, NotFound
from openhermit.secrets.backend import import_secret_files, open_secret_store
from openhermit.secrets.crypto import SecretCipher
from openhermit.secrets.db_store import DbSecretStore
from openhermit.secrets.file_store import FileSecretStore
from openhermit.store.engine import Database
from tests.factories import Factory

CANARY = "sk-canary-0123456789abcdef"


def _pg_dump(bin_dir: Path, db_url: str) -> str:
    url = make_url(db_url)
    host = url.query.get("host") or url.host or "127.0.0.1"
    args = [str(bin_dir / "pg_dump"), "-h", str(host), "-U", url.username or "postgres", url.database or ""]
    if url.port:
        args += ["-p", str(url.port)]
    env = {"PGPASSWORD": url.password or ""}
    return subprocess.run(args, check=True, capture_output=True, text=True, env=env, timeout=60).stdout


async def test_db_store_keeps_only_ciphertext(
    db: Database, db_url: str, factory: Factory, cipher: SecretCipher, embedded_bin: Path
) -> None:
    await factory.agent("main")
    store = DbSecretStore(db, cipher)
    await store.set("main", "OPENROUTER_API_KEY", CANARY)
    await store.set("main", "PASS", "visible-in-sandbox", pass_through=True)

    listed = await store.list("main")
    assert listed["OPENROUTER_API_KEY"].masked == "sk-c********cdef"
    assert listed["PASS"].pass_through is True
    assert await store.get("main", "OPENROUTER_API_KEY") == CANARY
    assert await store.pass_through("main") == {"PASS": "visible-in-sandbox"}

    dump = _pg_dump(embedded_bin, db_url)
    assert "agent_secrets" in dump
    assert CANARY not in dump
    assert "visible-in-sandbox" not in dump


async def test_pass_through_flip_and_delete(db: Database, factory: Factory, cipher: SecretCipher) -> None:
    await factory.agent("main")
    store = DbSecretStore(db, cipher)
    await store.set("main", "A", "value-a")
    await store.set("main", "A", None, pass_through=True)
    assert await store.pass_through("main") == {"A": "value-a"}
    await store.set("main", "A", "value-b")  # replacing the value keeps the flag
    assert await store.pass_through("main") == {"A": "value-b"}
    with pytest.raises(NotFound):
        await store.set("main", "MISSING", None, pass_through=True)
    with pytest.raises(ValueError, match="invalid secret name"):
        await store.set("main", "bad-name", "x")
    assert await store.delete("main", "A")
    assert not await store.delete("main", "A")
    assert await store.list("main") == {}


async def test_wrong_key_fails_at_start_with_a_clear_line(
    db: Database, factory: Factory, cipher: SecretCipher
) -> None:
    await factory.agent("main")
    store = DbSecretStore(db, cipher)
    await store.verify_key()
    await store.set("main", "A", "value")
    await store.verify_key()  # same key: fine

    wrong = DbSecretStore(db, SecretCipher(b"\x07" * 32))
    with pytest.raises(ConfigError) as caught:
        await wrong.verify_key()
    assert caught.value.message == (
        "OPENHERMIT_SECRETS_KEY: does not match the key this database's secrets were encrypted with"
    )


async def test_file_store_without_key(tmp_path: Path) -> None:
    store = FileSecretStore(tmp_path)
    await store.set("main", "TOKEN", "abcdefghijkl")
    path = tmp_path / "agents" / "main" / "secrets.json"
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    assert (await store.list("main"))["TOKEN"].masked == "abcd********ijkl"
    await store.set("main", "TOKEN", None, pass_through=True)
    assert await store.pass_through("main") == {"TOKEN": "abcdefghijkl"}
    assert await store.delete("main", "TOKEN")
    assert await store.values("main") == {}


async def test_file_store_sees_a_hand_edit_at_once(tmp_path: Path) -> None:
    store = FileSecretStore(tmp_path)
    await store.set("main", "TOKEN", "first-value")
    assert await store.values("main") == {"TOKEN": "first-value"}
    path = tmp_path / "agents" / "main" / "secrets.json"
    path.write_text(json.dumps({"TOKEN": "edited-by-hand", "NEW": {"value": "v", "passThrough": True}}))
    assert await store.values("main") == {"TOKEN": "edited-by-hand", "NEW": "v"}
    assert await store.pass_through("main") == {"NEW": "v"}
    path.unlink()
    assert await store.values("main") == {}


async def test_secrets_json_is_imported_when_a_key_appears(
    db: Database, factory: Factory, cipher: SecretCipher, settings: Settings
) -> None:
    await factory.agent("main")
    await factory.agent("has-secrets")
    agents_dir = settings.home / "agents"
    (agents_dir / "main").mkdir(parents=True)
    (agents_dir / "main" / "secrets.json").write_text(
        json.dumps({"PLAIN": "old-style", "RICH": {"value": "v2", "passThrough": True}})
    )
    (agents_dir / "unknown").mkdir()
    (agents_dir / "unknown" / "secrets.json").write_text(json.dumps({"X": "y"}))
    store = DbSecretStore(db, cipher)
    await store.set("has-secrets", "KEEP", "db-value")
    (agents_dir / "has-secrets").mkdir()
    (agents_dir / "has-secrets" / "secrets.json").write_text(json.dumps({"KEEP": "file-value"}))

    assert await import_secret_files(settings.home, db, store) == 1
    assert await store.values("main") == {"PLAIN": "old-style", "RICH": "v2"}
    assert await store.pass_through("main") == {"RICH": "v2"}
    assert (agents_dir / "main" / "secrets.json.imported").exists()
    assert not (agents_dir / "main" / "secrets.json").exists()
    assert await store.values("has-secrets") == {"KEEP": "db-value"}  # the database wins
    assert (agents_dir / "unknown" / "secrets.json").exists()  # no such agent: left alone


async def test_store_selection(db: Database, settings: Settings, caplog: pytest.LogCaptureFixture) -> None:
    chosen = await open_secret_store(settings, db)
    assert chosen.persistent_in_database
    keyless = settings.model_copy(update={"secrets_key": None})
    chosen = await open_secret_store(keyless, db)
    assert not chosen.persistent_in_database
    assert "OPENHERMIT_SECRETS_KEY is not set" in caplog.text
    assert base64.b64decode(settings.secrets_key.get_secret_value())  # type: ignore[union-attr]
