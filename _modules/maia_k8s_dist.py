"""Kubernetes distributions that run as a systemd service (k3s and k0s; rke2 next).

Their settings file, their service and their readiness, for the ``maia.k8s.<distribution>``
formulas. MicroK8s has its own module (``maia_microk8s``): it is a snap with its own CLI.

.. code-block:: bash

    salt-call maia_k8s_dist.settings_read /etc/rancher/k3s/config.yaml
    salt-call maia_k8s_dist.service_status k3s
    salt-call maia_k8s_dist.unit_exec_start /etc/systemd/system/k0scontroller.service
    salt-call maia_k8s_dist.is_ready '["/usr/local/bin/k3s", "kubectl"]'

Commands are lists (no shell). ``systemctl_cmd`` and the distribution's command come from the
formula's parameters (``maia:k8s:k3s:...``).
"""
import os
import shlex

import salt.utils.files
import salt.utils.yaml
from salt.exceptions import CommandExecutionError

import maia_settings_merge

__virtualname__ = "maia_k8s_dist"

SYSTEMCTL = "/usr/bin/systemctl"


def __virtual__():
    return __virtualname__


def _run(argv, check=True, timeout=120):
    res = __salt__["cmd.run_all"](list(argv), python_shell=False, ignore_retcode=not check,
                                  timeout=timeout, output_loglevel="quiet")
    if check and res["retcode"] != 0:
        raise CommandExecutionError(
            f"{' '.join(map(str, argv))} failed ({res['retcode']}): {(res.get('stderr') or res.get('stdout') or '').strip()[:500]}"
        )
    return res


# ---- settings file ------------------------------------------------------------


def settings_read(path):
    """The YAML mapping in ``path``; ``{}`` when the file does not exist or is empty."""
    try:
        return maia_settings_merge.read(path)
    except ValueError as exc:
        raise CommandExecutionError(str(exc)) from None


def settings_merged(path, settings):
    """(what ``path`` holds, what it holds with ``settings`` merged in): mappings key by key,
    lists item by item (``flag=value`` items replace the same flag), nothing else dropped.
    ``settings`` may be a list of mappings, merged in their order."""
    current = settings_read(path)
    wanted = current
    for layer in settings if isinstance(settings, list) else [settings]:
        wanted = maia_settings_merge.merged(wanted, layer)
    return current, wanted


def settings_without(path, settings):
    """(what ``path`` holds, what it holds without maia-salt's ``settings``)."""
    current = settings_read(path)
    return current, maia_settings_merge.without(current, settings)


def changed_keys(old, new, prefix=""):
    """The dotted keys whose value differs between two mappings (names only, never values)."""
    keys = []
    for key in sorted(set(old) | set(new), key=str):
        a, b = old.get(key), new.get(key)
        if isinstance(a, dict) and isinstance(b, dict):
            keys += changed_keys(a, b, f"{prefix}{key}.")
        elif a != b:
            keys.append(f"{prefix}{key}")
    return keys


# ---- service ------------------------------------------------------------------


def service_status(name, systemctl_cmd=None):
    """``{"installed", "enabled", "active"}`` of the systemd unit ``name``."""
    systemctl = systemctl_cmd or SYSTEMCTL
    enabled = _run([systemctl, "is-enabled", name], check=False)
    active = _run([systemctl, "is-active", name], check=False)
    state = (enabled.get("stdout") or "").strip()
    return {
        "installed": state not in ("", "not-found") and "No such file" not in (enabled.get("stderr") or ""),
        "enabled": enabled["retcode"] == 0 and state == "enabled",
        "active": active["retcode"] == 0 and (active.get("stdout") or "").strip() == "active",
    }


def service_action(name, action, systemctl_cmd=None):
    """``systemctl daemon-reload`` then ``systemctl <action> <name>`` (enable, start, restart,
    stop, disable)."""
    if action not in ("enable", "start", "restart", "stop", "disable"):
        raise CommandExecutionError(f"unknown service action {action!r}")
    systemctl = systemctl_cmd or SYSTEMCTL
    _run([systemctl, "daemon-reload"])
    _run([systemctl, action, name], timeout=600)
    return True


def unit_exec_start(path):
    """The arguments of the ``ExecStart=`` line of the systemd unit file ``path`` (the
    executable first); None when there is no such file or line."""
    if not os.path.exists(path):
        return None
    with salt.utils.files.fopen(path, "r") as fh:
        for line in fh:
            if line.startswith("ExecStart="):
                return shlex.split(line[len("ExecStart="):])
    return None


def unit_install(install_cmd):
    """Run the distribution's own service installer (``k0s install controller ...``), which
    writes its systemd unit."""
    _run(install_cmd, timeout=300)
    return True


# ---- readiness ----------------------------------------------------------------


def is_ready(kubectl_cmd, timeout=30):
    """True when ``<kubectl_cmd> get nodes --no-headers`` lists a node that is Ready."""
    res = _run([*kubectl_cmd, "get", "nodes", "--no-headers"], check=False, timeout=timeout)
    lines = [line.split() for line in (res.get("stdout") or "").splitlines() if line.strip()]
    return res["retcode"] == 0 and any(len(cols) > 1 and cols[1] == "Ready" for cols in lines)


def wait_ready(kubectl_cmd, retries=10, interval=15, timeout=30):
    """Wait until :func:`is_ready` (``retries`` x ``interval`` s); raise when it never is."""
    import time

    for attempt in range(int(retries)):
        if is_ready(kubectl_cmd, timeout=timeout):
            return True
        if attempt + 1 < int(retries):
            time.sleep(float(interval))
    raise CommandExecutionError(
        f"no Ready node after {retries} checks {interval}s apart ({' '.join(kubectl_cmd)} get nodes)"
    )
