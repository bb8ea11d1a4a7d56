"""maia_secrets: masking of secret values, for people (``salt-call``).

The rules and the code are the host-side library ``_utils/maia_secret_mask.py``
(which the ArgoCD modules and states import); this module offers its functions
on the command line::

    salt-call maia_secrets.mask '{"adminPassword": "x", "replicas": 2}'
    salt-call maia_secrets.is_secret_key adminPassword
"""
import maia_secret_mask  # _utils/: shipped and put on sys.path by Salt's loader

__virtualname__ = "maia_secrets"

MASK = maia_secret_mask.MASK
SECRET_WORDS = maia_secret_mask.SECRET_WORDS


def __virtual__():
    return __virtualname__


def is_secret_key(key, extra_keys=None):
    """True when ``key`` (one key, not a path) names a secret value.

    CLI example::

        salt-call maia_secrets.is_secret_key adminPassword
    """
    return maia_secret_mask.is_secret_key(key, extra_keys)


def is_secret_path(path, extra_keys=None):
    """True when any key along ``path`` (a list of keys, or a dotted string) is
    secret, or the path equals or lies under one of the dotted ``extra_keys``."""
    return maia_secret_mask.is_secret_path(path, extra_keys)


def mask(obj, extra_keys=None):
    """A deep copy of ``obj`` with every secret value replaced by ``<masked>``.

    CLI example::

        salt-call maia_secrets.mask '{"grafana": {"adminPassword": "x"}}'
    """
    return maia_secret_mask.mask(obj, extra_keys)


def collect(obj, extra_keys=None):
    """The secret string values found in ``obj`` (to scrub free text with)."""
    return maia_secret_mask.collect(obj, extra_keys)


def scrub(text, secrets):
    """``text`` with every occurrence of each of ``secrets`` replaced by ``<masked>``."""
    return maia_secret_mask.scrub(text, secrets)
