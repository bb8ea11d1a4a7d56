"""States for MicroK8s on this host (see the ``maia_microk8s`` execution module).

.. code-block:: yaml

    maia-k8s-microk8s-addons-enabled:
      maia_microk8s.addons_enabled:
        - addons: [hostpath-storage, rbac]

    maia-k8s-oidc-apiserver-args-set:
      maia_microk8s.args_present:
        - name: /var/snap/microk8s/current/args/kube-apiserver
        - flags: {--oidc-client-id: maia}

    maia-k8s-microk8s-proxy-environment:
      maia_microk8s.env_block:
        - name: /var/snap/microk8s/current/args/containerd-env
        - values: {HTTPS_PROXY: http://10.0.0.1:3130}

    maia-k8s-microk8s-ready:
      maia_microk8s.running:
        - watch:
          - maia_microk8s: maia-k8s-oidc-apiserver-args-set   # restarts only on a change
"""
import hashlib
import os

import salt.utils.files
from salt.exceptions import CommandExecutionError

# _utils/: shipped and put on sys.path by Salt's loader
import maia_files
import maia_marked_block
import maia_state_return

__virtualname__ = "maia_microk8s"


def __virtual__():
    if "maia_microk8s.status" in __salt__:
        return __virtualname__
    return (False, "maia_microk8s execution module not loaded")


def _restarted():
    return {"microk8s": {"old": "running", "new": "restarted"}}


def _started():
    return {"microk8s": {"old": "stopped", "new": "running"}}


def addons_enabled(name, addons, microk8s_cmd=None):
    """
    Enable each addon of ``addons`` that is not enabled yet.
    """
    ret = maia_state_return.new(name)
    st = __salt__["maia_microk8s.status"](microk8s_cmd=microk8s_cmd)
    if not st["running"]:
        if __opts__["test"] and st["installed"]:
            # a stopped MicroK8s tells no addon states: maia_microk8s.running starts it first
            ret["result"] = None
            ret["comment"] = f"MicroK8s is stopped: addons {', '.join(addons)} would be checked once it runs"
            return ret
        if not __opts__["test"]:
            return maia_state_return.failed(ret, "MicroK8s is not running: cannot enable addons")
    todo = [a for a in addons if not st["addons"].get(a)]
    if not todo:
        ret["comment"] = f"Addons already enabled: {', '.join(addons)}"
        return ret
    if __opts__["test"]:
        return maia_state_return.predicted(ret, _addons_enabled(todo), f"Addons would be enabled: {', '.join(todo)}")
    try:
        for addon in todo:
            __salt__["maia_microk8s.enable"](addon, microk8s_cmd=microk8s_cmd)
    except CommandExecutionError as exc:
        return maia_state_return.failed(ret, str(exc))
    after = __salt__["maia_microk8s.status"](microk8s_cmd=microk8s_cmd)
    still = [a for a in todo if not after["addons"].get(a)]
    ret["changes"] = _addons_enabled([a for a in todo if a not in still])
    return maia_state_return.checked(ret, still, f"Enabled addons: {', '.join(todo)}",
                                              f"Addons still not enabled: {', '.join(still)}")


def _addons_enabled(addons):
    return {addon: {"old": "disabled", "new": "enabled"} for addon in addons}


def args_present(name, flags):
    """
    Ensure the args file ``name`` has one ``--flag=value`` line per entry of
    ``flags``, replacing older values of the same flags (no duplicates).
    """
    ret = maia_state_return.new(name)
    if not os.path.exists(name):
        if __opts__["test"]:
            changes = {f: {"old": None, "new": str(v)} for f, v in flags.items()}
            return maia_state_return.predicted(ret, changes, f"{name} does not exist yet (MicroK8s not installed); flags would be set")
        return maia_state_return.failed(ret, f"{name} does not exist: is MicroK8s installed?")
    diff = __salt__["maia_microk8s.args_diff"](name, flags)
    if not diff:
        ret["comment"] = f"All {len(flags)} flags already set in {name}"
        return ret
    if __opts__["test"]:
        return maia_state_return.predicted(ret, diff, f"{len(diff)} flag(s) would be set in {name}")
    ret["changes"] = __salt__["maia_microk8s.args_set"](name, flags)
    left = __salt__["maia_microk8s.args_diff"](name, flags)
    return maia_state_return.checked(ret, left, f"Set {len(diff)} flag(s) in {name}",
                                              f"Flags still differ after writing {name}: {sorted(left)}")


