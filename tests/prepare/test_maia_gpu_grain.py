"""The maia_gpu grain over a fake /sys/bus/pci/devices tree (this machine has
no GPU; a host with one is covered by the same code reading the real tree)."""
from prepare.conftest import load_salt_module


def _dev(root, name, vendor, cls):
    d = root / name
    d.mkdir()
    (d / "vendor").write_text(vendor + "\n")
    (d / "class").write_text(cls + "\n")


def test_nvidia_display_controllers_found(tmp_path, monkeypatch):
    grain = load_salt_module("_grains/maia_gpu.py", "maia_test_gpu")
    _dev(tmp_path, "0000:00:02.0", "0x8086", "0x030000")  # Intel iGPU
    _dev(tmp_path, "0000:3b:00.0", "0x10de", "0x030200")  # NVIDIA 3D controller
    _dev(tmp_path, "0000:3b:00.1", "0x10de", "0x040300")  # its HDMI audio function
    _dev(tmp_path, "0000:af:00.0", "0x10DE", "0x030000")
    assert grain._nvidia_devices(str(tmp_path)) == ["0000:3b:00.0", "0000:af:00.0"]
    monkeypatch.setattr(grain, "PCI_DEVICES", str(tmp_path))
    assert grain.maia_gpu() == {"maia_gpu": {"nvidia": True, "nvidia_devices": ["0000:3b:00.0", "0000:af:00.0"]}}


def test_no_gpu_and_missing_sysfs(tmp_path, monkeypatch):
    grain = load_salt_module("_grains/maia_gpu.py", "maia_test_gpu")
    _dev(tmp_path, "0000:00:02.0", "0x8086", "0x030000")
    monkeypatch.setattr(grain, "PCI_DEVICES", str(tmp_path))
    assert grain.maia_gpu() == {"maia_gpu": {"nvidia": False, "nvidia_devices": []}}
    fresh = load_salt_module("_grains/maia_gpu.py", "maia_test_gpu2")
    assert fresh._nvidia_devices(str(tmp_path / "absent")) == []
