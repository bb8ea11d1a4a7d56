"""Install the k3s stand-in for tests and the lab: a release to download, and `systemctl`.

STAND-IN: k3s cannot run on this machine nor in the lab hosts (docs/standins.md).
:func:`install` writes the stand-in ``cli.py`` as the release binary ``k3s`` into a
release folder (the formula downloads it from there and checks its sha256, as it
checks the real release) and, for a host without systemd, as ``systemctl``; both
share one JSON state (``maia_lab.standins.service_release``). Starting the service
writes the files k3s writes and registers the Node in the Kubernetes API stand-in
(see ``cli.py``).
"""
from __future__ import annotations

from functools import partial

from ..service_release import DISTRIBUTIONS
from ..service_release import install as _install

install = partial(_install, DISTRIBUTIONS["k3s"])
