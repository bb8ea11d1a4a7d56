"""The ArgoCD install manifest the tests apply and serve as the 'release URL'.

By default the STAND-IN manifest maia-salt generates
(``maia_lab.standins.argocd_manifest``: ArgoCD's CRDs and the ``argocd``
namespace objects stages 2 and 3 rely on). ``MAIA_ARGOCD_MANIFEST=/path/to/install.yaml``
runs the same tests on a real ArgoCD release file, the one a user downloads.
"""
from __future__ import annotations

import atexit
import functools
import hashlib
import os
import shutil
import tempfile
from pathlib import Path

import yaml

from maia_lab.standins import argocd_manifest

FILE_NAME = argocd_manifest.FILE_NAME
REAL = os.environ.get("MAIA_ARGOCD_MANIFEST")


@functools.lru_cache(maxsize=None)
def manifest() -> tuple[Path, str]:
    """(path, sha256) of the manifest, in a folder of its own named as the release file."""
    folder = Path(tempfile.mkdtemp(prefix="maia-argocd-manifest-"))
    atexit.register(shutil.rmtree, folder, True)
    path = folder / FILE_NAME
    if REAL:
        shutil.copyfile(REAL, path)
        return path, hashlib.sha256(path.read_bytes()).hexdigest()
    return path, argocd_manifest.write(path)


def documents() -> list[dict]:
    return [d for d in yaml.safe_load_all(manifest()[0].read_text()) if d]


def crds(*names: str) -> list[dict]:
    """The manifest's CustomResourceDefinitions (all, or those named)."""
    return [d for d in documents() if d["kind"] == "CustomResourceDefinition"
            and (not names or d["metadata"]["name"] in names)]
