"""AES-256-GCM with a 12-byte random IV, stored as `base64(iv):base64(tag):base64(ciphertext)`.

The format is the original's, so a database written by it decrypts here and vice versa.
"""

from __future__ import annotations

import base64
import binascii
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from openhermit.errors import SecretDecryptError

IV_BYTES = 12
TAG_BYTES = 16


class SecretCipher:
    """Encrypts and decrypts secret values with one 32-byte key."""

    def __init__(self, key: bytes) -> None:
        if len(key) != 32:
            raise ValueError("the secrets key must be exactly 32 bytes")
        self._aead = AESGCM(key)

    def encrypt(self, plaintext: str) -> str:
        iv = os.urandom(IV_BYTES)
        sealed = self._aead.encrypt(iv, plaintext.encode("utf-8"), None)
        ciphertext, tag = sealed[:-TAG_BYTES], sealed[-TAG_BYTES:]
        return ":".join(base64.b64encode(part).decode("ascii") for part in (iv, tag, ciphertext))

    def decrypt(self, stored: str, *, what: str = "a secret") -> str:
        """Decrypt a stored value; raise `SecretDecryptError` (never return garbage)."""
        try:
            iv_b64, tag_b64, ct_b64 = stored.split(":")
            iv, tag, ciphertext = (base64.b64decode(p, validate=True) for p in (iv_b64, tag_b64, ct_b64))
            if len(iv) != IV_BYTES or len(tag) != TAG_BYTES:
                raise ValueError("bad lengths")
            return self._aead.decrypt(iv, ciphertext + tag, None).decode("utf-8")
        except InvalidTag:
            raise SecretDecryptError(
                f"{what} does not decrypt with OPENHERMIT_SECRETS_KEY: wrong key, or the value was altered"
            ) from None
        except (ValueError, binascii.Error, UnicodeDecodeError):
            raise SecretDecryptError(f"{what} is not in the iv:tag:ciphertext format") from None
