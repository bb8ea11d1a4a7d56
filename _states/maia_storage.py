"""States for MAIA host storage: validated host vars, VG, LV, filesystem, mount.

They chain as ``host_vars_valid`` -> ``vg_present`` -> ``lv_present`` ->
``formatted`` -> ``mounted``. Under ``test=True`` each predicts its change
even when the device it works on will only exist once the previous state
has run, so a dry run before the first apply lists every change it makes.
A filesystem is created only on a device without any signature: an existing
filesystem is never reformatted.
"""
import os
import re

from salt.exceptions import CommandExecutionError, SaltInvocationError

import maia_state_return  # _utils/: shipped and put on sys.path by Salt's loader

__virtualname__ = "maia_storage"


def __virtual__():
    return __virtualname__



def host_vars_valid(name, devices, volumes, vg="MAIA_Storage", host=None):
    """
    Fail (without changes) when ``device_list`` or the LV sizes can't work.

    volumes
        ``[{lv, size, key}]`` in creation order (see ``maia_storage.validate``).
    """
    ret = maia_state_return.new(name)
    who = f"host {host}: " if host else ""
    errors = __salt__["maia_storage.validate"](devices, volumes, vg)
    if errors:
        ret.update(result=False, comment=who + "invalid LVM host vars, nothing changed:\n- " + "\n- ".join(errors))
        return ret
    sizes = ", ".join(f"{v['lv']}={v['size']}" for v in volumes)
    ret["comment"] = f"{who}device_list {list(devices)} and sizes ({sizes}) are valid"
    return ret


def _run(ret, fun, *args):
    """``(ok, value)`` of ``fun(*args)``: a failure marks ``ret`` failed (``maia_state_return.attempt``)."""
    return maia_state_return.attempt(ret, __salt__[fun], *args)


def vg_present(name, devices):
    """Ensure volume group ``name`` exists and holds every device in ``devices``."""
    ret = maia_state_return.new(name)
    info = __salt__["maia_storage.vg_info"](name)
    have = set(info["devices"]) if info else set()
    missing = [d for d in devices if os.path.realpath(d) not in have]
    if info and not missing:
        ret["comment"] = f"Volume group {name} holds {', '.join(devices)}"
        return ret
    old = sorted(have)
    change = {"devices": {"old": old, "new": old + missing}}
    if not info:
        change["vg"] = {"old": None, "new": name}
    if __opts__["test"]:
        verb = "extended with" if info else "created from"
        ret.update(result=None, changes=change, comment=f"Volume group {name} would be {verb} {', '.join(missing)}")
        return ret
    for dev in missing:
        problems = __salt__["maia_storage.device_problems"](dev, name)
        if problems:
            ret.update(result=False, comment="; ".join(problems))
            return ret
    if not _run(ret, "maia_storage.create_vg", name, missing)[0]:
        return ret
    after = __salt__["maia_storage.vg_info"](name)
    if not after or any(os.path.realpath(d) not in after["devices"] for d in devices):
        ret.update(result=False, comment=f"Volume group {name} does not hold {', '.join(devices)} after vgcreate")
        return ret
    ret.update(changes=change, comment=f"Volume group {name} {'extended' if info else 'created'}")
    return ret


def lv_present(name, vg, size):
    """Ensure logical volume ``name`` exists in ``vg`` (never resized once created)."""
    ret = maia_state_return.new(name)
    try:
        spec = __salt__["maia_storage.parse_size"](size)
    except SaltInvocationError as exc:
        ret.update(result=False, comment=str(exc))
        return ret
    if __salt__["maia_storage.lv_info"](vg, name):
        ret["comment"] = f"Logical volume {vg}/{name} exists (size is not changed)"
        return ret
    change = {"lv": {"old": None, "new": f"/dev/{vg}/{name}"}, "size": {"old": None, "new": spec["value"]}}
    if __opts__["test"]:
        ret.update(result=None, changes=change, comment=f"Logical volume {vg}/{name} would be created ({spec['value']})")
        return ret
    if not _run(ret, "maia_storage.create_lv", vg, name, size)[0]:
        return ret
    if not __salt__["maia_storage.lv_info"](vg, name):
        ret.update(result=False, comment=f"Logical volume {vg}/{name} is not listed after lvcreate")
        return ret
    ret.update(changes=change, comment=f"Logical volume {vg}/{name} created ({spec['value']})")
    return ret


def formatted(name, fstype="ext4"):
    """Create a ``fstype`` filesystem on ``name`` only when it holds none."""
    ret = maia_state_return.new(name)
    if not os.path.exists(name):
        if __opts__["test"]:
            ret.update(
                result=None,
                changes={"fstype": {"old": None, "new": fstype}},
                comment=f"{name} does not exist yet; once created it would be formatted {fstype}",
            )
        else:
            ret.update(result=False, comment=f"{name} does not exist")
        return ret
    current = __salt__["maia_storage.blkid"](name).get("TYPE")
    if current == fstype:
        ret["comment"] = f"{name} already holds {fstype}"
        return ret
    if current:
        ret.update(result=False, comment=f"{name} holds {current}, not {fstype}; refusing to reformat it")
        return ret
    if __opts__["test"]:
        ret.update(result=None, changes={"fstype": {"old": None, "new": fstype}}, comment=f"{name} would be formatted {fstype}")
        return ret
    if not _run(ret, "maia_storage.make_fs", name, fstype)[0]:
        return ret
    if __salt__["maia_storage.blkid"](name).get("TYPE") != fstype:
        ret.update(result=False, comment=f"{name} does not show {fstype} after mkfs")
        return ret
    ret.update(changes={"fstype": {"old": None, "new": fstype}}, comment=f"{name} formatted {fstype}")
    return ret