def args_absent(name, flags):
    """
    Ensure the args file ``name`` has no line for any flag of ``flags`` (a list).
    """
    ret = maia_state_return.new(name)
    if not os.path.exists(name):
        ret["comment"] = f"{name} does not exist"
        return ret
    current = __salt__["maia_microk8s.args_get"](name)
    wanted = [f if f.startswith("--") else "--" + f for f in flags]
    present = [f for f in wanted if f in current]
    if not present:
        ret["comment"] = f"None of {len(wanted)} flags in {name}"
        return ret
    ret["changes"] = {f: {"old": current[f], "new": None} for f in present}
    if __opts__["test"]:
        ret["result"] = None
        ret["comment"] = f"{len(present)} flag(s) would be removed from {name}"
        return ret
    __salt__["maia_microk8s.args_remove"](name, present)
    ret["comment"] = f"Removed {len(present)} flag(s) from {name}"
    return ret


ENV_TAG = "maia-salt (maia.k8s.microk8s)"


def env_block(name, values):
    """
    Ensure the environment file ``name`` (MicroK8s' ``args/containerd-env``, which its
    containerd sources) holds ``KEY=value`` for each of ``values`` in a block of maia-salt's
    own, between marker comments; the file's other lines stay as they are. Empty ``values``
    remove the block. Changes show the block's lines (proxy addresses, no secret).
    """
    ret = maia_state_return.new(name)
    wanted = [f"{key}={value}" for key, value in values.items()]
    if not os.path.exists(name):
        if not wanted:
            ret["comment"] = f"{name} does not exist: no block to remove"
            return ret
        if __opts__["test"]:
            return maia_state_return.predicted(ret, {name: {"old": None, "new": wanted}},
                                               f"{name} does not exist yet (MicroK8s not installed); the block would be written")
        return maia_state_return.failed(ret, f"{name} does not exist: is MicroK8s installed?")
    with salt.utils.files.fopen(name, "r") as fh:
        text = fh.read()
    current = maia_marked_block.block_of(text, ENV_TAG)
    if (current or []) == wanted:
        ret["comment"] = f"{name} holds maia-salt's {len(wanted)} line(s)" if wanted else f"{name} has no maia-salt block"
        return ret
    changes = {name: {"old": current, "new": wanted or None}}
    verb = "written" if wanted else "removed"
    if __opts__["test"]:
        return maia_state_return.predicted(ret, changes, f"maia-salt's block in {name} would be {verb}")
    st = os.stat(name)
    maia_files.write_private(name, maia_marked_block.with_block(text, ENV_TAG, wanted), oct(st.st_mode & 0o7777)[2:],
                             st.st_uid, st.st_gid)
    ret["changes"] = changes
    ret["comment"] = f"maia-salt's block in {name} {verb}"
    return ret


def running(name="microk8s", retries=10, interval=15, timeout=30, microk8s_cmd=None):
    """
    Ensure MicroK8s runs and is ready: a MicroK8s that is installed but stopped
    (``microk8s status`` says it is not running: stopped by hand, or after a
    failed upgrade) is started with ``microk8s start``, and only then; then
    ``microk8s status --wait-ready`` (``retries`` x ``interval`` s). Under
    ``watch``, restarts MicroK8s when a watched state changed, then waits again.
    """
    ret = maia_state_return.new(name)
    installed = __salt__["maia_microk8s.installed"](microk8s_cmd=microk8s_cmd)
    status = __salt__["maia_microk8s.status"](microk8s_cmd=microk8s_cmd) if installed else {"installed": False}
    stopped = status["installed"] and not status["running"]
    if __opts__["test"]:
        if stopped:
            return maia_state_return.predicted(ret, _started(), "MicroK8s is stopped: it would be started, then waited for")
        ret["comment"] = (
            "MicroK8s readiness would be checked"
            if installed
            else "MicroK8s is not installed yet; readiness would be checked after the install"
        )
        return ret
    try:
        if stopped:
            __salt__["maia_microk8s.start"](microk8s_cmd=microk8s_cmd)
            ret["changes"] = _started()
        __salt__["maia_microk8s.wait_ready"](
            retries=retries, interval=interval, timeout=timeout, microk8s_cmd=microk8s_cmd
        )
    except CommandExecutionError as exc:
        ret.update(result=False, comment=f"MicroK8s started but not ready: {exc}" if ret["changes"] else str(exc))
        return ret
    ret["comment"] = "MicroK8s was stopped: started, and ready" if stopped else "MicroK8s is ready"
    return ret


