"""`maia lab`: a lab of real Debian hosts on this machine (see docs/lab.md)."""
from .core import LAB_ROOT, Host, Lab, all_labs, missing_tools

__all__ = ["LAB_ROOT", "Host", "Lab", "all_labs", "missing_tools"]
