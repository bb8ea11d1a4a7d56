"""Where MicroK8s keeps its files on a host (host-side library)."""
import os


def paths(root):
    """The MicroK8s file locations under the snap root ``root`` (``/var/snap`` on a real host)."""
    snap_dir = os.path.join(root, "microk8s")
    return {
        "snap_dir": snap_dir,
        "launch_config": os.path.join(snap_dir, "common", ".microk8s.yaml"),
        "apiserver_args": os.path.join(snap_dir, "current", "args", "kube-apiserver"),
        "ca_cert": os.path.join(snap_dir, "current", "certs", "ca.crt"),
        "ca_key": os.path.join(snap_dir, "current", "certs", "ca.key"),
    }