def restarted(name="microk8s", retries=10, interval=15, timeout=30, microk8s_cmd=None):
    """
    Restart MicroK8s (stop, start), then wait until it is ready. For ``onchanges`` of the files
    MicroK8s reads only when it starts (its apiserver arguments, containerd's environment): Salt
    runs it only when one of them changed, and a run that changed nothing skips it.
    """
    ret = maia_state_return.new(name)
    if __opts__["test"]:
        return maia_state_return.predicted(ret, _restarted(), "MicroK8s would be restarted, then waited for")
    try:
        __salt__["maia_microk8s.restart"](microk8s_cmd=microk8s_cmd)
        ret["changes"] = _restarted()
        __salt__["maia_microk8s.wait_ready"](retries=retries, interval=interval, timeout=timeout,
                                            microk8s_cmd=microk8s_cmd)
    except CommandExecutionError as exc:
        # the restart happened: keep it in the changes
        ret.update(result=False, comment=f"MicroK8s restarted but not ready: {exc}" if ret["changes"] else str(exc))
        return ret
    ret["comment"] = "MicroK8s restarted and ready"
    return ret


def mod_watch(name, sfun=None, **kwargs):
    """
    ``running``: :func:`restarted`, because a watched state changed. ``export_compared``: the
    export changes in this run (``_export_changed``).
    """
    if sfun == "export_compared":
        return _export_changed(name, kwargs["ca"])
    if sfun != "running":
        return maia_state_return.failed(maia_state_return.new(name), f"watch is not supported for maia_microk8s.{sfun}")
    return restarted(name, **{k: kwargs[k] for k in ("retries", "interval", "timeout", "microk8s_cmd") if k in kwargs})


def _sha(text):
    return hashlib.sha256(text.encode()).hexdigest()


def _write_private(path, text, mode, user=None, group=None):
    """Write ``text`` to ``path`` privately (``maia_files.write_private``), owned by ``user``/``group``."""
    uid = __salt__["file.user_to_uid"](user) if user else -1
    gid = __salt__["file.group_to_gid"](group) if group else -1
    maia_files.write_private(path, text, mode, uid if uid != "" else -1, gid if gid != "" else -1)


# a written file's content (credentials) never appears in changes
NOT_SHOWN = "<content not shown>"


def _content_change(exists):
    return {"old": NOT_SHOWN if exists else None, "new": NOT_SHOWN}


def _file_state(name, text, mode, what, user=None, group=None):
    """Write ``text`` to ``name`` with ``mode``; changes never carry the content."""
    ret = maia_state_return.new(name)
    mode = str(mode).zfill(4)
    exists = os.path.exists(name)
    cur_text = None
    if exists:
        with salt.utils.files.fopen(name, "r") as fh:
            cur_text = fh.read()
    cur_mode = __salt__["file.get_mode"](name) if exists else None
    changes = {}
    if cur_text != text:
        changes[what] = _content_change(exists)
    if cur_mode is not None and str(cur_mode).zfill(4) != mode:
        changes["mode"] = {"old": cur_mode, "new": mode}
    if not changes:
        ret["comment"] = f"{what} {name} is up to date"
        return ret
    if __opts__["test"]:
        return maia_state_return.predicted(ret, changes, f"{what} {name} would be written")
    _write_private(name, text, mode, user, group)
    ret["changes"] = changes
    ret["comment"] = f"{what} {name} written (sha256 {_sha(text)[:12]})"
    return ret


def kubeconfig_written(name, server=None, mode="0600", user=None, group=None, microk8s_cmd=None):
    """
    Write the kubeconfig of ``microk8s config`` to ``name`` (mode 0600), its
    server set to ``server`` when given. The content (admin credentials) never
    appears in changes or comments.
    """
    if not __salt__["maia_microk8s.installed"](microk8s_cmd=microk8s_cmd):
        ret = maia_state_return.new(name)
        if __opts__["test"]:
            ret["result"] = None
            ret["changes"] = {"kubeconfig": _content_change(False)}
            ret["comment"] = f"kubeconfig {name} would be written once MicroK8s is installed"
        else:
            ret["result"] = False
            ret["comment"] = "MicroK8s is not installed: no kubeconfig to write"
        return ret
    try:
        text = __salt__["maia_microk8s.config"](server=server, microk8s_cmd=microk8s_cmd)
    except CommandExecutionError as exc:
        ret = maia_state_return.new(name)
        if __opts__["test"] and os.path.exists(name):
            # MicroK8s is stopped: what it prints once started is not known yet
            ret["result"] = None
            ret["comment"] = f"kubeconfig {name} would be compared once MicroK8s runs"
            return ret
        if __opts__["test"]:
            change = {"kubeconfig": _content_change(False)}
            return maia_state_return.predicted(ret, change, f"kubeconfig {name} would be written once MicroK8s runs")
        return maia_state_return.failed(ret, str(exc))
    return _file_state(name, text, mode, "kubeconfig", user, group)