def mounted(name, device, fstype="ext4", opts="defaults", config="/etc/fstab"):
    """
    Ensure ``device`` is in fstab by UUID at mount point ``name`` and mounted.
    """
    ret = maia_state_return.new(name)
    changes = {}
    if os.path.exists(device):
        uuid = __salt__["maia_storage.blkid"](device).get("UUID")
    else:
        uuid = None
    if not uuid and not __opts__["test"]:
        ret.update(result=False, comment=f"{device} has no filesystem UUID; format it first")
        return ret
    spec = f"UUID={uuid}" if uuid else f"UUID=<uuid of {device}>"
    line = f"{spec} {name} {fstype} {opts} 0 2"
    current = __salt__["maia_storage.fstab_entry"](name, config)
    if current != line:
        changes["fstab"] = {"old": current, "new": line}
    if not os.path.isdir(name):
        changes["mountpoint"] = {"old": None, "new": name}
    if not __salt__["maia_storage.is_mounted"](name):
        changes["mounted"] = {"old": None, "new": device}
    if not changes:
        ret["comment"] = f"{device} is mounted at {name} and in {config} by UUID"
        return ret
    if __opts__["test"]:
        ret.update(result=None, changes=changes, comment=f"{device} would be set up at {name}")
        return ret
    try:
        if "mountpoint" in changes:
            os.makedirs(name, mode=0o755, exist_ok=True)
        if "fstab" in changes:
            __salt__["maia_storage.set_fstab_entry"](name, line, config)
        if "mounted" in changes:
            __salt__["maia_storage.mount"](name)
    except (CommandExecutionError, OSError) as exc:
        ret.update(result=False, changes={k: v for k, v in changes.items() if k != "mounted"}, comment=str(exc))
        return ret
    if not __salt__["maia_storage.is_mounted"](name):
        ret.update(result=False, comment=f"{name} is not mounted after mount")
        return ret
    ret.update(changes=changes, comment=f"{device} mounted at {name}, fstab by UUID")
    return ret


def fstab_entry_present(name, device, fstype, opts="defaults", config="/etc/fstab"):
    """
    Ensure ``config`` has one line mounting ``device`` at ``name`` (``<device> <name> <fstype>
    <opts> 0 0``; other lines are left alone). Nothing is mounted. Under ``test=True`` the
    predicted change is the one a real run reports (Salt's ``mount.fstab_present`` predicts
    none). A line with the same fields, however spaced, is kept.
    """
    ret = maia_state_return.new(name)
    fields = [str(device), str(name), str(fstype), str(opts)]
    if any(not f or re.search(r"\s|#", f) for f in fields):
        ret.update(result=False, comment=f"refusing to write an fstab line from {fields!r}: a field is empty "
                   "or holds a blank or '#'; nothing changed")
        return ret
    line = " ".join([*fields, "0", "0"])
    current = __salt__["maia_storage.fstab_entry"](name, config)
    if current is not None and current.split() == line.split():
        ret["comment"] = f"{config} mounts {device} at {name}"
        return ret
    return _keyed_line_written(ret, "fstab", "fstab", current, line, config)


def _keyed_line_written(ret, kind, key, current, line, config):
    """Write ``line`` (``maia_storage.set_<kind>_entry``, keyed by ``ret["name"]``) over ``current``
    and read it back; under test=True only predict it. ``ret`` with the change ``{key: {old, new}}``."""
    name, change = ret["name"], {key: {"old": current, "new": line}}
    if __opts__["test"]:
        ret.update(result=None, changes=change, comment=f"{config} entry for {name} would be written")
        return ret
    if not _run(ret, f"maia_storage.set_{kind}_entry", name, line, config)[0]:
        return ret
    if __salt__[f"maia_storage.{kind}_entry"](name, config) != line:
        ret.update(result=False, comment=f"{config} does not hold the new entry for {name}")
        return ret
    ret.update(changes=change, comment=f"{config} entry for {name} written")
    return ret


# One export client (address, network, DNS name or '*') and one option list:
# nothing that could end the client or add a second one on the line.
_EXPORT_CLIENT = re.compile(r"\A(\*|[A-Za-z0-9_.:/*?\[\]@]+)\Z")
_EXPORT_OPTIONS = re.compile(r"\A[A-Za-z0-9_=,:./-]+\Z")


def exported(name, clients, options, config="/etc/exports"):
    """
    Ensure ``config`` has exactly one line exporting ``name`` to ``clients``
    with ``options`` (other lines are left alone; the file is created when
    missing). Reloading the exports is the job of a state watching this one.
    """
    ret = maia_state_return.new(name)
    if not clients:
        ret.update(result=False, comment=f"no clients to export {name} to: add hosts to the nfs_clients group")
        return ret
    bad = [c for c in clients if not _EXPORT_CLIENT.match(str(c))]
    if bad or not _EXPORT_OPTIONS.match(str(options)):
        what = f"clients {bad!r}" if bad else f"options {options!r}"
        ret.update(
            result=False,
            comment=f"refusing to export {name}: {what} would change the meaning of the {config} line "
            "(blanks, parentheses, '#', quotes and a leading '-' are not allowed); nothing changed",
        )
        return ret
    line = __salt__["maia_storage.exports_line"](name, clients, options)
    current = __salt__["maia_storage.exports_entry"](name, config)
    if current == line:
        ret["comment"] = f"{config} exports {name} as wanted"
        return ret
    return _keyed_line_written(ret, "exports", "export", current, line, config)
