"""Stage 3's ArgoCD Applications, seen from the machine that runs the installation.

While stage 3 waits for the Applications to be Synced and Healthy, ``maia
install`` shows each one's status. It reads them with the kubeconfig that stage
2 copied into CONFIG_FOLDER (``maia_kubeconfig.fetch_kubeconfig``:
``<CLUSTER_NAME>-kubeconfig.yaml``), in a background thread, every few seconds.
Where that file is missing or the cluster cannot be reached from here, the
view simply has no Applications; the state run is not affected. The file is
loaded through ``kubeconfig_check`` (data fields only, never a command or a
file it names); a refused kubeconfig shows as the view's error.
"""
from __future__ import annotations

import json
import os
import threading

from .terminal import printable


def config_folder(opts: dict) -> str | None:
    """CONFIG_FOLDER of the ``maia`` ext_pillar in the master configuration."""
    for entry in opts.get("ext_pillar") or []:
        if isinstance(entry, dict) and "maia" in entry:
            conf = entry["maia"]
            if isinstance(conf, dict):
                return conf.get("config_folder")
            if isinstance(conf, str):
                return conf
    return None


def site_kubeconfig(folder: str | None) -> tuple[str | None, str]:
    """(path of the fetched kubeconfig or None, ArgoCD namespace) for CONFIG_FOLDER."""
    if not folder:
        return None, "argocd"
    try:
        with open(os.path.join(folder, "env.json"), encoding="utf-8") as fh:
            env = json.load(fh)
    except (OSError, ValueError):
        return None, "argocd"
    path = os.path.join(folder, f"{env.get('cluster_name')}-kubeconfig.yaml")
    return (path if os.path.isfile(path) else None), env.get("argocd_namespace") or "argocd"


def read_applications(kubeconfig: str, namespace: str) -> list[tuple[str, str, str]]:
    """[(name, sync status, health status)] of the Applications in ``namespace``."""
    from kubernetes import client, config

    from .kubeconfig_check import load_file

    checked = load_file(kubeconfig, f"{kubeconfig} (fetched from the control plane)")
    api = client.CustomObjectsApi(config.new_client_from_config_dict(checked))
    items = api.list_namespaced_custom_object("argoproj.io", "v1alpha1", namespace, "applications",
                                              _request_timeout=10).get("items", [])
    rows = []
    for app in items:
        status = app.get("status") or {}
        rows.append(tuple(printable(text) for text in (
            app["metadata"]["name"], (status.get("sync") or {}).get("status", ""),
            (status.get("health") or {}).get("status", ""))))
    return sorted(rows)


class ApplicationWatch:
    """Reads the Applications every ``interval`` seconds in a thread; ``latest`` is the last read."""

    def __init__(self, opts: dict, interval: float = 5.0):
        self.opts = opts
        self.interval = interval
        self.latest: list[tuple[str, str, str]] | None = None
        self.error: str | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._loop, name="maia-app-status", daemon=True)
            self._thread.start()

    def _loop(self) -> None:
        while not self._stop.is_set():
            kubeconfig, namespace = site_kubeconfig(config_folder(self.opts))
            if kubeconfig:
                try:
                    self.latest = read_applications(kubeconfig, namespace)
                    self.error = None
                except Exception as exc:  # pylint: disable=broad-except
                    self.error = f"{type(exc).__name__}: {str(exc).strip()[:200]}"
            self._stop.wait(self.interval)

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=15)
