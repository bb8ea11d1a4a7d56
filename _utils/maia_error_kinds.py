"""The error kinds shared by maia-salt's host modules and states.

A host-side library (``_utils/``, see docs/development.md, "Host-side library"):
plain functions, no Salt dunders. Every error a maia-salt execution module raises
for the states is Salt's own ``CommandExecutionError`` whose ``info`` holds a
machine-readable kind (``{"maia_error": KIND}``); states read the kind instead of
matching words of the message.

Why Salt's exception and not a class of our own: it is one class however a module
was loaded, and Salt already shows its message as the failure of a ``module.run``
or a CLI call.

Kinds:

``no_kubeconfig``
    the kubeconfig file does not exist (yet: stage 2 writes it)
``unreachable``
    the Kubernetes API server did not answer (refused, timed out, DNS)
``no_kind``
    the API serves no such kind (its CustomResourceDefinition is not
    installed or not Established yet)
``not_found``
    HTTP 404: the object, or the namespace it would live in, does not exist
``no_library``
    a Python package a module needs cannot be imported on this host (yet: stage 2
    installs the Debian ones, e.g. python3-cryptography under python-keycloak)
``invalid``
    bad input (a manifest, a spec, a checksum): nothing was changed
``api``
    any other answer of the API server (HTTP status and its message)
"""
from salt.exceptions import CommandExecutionError

INFO_KEY = "maia_error"
KINDS = ("no_kubeconfig", "unreachable", "no_kind", "not_found", "no_library", "invalid", "api")
# the errors that only mean "the cluster (or this part of it) does not exist yet":
# under test=True a state predicts from its inputs instead of failing
PENDING = frozenset(("no_kubeconfig", "unreachable", "no_kind", "not_found"))


def error(kind, message):
    """A ``CommandExecutionError`` of ``kind`` (one of ``KINDS``) with ``message``, to raise."""
    if kind not in KINDS:
        raise ValueError(f"maia_errors: unknown kind {kind!r} (known: {', '.join(KINDS)})")
    exc = CommandExecutionError(message)
    # set after construction: given to the constructor, Salt appends the info to the message
    exc.info = {INFO_KEY: kind}
    return exc


def kind(exc):
    """The kind of ``exc`` (a string of ``KINDS``), or None for any other exception."""
    info = getattr(exc, "info", None)
    if isinstance(exc, CommandExecutionError) and isinstance(info, dict):
        return info.get(INFO_KEY)
    return None


def cluster_pending(exc):
    """True when ``exc`` only means that the cluster, a namespace or a CRD does not exist yet."""
    return kind(exc) in PENDING


def with_message(exc, message):
    """The same kind of error as ``exc`` (``api`` when it has none), with another message
    (e.g. scrubbed of secret values)."""
    return error(kind(exc) or "api", message)
