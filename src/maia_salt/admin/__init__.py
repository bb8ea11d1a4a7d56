"""The MAIA admin layer (stage 4) as a plain library, no Salt needed.

- :mod:`.context`  settings: ``maia/admin/parameters/defaults.yaml`` merged with
  the ``maia`` pillar tree, validated into an :class:`~.context.AdminContext`
- :mod:`.values`   the Helm values of each Application (Harbor, Keycloak,
  Rancher, the MAIA admin toolkit, the MAIA dashboard)
- :mod:`.specs`    the namespaces, the external CA Secret, the AppProject, the
  Applications and the repository secret (:func:`~.specs.mapdata`)

It shares stage 3's helpers (``maia_salt.core``): source resolution, chart
coordinates, ingress annotations, derived secrets, the Application spec.
"""
from .context import AdminContext, build_context, is_enabled
from .specs import mapdata

__all__ = ["AdminContext", "build_context", "is_enabled", "mapdata"]