def file_exported(name, source, mode="0600", user=None, group=None, server=None):
    """
    Copy the local file ``source`` to ``name`` with ``mode`` (content not shown).
    In test mode a ``source`` that does not exist yet (the distribution not
    installed) predicts a copy. With ``server``, ``source`` is a kubeconfig
    (k3s' ``k3s.yaml``) written with that API server address.
    """
    if not os.path.exists(source):
        ret = maia_state_return.new(name)
        if __opts__["test"]:
            ret["result"] = None
            ret["changes"] = {"file": _content_change(os.path.exists(name))}
            ret["comment"] = f"{source} does not exist yet; would be copied to {name}"
        else:
            ret["result"] = False
            ret["comment"] = f"{source} does not exist: is the Kubernetes distribution installed?"
        return ret
    with salt.utils.files.fopen(source, "r") as fh:
        text = fh.read()
    if server:
        try:
            text = __salt__["maia_microk8s.with_server"](text, server, f"{source} is not a kubeconfig")
        except CommandExecutionError as exc:
            return maia_state_return.failed(maia_state_return.new(name), str(exc))
        return _file_state(name, text, mode, "kubeconfig", user, group)
    return _file_state(name, text, mode, "file", user, group)



def _recorded_export():
    """This host's entry of ``maia:orch:exported`` (what orch.maia read from the controller's
    record of its last fetch: "" when there is none), or None outside orch.maia."""
    records = (__salt__["pillar.get"]("maia:orch", {}, unmask=True) or {}).get("exported")
    if not isinstance(records, dict):
        return None
    return records.get(__opts__["id"]) or ""


def _copy_outdated(ret, what, comment):
    """``ret`` reporting the controller's copy ``what`` ("missing", "outdated"): the one change."""
    change = {"controller copy": {"old": what, "new": "fetched after this stage"}}
    if __opts__["test"]:
        return maia_state_return.predicted(ret, change, comment)
    ret.update(changes=change, comment=comment)
    return ret


def export_compared(name, ca):
    """
    Whether the controller's copy of this host's export (kubeconfig ``name``, CA ``ca``) is the
    one it exports now: a change (nothing on this host changes) when the digest orch.maia passes
    (pillar ``maia:orch:exported``, the kubeconfig runner's record of its last fetch from this
    host) differs from ``maia_microk8s.export_digest``; orch.maia fetches the pair only then
    (``onchanges``). Outside orch.maia (no such pillar) there is nothing to compare: no change.
    Digests only: no content in changes or comments.
    """
    ret = maia_state_return.new(name)
    recorded = _recorded_export()
    if recorded is None:
        ret["comment"] = "not run by orch.maia: no controller's copy to compare the export with"
        return ret
    what = "outdated" if recorded else "missing"
    digest = __salt__["maia_microk8s.export_digest"](name, ca)
    if digest is None:
        return _copy_outdated(ret, what, f"nothing exported at {name} and {ca} yet: the kubeconfig fetch asks for it")
    if digest == recorded:
        ret["comment"] = f"the controller's copy of this host's export is current (sha256 {digest[:12]})"
        return ret
    return _copy_outdated(ret, what, f"the controller's copy of this host's export is {what}: "
                                     f"the kubeconfig fetch takes it (sha256 {digest[:12]})")


def _export_changed(name, ca):
    """``export_compared`` when a watched export state changed: under test=True the export on
    this host is still the old one, so the copy is predicted outdated (as the run will find it)."""
    ret = export_compared(name, ca)
    if __opts__["test"] and not ret["changes"] and _recorded_export() is not None:
        return _copy_outdated(ret, "outdated", "this run changes the export: the controller's copy would be "
                                               "outdated, and the kubeconfig fetch would take it")
    return ret
