"""MicroK8s on this host: status, addons, readiness, API server args, kubeconfig.

Talks to the ``microk8s`` command (path from pillar ``maia:k8s:microk8s_cmd``,
default ``/snap/bin/microk8s``) and reads its files under the snap root
(pillar ``maia:k8s:paths:snap_root``, default ``/var/snap``). Status comes from
``microk8s status --format yaml`` (structured), never from screen output.

CLI examples::

    salt-call maia_microk8s.status
    salt-call maia_microk8s.wait_ready retries=10 interval=15
    salt-call maia_microk8s.args_get /var/snap/microk8s/current/args/kube-apiserver
"""
import logging
import os
import time

import salt.utils.files
import salt.utils.yaml
from salt.exceptions import CommandExecutionError

# _utils/: shipped and put on sys.path by Salt's loader
import maia_microk8s_paths
import maia_seal

log = logging.getLogger(__name__)

__virtualname__ = "maia_microk8s"



def __virtual__():
    return __virtualname__


def _cmd(microk8s_cmd=None):
    return microk8s_cmd or maia_microk8s_paths.command(__salt__["pillar.get"]("maia:k8s:microk8s_cmd", unmask=True))


def _run(args, microk8s_cmd=None, check=True, timeout=None, quiet=False):
    cmd = [_cmd(microk8s_cmd), *args]
    kwargs = {"python_shell": False, "ignore_retcode": True}
    if quiet:  # output holds credentials: keep it out of the log
        kwargs["output_loglevel"] = "quiet"
    if timeout:
        kwargs["timeout"] = timeout
    res = __salt__["cmd.run_all"](cmd, **kwargs)
    if check and res["retcode"] != 0:
        raise CommandExecutionError(
            f"'{' '.join(cmd)}' failed (exit {res['retcode']}): "
            f"{(res.get('stderr') or res.get('stdout') or '').strip()}"
        )
    return res


def paths(snap_root=None):
    """
    The MicroK8s file locations on this host.

    CLI Example:

    .. code-block:: bash

        salt-call maia_microk8s.paths
    """
    return maia_microk8s_paths.paths(snap_root or __salt__["pillar.get"]("maia:k8s:paths:snap_root", unmask=True))


def installed(microk8s_cmd=None):
    """
    True when the ``microk8s`` command exists on this host.
    """
    return os.access(_cmd(microk8s_cmd), os.X_OK)


def status(microk8s_cmd=None):
    """
    ``{"running": bool, "addons": {name: enabled}}``; ``running`` is False when
    MicroK8s is not installed or not running.

    CLI Example:

    .. code-block:: bash

        salt-call maia_microk8s.status
    """
    if not installed(microk8s_cmd):
        return {"installed": False, "running": False, "addons": {}}
    res = _run(["status", "--format", "yaml"], microk8s_cmd, check=False)
    if res["retcode"] == 127:  # a command left behind without its snap (or the test stand-in before `snap install`)
        return {"installed": False, "running": False, "addons": {}}
    if res["retcode"] != 0:
        return {"installed": True, "running": False, "addons": {}}
    data = salt.utils.yaml.safe_load(res["stdout"]) or {}
    addons = {
        a["name"]: a.get("status") == "enabled" for a in data.get("addons") or [] if "name" in a
    }
    running = bool((data.get("microk8s") or {}).get("running"))
    return {"installed": True, "running": running, "addons": addons}


def is_ready(timeout=30, microk8s_cmd=None):
    """
    True when ``microk8s status --wait-ready --timeout <timeout>`` succeeds.
    """
    if not installed(microk8s_cmd):
        return False
    res = _run(
        ["status", "--wait-ready", "--timeout", str(int(timeout))],
        microk8s_cmd,
        check=False,
        timeout=int(timeout) + 30,
    )
    return res["retcode"] == 0


def wait_ready(retries=10, interval=15, timeout=30, microk8s_cmd=None):
    """
    Wait until MicroK8s is ready: up to ``retries`` calls of
    ``microk8s status --wait-ready --timeout <timeout>``, ``interval`` seconds apart.
    Raises with a clear message when it never gets ready.

    CLI Example:

    .. code-block:: bash

        salt-call maia_microk8s.wait_ready retries=10 interval=15
    """
    retries = max(int(retries), 1)
    for attempt in range(1, retries + 1):
        if is_ready(timeout, microk8s_cmd):
            return True
        log.info("MicroK8s not ready (attempt %s/%s)", attempt, retries)
        if attempt < retries:
            time.sleep(float(interval))
    raise CommandExecutionError(
        f"MicroK8s did not become ready after {retries} checks {interval}s apart "
        f"('microk8s status --wait-ready' failed each time). Run 'microk8s inspect' on this "
        "host, or raise maia:k8s:wait_ready:retries / interval."
    )


