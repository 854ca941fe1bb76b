"""Choosing the secret store at start-up, and importing file secrets into the database."""

from __future__ import annotations

import logging
from pathlib import Path

from openhermit.config import Settings
from openhermit.secrets.base import SecretStore
from openhermit.secrets.crypto import SecretCipher
from openhermit.secrets.db_store import DbSecretStore
from openhermit.secrets.file_store import FILE_NAME, FileSecretStore, read_secrets_file
from openhermit.store.engine import Database
from openhermit.store.repos import agents as agents_repo
from openhermit.store.repos import secrets as secrets_repo

log = logging.getLogger(__name__)


async def open_secret_store(settings: Settings, db: Database) -> SecretStore:
    """The encrypted database store when a key is set (after checking it), else the file store."""
    key = settings.secrets_key_bytes
    if key is None:
        log.warning(
            "OPENHERMIT_SECRETS_KEY is not set: agent secrets are stored in plaintext files under %s. "
            "Set a key (openssl rand -base64 32) to encrypt them in the database.",
            settings.home / "agents",
        )
        return FileSecretStore(settings.home)
    store = DbSecretStore(db, SecretCipher(key))
    await store.verify_key()
    imported = await import_secret_files(settings.home, db, store)
    if imported:
        log.info("imported secrets.json of %d agent(s) into the encrypted store", imported)
    return store


async def import_secret_files(home: Path, db: Database, store: DbSecretStore) -> int:
    """Move `agents/<id>/secrets.json` into the database for agents that have no secrets yet.

    Each imported file is renamed `secrets.json.imported`. Returns the number of agents imported.
    """
    agents_dir = home / "agents"
    if not agents_dir.is_dir():
        return 0
    imported = 0
    for path in sorted(agents_dir.glob(f"*/{FILE_NAME}")):
        agent_id = path.parent.name
        async with db.transaction() as tx:
            if await agents_repo.get_agent(tx, agent_id) is None:
                log.warning("not importing %s: agent %s does not exist", path, agent_id)
                continue
            if await secrets_repo.list_secrets(tx, agent_id):
                continue
        for name, (value, pass_through) in read_secrets_file(path).items():
            await store.set(agent_id, name, value, pass_through)
        path.rename(path.with_name(FILE_NAME + ".imported"))
        imported += 1
    return imported
