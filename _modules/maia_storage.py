"""MAIA host storage: validate LVM host vars, read and build the MAIA volume group.

Used by the ``maia_storage`` states (``formulas/maia/prepare/lvm``). Every
read goes through LVM's JSON reports (``pvs/vgs/lvs --reportformat json``) and
``blkid``; nothing here parses human-oriented tables.

Sizes follow ``lvcreate``: absolute (``300g``, ``500m``, ``1.8t``; units
b/s/k/m/g/t/p/e, case-insensitive, default megabytes) or a percentage
(``100%FREE``, ``50%VG``, ``20%PVS``).

CLI examples::

    salt-call maia_storage.parse_size 1.8t
    salt-call maia_storage.validate '[/dev/sdb]' '[{lv: maia_0_local, size: 100%FREE, key: local_storage_size}]'
"""
from __future__ import annotations

import json
import logging
import os
import re
import stat

import salt.utils.path
from salt.exceptions import CommandExecutionError, SaltInvocationError

log = logging.getLogger(__name__)

__virtualname__ = "maia_storage"

_ABS = re.compile(r"^(?P<num>\d+(\.\d+)?)(?P<unit>[bskmgtpe]?)$", re.IGNORECASE)
_PCT = re.compile(r"^(?P<num>\d+)%(?P<of>FREE|VG|PVS)$", re.IGNORECASE)
_UNITS = {"b": 1, "s": 512, "k": 1024, "": 1024**2, "m": 1024**2, "g": 1024**3, "t": 1024**4, "p": 1024**5, "e": 1024**6}


def __virtual__():
    return __virtualname__


# -------------------------------------------------------------------- sizes


def parse_size(size) -> dict:
    """
    ``{"option": "-L", "value": "300g", "bytes": N}`` for an absolute size or
    ``{"option": "-l", "value": "50%FREE", "percent": 50, "of": "FREE"}`` for a
    percentage. Raises ``SaltInvocationError`` on anything ``lvcreate`` can't take.
    """
    text = str(size).strip()
    m = _ABS.match(text)
    if m:
        nbytes = int(float(m.group("num")) * _UNITS[m.group("unit").lower()])
        if nbytes <= 0:
            raise SaltInvocationError(f"size {size!r} must be greater than zero")
        return {"option": "-L", "value": text.lower(), "bytes": nbytes}
    m = _PCT.match(text)
    if m:
        pct = int(m.group("num"))
        if not 1 <= pct <= 100:
            raise SaltInvocationError(f"size {size!r}: percentage must be between 1 and 100")
        of = m.group("of").upper()
        return {"option": "-l", "value": f"{pct}%{of}", "percent": pct, "of": of}
    raise SaltInvocationError(
        f"size {size!r} is not an LVM size: use an absolute size (300g, 500m, 1.8t) "
        "or a percentage (100%FREE, 50%FREE, 50%VG)"
    )


# ------------------------------------------------------------------ reading


def _cmd(args: list[str], check=True) -> dict:
    res = __salt__["cmd.run_all"](args, python_shell=False, env={"LC_ALL": "C"}, ignore_retcode=True)
    if check and res["retcode"] != 0:
        raise CommandExecutionError(f"{' '.join(args)} failed: {(res['stderr'] or res['stdout']).strip()}")
    return res


def lvm_installed() -> bool:
    return bool(salt.utils.path.which("pvs"))


def _report(tool: str, fields: str, *extra: str) -> list[dict]:
    if not lvm_installed():
        return []
    res = _cmd([tool, "--reportformat", "json", "--units", "b", "--nosuffix", "-o", fields, *extra], check=False)
    if res["retcode"] != 0:
        return []
    data = json.loads(res["stdout"] or "{}")
    rows = []
    for part in data.get("report", []):
        for key in ("pv", "vg", "lv"):
            rows.extend(part.get(key, []))
    return rows


def pvs() -> dict:
    """``{device: vg_name or ""}`` for every physical volume (real paths)."""
    return {os.path.realpath(r["pv_name"]): r.get("vg_name", "") for r in _report("pvs", "pv_name,vg_name")}


def vg_info(vg: str) -> dict | None:
    """``{name, size, free, devices}`` of a volume group, or None."""
    # one row per physical volume of the group
    rows = [r for r in _report("vgs", "vg_name,vg_size,vg_free,pv_name") if r["vg_name"] == vg]
    if not rows:
        return None
    devices = sorted({os.path.realpath(r["pv_name"]) for r in rows if r.get("pv_name")})
    return {"name": vg, "size": int(rows[0]["vg_size"]), "free": int(rows[0]["vg_free"]), "devices": devices}


