"""A Salt module of the checkout loaded as plain Python, with its Salt dunders set.

For unit tests of one module's functions; tests that need Salt's real loader
use salt-factories or ``salt-call --local`` (tests/support/extmods.py).
"""
import importlib.util
import sys

from support.paths import REPO


def load_salt_module(relpath: str, name: str, salt: dict | None = None, opts: dict | None = None):
    """Import ``REPO/relpath`` as a fresh module named ``name``, with ``__salt__``, ``__opts__``
    and ``__grains__`` set. A state module also gets the shared helpers it reaches through
    ``__salt__`` (``maia_errors``, ``maia_state_ret``), as Salt would give it."""
    # Salt's loader puts the synced _utils/ (the host-side library) on sys.path for modules
    # and states; so does this
    if str(REPO / "_utils") not in sys.path:
        sys.path.append(str(REPO / "_utils"))
    spec = importlib.util.spec_from_file_location(name, REPO / relpath)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.__salt__ = salt if salt is not None else {}
    module.__opts__ = opts if opts is not None else {"test": False}
    module.__grains__ = {}
    if relpath.startswith("_states/"):
        errors = load_salt_module("_modules/maia_errors.py", f"{name}_errors", salt=module.__salt__)
        for fn in ("error", "kind", "cluster_pending", "with_message", "attempt"):
            module.__salt__.setdefault(f"maia_errors.{fn}", getattr(errors, fn))
        returns = load_salt_module("_modules/maia_state_ret.py", f"{name}_ret")
        for fn in ("new", "predicted", "failed", "checked"):
            module.__salt__.setdefault(f"maia_state_ret.{fn}", getattr(returns, fn))
    return module
