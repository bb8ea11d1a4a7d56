"""The one implementation of maia-salt's sealed box: a payload encrypted to a one-time X25519 public key.

X25519 + HKDF-SHA256 + AES-256-GCM; a bundle is ``{"epk", "nonce", "sealed"}`` (base64). Plain Python
(``cryptography`` only, imported when used), so that both sides run the same code: the hosts as the
host-side library ``maia_seal_box`` (this file, shipped through file_roots; ``_utils/maia_seal.py`` wraps
it with Salt's errors), the master side as ``maia_salt.seal_box`` (``src/maia_salt/seal_box.py`` is a
link to this file; ``sealed.py``: the kubeconfig runner, ``maia backup``). The real file is this one,
not the link: salt-ssh packs ``_utils`` links as links, which would dangle on the host.
"""
from __future__ import annotations

import base64
import os

SEAL_INFO = b"maia-salt kubeconfig export v1"


class BoxError(ValueError):
    """A key or bundle that is malformed, or a bundle sealed to another key (never its data)."""


def keypair():
    """(private key, base64 public key) for one hand-over."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

    private = X25519PrivateKey.generate()
    public = private.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return private, base64.b64encode(public).decode()


def private_bytes(private) -> bytes:
    """The raw 32 bytes of a private key (to keep it in a 0600 file until it is used)."""
    from cryptography.hazmat.primitives import serialization

    return private.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
                                 serialization.NoEncryption())


def private_from_bytes(raw: bytes):
    from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

    try:
        return X25519PrivateKey.from_private_bytes(raw)
    except ValueError:
        raise BoxError("the kept private key is not an X25519 key") from None


def _derive(shared: bytes, epk: bytes) -> bytes:
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF

    return HKDF(algorithm=hashes.SHA256(), length=32, salt=epk, info=SEAL_INFO).derive(shared)


def seal(recipient: str, payload: bytes) -> dict:
    """``payload`` encrypted to the base64 X25519 public key ``recipient``; BoxError when it is no such key."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    try:
        peer = X25519PublicKey.from_public_bytes(base64.b64decode(recipient, validate=True))
    except (ValueError, TypeError):
        raise BoxError("recipient is not a base64 X25519 public key") from None
    ephemeral = X25519PrivateKey.generate()
    epk = ephemeral.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    key = _derive(ephemeral.exchange(peer), epk)
    nonce = os.urandom(12)
    return {
        "epk": base64.b64encode(epk).decode(),
        "nonce": base64.b64encode(nonce).decode(),
        "sealed": base64.b64encode(AESGCM(key).encrypt(nonce, payload, SEAL_INFO)).decode(),
    }


def open_box(private, bundle) -> bytes:
    """The payload of ``bundle``; BoxError when it is malformed or sealed to another key."""
    from cryptography.exceptions import InvalidTag
    from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PublicKey
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    try:
        epk = base64.b64decode(bundle["epk"], validate=True)
        nonce = base64.b64decode(bundle["nonce"], validate=True)
        sealed = base64.b64decode(bundle["sealed"], validate=True)
        key = _derive(private.exchange(X25519PublicKey.from_public_bytes(epk)), epk)
        return AESGCM(key).decrypt(nonce, sealed, SEAL_INFO)
    except (KeyError, TypeError, ValueError, InvalidTag):
        raise BoxError("the bundle is malformed or was not sealed to this key") from None
