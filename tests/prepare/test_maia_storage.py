"""Unit tests of _modules/maia_storage.py and _states/maia_storage.py.

LVM never runs on this machine (it is the developer VM): the LVM reports,
blkid and the create calls are replaced by an in-memory volume manager; the
real pvcreate/vgcreate run in tests/prepare/test_prepare_lab.py inside lab hosts.
"""
import os

import pytest
from salt.exceptions import SaltInvocationError

from prepare.conftest import load_salt_module


@pytest.mark.parametrize(
    "size, option, value",
    [
        ("300g", "-L", "300g"),
        ("500m", "-L", "500m"),
        ("1.8t", "-L", "1.8t"),
        ("1T", "-L", "1t"),
        ("100%FREE", "-l", "100%FREE"),
        ("50%free", "-l", "50%FREE"),
        ("50%VG", "-l", "50%VG"),
        ("20%PVS", "-l", "20%PVS"),
    ],
)
def test_parse_size_accepts_lvm_sizes(storage_mod, size, option, value):
    parsed = storage_mod.parse_size(size)
    assert (parsed["option"], parsed["value"]) == (option, value)


def test_parse_size_bytes(storage_mod):
    assert storage_mod.parse_size("1.5g")["bytes"] == int(1.5 * 1024**3)
    assert storage_mod.parse_size("300")["bytes"] == 300 * 1024**2  # lvcreate's default unit is MiB


@pytest.mark.parametrize("size", ["", "lots", "0g", "150%FREE", "0%VG", "50%ORIGINS", "-5g", "10 g", "1.8tb"])
def test_parse_size_rejects(storage_mod, size):
    with pytest.raises(SaltInvocationError, match="size"):
        storage_mod.parse_size(size)


class FakeLVM:
    """What the state and validate functions read and call, in memory."""

    def __init__(self, mod, pvs=None, vgs=None, lvs=None, sigs=None, sizes=None):
        self.mod = mod
        self.pvs = dict(pvs or {})  # device -> vg ('' for orphan PV)
        self.vgs = dict(vgs or {})  # vg -> free bytes
        self.lvs = dict(lvs or {})  # (vg, lv) -> size
        self.sigs = dict(sigs or {})  # device -> blkid dict
        self.sizes = dict(sizes or {})
        self.calls = []

    def install(self, mod):
        mod.pvs = lambda: dict(self.pvs)
        mod.vg_info = lambda vg: (
            {"name": vg, "size": 0, "free": self.vgs[vg], "devices": sorted(d for d, v in self.pvs.items() if v == vg)}
            if vg in self.vgs else None
        )
        mod.lv_info = lambda vg, lv: {"name": lv, "vg": vg, "size": self.lvs[(vg, lv)]} if (vg, lv) in self.lvs else None
        mod.lv_names = lambda vg: {lv for (v, lv) in self.lvs if v == vg}
        mod.blkid = lambda dev: dict(self.sigs.get(dev, {}))
        mod.device_size = lambda dev: self.sizes.get(dev)
        mod.lvm_installed = lambda: True
        return mod

    def salt(self, mod):
        def create_vg(vg, devices):
            self.calls.append(("create_vg", vg, list(devices)))
            for d in devices:
                self.pvs[d] = vg
            self.vgs.setdefault(vg, 4 * 1024**3)

        def create_lv(vg, lv, size):
            self.calls.append(("create_lv", vg, lv, size))
            self.lvs[(vg, lv)] = 1

        return {
            "maia_storage.validate": mod.validate,
            "maia_storage.vg_info": mod.vg_info,
            "maia_storage.lv_info": mod.lv_info,
            "maia_storage.parse_size": mod.parse_size,
            "maia_storage.device_problems": mod.device_problems,
            "maia_storage.create_vg": create_vg,
            "maia_storage.create_lv": create_lv,
            "maia_storage.blkid": mod.blkid,
        }


@pytest.fixture
def blockdev(monkeypatch):
    """Make chosen paths look like existing block devices (os.stat), nothing else."""
    import stat as stat_mod

    devices = set()
    real_exists, real_stat = os.path.exists, os.stat

    def exists(p):
        return p in devices or real_exists(p)

    def fake_stat(p, *a, **kw):
        if p in devices:
            return os.stat_result((stat_mod.S_IFBLK | 0o660, 0, 0, 1, 0, 0, 0, 0, 0, 0))
        return real_stat(p, *a, **kw)

    monkeypatch.setattr(os.path, "exists", exists)
    monkeypatch.setattr(os, "stat", fake_stat)
    monkeypatch.setattr(os.path, "realpath", lambda p, **kw: p)
    return devices


