"""Sealing a payload to a one-time X25519 public key (host-side library).

The controller sends a fresh public key; the host answers with the payload encrypted to it
(X25519 + HKDF-SHA256 + AES-256-GCM), so the job return, the master's job cache and the
minion's log ("Job ... execution finished, return_data: ...") hold ciphertext only; the private
key never leaves the controller's memory. ``src/maia_salt/sealed.py`` opens it. Used by the
kubeconfig export (``maia_microk8s.export_bundle``) and the datastore snapshot
(``maia_datastore.snapshot``).
"""
import os

from salt.exceptions import CommandExecutionError

SEAL_INFO = b"maia-salt kubeconfig export v1"


def seal(recipient, payload):
    """``payload`` (bytes) encrypted to the base64 X25519 public key ``recipient``."""
    import base64

    try:
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM
        from cryptography.hazmat.primitives.kdf.hkdf import HKDF
    except ImportError as exc:
        raise CommandExecutionError(
            "the kubeconfig export needs the Python 'cryptography' package on this host "
            "(Debian: apt install python3-cryptography)"
        ) from exc
    try:
        peer = X25519PublicKey.from_public_bytes(base64.b64decode(recipient, validate=True))
    except (ValueError, TypeError) as exc:
        raise CommandExecutionError("recipient is not a base64 X25519 public key") from exc
    ephemeral = X25519PrivateKey.generate()
    epk = ephemeral.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=epk, info=SEAL_INFO).derive(ephemeral.exchange(peer))
    nonce = os.urandom(12)
    sealed = AESGCM(key).encrypt(nonce, payload, SEAL_INFO)
    return {
        "epk": base64.b64encode(epk).decode(),
        "nonce": base64.b64encode(nonce).decode(),
        "sealed": base64.b64encode(sealed).decode(),
    }
