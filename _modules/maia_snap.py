"""Snap packages through the ``snap`` command line (Salt 3008 ships no snap module).

Named ``maia_snap`` so it never shadows a ``snap`` module that Salt or an
extension may ship. Reads ``snap list`` (stable columns: Name Version Rev
Tracking Publisher Notes); the ``Notes`` column carries ``classic`` and
``held``.

The path of the ``snap`` binary comes from ``maia_snap.cmd`` in minion config
or pillar ``maia:k8s:snap_cmd`` (default ``/usr/bin/snap``), so a test can use
the MicroK8s stand-in.
"""
import logging

from salt.exceptions import CommandExecutionError

log = logging.getLogger(__name__)

__virtualname__ = "maia_snap"

DEFAULT_SNAP_CMD = "/usr/bin/snap"


def __virtual__():
    return __virtualname__


def _snap_cmd(snap_cmd=None):
    if snap_cmd:
        return snap_cmd
    return (
        __salt__["config.get"]("maia_snap.cmd")
        or __salt__["pillar.get"]("maia:k8s:snap_cmd", unmask=True)
        or DEFAULT_SNAP_CMD
    )


def _run(args, snap_cmd=None, check=True):
    cmd = [_snap_cmd(snap_cmd), *args]
    res = __salt__["cmd.run_all"](cmd, python_shell=False, ignore_retcode=not check)
    if check and res["retcode"] != 0:
        raise CommandExecutionError(
            f"'{' '.join(cmd)}' failed (exit {res['retcode']}): "
            f"{(res.get('stderr') or res.get('stdout') or '').strip()}"
        )
    return res


def _parse_list(text):
    lines = [ln for ln in text.splitlines() if ln.strip()]
    if not lines or not lines[0].startswith("Name"):
        return {}
    snaps = {}
    for line in lines[1:]:
        cols = line.split()
        if len(cols) < 4:
            continue
        notes = cols[5] if len(cols) > 5 else "-"
        note_set = set() if notes == "-" else set(notes.split(","))
        snaps[cols[0]] = {
            "name": cols[0],
            "version": cols[1],
            "revision": cols[2],
            "channel": cols[3],
            "publisher": cols[4] if len(cols) > 4 else "",
            "classic": "classic" in note_set,
            "held": "held" in note_set,
            "notes": sorted(note_set),
        }
    return snaps


def info(name, snap_cmd=None):
    """
    The installed snap ``name`` as a dict (version, revision, channel,
    classic, held), or ``None`` when it is not installed.

    CLI Example:

    .. code-block:: bash

        salt-call maia_snap.info microk8s
    """
    res = _run(["list", "--unicode=never", "--color=never", name], snap_cmd, check=False)
    if res["retcode"] != 0:
        if "no matching snaps installed" in (res.get("stderr") or "") + (res.get("stdout") or ""):
            return None
        raise CommandExecutionError(
            f"'snap list {name}' failed (exit {res['retcode']}): {(res.get('stderr') or '').strip()}"
        )
    return _parse_list(res["stdout"]).get(name)


def install(name, channel=None, classic=False, snap_cmd=None):
    """
    Install snap ``name``, optionally from ``channel`` and with classic confinement.

    CLI Example:

    .. code-block:: bash

        salt-call maia_snap.install microk8s channel=1.34/stable classic=True
    """
    args = ["install", name]
    if channel:
        args.append(f"--channel={channel}")
    if classic:
        args.append("--classic")
    _run(args, snap_cmd)
    return info(name, snap_cmd)


def switch_channel(name, channel, snap_cmd=None):
    """
    Move installed snap ``name`` to ``channel`` (``snap refresh --channel``).
    """
    _run(["refresh", name, f"--channel={channel}"], snap_cmd)
    return info(name, snap_cmd)


def hold(name, snap_cmd=None):
    """
    Hold refreshes of ``name`` indefinitely (``snap refresh --hold``).
    """
    _run(["refresh", "--hold", name], snap_cmd)
    return info(name, snap_cmd)


def unhold(name, snap_cmd=None):
    """
    Let ``name`` refresh again (``snap refresh --unhold``).
    """
    _run(["refresh", "--unhold", name], snap_cmd)
    return info(name, snap_cmd)


def remove(name, purge=False, snap_cmd=None):
    """
    Remove snap ``name``.
    """
    args = ["remove", name]
    if purge:
        args.append("--purge")
    _run(args, snap_cmd)
    return info(name, snap_cmd) is None
