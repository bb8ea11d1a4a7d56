"""The checks of a MAIA site that only the master can make: whether the hosts' clocks agree with
its own, and whether the CONFIG_FOLDER is complete (the admin layer's secrets included).

The preflight runner (``_runners/maia_preflight.py``) adds them to every host's own answers;
orch.maia's one-job run, which has no preflight job, makes the CONFIG_FOLDER check in the
orchestration's own state ``maia_orch.site_checked`` (``_orch_states/maia_orch.py``). A finding is
``{"check", "level", "message", "fix"}``, as the hosts' checks give them.
"""
from __future__ import annotations

import os

MAX_CLOCK_SKEW = 5.0  # seconds; TLS, etcd/dqlite and ArgoCD tolerate little more
# what maia-configure writes; the install reads each of them
CONFIG_FILES = ("env.json", "{cluster}.yaml", "inventory.yaml", "microk8s-config.yaml",
                "maia-registry-credentials.json", "MAIA_realm.json")


def truthy(value):
    """A runner argument given as text on the command line (``host_pillars=false``) or as a bool."""
    return str(value).strip().lower() not in ("false", "0", "no", "off")


def finding(check, message, fix, level="error"):
    return {"check": check, "level": level, "message": message, "fix": fix}


def clock_findings(times, before, after, max_skew=MAX_CLOCK_SKEW):
    """{host: [finding]} for hosts whose clock is more than ``max_skew`` seconds off the master's.

    ``times``: {host: the host's clock when it answered}; ``before``/``after``:
    the master's clock when the job went out and when the last answer came in.
    A clock inside that window is in sync; outside it, the distance to the
    window is the least the host can be off (job latency never counts as skew).
    """
    found = {}
    for host, stamp in sorted(times.items()):
        if stamp is None:
            continue
        offset = stamp - after if stamp > after else stamp - before if stamp < before else 0.0
        if abs(offset) > float(max_skew):
            way = "ahead of" if offset > 0 else "behind"
            found[host] = [finding(
                "clock", f"the clock is at least {abs(offset):.0f}s {way} the master's (at most {max_skew}s allowed)",
                "run a time service on every host (systemd-timesyncd, chrony) against the same NTP servers",
            )]
    return found


def admin_findings(env, admin=None):
    """The admin layer's (stage 4) secrets that env.json lacks, each named. ``admin`` is
    the stage's parameters when the run includes the stage (None: not checked)."""
    if admin is None or not truthy(admin.get("enabled", True)):
        return []
    from .admin.context import REQUIRED_SECRETS

    missing = [key for key in REQUIRED_SECRETS if not env.get(key)]
    if not missing:
        return []
    return [finding("admin", f"env.json lacks {', '.join(missing)} (secrets of the admin layer, stage 4)",
                    "re-run maia-configure, which keeps the existing secrets and adds the missing ones; "
                    "or leave the stage out (maia:admin:enabled false)")]


def config_folder_findings(config_folder, lvm_enabled=True, admin=None):
    """What the CONFIG_FOLDER lacks, read with the ext_pillar's own loader (maia_salt.pillar_map);
    with ``admin`` (the admin stage's parameters), the admin layer's secrets too."""
    if not config_folder:
        return [finding("config_folder", "pillar maia:config_folder is not set",
                        "configure the maia ext_pillar with config_folder: <CONFIG_FOLDER> on the master")]
    from .pillar_map import ConfigFolderError, InventoryError, load_site

    try:
        env, _cluster, _credentials, inventory = load_site(config_folder)
        if inventory is not None:
            inventory.validate(lvm_enabled=lvm_enabled)
    except (ConfigFolderError, InventoryError) as exc:
        return [finding("config_folder", str(exc), "run maia-configure (or fix the file named) and re-run")]
    found = admin_findings(env, admin)
    for pattern in CONFIG_FILES:
        name = pattern.format(cluster=env.get("cluster_name", ""))
        if not os.path.isfile(os.path.join(config_folder, name)):
            found.append(finding("config_folder", f"{config_folder}/{name} is missing",
                                 "run maia-configure to write it" if name != "inventory.yaml" else
                                 "write the site's hosts into inventory.yaml (maia-configure import-inventory)"))
    return found
