"""Grain ``maia_gpu``: NVIDIA GPUs found on the PCI bus.

Reads ``/sys/bus/pci/devices/*/vendor`` (``0x10de`` is NVIDIA) and keeps
display/3D controllers (PCI class ``0x03xxxx``), so that an NVIDIA audio or
USB function on the same card is not counted twice.

.. code-block:: yaml

    maia_gpu:
      nvidia: true
      nvidia_devices: ['0000:3b:00.0']
"""
import os

NVIDIA_VENDOR = "0x10de"
PCI_DEVICES = "/sys/bus/pci/devices"


def _read_attr(path):
    try:
        with open(path, encoding="ascii") as fh:
            return fh.read().strip().lower()
    except OSError:
        return ""


def _nvidia_devices(root=None):
    """PCI addresses of NVIDIA display controllers under ``root``."""
    root = root or PCI_DEVICES
    try:
        names = sorted(os.listdir(root))
    except OSError:
        return []
    found = []
    for name in names:
        dev = os.path.join(root, name)
        if _read_attr(os.path.join(dev, "vendor")) != NVIDIA_VENDOR:
            continue
        pci_class = _read_attr(os.path.join(dev, "class"))
        if pci_class and not pci_class.startswith("0x03"):
            continue
        found.append(name)
    return found


def maia_gpu():
    devices = _nvidia_devices()
    return {"maia_gpu": {"nvidia": bool(devices), "nvidia_devices": devices}}
