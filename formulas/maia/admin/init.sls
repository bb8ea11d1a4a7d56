# Stage 4: the MAIA admin layer (Harbor, Keycloak, Rancher, the MAIA admin
# toolkit and dashboard). Namespaces, the externalCA Secret, the AppProject
# maia-admin, its Applications, their sync, and the restart of argocd-server
# once the admin toolkit changed ArgoCD's OIDC settings. Each part can be
# applied alone (maia.admin.apps, maia.admin.sync, ...); it includes what it
# needs. With maia:admin:enabled false nothing is applied.
{%- from tpldir ~ "/map.jinja" import mapdata with context %}
{%- if mapdata.enabled %}
include:
  - .namespaces
  - .secrets
  - .project
  - .apps
  - .sync
  - .restarts
{%- else %}
{%-   include "maia/admin/skipped.jinja" %}
{%- endif %}
