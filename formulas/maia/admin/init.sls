# Stage 4: the MAIA admin layer (Harbor, Keycloak, Rancher, the MAIA admin
# toolkit and dashboard). Namespaces, the externalCA Secret, Keycloak's realm
# ConfigMap, the AppProject maia-admin, its Applications, their sync, then the
# services' own configuration over their APIs and the restart of argocd-server
# once the admin toolkit changed ArgoCD's OIDC settings. Each part can be applied
# alone (maia.admin.apps, maia.admin.sync, ...); it includes what it needs. With
# maia:admin:enabled false nothing is applied.
{%- set mapdata = salt["maia_map.stage"](tpldir.split("/")[1]).mapdata %}
{%- if mapdata.enabled %}
include:
  - .namespaces
  - .secrets
  - .project
  - .apps
  - .sync
  - .realm
  - .configure
  - .restarts
{%-   set keycloak = mapdata.apps | selectattr("component", "equalto", "keycloak") | list %}
{%-   if mapdata.configure.realm_configmap and keycloak and mapdata.auto_sync %}

{#- Keycloak imports the realm when it starts: the ConfigMap comes before its sync wave #}
extend:
  maia-admin-sync-wave-{{ keycloak[0].sync_wave | int }}:
    maia_argocd:
      - require:
        - maia_k8s: maia-admin-keycloak-realm-configmap-present
{%-   endif %}
{%- else %}
{%-   include "maia/admin/skipped.jinja" %}
{%- endif %}
