"""Device-key login: a P-256 key pair held by a browser or app proves who it is.

The credential is `<b64url(raw public key)>.<unix seconds>.<b64url(ECDSA-SHA256 signature of
the ASCII timestamp)>`; the identity is the SHA-256 fingerprint of the raw public key.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import time

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

MAX_SKEW_SECONDS = 300


class DeviceKeyRejected(Exception):
    """The credential is malformed, stale, or not signed by the key it names."""


def _b64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _signature_der(raw: bytes) -> bytes:
    """Browsers (WebCrypto) sign in raw r||s form; accept that and DER."""
    if len(raw) == 64:
        return encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))
    return raw


def verify_device_key(credential: str, *, now: float | None = None) -> str:
    """Check the credential and return the key's fingerprint (hex SHA-256 of the raw key)."""
    try:
        key_part, stamp, signature_part = credential.split(".")
        raw_key = _b64url(key_part)
        signature = _signature_der(_b64url(signature_part))
        issued = int(stamp)
    except (ValueError, binascii.Error):
        raise DeviceKeyRejected("device_key must be <public key>.<timestamp>.<signature>") from None
    if abs((now if now is not None else time.time()) - issued) > MAX_SKEW_SECONDS:
        raise DeviceKeyRejected("device_key timestamp is more than 5 minutes away from the server clock")
    try:
        public_key = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), raw_key)
        public_key.verify(signature, stamp.encode("ascii"), ec.ECDSA(hashes.SHA256()))
    except (ValueError, InvalidSignature):
        raise DeviceKeyRejected("device_key signature does not verify") from None
    return hashlib.sha256(raw_key).hexdigest()