def enable(addon, microk8s_cmd=None):
    """
    Enable one addon.

    CLI Example:

    .. code-block:: bash

        salt-call maia_microk8s.enable rbac
    """
    _run(["enable", addon], microk8s_cmd, timeout=600)
    return True


def start(microk8s_cmd=None):
    """
    ``microk8s start`` (MicroK8s starts its services; a running one is left as it is).

    CLI Example:

    .. code-block:: bash

        salt-call maia_microk8s.start
    """
    _run(["start"], microk8s_cmd, timeout=600)
    return True


def restart(microk8s_cmd=None):
    """
    ``microk8s stop`` then ``microk8s start``.
    """
    _run(["stop"], microk8s_cmd, timeout=600)
    return start(microk8s_cmd)


def config(server=None, microk8s_cmd=None):
    """
    The kubeconfig printed by ``microk8s config`` as text, with every cluster's
    ``server`` set to ``server`` when given. Contains admin credentials.
    """
    text = _run(["config"], microk8s_cmd, quiet=True).get("stdout", "")
    return with_server(text, server, "'microk8s config' did not print a kubeconfig")


def with_server(text, server=None, what="not a kubeconfig"):
    """The kubeconfig ``text`` with every cluster's ``server`` set to ``server`` (when given);
    also for another distribution's admin kubeconfig (k3s' ``k3s.yaml``)."""
    if not server:
        return text if text.endswith("\n") else text + "\n"
    data = salt.utils.yaml.safe_load(text)
    if not isinstance(data, dict) or not data.get("clusters"):
        raise CommandExecutionError(what)
    for cluster in data["clusters"]:
        cluster.setdefault("cluster", {})["server"] = server
    return salt.utils.yaml.safe_dump(data, default_flow_style=False)


# ---- kube-apiserver args file -------------------------------------------------


def _flag_of(line):
    line = line.strip()
    if not line.startswith("--"):
        return None
    return line.split("=", 1)[0].split(None, 1)[0]


def args_get(path):
    """
    The flags of an args file (``--flag=value`` per line) as ``{flag: value}``;
    a flag without a value maps to ``True``.

    CLI Example:

    .. code-block:: bash

        salt-call maia_microk8s.args_get /var/snap/microk8s/current/args/kube-apiserver
    """
    if not os.path.exists(path):
        raise CommandExecutionError(f"{path} does not exist: is MicroK8s installed?")
    flags = {}
    with salt.utils.files.fopen(path, "r") as fh:
        for line in fh:
            flag = _flag_of(line)
            if flag is None:
                continue
            stripped = line.strip()
            flags[flag] = stripped.split("=", 1)[1] if "=" in stripped else True
    return flags


def args_diff(path, flags):
    """
    ``{flag: {"old": value or None, "new": value}}`` for each flag of ``flags``
    whose line in ``path`` is missing, different or duplicated.
    """
    current = args_get(path)
    counts = {}
    with salt.utils.files.fopen(path, "r") as fh:
        for line in fh:
            flag = _flag_of(line)
            if flag:
                counts[flag] = counts.get(flag, 0) + 1
    diff = {}
    for flag, value in flags.items():
        flag = flag if flag.startswith("--") else "--" + flag
        if current.get(flag) != str(value) or counts.get(flag, 0) > 1:
            diff[flag] = {"old": current.get(flag), "new": str(value)}
    return diff


def args_set(path, flags):
    """
    Set ``--flag=value`` lines in ``path``: the first line of a flag is replaced
    in place, further lines of the same flag are dropped, new flags are appended.
    Returns the diff that was applied (see :func:`args_diff`).
    """
    diff = args_diff(path, flags)
    if not diff:
        return {}
    wanted = {
        (f if f.startswith("--") else "--" + f): str(v) for f, v in flags.items()
    }
    out, seen = [], set()
    with salt.utils.files.fopen(path, "r") as fh:
        lines = fh.read().splitlines()
    for line in lines:
        flag = _flag_of(line)
        if flag in wanted:
            if flag in seen:
                continue
            seen.add(flag)
            out.append(f"{flag}={wanted[flag]}")
        else:
            out.append(line)
    for flag, value in wanted.items():
        if flag not in seen:
            out.append(f"{flag}={value}")
    st = os.stat(path)
    tmp = path + ".maia-tmp"
    with salt.utils.files.fopen(tmp, "w") as fh:
        fh.write("\n".join(out) + "\n")
    os.chmod(tmp, st.st_mode & 0o7777)
    try:
        os.chown(tmp, st.st_uid, st.st_gid)
    except PermissionError:
        pass
    os.replace(tmp, path)
    return diff


