"""A kubeconfig that came from a host is data: check it and rebuild it before anything loads it.

A kubeconfig can name commands (``users[].user.exec``, ``auth-provider``) that a
Kubernetes client runs when it loads the file, and files (``tokenFile``,
``certificate-authority``, ``client-key``) that it reads. The control-plane host
exports the kubeconfig that the controller then loads (``maia install``'s
Application view, ``DEPLOY_KUBECONFIG`` in env.json, kubectl): a host that can
change it must not be able to run anything on the controller.

``rebuild`` keeps one cluster and one user, those of the current context, with
data fields only:

- cluster: ``server`` (``https://HOST:PORT``; when the caller knows the control
  plane's address and API port, it must be that one) and
  ``certificate-authority-data`` (without it the client trusts the system's CAs);
- user: ``token``, or ``client-certificate-data`` and ``client-key-data``.

Every other field of that cluster or user is refused, with a message naming the
source (the host) and the field: ``exec``, ``auth-provider``, ``tokenFile``, file
paths, ``proxy-url``, ``insecure-skip-tls-verify``, impersonation, basic auth.
The result is a new document built from those values only.
"""
from __future__ import annotations

import base64
import binascii
import ipaddress
import re
from urllib.parse import urlsplit

import yaml

CLUSTER_FIELDS = ("server", "certificate-authority-data")
USER_FIELDS = ("token", "client-certificate-data", "client-key-data")
_DATA_FIELDS = ("certificate-authority-data", "client-certificate-data", "client-key-data")
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@:-]{0,252}")


class KubeconfigRefused(ValueError):
    """The kubeconfig holds something other than data; the message names the source and field."""


def _entry(doc: dict, kind: str, name, source: str) -> dict:
    """The ``cluster``/``user`` mapping of the named entry of ``doc[kind + "s"]``."""
    entries = doc.get(f"{kind}s")
    if not isinstance(entries, list):
        raise KubeconfigRefused(f"{source}: kubeconfig has no {kind}s list")
    found = [e for e in entries if isinstance(e, dict) and e.get("name") == name]
    if len(found) != 1:
        raise KubeconfigRefused(f"{source}: kubeconfig names {kind} {name!r} {len(found)} times (need exactly once)")
    body = found[0].get(kind)
    if not isinstance(body, dict):
        raise KubeconfigRefused(f"{source}: kubeconfig {kind} {name!r} is not a mapping")
    return body


def _context(doc: dict, source: str) -> tuple[str, str]:
    """(cluster name, user name) of the current context (or of the only context)."""
    contexts = doc.get("contexts")
    if not isinstance(contexts, list) or not contexts:
        raise KubeconfigRefused(f"{source}: kubeconfig has no contexts")
    current = doc.get("current-context")
    if current is None and len(contexts) == 1:
        chosen = contexts[0]
    else:
        chosen = next((c for c in contexts if isinstance(c, dict) and c.get("name") == current), None)
    context = (chosen or {}).get("context") if isinstance(chosen, dict) else None
    if not isinstance(context, dict):
        raise KubeconfigRefused(f"{source}: kubeconfig has no context {current!r}")
    extra = sorted(set(context) - {"cluster", "user", "namespace"})
    if extra:
        raise KubeconfigRefused(f"{source}: kubeconfig context field {extra[0]!r} is not allowed")
    cluster, user = context.get("cluster"), context.get("user")
    for what, name in (("cluster", cluster), ("user", user)):
        if not isinstance(name, str) or not _NAME.fullmatch(name):
            raise KubeconfigRefused(f"{source}: kubeconfig context {what} name {name!r} is not a plain name")
    return cluster, user


def _refuse_extra(body: dict, allowed, where: str, source: str) -> None:
    extra = sorted(set(body) - set(allowed))
    if extra:
        raise KubeconfigRefused(
            f"{source}: kubeconfig {where} field {extra[0]!r} is not allowed (only {', '.join(allowed)}, as data)"
        )
    for key, value in body.items():
        if not isinstance(value, str) or not value:
            raise KubeconfigRefused(f"{source}: kubeconfig {where} field {key!r} must be a non-empty string")
        if key in _DATA_FIELDS:
            try:
                base64.b64decode(value, validate=True)
            except (binascii.Error, ValueError):
                raise KubeconfigRefused(f"{source}: kubeconfig {where} field {key!r} is not base64 data") from None


def _host_port(url: str):
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError:
        port = None
    host = (parts.hostname or "").lower()
    try:
        host = str(ipaddress.ip_address(host))
    except ValueError:
        pass
    clean = parts.scheme == "https" and not parts.username and not parts.password and parts.path in ("", "/") \
        and not parts.query and not parts.fragment
    return (host, port) if clean and host and port else None


def server_url(address: str, port) -> str:
    """``https://ADDRESS:PORT`` (IPv6 in brackets)."""
    try:
        if ipaddress.ip_address(address).version == 6:
            address = f"[{address}]"
    except ValueError:
        pass
    return f"https://{address}:{int(port)}"


def rebuild(text: str, source: str, expected_server: str | None = None) -> dict:
    """The checked kubeconfig of ``text`` as a new document (module docstring); ``source`` names
    where it came from (the host) in messages. Raises KubeconfigRefused."""
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError:
        raise KubeconfigRefused(f"{source}: kubeconfig is not valid YAML") from None
    if not isinstance(doc, dict):
        raise KubeconfigRefused(f"{source}: kubeconfig is not a mapping")
    cluster_name, user_name = _context(doc, source)
    cluster = _entry(doc, "cluster", cluster_name, source)
    user = _entry(doc, "user", user_name, source)
    _refuse_extra(cluster, CLUSTER_FIELDS, f"cluster {cluster_name!r}", source)
    _refuse_extra(user, USER_FIELDS, f"user {user_name!r}", source)
    server = cluster.get("server")
    if not server or _host_port(server) is None:
        raise KubeconfigRefused(f"{source}: kubeconfig cluster field 'server' {server!r} is not https://HOST:PORT")
    if expected_server is not None and _host_port(server) != _host_port(expected_server):
        raise KubeconfigRefused(
            f"{source}: kubeconfig cluster field 'server' is {server!r}, not the control plane's {expected_server!r}"
        )
    if "token" not in user and not {"client-certificate-data", "client-key-data"} <= set(user):
        raise KubeconfigRefused(
            f"{source}: kubeconfig user needs 'token' or 'client-certificate-data' and 'client-key-data'"
        )
    context_name = doc.get("current-context") if isinstance(doc.get("current-context"), str) else cluster_name
    if not _NAME.fullmatch(context_name):
        context_name = cluster_name
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": cluster_name, "cluster": {k: cluster[k] for k in CLUSTER_FIELDS if k in cluster}}],
        "users": [{"name": user_name, "user": {k: user[k] for k in USER_FIELDS if k in user}}],
        "contexts": [{"name": context_name, "context": {"cluster": cluster_name, "user": user_name}}],
        "current-context": context_name,
        "preferences": {},
    }


def dump(doc: dict) -> str:
    return yaml.safe_dump(doc, default_flow_style=False, sort_keys=True)


def rebuilt_text(text: str, source: str, expected_server: str | None = None) -> str:
    """``rebuild`` as YAML text (what is written to disk)."""
    return dump(rebuild(text, source, expected_server))


def load_file(path, source: str | None = None) -> dict:
    """The checked kubeconfig of the file ``path``: what every controller-side reader loads."""
    with open(path, encoding="utf-8") as fh:
        return rebuild(fh.read(), source or str(path))
