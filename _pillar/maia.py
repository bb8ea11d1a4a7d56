"""ext_pillar ``maia``: the site's CONFIG_FOLDER mapped onto pillar ``maia:``.

Master (or minion, for ``salt-call --local``) configuration::

    ext_pillar:
      - maia:
          config_folder: /opt/maia/config

Each minion gets what its own states use (docs/security.md): the
control-plane hosts get the cluster settings (``maia:cluster``), env.json
(``maia:env``) and the registry credentials; the other hosts get the
non-secret keys only. Every inventory host gets the CIFS key (it mounts CIFS
volumes) unless ``maia:cifs:hosts`` in ordinary pillar names fewer hosts. Every
minion gets its groups (``maia:roles``), host vars (``maia:host``) and every host's
address and groups (``maia:hosts``). No default is added: the formulas' map
loader (``formulas/maia/map.jinja``) merges the pillar over
``parameters/defaults.yaml`` on the host, so a default changed there takes effect.
A host whose inventory address is not an IP gets ``ip`` from its grain
``maia_default_ipv4`` (the master's cache of the grains each minion reports).
A minion the inventory does not name gets no secret; without an inventory only
``salt-call --local`` (a one-host site) gets them. Ordinary pillar wins over what this returns. Errors in the folder fail the
pillar render with a message naming the file, host, key and fix.
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
    return site_pillar(config_folder, minion_id, overrides, grains_of=_grains_reader(minion_id),
                       parameter_roots=_file_roots(), local_run=_local_run())


def _local_run():
    """``salt-call --local`` (or a masterless minion): the pillar is compiled on the host itself,
    not by a master for a minion that asked. Only then does a site without inventory.yaml get
    its secrets (a one-host site)."""
    return __opts__.get("__role") != "master" and __opts__.get("file_client") == "local"  # pylint: disable=undefined-variable


def _file_roots():
    """The file roots the formulas are served from (their parameter files are read there)."""
    roots = (__opts__.get("file_roots") or {}).get(__opts__.get("saltenv") or "base") or []  # pylint: disable=undefined-variable
    return [root for root in roots if isinstance(root, str)]


def _grains_reader(minion_id):
    """``name -> grains``: this minion's own grains, the others' from the
    master's minion data cache (empty where nothing is cached)."""
    cache = None

    def grains_of(name):
        nonlocal cache
        if name == minion_id:
            return __grains__ or {}  # pylint: disable=undefined-variable
        try:
            if cache is None:
                import salt.cache

                cache = salt.cache.factory(__opts__)  # pylint: disable=undefined-variable
            # Salt 3008 keeps them in bank "grains" (key: minion id); earlier
            # releases in bank "minions/<id>", key "data", under "grains"
            grains = cache.fetch("grains", name) or (cache.fetch(f"minions/{name}", "data") or {}).get("grains")
        except Exception as exc:  # pylint: disable=broad-except
            log.debug("maia ext_pillar: no cached grains of %s: %s", name, exc)
            return {}
        return grains or {}

    return grains_of