LOCAL = {"lv": "maia_0_local", "size": "100%FREE", "key": "local_storage_size"}
NFS = {"lv": "maia_0", "size": "100%FREE", "key": "nfs_storage_size"}


def test_validate_accepts_blank_devices(storage_mod, blockdev):
    blockdev.update({"/dev/sdb", "/dev/sdc"})
    FakeLVM(storage_mod).install(storage_mod)
    storage_mod._mounted_sources = lambda: set()
    assert storage_mod.validate(["/dev/sdb", "/dev/sdc"], [dict(LOCAL, size="50%FREE"), NFS]) == []


def test_validate_reports_every_problem_with_its_key(storage_mod, blockdev):
    blockdev.update({"/dev/sdb", "/dev/sdc", "/dev/sdd", "/dev/sde", "/dev/sdf"})
    FakeLVM(
        storage_mod,
        pvs={"/dev/sdc": "other_vg"},
        sigs={"/dev/sdd": {"TYPE": "xfs"}, "/dev/sde": {"PTTYPE": "gpt"}},
    ).install(storage_mod)
    storage_mod._mounted_sources = lambda: {"/dev/sdf"}
    errors = storage_mod.validate(
        ["/dev/sdb", "/dev/sdc", "/dev/sdd", "/dev/sde", "/dev/sdf", "/dev/nonexistent-maia", "sdg"], [LOCAL]
    )
    text = "\n".join(errors)
    assert "/dev/sdb" not in text
    assert "/dev/sdc is already a physical volume of volume group 'other_vg'" in text
    assert "/dev/sdd holds a xfs filesystem" in text
    assert "/dev/sde holds a gpt partition table" in text
    assert "/dev/sdf is in use" in text
    assert "/dev/nonexistent-maia does not exist" in text
    assert "'sdg' is not a device path" in text
    assert all(e.startswith("device_list: ") for e in errors)


def test_validate_device_of_our_vg_is_fine(storage_mod, blockdev):
    blockdev.add("/dev/sdb")
    FakeLVM(storage_mod, pvs={"/dev/sdb": "MAIA_Storage"}, vgs={"MAIA_Storage": 10}, sigs={"/dev/sdb": {"TYPE": "LVM2_member"}}).install(storage_mod)
    storage_mod._mounted_sources = lambda: set()
    assert storage_mod.validate(["/dev/sdb"], [LOCAL]) == []


def test_validate_sizes(storage_mod, blockdev):
    blockdev.add("/dev/sdb")
    FakeLVM(storage_mod, sizes={"/dev/sdb": 10 * 1024**3}).install(storage_mod)
    storage_mod._mounted_sources = lambda: set()
    bad = storage_mod.validate(["/dev/sdb"], [dict(LOCAL, size="300gb"), NFS])
    assert bad and bad[0].startswith("local_storage_size: size '300gb'")
    both_full = storage_mod.validate(["/dev/sdb"], [LOCAL, NFS])
    assert len(both_full) == 1 and "takes the whole volume group before nfs_storage_size" in both_full[0]
    too_big = storage_mod.validate(["/dev/sdb"], [dict(LOCAL, size="8g"), dict(NFS, size="4g")])
    assert len(too_big) == 1 and "offer" in too_big[0]
    assert storage_mod.validate(["/dev/sdb"], [dict(LOCAL, size="4g"), NFS]) == []
    assert storage_mod.validate([], [LOCAL])[0].startswith("device_list: no devices")


def test_validate_skips_size_order_for_existing_lvs(storage_mod, blockdev):
    blockdev.add("/dev/sdb")
    FakeLVM(storage_mod, pvs={"/dev/sdb": "MAIA_Storage"}, vgs={"MAIA_Storage": 0},
            lvs={("MAIA_Storage", "maia_0_local"): 5, ("MAIA_Storage", "maia_0"): 5}).install(storage_mod)
    storage_mod._mounted_sources = lambda: set()
    assert storage_mod.validate(["/dev/sdb"], [LOCAL, NFS]) == []


def _states(mod, fake, test):
    return load_salt_module("_states/maia_storage.py", "maia_test_storage_state", salt=fake.salt(mod), opts={"test": test})


def test_host_vars_valid_fails_with_host_and_key(storage_mod, blockdev):
    fake = FakeLVM(storage_mod)
    fake.install(storage_mod)
    ret = _states(storage_mod, fake, False).host_vars_valid("v", ["/dev/nonexistent-maia"], [LOCAL], host="maia-node-1")
    assert ret["result"] is False and ret["changes"] == {}
    assert ret["comment"].startswith("host maia-node-1: invalid LVM host vars, nothing changed")
    assert "/dev/nonexistent-maia does not exist" in ret["comment"]


