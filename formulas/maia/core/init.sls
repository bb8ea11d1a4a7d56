# Stage 3: the MAIA core layer. Namespaces, the ArgoCD AppProject, the
# Applications of the catalogue, their sync, the proxy policy of a site behind an
# HTTP proxy (Kyverno's, .proxy), and the rollout restarts that
# selfsigned/coredns_mappings call for. Each part can be applied alone
# (maia.core.apps, maia.core.sync, ...); it includes what it needs.
include:
  - .namespaces
  - .project
  - .apps
  - .sync
  - .proxy
  - .restarts
