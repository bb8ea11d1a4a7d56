"""Kubernetes API stand-in: a small HTTPS server that speaks the Kubernetes API.

STAND-IN for a kube-apiserver, which this machine cannot run (none is packaged
on the registries we reach; kmock 0.8 fails on cluster-scoped objects). It
serves what the official ``kubernetes`` Python client (22.x and 37.x), its
DynamicClient and saltext-kubernetes use:

- discovery: ``/version``, ``/api``, ``/api/v1``, ``/apis``, ``/apis/G``,
  ``/apis/G/V`` (resource lists with namespaced flag, verbs, kind, short names,
  ``status`` subresources);
- built-in kinds from a table (``BUILTIN_KINDS``) and kinds defined by
  CustomResourceDefinitions, which are Established (and served) when created,
  or ``crd_establish_delay`` seconds later;
- GET (one object or a list; ``labelSelector``, ``fieldSelector`` on
  metadata.name/namespace), POST (409 AlreadyExists), PUT (409 Conflict on a
  stale resourceVersion), PATCH (merge, strategic merge treated as merge, JSON
  patch, server-side apply with field managers, conflicts and ``force``),
  DELETE (finalizers: deletionTimestamp first, removal once cleared; a
  namespace takes its objects with it), ``dryRun=All``, the ``status``
  subresource, Status bodies for 400/401/403/404/409/422;
- bearer-token auth (401 without; ``/version`` and health checks are public as
  in a real cluster).

- custom resources pruned and validated against their CRD's
  ``openAPIV3Schema`` (structural schemas, ``fieldValidation``
  Strict/Warn/Ignore, 422 ``Invalid`` with causes), see ``schema.py``.

Not emulated: watch, pagination (``limit`` returns everything), defaulting
and CEL rules of CRD schemas, owner-reference garbage collection, admission,
associative-list merging in SSA and strategic merge (lists are atomic).

Every request is recorded in ``server.request_log`` (method, path, query,
status, user agent); ``server.request_counts()`` counts them per
"METHOD path". Over HTTP: ``GET /_standin/requests`` (and ``DELETE`` to reset).

Python::

    with KubeApiStandin() as api:           # 127.0.0.1, random port, HTTPS
        api.kubeconfig                      # path of a kubeconfig (0600) for it
        api.request_counts()

The package, one concern a module: ``kinds`` (built-in kinds, resource types,
Status errors), ``store`` (objects, resourceVersion, field managers, CRD
types), ``patch`` (merge, strategic merge, JSON patch, server-side apply),
``selectors``, ``schema`` (CRD schemas), ``admission`` (checks of every
write), ``discovery``, ``api`` (routing and verbs), ``tls`` and ``server``
(HTTP server, ``KubeApiStandin``, CLI).

CLI (the lab runs it on the bridge address)::

    python -m maia_lab.standins.kube_api --host 198.18.0.1 --port 16443 \
        --tls-dir /var/lib/maia-standins/kube-api [--token T] [--kubeconfig OUT]
"""
from .api import Api
from .kinds import BUILTIN_KINDS, ApiError, ResourceType
from .patch import json_patch, merge_patch, strategic_merge_patch
from .selectors import parse_field_selector, parse_label_selector
from .server import KubeApiStandin, main
from .store import Store
from .tls import ensure_tls

__all__ = ["Api", "ApiError", "BUILTIN_KINDS", "KubeApiStandin", "ResourceType", "Store", "ensure_tls",
           "json_patch", "main", "merge_patch", "parse_field_selector", "parse_label_selector",
           "strategic_merge_patch"]
