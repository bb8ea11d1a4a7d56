"""maia_errors: the error kinds (``_utils/maia_error_kinds.py``) for the states.

The kinds and their functions are the host-side library ``maia_error_kinds``;
host modules and states import it by name. This module keeps them reachable
through ``__salt__`` (``maia_errors.kind``, ``maia_errors.cluster_pending``,
``maia_errors.attempt``) for state code written before the library;
``attempt`` is ``maia_state_return.attempt`` with a function's name.

For other modules and states, not for people: ``salt-call`` has no use for them.
"""
# _utils/: shipped and put on sys.path by Salt's loader
import maia_error_kinds
import maia_state_return

__virtualname__ = "maia_errors"

INFO_KEY = maia_error_kinds.INFO_KEY
KINDS = maia_error_kinds.KINDS
PENDING = maia_error_kinds.PENDING


def __virtual__():
    return __virtualname__


def error(kind, message):
    """A ``CommandExecutionError`` of ``kind`` (one of ``KINDS``) with ``message``, to raise."""
    return maia_error_kinds.error(kind, message)


def kind(exc):
    """The kind of ``exc`` (a string of ``KINDS``), or None for any other exception."""
    return maia_error_kinds.kind(exc)


def cluster_pending(exc):
    """True when ``exc`` only means that the cluster, a namespace or a CRD does not exist yet."""
    return maia_error_kinds.cluster_pending(exc)


def with_message(exc, message):
    """The same kind of error as ``exc`` (``api`` when it has none), with another message."""
    return maia_error_kinds.with_message(exc, message)


def attempt(ret, fun, *args, **kwargs):
    """For states: ``(True, __salt__[fun](*args, **kwargs))``, or ``(False, None)`` with ``ret``
    marked failed when it fails with an expected error (``maia_state_return.attempt``)."""
    return maia_state_return.attempt(ret, __salt__[fun], *args, **kwargs)
