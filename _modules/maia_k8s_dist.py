"""Kubernetes distributions that run as a systemd service (k3s, k0s and rke2).

Their settings file, their service and their readiness, for the ``maia.k8s.<distribution>``
formulas. MicroK8s has its own module (``maia_microk8s``): it is a snap with its own CLI.

.. code-block:: bash

    salt-call maia_k8s_dist.settings_read /etc/rancher/k3s/config.yaml
    salt-call maia_k8s_dist.service_status k3s
    salt-call maia_k8s_dist.unit_exec_start /etc/systemd/system/k0scontroller.service
    salt-call maia_k8s_dist.is_ready '["/usr/local/bin/k3s", "kubectl"]'
    salt-call maia_k8s_dist.archive_differs /var/cache/maia/rke2-v1.34.2+rke2r1.linux-amd64.tar.gz /usr/local

Commands are lists (no shell). ``systemctl_cmd`` and the distribution's command come from the
formula's parameters (``maia:k8s:k3s:...``).
"""
import hashlib
import os
import shlex
import tarfile

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
    """True when ``<kubectl_cmd> get nodes --no-headers`` lists a node that is Ready (False while
    the kubectl is not there yet: rke2 unpacks its own at start)."""
    try:
        res = _run([*kubectl_cmd, "get", "nodes", "--no-headers"], check=False, timeout=timeout)
    except CommandExecutionError:
        return False
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


# ---- release tarball (rke2) ---------------------------------------------------


def _archive_files(archive):
    """The regular files of the tar ``archive`` as (member, relative path, mode); a member that
    is no file or folder, or whose path leaves the destination, is refused by name."""
    with tarfile.open(archive, "r:*") as tar:
        members = tar.getmembers()
    out = []
    for member in members:
        rel = os.path.normpath(member.name)
        if os.path.isabs(member.name) or rel == ".." or rel.startswith("../"):
            raise CommandExecutionError(f"{archive}: member {member.name!r} leaves the destination; nothing was unpacked")
        if member.isfile():
            out.append((member.name, rel, member.mode & 0o7777))
        elif not member.isdir():
            raise CommandExecutionError(f"{archive}: member {member.name!r} is no file or folder; nothing was unpacked")
    return out


def _file_sha256(path):
    digest = hashlib.sha256()
    with salt.utils.files.fopen(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def archive_differs(archive, dest):
    """The files of the tar ``archive`` whose copy under ``dest`` is missing, or differs in
    content or mode (relative paths, sorted)."""
    differ = []
    with tarfile.open(archive, "r:*") as tar:
        for name, rel, mode in _archive_files(archive):
            path = os.path.join(dest, rel)
            if not os.path.isfile(path) or os.stat(path).st_mode & 0o7777 != mode:
                differ.append(rel)
                continue
            digest = hashlib.sha256()
            with tar.extractfile(name) as member:
                for block in iter(lambda: member.read(1 << 20), b""):
                    digest.update(block)
            if digest.hexdigest() != _file_sha256(path):
                differ.append(rel)
    return sorted(differ)


def archive_unpack(archive, dest, files=None):
    """Write the files of the tar ``archive`` (only ``files``, relative paths, when given) under
    ``dest``, each through a temporary file renamed over the old one, with the member's mode."""
    wanted = set(files) if files is not None else None
    with tarfile.open(archive, "r:*") as tar:
        for name, rel, mode in _archive_files(archive):
            if wanted is not None and rel not in wanted:
                continue
            path = os.path.join(dest, rel)
            os.makedirs(os.path.dirname(path), mode=0o755, exist_ok=True)
            tmp = f"{path}.maia-tmp"
            with tar.extractfile(name) as member, salt.utils.files.fopen(tmp, "wb") as out:
                for block in iter(lambda: member.read(1 << 20), b""):
                    out.write(block)
            os.chmod(tmp, mode)
            os.replace(tmp, path)
    return True
