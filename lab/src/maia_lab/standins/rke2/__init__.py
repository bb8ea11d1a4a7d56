"""Install the rke2 stand-in for tests and the lab: a release tarball to download, and `systemctl`.

STAND-IN: rke2 cannot run on this machine nor in the lab hosts (docs/standins.md).
:func:`install` packs the stand-in ``cli.py`` as ``bin/rke2`` into a release tarball
``rke2.linux-amd64.tar.gz`` in rke2's layout (``bin/``, ``lib/systemd/system/rke2-server.service``,
``share/rke2/``) with its ``sha256sum-amd64.txt`` beside it (the formula downloads it from there,
checks it and unpacks it, as it does the real release) and, for a host without systemd, writes
the CLI as ``systemctl``; both share one JSON state (``maia_lab.standins.service_release``).
Starting the service reads ``config.yaml``, writes the files rke2 writes (its kubectl among them)
and registers the Node in the Kubernetes API stand-in (see ``cli.py``).
"""
from __future__ import annotations

from functools import partial

from ..service_release import DISTRIBUTIONS
from ..service_release import install as _install

install = partial(_install, DISTRIBUTIONS["rke2"])
