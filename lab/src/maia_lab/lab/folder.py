"""Where one lab keeps its files: the paths of ``LAB_ROOT/<name>/`` (layout: ``core``'s docstring).

The lab's parts are given a ``LabFolder`` (and the values they need) instead
of the ``Lab``: a part knows the files it writes, not the lab's state.
"""
from __future__ import annotations

import dataclasses
import os


@dataclasses.dataclass(frozen=True)
class LabFolder:
    dir: str

    def path(self, *parts: str) -> str:
        return os.path.join(self.dir, *parts)

    @property
    def config_folder(self) -> str:
        return self.path("config")

    @property
    def inventory(self) -> str:
        return self.path("config", "inventory.yaml")

    @property
    def roster(self) -> str:
        return self.path("roster")

    @property
    def master_config(self) -> str:
        return self.path("master")

    @property
    def saltfile(self) -> str:
        return self.path("Saltfile")

    @property
    def key(self) -> str:
        return self.path("id_ed25519")

    @property
    def known_hosts(self) -> str:
        return self.path("known_hosts")

    @property
    def state_file(self) -> str:
        return self.path("state.json")

    def host_dir(self, host: str, *parts: str) -> str:
        """``hosts/<host>/...``: the host's overlay dirs and the keys made for it."""
        return self.path("hosts", host, *parts)

    def host_root(self, host: str) -> str:
        """The host's root as this machine sees it (writable: the overlay's merged dir)."""
        return self.host_dir(host, "merged")

    def log(self, name: str) -> str:
        return self.path("logs", f"{name}.log")
