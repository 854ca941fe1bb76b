from __future__ import annotations

import base64
import os

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from openhermit.errors import SecretDecryptError
from openhermit.secrets.crypto import SecretCipher

KEY = bytes(range(32))


def test_round_trip_and_format() -> None:
    cipher = SecretCipher(KEY)
    stored = cipher.encrypt("sk-live-1234567890")
    iv, tag, ciphertext = (base64.b64decode(part) for part in stored.split(":"))
    assert (len(iv), len(tag), len(ciphertext)) == (12, 16, len("sk-live-1234567890"))
    assert "sk-live" not in stored
    assert cipher.decrypt(stored) == "sk-live-1234567890"


def test_random_iv_each_time() -> None:
    cipher = SecretCipher(KEY)
    assert cipher.encrypt("same") != cipher.encrypt("same")


def test_decrypts_values_written_in_the_original_layout() -> None:
    # The original stores base64(iv):base64(authTag):base64(ciphertext) from Node's aes-256-gcm.
    iv = os.urandom(12)
    sealed = AESGCM(KEY).encrypt(iv, b"hello from node", None)
    stored = ":".join(base64.b64encode(p).decode() for p in (iv, sealed[-16:], sealed[:-16]))
    assert SecretCipher(KEY).decrypt(stored) == "hello from node"


def test_wrong_key_is_a_clear_error_not_garbage() -> None:
    stored = SecretCipher(KEY).encrypt("value")
    with pytest.raises(SecretDecryptError, match="wrong key"):
        SecretCipher(b"\x01" * 32).decrypt(stored)


def test_tampered_value_fails() -> None:
    cipher = SecretCipher(KEY)
    iv, tag, ct = cipher.encrypt("value").split(":")
    flipped = base64.b64encode(bytes([base64.b64decode(ct)[0] ^ 1]) + base64.b64decode(ct)[1:]).decode()
    with pytest.raises(SecretDecryptError):
        cipher.decrypt(f"{iv}:{tag}:{flipped}")


@pytest.mark.parametrize("stored", ["", "abc", "a:b", "!!:!!:!!", "AAAA:AAAA:AAAA"])
def test_malformed_values_fail(stored: str) -> None:
    with pytest.raises(SecretDecryptError):
        SecretCipher(KEY).decrypt(stored)


def test_key_must_be_32_bytes() -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        SecretCipher(b"short")
