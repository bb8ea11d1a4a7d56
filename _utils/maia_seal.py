"""Sealing a payload to a one-time X25519 public key (host-side library).

The controller (or, for a worker's join token, the worker) sends a fresh public key; the host answers
with the payload encrypted to it (X25519 + HKDF-SHA256 + AES-256-GCM), so the job return, the master's
job cache and the minion's log ("Job ... execution finished, return_data: ...") hold ciphertext only;
the private key never leaves the side that made it. The box itself is ``maia_seal_box``
(``src/maia_salt/seal_box.py``, which the master side's ``src/maia_salt/sealed.py`` uses too); this
module gives it Salt's errors. Used by the kubeconfig export (``maia_microk8s.export_bundle``), the
datastore snapshot (``maia_datastore.snapshot``) and the worker join (``maia_k8s_join``).
"""
from salt.exceptions import CommandExecutionError

import maia_seal_box

SEAL_INFO = maia_seal_box.SEAL_INFO
_NO_CRYPTOGRAPHY = ("sealing needs the Python 'cryptography' package on this host "
                    "(Debian: apt install python3-cryptography)")


def seal(recipient, payload):
    """``payload`` (bytes) encrypted to the base64 X25519 public key ``recipient``."""
    try:
        return maia_seal_box.seal(recipient, payload)
    except ImportError as exc:
        raise CommandExecutionError(_NO_CRYPTOGRAPHY) from exc
    except maia_seal_box.BoxError as exc:
        raise CommandExecutionError(str(exc)) from None


def keypair():
    """(private key, base64 public key): this host's one-time key for a payload sealed to it."""
    try:
        return maia_seal_box.keypair()
    except ImportError as exc:
        raise CommandExecutionError(_NO_CRYPTOGRAPHY) from exc


def open_bundle(private, bundle):
    """The payload of ``bundle`` sealed to ``private``'s public key; CommandExecutionError (never the
    data) when it is malformed or sealed to another key."""
    try:
        return maia_seal_box.open_box(private, bundle)
    except maia_seal_box.BoxError as exc:
        raise CommandExecutionError(str(exc)) from None
