"""States for the Kubernetes distributions that run as a systemd service (``maia_k8s_dist``).

.. code-block:: yaml

    maia-k8s-k3s-settings-merged:
      maia_k8s_dist.settings_merged:
        - name: /etc/rancher/k3s/config.yaml
        - settings: {disable: [traefik], tls-san: [maia.example.com]}

    maia-k8s-k3s-running:
      maia_k8s_dist.running:
        - name: k3s
        - kubectl_cmd: [/usr/local/bin/k3s, kubectl]
        - watch:
          - maia_k8s_dist: maia-k8s-k3s-settings-merged   # restarts only on a change
"""
import os
import tarfile

import salt.utils.yaml
from salt.exceptions import CommandExecutionError

import maia_files
import maia_state_return

__virtualname__ = "maia_k8s_dist"


def __virtual__():
    if "maia_k8s_dist.settings_read" in __salt__:
        return __virtualname__
    return (False, "maia_k8s_dist execution module not loaded")


def _write(path, data, mode):
    """``data`` as YAML to ``path``, through a fresh private file renamed over it."""
    maia_files.write_private(path, salt.utils.yaml.safe_dump(data, default_flow_style=False), mode, dir_mode=0o755)


def _settings_state(name, mode, plan, verb):
    ret = maia_state_return.new(name)
    try:
        current, wanted = plan()
    except CommandExecutionError as exc:
        return maia_state_return.failed(ret, f"{exc}: fix or remove the file; nothing was changed")
    exists = os.path.exists(name)
    mode = str(mode).zfill(4)
    cur_mode = str(__salt__["file.get_mode"](name)).zfill(4) if exists else None
    keys = __salt__["maia_k8s_dist.changed_keys"](current, wanted)
    changes = {key: {"old": "<set>" if key.split(".")[0] in current else None, "new": "<differs>"} for key in keys}
    if cur_mode is not None and cur_mode != mode:
        changes["mode"] = {"old": cur_mode, "new": mode}
    if not exists and not wanted:
        changes = {}
    if not changes:
        ret["comment"] = f"{name} already holds these settings"
        return ret
    if __opts__["test"]:
        return maia_state_return.predicted(ret, changes, f"{name}: {', '.join(keys) or 'mode'} would be {verb}")
    _write(name, wanted, mode)
    ret["changes"] = changes
    ret["comment"] = f"{name}: {', '.join(keys) or 'mode'} {verb}"
    return ret


def settings_merged(name, settings, mode="0600"):
    """
    Merge ``settings`` into the YAML settings file ``name``: mappings key by key, lists item
    by item (``flag=value`` items replace the same flag), every other key and item kept. The
    file is written only when something differs. Changes name the keys, never their values
    (a settings file may hold a join token).
    """
    return _settings_state(name, mode, lambda: __salt__["maia_k8s_dist.settings_merged"](name, settings), "merged")


def settings_removed(name, settings, mode="0600"):
    """Remove maia-salt's ``settings`` from the YAML settings file ``name`` (the rest stays)."""
    if not os.path.exists(name):
        ret = maia_state_return.new(name)
        ret["comment"] = f"{name} does not exist"
        return ret
    return _settings_state(name, mode, lambda: __salt__["maia_k8s_dist.settings_without"](name, settings), "removed")


def unit_installed(name, install_cmd, exec_args, force_arg=None):
    """
    The systemd unit file ``name`` is the one the distribution's installer ``install_cmd`` writes
    (k0s: ``k0s install controller --single --config ...``): its ``ExecStart`` holds each of
    ``exec_args`` (the settings file among them). Otherwise the installer runs, with
    ``force_arg`` when a unit with other arguments is there (one installed by hand without
    ``--config`` reads no settings file). Never run when the unit already matches.
    """
    ret = maia_state_return.new(name)
    current = __salt__["maia_k8s_dist.unit_exec_start"](name)
    missing = [arg for arg in exec_args if arg not in (current or [])]
    if not missing:
        ret["comment"] = f"{name} runs {' '.join(current[:2])} with {' '.join(exec_args)}"
        return ret
    changes = {"unit": {"old": None if current is None else "<differs>", "new": name}}
    argv = list(install_cmd) + ([force_arg] if current is not None and force_arg else [])
    if __opts__["test"]:
        return maia_state_return.predicted(ret, changes, f"{name} would be written by {' '.join(argv[1:4])}")
    try:
        __salt__["maia_k8s_dist.unit_install"](argv)
    except CommandExecutionError as exc:
        return maia_state_return.failed(ret, str(exc))
    after = __salt__["maia_k8s_dist.unit_exec_start"](name) or []
    still = [arg for arg in exec_args if arg not in after]
    if still:
        return maia_state_return.failed(ret, f"{' '.join(argv[:3])} ran, but {name} lacks {' '.join(still)}")
    ret["changes"] = changes
    ret["comment"] = f"{name} written by {' '.join(argv[1:4])}"
    return ret


