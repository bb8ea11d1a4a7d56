"""Where MicroK8s keeps its command and files on a host (host-side library).

The pillar may move them (``maia:k8s:microk8s_cmd``, ``maia:k8s:paths:snap_root``; the lab's
stand-in does); these are the defaults of a snap install, for every module that needs them.
"""
import os

DEFAULT_MICROK8S_CMD = "/snap/bin/microk8s"
DEFAULT_SNAP_ROOT = "/var/snap"


def command(configured=None):
    """The ``microk8s`` command: ``configured`` (the pillar's), else the snap's."""
    return configured or DEFAULT_MICROK8S_CMD


def paths(root=None):
    """The MicroK8s file locations under the snap root ``root`` (default ``/var/snap``)."""
    snap_dir = os.path.join(root or DEFAULT_SNAP_ROOT, "microk8s")
    return {
        "snap_dir": snap_dir,
        "launch_config": os.path.join(snap_dir, "common", ".microk8s.yaml"),
        "apiserver_args": os.path.join(snap_dir, "current", "args", "kube-apiserver"),
        "ca_cert": os.path.join(snap_dir, "current", "certs", "ca.crt"),
        "ca_key": os.path.join(snap_dir, "current", "certs", "ca.key"),
    }
