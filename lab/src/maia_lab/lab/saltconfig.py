"""The lab's Salt configuration: the master config, the Saltfile and the lab's own pillar.

From the lab folder the Salt tools need no flags: the Saltfile gives them the
lab folder as ``config_dir``, and ``master`` there holds every path (root_dir,
pki, cache, logs under ``salt/``), the file roots (the checkout's
``formulas/``), the ``maia`` ext_pillar on the lab's CONFIG_FOLDER, the roster
and the SSH key.
"""
from __future__ import annotations

import os

import yaml
from maia_salt import heal

from .folder import LabFolder
from .util import package_paths, write_file

# What lab hosts cannot run (no device-mapper, no nfsd, no nfs filesystem), as the
# formulas' own switches: every lab sets them in its pillar (docs/standins.md).
HOST_LIMITS = {"lvm_volumes": False, "nfs_server_start": False, "nfs_share_mount": False}
SALT_TOOLS = ("salt", "salt-ssh", "salt-key", "salt-run", "salt-cp")


def write_lab_pillar(folder: str, name: str, data: dict) -> None:
    """Write ``<folder>/<name>.sls`` and a top.sls that lists every .sls of the folder."""
    os.makedirs(folder, exist_ok=True)
    write_file(os.path.join(folder, f"{name}.sls"), yaml.safe_dump(data, sort_keys=False))
    names = sorted(f[:-4] for f in os.listdir(folder) if f.endswith(".sls") and f != "top.sls")
    write_file(os.path.join(folder, "top.sls"), yaml.safe_dump({"base": {"*": names}}, sort_keys=False))


THIN_EXTRA_MODS = ("keycloak,httpx,httpcore,h11,anyio,aiofiles,jwcrypto,deprecation,packaging,"
                   "requests_toolbelt,typing_extensions,minio")


def master_config(folder: LabFolder, interface: str) -> dict:
    """The lab master's config: paths in ``folder``, listening on ``interface`` (the bridge)."""
    checkout = package_paths()["checkout"]
    # formulas/ is the one file root: it links in _modules, _states, _grains and orch
    roots = [os.path.join(checkout, "formulas")] if checkout else []
    salt_root = folder.path("salt")
    return {
        "root_dir": salt_root,
        "pki_dir": os.path.join(salt_root, "pki", "master"),
        "cachedir": os.path.join(salt_root, "cache"),
        "sock_dir": os.path.join(salt_root, "run"),
        "pidfile": os.path.join(salt_root, "run", "salt-master.pid"),
        "log_file": os.path.join(salt_root, "log", "master"),
        "key_logfile": os.path.join(salt_root, "log", "key"),
        "ssh_log_file": os.path.join(salt_root, "log", "ssh"),
        "user": "root",
        "interface": interface,
        "file_roots": {"base": roots},
        "file_ignore_regex": [r"(^|/)__pycache__(/|$)", r"\.pyc$"],
        # the lab's loop-device VGs (all named MAIA_Storage) are visible to this machine's LVM, which
        # makes the lvm grain slow (seconds per salt-run); the master never needs its own LVM grains
        "disable_grains": ["lvm"],
        "ext_pillar": [{"maia": {"config_folder": folder.config_folder}}],
        # the lab's own pillar (HOST_LIMITS, the stand-ins' settings): see write_lab_pillar
        "pillar_roots": {"base": [folder.path("pillar")]},
        "roster_file": folder.roster,
        "known_hosts_file": folder.known_hosts,
        "ssh_priv": folder.key,
        "ssh_timeout": 30,
        # salt-ssh targets run the Debian python3, which has no python-keycloak nor minio (stage 4's
        # Keycloak and MinIO clients): the thin carries them and the pure-Python libraries they
        # import (docs/admin.md)
        "thin_extra_mods": THIN_EXTRA_MODS,
        # self-healing: minion starts and the maia_heal beacon's events go to the runner maia_heal,
        # which does nothing unless the site's pillar sets maia:heal:enabled (docs/operations.md)
        "reactor": heal.REACTOR,
        "worker_threads": 2,
        "open_mode": False,
        "auto_accept": False,
    }


def write(folder: LabFolder, interface: str) -> None:
    """``master``, the lab pillar (HOST_LIMITS) and the ``Saltfile``."""
    for sub in ("cache/proc", "run", "log"):  # salt-run needs them even when no master runs
        os.makedirs(folder.path("salt", sub), exist_ok=True)
    write_file(folder.master_config, "# written by `maia lab up`\n" + yaml.safe_dump(master_config(folder, interface), sort_keys=False))
    write_lab_pillar(folder.path("pillar"), "lab", {"maia": {"prepare": dict(HOST_LIMITS)}})
    saltfile = {name: {"config_dir": folder.dir} for name in SALT_TOOLS}
    saltfile["salt-ssh"]["roster_file"] = folder.roster
    write_file(folder.saltfile, yaml.safe_dump(saltfile, sort_keys=False))