def archive_unpacked(name, archive):
    """
    The files of the release tarball ``archive`` (already downloaded and checked) are under the
    folder ``name``, each with the member's content and mode; only the files that are missing or
    differ are written (a new release, a file changed by hand). Changes name the files.
    """
    ret = maia_state_return.new(name)
    if not os.path.exists(archive):
        if __opts__["test"]:
            return maia_state_return.predicted(ret, {"unpacked": {"old": None, "new": archive}},
                                               f"{archive} would be downloaded and unpacked into {name}")
        return maia_state_return.failed(ret, f"{archive} is missing: nothing was unpacked")
    try:
        differ = __salt__["maia_k8s_dist.archive_differs"](archive, name)
    except (CommandExecutionError, OSError, tarfile.TarError) as exc:
        return maia_state_return.failed(ret, f"{archive}: {exc}")
    if not differ:
        ret["comment"] = f"{name} holds the files of {os.path.basename(archive)}"
        return ret
    changes = {"files": {"old": None, "new": differ}}
    if __opts__["test"]:
        return maia_state_return.predicted(ret, changes, f"{len(differ)} files of {archive} would be unpacked into {name}")
    try:
        __salt__["maia_k8s_dist.archive_unpack"](archive, name, differ)
    except (CommandExecutionError, OSError, tarfile.TarError) as exc:
        return maia_state_return.failed(ret, f"{archive}: {exc}")
    ret["changes"] = changes
    left = __salt__["maia_k8s_dist.archive_differs"](archive, name)
    return maia_state_return.checked(ret, left, f"{len(differ)} files of {os.path.basename(archive)} unpacked into {name}",
                                     f"unpacked {archive}, but {', '.join(left)} still differ")


def _started():
    return {"service": {"old": "stopped", "new": "running"}}


def _wait(ret, kubectl_cmd, retries, interval, timeout, what):
    try:
        __salt__["maia_k8s_dist.wait_ready"](kubectl_cmd, retries=retries, interval=interval, timeout=timeout)
    except CommandExecutionError as exc:
        ret.update(result=False, comment=f"{what}, but not ready: {exc}" if ret["changes"] else str(exc))
        return ret
    ret["comment"] = f"{what}, and ready" if ret["changes"] else f"{what}: ready"
    return ret


def running(name, kubectl_cmd, systemctl_cmd=None, retries=10, interval=15, timeout=30):
    """
    The systemd unit ``name`` is enabled and running, and a node is Ready
    (``<kubectl_cmd> get nodes``, ``retries`` x ``interval`` s). Started only when it is not
    running. Under ``watch``, restarted when a watched state changed (its settings, the binary,
    the unit), then waited for; never restarted otherwise.
    """
    ret = maia_state_return.new(name)
    status = __salt__["maia_k8s_dist.service_status"](name, systemctl_cmd=systemctl_cmd)
    changes = {}
    if not status["enabled"]:
        changes["enabled"] = {"old": False, "new": True}
    if not status["active"]:
        changes.update(_started())
    if __opts__["test"]:
        if changes:
            return maia_state_return.predicted(ret, changes, f"{name} would be started, then waited for")
        ret["comment"] = f"{name} runs; readiness would be checked"
        return ret
    try:
        if "enabled" in changes:
            __salt__["maia_k8s_dist.service_action"](name, "enable", systemctl_cmd=systemctl_cmd)
        if "service" in changes:
            __salt__["maia_k8s_dist.service_action"](name, "start", systemctl_cmd=systemctl_cmd)
    except CommandExecutionError as exc:
        return maia_state_return.failed(ret, str(exc))
    ret["changes"] = changes
    return _wait(ret, kubectl_cmd, retries, interval, timeout, f"{name} started" if changes else f"{name} runs")