def test_vg_and_lv_predict_then_create_then_idempotent(storage_mod, blockdev):
    blockdev.update({"/dev/sdb", "/dev/sdc"})
    fake = FakeLVM(storage_mod)
    fake.install(storage_mod)
    storage_mod._mounted_sources = lambda: set()
    pred_vg = _states(storage_mod, fake, True).vg_present("MAIA_Storage", ["/dev/sdb", "/dev/sdc"])
    pred_lv = _states(storage_mod, fake, True).lv_present("maia_0_local", "MAIA_Storage", "50%FREE")
    assert pred_vg["result"] is None and pred_lv["result"] is None and fake.calls == []
    vg = _states(storage_mod, fake, False).vg_present("MAIA_Storage", ["/dev/sdb", "/dev/sdc"])
    lv = _states(storage_mod, fake, False).lv_present("maia_0_local", "MAIA_Storage", "50%FREE")
    assert vg["result"] is True and lv["result"] is True
    assert vg["changes"] == pred_vg["changes"] == {"vg": {"old": None, "new": "MAIA_Storage"},
                                                    "devices": {"old": [], "new": ["/dev/sdb", "/dev/sdc"]}}
    assert lv["changes"] == pred_lv["changes"] == {"lv": {"old": None, "new": "/dev/MAIA_Storage/maia_0_local"},
                                                    "size": {"old": None, "new": "50%FREE"}}
    assert fake.calls == [("create_vg", "MAIA_Storage", ["/dev/sdb", "/dev/sdc"]), ("create_lv", "MAIA_Storage", "maia_0_local", "50%FREE")]
    assert _states(storage_mod, fake, False).vg_present("MAIA_Storage", ["/dev/sdb", "/dev/sdc"])["changes"] == {}
    assert _states(storage_mod, fake, False).lv_present("maia_0_local", "MAIA_Storage", "50%FREE")["changes"] == {}
    assert len(fake.calls) == 2


def test_formatted_never_reformats(storage_mod, blockdev):
    blockdev.add("/dev/MAIA_Storage/maia_0")
    fake = FakeLVM(storage_mod, sigs={"/dev/MAIA_Storage/maia_0": {"TYPE": "xfs"}})
    fake.install(storage_mod)
    salt = fake.salt(storage_mod)
    salt["maia_storage.make_fs"] = lambda *a: fake.calls.append(("mkfs",) + a)
    st = load_salt_module("_states/maia_storage.py", "maia_test_storage_state", salt=salt, opts={"test": False})
    ret = st.formatted("/dev/MAIA_Storage/maia_0", "ext4")
    assert ret["result"] is False and "refusing to reformat" in ret["comment"] and fake.calls == []


def test_formatted_predicts_for_a_device_that_will_exist(storage_mod):
    fake = FakeLVM(storage_mod)
    st = _states(storage_mod, fake, True)
    ret = st.formatted("/dev/MAIA_Storage/not-yet", "ext4")
    assert ret["result"] is None and ret["changes"] == {"fstype": {"old": None, "new": "ext4"}}
    real = _states(storage_mod, fake, False).formatted("/dev/MAIA_Storage/not-yet", "ext4")
    assert real["result"] is False and "does not exist" in real["comment"]


def test_keyed_lines_replace_or_append(storage_mod, tmp_path):
    fstab = tmp_path / "fstab"
    fstab.write_text("# comment /opt/local-path-provisioner\nUUID=a / ext4 defaults 0 1\nUUID=old /opt/local-path-provisioner ext4 defaults 0 2\n")
    line = "UUID=new /opt/local-path-provisioner ext4 defaults 0 2"
    assert storage_mod.fstab_entry("/opt/local-path-provisioner", str(fstab)).startswith("UUID=old")
    storage_mod.set_fstab_entry("/opt/local-path-provisioner", line, str(fstab))
    text = fstab.read_text()
    assert text.count("/opt/local-path-provisioner") == 2  # the comment and the new line
    assert line in text and "UUID=old" not in text and "UUID=a / ext4" in text
    exports = tmp_path / "exports"
    entry = storage_mod.exports_line("/nfs", ["198.18.0.11", "198.18.0.12", "198.18.0.11"], "rw,sync")
    assert entry == "/nfs 198.18.0.11(rw,sync) 198.18.0.12(rw,sync)"
    storage_mod.set_exports_entry("/nfs", entry, str(exports))
    assert storage_mod.exports_entry("/nfs", str(exports)) == entry
    assert oct(exports.stat().st_mode & 0o777) == "0o644"


