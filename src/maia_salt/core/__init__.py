"""The MAIA core layer (stage 3) as a plain library, no Salt needed.

- :mod:`.context`  settings: ``parameters/defaults.yaml`` merged with the ``maia``
  pillar tree, validated into a :class:`~.context.Context`
- :mod:`.values`   the Helm values of each Application, derived from the context
- :mod:`.specs`    the namespaces, the AppProject, the Applications, the
  repository secret and the rollout restarts (:func:`~.specs.mapdata`)

``_modules/maia_core.py`` (and its salt-ssh wrapper) are thin Salt adapters
over this package; the cluster actions (rollout restarts) stay there.
"""
from .context import ConfigError, Context, build_context, read_defaults
from .specs import mapdata

__all__ = ["ConfigError", "Context", "build_context", "mapdata", "read_defaults"]
