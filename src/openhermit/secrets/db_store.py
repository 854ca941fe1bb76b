"""Secrets encrypted with AES-256-GCM in `agent_secrets`; the database sees only ciphertext."""

from __future__ import annotations

from openhermit.errors import ConfigError, NotFound, SecretDecryptError
from openhermit.protocol.secrets import SecretInfo, check_secret_name, mask_secret
from openhermit.secrets.crypto import SecretCipher
from openhermit.store.engine import Database
from openhermit.store.repos import meta as meta_repo
from openhermit.store.repos import secrets as repo

KEY_CHECK_META = "secrets.key_check"
_KEY_CHECK_PLAINTEXT = "openhermit-secrets-key-check"


class DbSecretStore:
    persistent_in_database = True

    def __init__(self, db: Database, cipher: SecretCipher) -> None:
        self._db = db
        self._cipher = cipher

    def _open(self, agent_id: str, stored: repo.StoredSecret) -> str:
        return self._cipher.decrypt(stored.ciphertext, what=f"secret {stored.name} of agent {agent_id}")

    async def list(self, agent_id: str) -> dict[str, SecretInfo]:
        async with self._db.transaction() as tx:
            rows = await repo.list_secrets(tx, agent_id)
        return {
            r.name: SecretInfo(masked=mask_secret(self._open(agent_id, r)), pass_through=r.pass_through)
            for r in rows
        }

    async def get(self, agent_id: str, name: str) -> str | None:
        async with self._db.transaction() as tx:
            row = await repo.get_secret(tx, agent_id, name)
        return self._open(agent_id, row) if row else None

    async def values(self, agent_id: str) -> dict[str, str]:
        async with self._db.transaction() as tx:
            rows = await repo.list_secrets(tx, agent_id)
        return {r.name: self._open(agent_id, r) for r in rows}

    async def set(
        self, agent_id: str, name: str, value: str | None, pass_through: bool | None = None
    ) -> None:
        check_secret_name(name)
        async with self._db.transaction() as tx:
            if value is None:
                if pass_through is None or not await repo.set_pass_through(tx, agent_id, name, pass_through):
                    raise NotFound(f"Secret {name} does not exist.")
                return
            await repo.put_secret(tx, agent_id, name, self._cipher.encrypt(value), pass_through)

    async def delete(self, agent_id: str, name: str) -> bool:
        async with self._db.transaction() as tx:
            return await repo.delete_secret(tx, agent_id, name)

    async def pass_through(self, agent_id: str) -> dict[str, str]:
        async with self._db.transaction() as tx:
            rows = await repo.list_secrets(tx, agent_id)
        return {r.name: self._open(agent_id, r) for r in rows if r.pass_through}

    async def verify_key(self) -> None:
        """Fail start-up with one clear line when the key is not the one the database uses.

        The first start with a key records a check value; later starts decrypt it. A database
        written by another implementation has no check value, so one stored secret is tried.
        """
        mismatch = ConfigError(
            "OPENHERMIT_SECRETS_KEY: does not match the key this database's secrets were encrypted with"
        )
        async with self._db.transaction() as tx:
            check = await meta_repo.get_meta(tx, KEY_CHECK_META)
            if check is not None:
                try:
                    self._cipher.decrypt(str(check.get("value", "")))
                except SecretDecryptError:
                    raise mismatch from None
                return
            sample = await repo.any_secret(tx)
            if sample is not None:
                try:
                    self._cipher.decrypt(sample[2])
                except SecretDecryptError:
                    raise mismatch from None
            await meta_repo.put_meta_if_absent(
                tx, KEY_CHECK_META, {"value": self._cipher.encrypt(_KEY_CHECK_PLAINTEXT)}
            )
