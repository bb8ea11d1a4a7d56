"""Secrets a host hands to the master side, sealed to a one-time key that never leaves this process.

The master side makes a fresh X25519 key pair and sends the public half with the call; the host's
function (``maia_microk8s.export_bundle``, ``maia_datastore.snapshot``) answers with
``maia_seal.seal``'s (_utils/maia_seal.py) ``{"epk", "nonce", "sealed"}`` (X25519 + HKDF-SHA256 + AES-256-GCM). The
job return, the master's job cache, the event bus and the logs hold ciphertext only. Used by the
kubeconfig runner (_runners/maia_kubeconfig.py) and ``maia backup``.
"""
from __future__ import annotations

from . import seal_box

SEAL_INFO = seal_box.SEAL_INFO  # the label maia_seal.seal uses


class SealError(RuntimeError):
    """The host did not answer with a bundle this key opens; the message says why (never the data)."""


def keypair():
    """(private key, base64 public key) for one call."""
    return seal_box.keypair()


def open_bundle(private, bundle) -> bytes:
    """The payload of a sealed bundle; SealError when it is malformed or sealed to another key."""
    try:
        return seal_box.open_box(private, bundle)
    except seal_box.BoxError:
        raise SealError("the host's bundle is malformed or was not sealed to this run's key") from None


def call_args(fun_kwargs: dict) -> list:
    """``fun_kwargs`` as Salt command-line arguments, every one ``name=value``. A bare base64 value
    such as a public key is never sent positionally: ``ed6f...k=`` parses as a keyword named
    ``ed6f...k`` on the host, and whether it does depends on the key drawn. A mapping or list goes
    as JSON (the host parses it back as YAML); its Python form (an ``OrderedDict``'s) would not."""
    import json

    return [f"{name}={json.dumps(value) if isinstance(value, (dict, list)) else value}"
            for name, value in fun_kwargs.items()]


def call(opts: dict, tgt: str, fun: str, fun_kwargs: dict, ssh: bool = False, roster_file: str | None = None,
         timeout: int = 120, wanted: str | None = None) -> dict:
    """``{minion: return}`` of ``fun(**fun_kwargs)`` on ``tgt`` (with minions, or over salt-ssh);
    SealError when a host did not answer, failed, or (``wanted``) returned no dict with that key
    (its error text, never its data)."""
    import salt.client

    arg = call_args(fun_kwargs)

    if ssh:
        from salt.client.ssh.client import SSHClient

        client = SSHClient(mopts=opts)
        kwargs = {"roster_file": roster_file} if roster_file else {}
        raw = client.cmd(tgt, fun, arg=arg, timeout=timeout, **kwargs)
    else:
        client = salt.client.get_local_client(mopts=opts)
        raw = client.cmd(tgt, fun, arg=arg, timeout=timeout, full_return=True)
    if not raw:
        raise SealError(f"{tgt} did not answer {fun} (is it up and in the roster/accepted?)")
    out = {}
    for minion, ret in raw.items():
        value, retcode = _unwrap(ret)
        if retcode or (wanted and (not isinstance(value, dict) or wanted not in value)):
            raise SealError(f"{minion}: {fun} failed: {_error_text(value)}")
        out[minion] = value
    return out


def ask(opts: dict, tgt: str, fun: str, fun_kwargs: dict, ssh: bool = False, roster_file: str | None = None,
        timeout: int = 120) -> dict:
    """``{minion: bundle}`` of ``fun(**fun_kwargs)`` on ``tgt`` (with minions, or over salt-ssh);
    SealError when a host did not answer or failed (its error text, never its data)."""
    return call(opts, tgt, fun, fun_kwargs, ssh, roster_file, timeout, wanted="sealed")


def _unwrap(ret):
    """(value, retcode) from a LocalClient full return or an SSHClient return."""
    if isinstance(ret, dict):
        if "ret" in ret and "retcode" in ret:
            return ret["ret"], ret.get("retcode") or 0
        if "return" in ret and ("retcode" in ret or "jid" in ret):
            return ret["return"], ret.get("retcode") or 0
    return ret, 0


def _error_text(value):
    """The error a host reported, never the data it returned."""
    if isinstance(value, str):
        text = value.strip()
        # a traceback's last lines say what went wrong
        return text[-500:] if text.startswith("Traceback") else text[:500]
    if isinstance(value, dict) and value.get("stderr"):
        return str(value["stderr"]).strip()[:500]
    return f"unexpected {type(value).__name__} return"