def lv_info(vg: str, lv: str) -> dict | None:
    """``{name, vg, size, path}`` of a logical volume, or None."""
    for r in _report("lvs", "lv_name,vg_name,lv_size"):
        if r["vg_name"] == vg and r["lv_name"] == lv:
            return {"name": lv, "vg": vg, "size": int(r["lv_size"]), "path": f"/dev/{vg}/{lv}"}
    return None


def lv_names(vg: str) -> set[str]:
    """Names of the logical volumes of ``vg`` (one ``lvs`` for all of them)."""
    return {r["lv_name"] for r in _report("lvs", "lv_name,vg_name") if r["vg_name"] == vg}


def blkid(device: str) -> dict:
    """Signature found on a device by low-level probing: ``{TYPE, UUID, PTTYPE}`` (empty when none)."""
    res = _cmd(["blkid", "-p", "-o", "export", device], check=False)
    if res["retcode"] not in (0,):
        return {}
    found = {}
    for line in res["stdout"].splitlines():
        key, _, value = line.partition("=")
        if key in ("TYPE", "UUID", "PTTYPE"):
            found[key] = value
    return found


def _mounted_sources() -> set[str]:
    sources = set()
    for path in ("/proc/self/mounts", "/proc/swaps"):
        try:
            with open(path, encoding="utf-8") as fh:
                for line in fh:
                    first = line.split()[0] if line.split() else ""
                    if first.startswith("/dev/"):
                        sources.add(os.path.realpath(first))
        except OSError:
            pass
    return sources


def device_size(device: str) -> int | None:
    """Size in bytes from sysfs, or None when unknown."""
    name = os.path.basename(os.path.realpath(device))
    try:
        with open(f"/sys/class/block/{name}/size", encoding="ascii") as fh:
            return int(fh.read().strip()) * 512
    except (OSError, ValueError):
        return None


def device_problems(device: str, vg: str, known_pvs: dict | None = None) -> list[str]:
    """Why ``device`` can't be a PV of ``vg`` (empty list: it can).

    A device may be: a PV of ``vg`` already, an unused PV, or a block device
    without any signature that is not mounted or used as swap. ``known_pvs``:
    what ``pvs()`` returned, when the caller already asked.
    """
    if not os.path.exists(device):
        return [f"{device} does not exist"]
    real = os.path.realpath(device)
    if not stat.S_ISBLK(os.stat(real).st_mode):
        return [f"{device} is not a block device"]
    pv_vg = (pvs() if known_pvs is None else known_pvs).get(real)
    if pv_vg is not None:
        if pv_vg in ("", vg):
            return []
        return [f"{device} is already a physical volume of volume group {pv_vg!r}"]
    if real in _mounted_sources():
        return [f"{device} is in use (mounted or swap)"]
    sig = blkid(device)
    if sig.get("TYPE") == "LVM2_member":
        if not lvm_installed():
            return []  # an LVM PV; lvm2 will be installed and vg_present re-checks
        return [f"{device} holds LVM metadata that LVM does not list"]
    if sig.get("TYPE"):
        return [f"{device} holds a {sig['TYPE']} filesystem; refusing to use it (wipe it yourself if intended)"]
    if sig.get("PTTYPE"):
        return [f"{device} holds a {sig['PTTYPE']} partition table; name a partition or wipe it yourself"]
    return []


def validate(devices, volumes, vg="MAIA_Storage") -> list[str]:
    """
    Everything wrong with the LVM host vars, as messages naming the key.

    devices
        ``device_list``.
    volumes
        In creation order: ``[{lv, size, key}]`` where ``key`` names the host
        var the size came from (for messages).
    """
    errors = []
    if not devices or not isinstance(devices, (list, tuple)):
        return ["device_list: no devices given; set device_list (e.g. [/dev/sdb]) in the host's vars"]
    known = pvs()
    for dev in devices:
        if not isinstance(dev, str) or not dev.startswith("/dev/"):
            errors.append(f"device_list: {dev!r} is not a device path under /dev")
            continue
        errors.extend(f"device_list: {p}" for p in device_problems(dev, vg, known))
    parsed = []
    for vol in volumes:
        try:
            parsed.append((vol, parse_size(vol["size"])))
        except SaltInvocationError as exc:
            errors.append(f"{vol['key']}: {exc}")
    if errors:
        return errors
    present = lv_names(vg)
    existing = {v["lv"]: v["lv"] in present for v in volumes}
    pending = [(v, s) for v, s in parsed if not existing[v["lv"]]]
    for i, (vol, size) in enumerate(pending[:-1]):
        if size["option"] == "-l" and size["percent"] == 100:
            later = ", ".join(v["key"] for v, _ in pending[i + 1 :])
            errors.append(
                f"{vol['key']}: {size['value']} takes the whole volume group before {later} is created; "
                f"give {vol['key']} a smaller size (e.g. 50%FREE or 300g)"
            )
    absolute = sum(s["bytes"] for _, s in pending if s["option"] == "-L")
    if absolute and not errors:
        info = vg_info(vg)
        if info:
            available = info["free"]
        else:
            sizes = [device_size(d) for d in devices]
            available = sum(sizes) if all(sizes) else None
        if available is not None and absolute > available:
            errors.append(
                f"local_storage_size/nfs_storage_size: absolute sizes need {absolute} bytes but the devices "
                f"offer {available} bytes"
            )
    return errors


