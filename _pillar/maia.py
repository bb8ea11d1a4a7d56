"""ext_pillar ``maia``: the site's CONFIG_FOLDER mapped onto pillar ``maia:``.

Master (or minion, for ``salt-call --local``) configuration::

    ext_pillar:
      - maia:
          config_folder: /opt/maia/config

The pillar of every minion then holds the cluster settings (``maia:cluster``),
env.json (``maia:env``), registry credentials, this minion's groups
(``maia:roles``) and host vars (``maia:host``), every host's address and groups
(``maia:hosts``) and the stage flags with their defaults. Ordinary pillar wins
over what this returns. Errors in the folder fail the pillar render with a
message naming the file, host, key and fix.
"""
import logging

log = logging.getLogger(__name__)

__virtualname__ = "maia"

try:
    from maia_salt.pillar_map import site_pillar

    HAS_MAIA_SALT = True
except ImportError:  # pragma: no cover - depends on the host
    HAS_MAIA_SALT = False


def __virtual__():
    if not HAS_MAIA_SALT:
        return False, "the maia ext_pillar needs the maia-salt package installed where pillar is compiled"
    return __virtualname__


def ext_pillar(minion_id, pillar, config_folder=None, **kwargs):  # pylint: disable=unused-argument
    if not config_folder:
        raise ValueError("ext_pillar maia: set config_folder (the folder written by maia-configure)")
    overrides = (pillar or {}).get("maia") or {}
    return site_pillar(config_folder, minion_id, overrides)
