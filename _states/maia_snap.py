"""State: a snap installed on a pinned channel, with refreshes held.

.. code-block:: yaml

    maia-k8s-microk8s-snap-installed:
      maia_snap.installed:
        - name: microk8s
        - channel: 1.34/stable
        - classic: true
        - hold: true
"""

import maia_state_return  # _utils/: shipped and put on sys.path by Salt's loader

__virtualname__ = "maia_snap"


def __virtual__():
    if "maia_snap.info" in __salt__:
        return __virtualname__
    return (False, "maia_snap execution module not loaded")


def _channel_matches(current, wanted):
    # snap shows "latest/stable" as "stable" and "1.34" as "1.34/stable".
    def norm(ch):
        ch = (ch or "").strip()
        if "/" not in ch:
            return f"{ch}/stable" if ch and ch[0].isdigit() else f"latest/{ch or 'stable'}"
        return ch

    return norm(current) == norm(wanted)


def installed(name, channel=None, classic=False, hold=True, snap_cmd=None):
    """
    Ensure snap ``name`` is installed (on ``channel`` when given, with classic
    confinement when ``classic``) and its refreshes are held when ``hold``.
    A snap on another channel is moved to ``channel`` with ``snap refresh``.
    """
    ret = maia_state_return.new(name)
    current = __salt__["maia_snap.info"](name, snap_cmd=snap_cmd)

    todo = []
    if current is None:
        todo.append("install")
    else:
        if channel and not _channel_matches(current["channel"], channel):
            todo.append("switch_channel")
        if classic and not current["classic"]:
            ret["result"] = False
            ret["comment"] = (
                f"Snap {name} is installed without classic confinement; "
                f"remove it ('snap remove {name}') and run again"
            )
            return ret
    if hold and (current is None or not current["held"]):
        todo.append("hold")
    if not hold and current is not None and current["held"]:
        todo.append("unhold")

    old = None if current is None else {"channel": current["channel"], "held": current["held"]}
    wanted = {
        "channel": channel or (current or {}).get("channel", "latest/stable"),
        "held": bool(hold),
    }
    if not todo:
        ret["comment"] = f"Snap {name} is installed on {current['channel']}" + (
            " with refreshes held" if current["held"] else ""
        )
        return ret

    if __opts__["test"]:
        ret["result"] = None
        ret["changes"] = {name: {"old": old, "new": wanted}}
        ret["comment"] = f"Snap {name} would be changed: {', '.join(todo)}"
        return ret

    try:
        for step in todo:
            if step == "install":
                __salt__["maia_snap.install"](
                    name, channel=channel, classic=classic, snap_cmd=snap_cmd
                )
            elif step == "switch_channel":
                __salt__["maia_snap.switch_channel"](name, channel, snap_cmd=snap_cmd)
            elif step == "hold":
                __salt__["maia_snap.hold"](name, snap_cmd=snap_cmd)
            elif step == "unhold":
                __salt__["maia_snap.unhold"](name, snap_cmd=snap_cmd)
    except Exception as exc:  # CommandExecutionError carries the snap message
        ret["result"] = False
        ret["comment"] = f"Snap {name}: {exc}"
        return ret

    after = __salt__["maia_snap.info"](name, snap_cmd=snap_cmd)
    new = None if after is None else {"channel": after["channel"], "held": after["held"]}
    ret["changes"] = {name: {"old": old, "new": new}}
    if after is None or (channel and not _channel_matches(after["channel"], channel)) or (
        bool(hold) != after["held"]
    ):
        ret["result"] = False
        ret["comment"] = f"Snap {name} is not as wanted after {', '.join(todo)}: {new}"
        return ret
    ret["comment"] = f"Snap {name}: {', '.join(todo)} done"
    return ret


def removed(name, purge=False, snap_cmd=None):
    """
    Ensure snap ``name`` is not installed.
    """
    ret = maia_state_return.new(name)
    current = __salt__["maia_snap.info"](name, snap_cmd=snap_cmd)
    if current is None:
        ret["comment"] = f"Snap {name} is not installed"
        return ret
    if __opts__["test"]:
        ret["result"] = None
        ret["changes"] = {name: {"old": current["channel"], "new": None}}
        ret["comment"] = f"Snap {name} would be removed"
        return ret
    __salt__["maia_snap.remove"](name, purge=purge, snap_cmd=snap_cmd)
    ret["changes"] = {name: {"old": current["channel"], "new": None}}
    ret["comment"] = f"Snap {name} removed"
    return ret
