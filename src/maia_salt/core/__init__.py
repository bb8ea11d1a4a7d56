"""The MAIA core layer (stage 3) as a plain library, no Salt needed.

- :mod:`.context`  settings: the stage's parameters (merged by ``maia/core/map.jinja``)
  and the ``maia`` pillar's facts, validated into a :class:`~.context.Context`
- :mod:`.values`   the Helm values of each Application, derived from the context
- :mod:`.specs`    the namespaces, the AppProject, the Applications, the
  repository secret and the rollout restarts (:func:`~.specs.mapdata`)

``_modules/maia_core.py`` (and its salt-ssh wrapper) are thin Salt adapters
over this package (their shared functions: ``maia_salt.stage_api``); the cluster
actions (rollout restarts) stay in the module. Hosts get this package through
``file_roots`` as ``maia_layers.core`` (``_utils/maia_layers``), so its modules
import each other relatively only.
"""
from .context import ConfigError, Context, build_context
from .specs import mapdata

__all__ = ["ConfigError", "Context", "build_context", "mapdata"]