# ----------------------------------------------------------------- changing


def create_vg(vg: str, devices: list[str]) -> None:
    """``pvcreate`` then ``vgcreate`` (or ``vgextend`` when ``vg`` exists)."""
    known = pvs()
    for dev in devices:
        if os.path.realpath(dev) not in known:
            _cmd(["pvcreate", "-y", dev])
    if vg_info(vg):
        _cmd(["vgextend", vg, *devices])
    else:
        _cmd(["vgcreate", vg, *devices])


def create_lv(vg: str, lv: str, size) -> None:
    spec = parse_size(size)
    _cmd(["lvcreate", "-y", "-n", lv, spec["option"], spec["value"], vg])


def make_fs(device: str, fstype: str = "ext4") -> None:
    _cmd([f"mkfs.{fstype}", "-q", device])


# ------------------------------------------------------- fstab and exports


def _keyed_line(path: str, field: int, key: str) -> str | None:
    try:
        with open(path, encoding="utf-8") as fh:
            for line in fh:
                fields = line.split()
                if len(fields) > field and not fields[0].startswith("#") and fields[field] == key:
                    return " ".join(fields)
    except FileNotFoundError:
        pass
    return None


def _set_keyed_line(path: str, field: int, key: str, line: str, mode: int = 0o644) -> None:
    """Replace the (first) line whose ``field`` is ``key`` with ``line``, or append it."""
    try:
        with open(path, encoding="utf-8") as fh:
            lines = fh.read().splitlines()
        mode = stat.S_IMODE(os.stat(path).st_mode)
    except FileNotFoundError:
        lines = []
    out, done = [], False
    for current in lines:
        fields = current.split()
        if len(fields) > field and not fields[0].startswith("#") and fields[field] == key:
            if not done:
                out.append(line)
                done = True
            continue
        out.append(current)
    if not done:
        out.append(line)
    tmp = f"{path}.maia-tmp"
    with open(tmp, "w", encoding="utf-8") as fh:
        fh.write("\n".join(out) + "\n")
    os.chmod(tmp, mode)
    os.replace(tmp, path)


def fstab_entry(mountpoint: str, config: str = "/etc/fstab") -> str | None:
    """The fstab line whose mount point is ``mountpoint`` (None when none)."""
    return _keyed_line(config, 1, mountpoint)


def set_fstab_entry(mountpoint: str, line: str, config: str = "/etc/fstab") -> None:
    """Replace the fstab line for ``mountpoint`` with ``line``, or append it."""
    _set_keyed_line(config, 1, mountpoint, line)


def exports_line(path: str, clients, options: str) -> str:
    """``/nfs 198.18.0.12(rw,...) 198.18.0.13(rw,...)`` (clients kept in order, no duplicates)."""
    seen = []
    for client in clients:
        if client and client not in seen:
            seen.append(str(client))
    return " ".join([path, *(f"{c}({options})" for c in seen)])


def exports_entry(path: str, config: str = "/etc/exports") -> str | None:
    """The exports line for ``path`` (None when none)."""
    return _keyed_line(config, 0, path)


def set_exports_entry(path: str, line: str, config: str = "/etc/exports") -> None:
    _set_keyed_line(config, 0, path, line)


def is_mounted(mountpoint: str) -> bool:
    try:
        with open("/proc/self/mounts", encoding="utf-8") as fh:
            return any(len(l.split()) > 1 and l.split()[1] == mountpoint for l in fh)
    except OSError:
        return False


def mount(mountpoint: str) -> None:
    _cmd(["mount", mountpoint])