def test_exported_state(storage_mod, tmp_path):
    salt = {k: getattr(storage_mod, k.split(".")[1]) for k in (
        "maia_storage.exports_line", "maia_storage.exports_entry", "maia_storage.set_exports_entry")}
    exports = str(tmp_path / "exports")
    st_test = load_salt_module("_states/maia_storage.py", "s1", salt=salt, opts={"test": True})
    st = load_salt_module("_states/maia_storage.py", "s2", salt=salt, opts={"test": False})
    pred = st_test.exported("/nfs", ["198.18.0.12"], "rw,sync", config=exports)
    assert pred["result"] is None and not os.path.exists(exports)
    ret = st.exported("/nfs", ["198.18.0.12"], "rw,sync", config=exports)
    assert ret["changes"] == pred["changes"] == {"export": {"old": None, "new": "/nfs 198.18.0.12(rw,sync)"}}
    assert st.exported("/nfs", ["198.18.0.12"], "rw,sync", config=exports)["changes"] == {}
    assert st.exported("/nfs", [], "rw,sync", config=exports)["result"] is False


def test_fstab_entry_state_predicts_its_change(storage_mod, tmp_path):
    """The NFS client's fstab line: under test=True the change a real run makes (Salt's
    mount.fstab_present predicts none, so a dry run's row counted one change less); a line
    with the same fields, spaced otherwise (Salt's tabs), is kept; bad fields are refused."""
    salt = {k: getattr(storage_mod, k.split(".")[1]) for k in ("maia_storage.fstab_entry", "maia_storage.set_fstab_entry")}
    fstab = tmp_path / "fstab"
    fstab.write_text("UUID=1 / ext4 defaults 0 1\n")
    st_test = load_salt_module("_states/maia_storage.py", "f1", salt=salt, opts={"test": True})
    st = load_salt_module("_states/maia_storage.py", "f2", salt=salt, opts={"test": False})
    args = ("/nfs", "198.18.0.11:/nfs", "nfs", "rw,sync,vers=4")
    pred = st_test.fstab_entry_present(*args, config=str(fstab))
    assert pred["result"] is None and fstab.read_text() == "UUID=1 / ext4 defaults 0 1\n"
    ret = st.fstab_entry_present(*args, config=str(fstab))
    assert ret["result"] is True
    assert ret["changes"] == pred["changes"] == {"fstab": {"old": None, "new": "198.18.0.11:/nfs /nfs nfs rw,sync,vers=4 0 0"}}
    assert fstab.read_text() == "UUID=1 / ext4 defaults 0 1\n198.18.0.11:/nfs /nfs nfs rw,sync,vers=4 0 0\n"
    assert st.fstab_entry_present(*args, config=str(fstab))["changes"] == {}
    fstab.write_text("198.18.0.11:/nfs\t\t/nfs\tnfs\trw,sync,vers=4\t0 0\n")
    assert st_test.fstab_entry_present(*args, config=str(fstab))["result"] is True
    bad = st.fstab_entry_present("/nfs", "198.18.0.11:/nfs /etc", "nfs", "rw", config=str(fstab))
    assert bad["result"] is False and "nothing changed" in bad["comment"]
    assert fstab.read_text() == "198.18.0.11:/nfs\t\t/nfs\tnfs\trw,sync,vers=4\t0 0\n"


@pytest.mark.parametrize("clients, options, what", [
    (["x(rw) *"], "rw,sync", "clients ['x(rw) *']"),
    (["198.18.0.12", "-o"], "rw,sync", "clients ['-o']"),
    (["198.18.0.12\n*"], "rw,sync", "clients"),
    (["198.18.0.12"], "rw) *(rw", "options 'rw) *(rw'"),
    (["198.18.0.12"], "rw,sync\n/etc 0.0.0.0/0(rw", "options"),
])
def test_exported_refuses_values_that_change_the_line(storage_mod, tmp_path, clients, options, what):
    """A client or option that would widen the export (or add a line) is refused
    and the file is left as it was."""
    salt = {k: getattr(storage_mod, k.split(".")[1]) for k in (
        "maia_storage.exports_line", "maia_storage.exports_entry", "maia_storage.set_exports_entry")}
    exports = tmp_path / "exports"
    exports.write_text("/srv 10.0.0.1(ro)\n")
    st = load_salt_module("_states/maia_storage.py", "s3", salt=salt, opts={"test": False})
    ret = st.exported("/nfs", clients, options, config=str(exports))
    assert ret["result"] is False and what in ret["comment"] and "nothing changed" in ret["comment"]
    assert exports.read_text() == "/srv 10.0.0.1(ro)\n"
    ok = st.exported("/nfs", ["198.18.0.0/24", "*", "nas.example.org", "fd00::12"], "rw,sync,anongid=2049", config=str(exports))
    assert ok["result"] is True
