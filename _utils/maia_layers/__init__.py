"""The stage libraries as a host holds them: ``maia_salt.core`` (and each later stage's) under
a name of their own, shipped through ``file_roots`` like the rest of the host code.

The folder is ``_utils/maia_layers`` (``formulas/_utils`` links it in): a minion syncs it
(``saltutil.sync_utils``, part of the orchestration's sync step and of ``sync_all``), a
``salt-call --local`` host with ``saltutil.sync_all``. Salt's loader puts the synced utils
folder on ``sys.path`` while it loads a module, so ``_modules/maia_core.py`` imports
``maia_layers.core`` plainly. Its entries are links into ``src/maia_salt`` (the same files
the master side imports as ``maia_salt.core``), so the libraries import each other
relatively only; ``tests/core/test_maia_core_specs.py`` checks that.

The name is not ``maia_salt`` on purpose: where maia-salt is installed (the master, a
``salt-call --local`` host) Salt has imported that package already for its loader entry
point, and ``import maia_salt.core`` would quietly take the installed copy instead.
"""
