"""`maia lab`: a lab of real Debian hosts on this machine (see docs/lab.md).

It uses the product as a site would (``maia_salt.inventory``,
``maia-configure``, the formulas); no product module imports it, except the
``maia`` command line, which adds ``maia lab`` and ``maia demo``.
"""
from .core import HOST_LIMITS, LAB_ROOT, MAX_HOSTS, Host, Lab, all_labs, write_lab_pillar
from .folder import LabFolder
from .requirements import missing_hint, missing_tools, unmet

__all__ = ["HOST_LIMITS", "LAB_ROOT", "MAX_HOSTS", "Host", "Lab", "LabFolder", "all_labs", "missing_hint", "missing_tools", "unmet", "write_lab_pillar"]