def args_remove(path, flags):
    """
    Drop every line of ``flags`` (a list of ``--flag`` names) from an args file.
    Returns the flags that were removed.
    """
    wanted = {f if f.startswith("--") else "--" + f for f in flags}
    with salt.utils.files.fopen(path, "r") as fh:
        lines = fh.read().splitlines()
    kept = [ln for ln in lines if _flag_of(ln) not in wanted]
    removed = sorted({_flag_of(ln) for ln in lines if _flag_of(ln) in wanted})
    if removed:
        st = os.stat(path)
        tmp = path + ".maia-tmp"
        with salt.utils.files.fopen(tmp, "w") as fh:
            fh.write("\n".join(kept) + "\n")
        os.chmod(tmp, st.st_mode & 0o7777)
        os.replace(tmp, path)
    return removed


# ---- export for the machine that runs the installation -------------------------


def _read(path):
    with salt.utils.files.fopen(path, "r") as fh:
        return fh.read()


def export_paths():
    """
    Where ``maia.k8s.microk8s.export`` writes the kubeconfig and CA on this
    host: ``<maia:config_folder>/<cluster_name>-kubeconfig.yaml`` and ``ca.crt``.
    """
    folder = __salt__["pillar.get"]("maia:config_folder", "/opt/maia/config", unmask=True)
    cluster = (
        __salt__["pillar.get"]("maia:cluster:cluster_name", unmask=True)
        or __salt__["pillar.get"]("maia:env:cluster_name", unmask=True)
        or "maia-cluster"
    )
    ca_name = __salt__["pillar.get"]("maia:k8s:export:ca_file", "ca.crt", unmask=True)
    return {
        "kubeconfig": os.path.join(folder, f"{cluster}-kubeconfig.yaml"),
        "ca_crt": os.path.join(folder, ca_name),
    }


# The bundle travels sealed (_utils/maia_seal.py): the job return, the master's
# job cache and the minion's log hold ciphertext only.
def seal(recipient, payload):
    """``payload`` (bytes) encrypted to the base64 X25519 public key ``recipient``."""
    return maia_seal.seal(recipient, payload)


def export_bundle(recipient, kubeconfig_path=None, ca_path=None):
    """
    The exported kubeconfig and CA certificate of this control plane, sealed
    to ``recipient`` (a base64 X25519 public key made by the
    ``maia_kubeconfig.fetch_kubeconfig`` runner, which alone can open it). Returns
    ``{"epk", "nonce", "sealed"}``: no credential is in the return, so none
    reaches the job cache or a log.
    """
    return seal(recipient, _export_payload(kubeconfig_path, ca_path))


def _export_payload(kubeconfig_path=None, ca_path=None):
    """The bytes ``export_bundle`` seals: the exported pair as JSON."""
    import json

    where = export_paths()
    kubeconfig_path = kubeconfig_path or where["kubeconfig"]
    ca_path = ca_path or where["ca_crt"]
    missing = [p for p in (kubeconfig_path, ca_path) if not os.path.exists(p)]
    if missing:
        raise CommandExecutionError(
            f"Not exported yet: {', '.join(missing)}. Apply maia.k8s.microk8s on this host first."
        )
    return json.dumps({"kubeconfig": _read(kubeconfig_path), "ca_crt": _read(ca_path)}).encode()


def export_digest(kubeconfig_path=None, ca_path=None):
    """
    The sha256 (hex) of what ``export_bundle`` would send now, before it is sealed: the
    kubeconfig runner records the same digest of the pair it fetched (``.maia-kube/
    exported-<host>.sha256`` in its CONFIG_FOLDER). None while nothing is exported.

    CLI Example:

    .. code-block:: bash

        salt-call maia_microk8s.export_digest
    """
    import hashlib

    try:
        return hashlib.sha256(_export_payload(kubeconfig_path, ca_path)).hexdigest()
    except CommandExecutionError:
        return None