def _agent(name, joined_file, systemctl_cmd, restart):
    """The agent unit ``name`` enabled and running once ``joined_file`` exists (started when it
    is not; restarted when ``restart``, a watched state changed); nothing before the join."""
    ret = maia_state_return.new(name)
    if not os.path.exists(joined_file):
        ret["comment"] = f"{name}: not joined yet ({joined_file} missing); the join step starts it"
        return ret
    status = __salt__["maia_k8s_dist.service_status"](name, systemctl_cmd=systemctl_cmd)
    changes = {} if status["enabled"] else {"enabled": {"old": False, "new": True}}
    action = None
    if not status["active"]:
        changes.update(_started())
        action = "start"
    elif restart:
        changes["service"] = {"old": "running", "new": "restarted"}
        action = "restart"
    if not changes:
        ret["comment"] = f"{name} runs"
        return ret
    done = f"{action}ed" if action else "enabled"
    if __opts__["test"]:
        return maia_state_return.predicted(ret, changes, f"{name} would be {done}")
    try:
        if "enabled" in changes:
            __salt__["maia_k8s_dist.service_action"](name, "enable", systemctl_cmd=systemctl_cmd)
        if action:
            __salt__["maia_k8s_dist.service_action"](name, action, systemctl_cmd=systemctl_cmd)
    except CommandExecutionError as exc:
        return maia_state_return.failed(ret, str(exc))
    ret["changes"] = changes
    ret["comment"] = f"{name} {done}"
    return ret


def agent_running(name, joined_file, systemctl_cmd=None):
    """
    A worker's agent unit ``name`` after its join: when ``joined_file`` (the token file the join
    writes) exists, the unit is enabled and running (started when it is not); before the join,
    nothing (the join starts it). Under ``watch``, restarted when a watched state changed (its
    settings, binary, unit or environment), only once joined.
    """
    return _agent(name, joined_file, systemctl_cmd, restart=False)


def mod_watch(name, sfun=None, **kwargs):
    """Restart the unit because a watched state changed (start it when it is not running), then
    wait until a node is Ready; for a worker's agent, restart it only once it joined."""
    if sfun == "agent_running":
        return _agent(name, kwargs["joined_file"], kwargs.get("systemctl_cmd"), restart=True)
    ret = maia_state_return.new(name)
    if sfun != "running":
        return maia_state_return.failed(ret, f"watch is not supported for maia_k8s_dist.{sfun}")
    systemctl_cmd = kwargs.get("systemctl_cmd")
    status = __salt__["maia_k8s_dist.service_status"](name, systemctl_cmd=systemctl_cmd)
    action = "restart" if status["active"] else "start"
    changes = {"service": {"old": "running", "new": "restarted"}} if action == "restart" else _started()
    if not status["enabled"]:
        changes["enabled"] = {"old": False, "new": True}
    if __opts__["test"]:
        return maia_state_return.predicted(ret, changes, f"{name} would be {action}ed, then waited for")
    try:
        if not status["enabled"]:
            __salt__["maia_k8s_dist.service_action"](name, "enable", systemctl_cmd=systemctl_cmd)
        __salt__["maia_k8s_dist.service_action"](name, action, systemctl_cmd=systemctl_cmd)
    except CommandExecutionError as exc:
        return maia_state_return.failed(ret, str(exc))
    ret["changes"] = changes
    return _wait(ret, kwargs["kubectl_cmd"], kwargs.get("retries", 10), kwargs.get("interval", 15),
                 kwargs.get("timeout", 30), f"{name} {action}ed")


def dead(name, systemctl_cmd=None):
    """The unit ``name`` is stopped and disabled (for a clean)."""
    ret = maia_state_return.new(name)
    status = __salt__["maia_k8s_dist.service_status"](name, systemctl_cmd=systemctl_cmd)
    changes = {}
    if status["active"]:
        changes["service"] = {"old": "running", "new": "stopped"}
    if status["enabled"]:
        changes["enabled"] = {"old": True, "new": False}
    if not changes:
        ret["comment"] = f"{name} is stopped and disabled"
        return ret
    if __opts__["test"]:
        return maia_state_return.predicted(ret, changes, f"{name} would be stopped and disabled")
    try:
        if status["active"]:
            __salt__["maia_k8s_dist.service_action"](name, "stop", systemctl_cmd=systemctl_cmd)
        if status["enabled"]:
            __salt__["maia_k8s_dist.service_action"](name, "disable", systemctl_cmd=systemctl_cmd)
    except CommandExecutionError as exc:
        return maia_state_return.failed(ret, str(exc))
    ret["changes"] = changes
    ret["comment"] = f"{name} stopped and disabled"
    return ret
