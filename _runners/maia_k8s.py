"""Bring the control plane's exported kubeconfig and CA to the machine that runs the installation.

``maia.k8s.microk8s.export`` writes ``<CLUSTER_NAME>-kubeconfig.yaml`` and
``ca.crt`` (0600) into ``maia:config_folder`` on the control-plane host. This
runner asks the host for them (``maia_microk8s.export_bundle``, over the
master's bus, or over SSH with ``ssh=True``) and writes them, 0600, into the
CONFIG_FOLDER on this side. It returns paths and sha256 digests only.

CLI examples::

    salt-run maia_k8s.fetch_kubeconfig maia-node-0
    salt-run maia_k8s.fetch_kubeconfig maia-node-0 ssh=True roster_file=/opt/maia/config/roster
    salt-run maia_k8s.fetch_kubeconfig maia-node-0 config_folder=/opt/maia/config

The minion's return passes through the master's job cache (root-only, like
``cp.push``); set ``keep_jobs``/``job_cache`` accordingly on shared masters.
"""
import hashlib
import logging
import os

import salt.client
from salt.exceptions import SaltRunnerError

log = logging.getLogger(__name__)

__virtualname__ = "maia_k8s"


def __virtual__():
    return __virtualname__


def _config_folder(config_folder):
    if config_folder:
        return config_folder
    for entry in __opts__.get("ext_pillar") or []:
        if isinstance(entry, dict) and "maia" in entry:
            conf = entry["maia"]
            if isinstance(conf, dict) and conf.get("config_folder"):
                return conf["config_folder"]
            if isinstance(conf, str):
                return conf
    raise SaltRunnerError(
        "No CONFIG_FOLDER: pass config_folder=DIR or configure ext_pillar [{maia: {config_folder: DIR}}]"
    )


def _cluster_name(folder, tgt):
    """The cluster name as the maia ext_pillar sees it (salt-ssh execution
    functions get no pillar on the host, so the runner names the files)."""
    try:
        from maia_salt.pillar_map import site_pillar

        maia = site_pillar(folder, tgt)["maia"]
        return (maia.get("cluster") or {}).get("cluster_name") or maia["env"]["cluster_name"]
    except Exception:  # pylint: disable=broad-except
        import json

        with open(os.path.join(folder, "env.json"), encoding="utf-8") as fh:
            return json.load(fh)["cluster_name"]


def _call(tgt, ssh, roster_file, timeout, fun_kwargs):
    fun = "maia_microk8s.export_bundle"
    arg = [f"{k}={v}" for k, v in fun_kwargs.items()]
    if ssh:
        from salt.client.ssh.client import SSHClient

        client = SSHClient(mopts=__opts__)
        kwargs = {"roster_file": roster_file} if roster_file else {}
        raw = client.cmd(tgt, fun, arg=arg, timeout=timeout, **kwargs)
    else:
        client = salt.client.get_local_client(__opts__["conf_file"])
        raw = client.cmd(tgt, fun, arg=arg, timeout=timeout, full_return=True)
    if not raw:
        raise SaltRunnerError(f"{tgt} did not answer {fun} (is it up and in the roster/accepted?)")
    out = {}
    for minion, ret in raw.items():
        value, retcode = _unwrap(ret)
        if retcode or not isinstance(value, dict) or "kubeconfig" not in value:
            raise SaltRunnerError(f"{minion}: {fun} failed: {_error_text(value)}")
        out[minion] = value
    return out


def _unwrap(ret):
    """(value, retcode) from a LocalClient full return or an SSHClient return."""
    if isinstance(ret, dict):
        if "ret" in ret and "retcode" in ret:
            return ret["ret"], ret.get("retcode") or 0
        if "return" in ret and ("retcode" in ret or "jid" in ret):
            return ret["return"], ret.get("retcode") or 0
    return ret, 0


def _error_text(value):
    """The error a minion reported, never the data it returned (it holds credentials)."""
    if isinstance(value, str):
        return value.strip()[:500]
    if isinstance(value, dict) and value.get("stderr"):
        return str(value["stderr"]).strip()[:500]
    return f"unexpected {type(value).__name__} return"


def _write(path, text):
    old = None
    if os.path.exists(path):
        with open(path, encoding="utf-8") as fh:
            old = fh.read()
    if old == text and (os.stat(path).st_mode & 0o777) == 0o600:
        return False
    tmp = path + ".maia-tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)
    return True


def fetch_kubeconfig(
    tgt, config_folder=None, ssh=False, roster_file=None, timeout=60, remote_folder=None, cluster_name=None
):
    """
    Copy ``<CLUSTER_NAME>-kubeconfig.yaml`` and ``ca.crt`` exported on the
    control-plane host ``tgt`` into ``config_folder`` (default: the folder of the
    ``maia`` ext_pillar), mode 0600. Returns ``{path: {"sha256": ..., "changed": bool}}``.

    remote_folder
        where the host exported them (default: the same path, which is what the
        ``maia`` ext_pillar gives the host as ``maia:config_folder``)
    cluster_name
        default: ``cluster_name`` of the CONFIG_FOLDER
    """
    folder = _config_folder(config_folder)
    remote = remote_folder or folder
    name = cluster_name or _cluster_name(folder, tgt)
    paths = {
        "kubeconfig_path": os.path.join(remote, f"{name}-kubeconfig.yaml"),
        "ca_path": os.path.join(remote, "ca.crt"),
    }
    bundles = _call(tgt, ssh, roster_file, timeout, paths)
    if len(bundles) > 1:
        raise SaltRunnerError(f"{tgt} matched {len(bundles)} hosts; target one control-plane host")
    os.makedirs(folder, mode=0o700, exist_ok=True)
    result = {}
    for bundle in bundles.values():
        for key in ("kubeconfig", "ca_crt"):
            path = os.path.join(folder, bundle["names"][key])
            changed = _write(path, bundle[key])
            result[path] = {
                "sha256": hashlib.sha256(bundle[key].encode()).hexdigest(),
                "changed": changed,
            }
    return result
