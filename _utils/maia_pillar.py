"""Unmasked pillar lookups for maia-salt's execution and state modules.

Salt 3008 masks what ``pillar.get`` returns inside a module, so maia's modules
look keys up in their own ``__pillar__`` through this helper::

    __utils__["maia_pillar.get"](__pillar__, "maia:k8s:microk8s_cmd", default)

The caller passes its ``__pillar__``: that is the pillar of the current run,
with any ``pillar=`` override of ``state.apply``, which the utils loader's own
``__pillar__`` is not. Nothing here needs Salt's loader, so an installed
maia-salt can load this file as plain Python too (``maia_salt.loader.utils_function``).
"""
import salt.utils.data

try:
    import salt.utils.secret as _secret
except ImportError:  # Salt before 3008 does not mask pillar values
    _secret = None

__virtualname__ = "maia_pillar"


def __virtual__():
    return __virtualname__


def get(pillar, key, default=None):
    """The value at colon-delimited ``key`` of ``pillar`` (``default`` when absent), unmasked."""
    value = salt.utils.data.traverse_dict_and_list(pillar, key, default, delimiter=":")
    return _secret.expose(value) if _secret is not None else value
