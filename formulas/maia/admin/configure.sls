{#- The admin services configured over their own APIs once their Applications are synced
    (docs/admin.md, "Configuring the services"): Keycloak's realm maia (client maia-public,
    the site admin user, groups MAIA:users and MAIA:admin, realm-management roles), Harbor's
    OIDC settings and the admin MinIO tenant's bucket and policy (its Application: admin-toolkit). Each state reads first and changes only what differs (maia_admin_service).
    With maia:admin:configure:<service> false, or the service's Application switched off, that
    service is left alone. #}
{%- set mapdata = salt["maia_map.stage"](tpldir.split("/")[1]).mapdata %}
{%- set layer = tpldir | replace('/', '.') %}
{%- if mapdata.enabled %}

include:
  - .apps
  - .sync
{%-   for service, component in [("keycloak", "keycloak"), ("harbor", "harbor"), ("minio", "admin-toolkit")] %}
{%-     set settings = mapdata.configure[service] %}
{%-     set app = (mapdata.apps | selectattr("component", "equalto", component) | list | first) if settings else none %}
{%-     if settings and app %}

maia-admin-{{ service }}-configured:
  maia_admin_service.configured:
    - service: {{ service }}
    - settings: {{ settings | json }}
    - require:
{%-       if mapdata.auto_sync %}
      - maia_argocd: maia-admin-sync-wave-{{ app.sync_wave | int }}
{%-       else %}
      - maia_argocd: maia-admin-app-{{ component }}-present
{%-       endif %}
{%-       if service == "harbor" and mapdata.configure.keycloak %}
      - maia_admin_service: maia-admin-keycloak-configured
{%-       endif %}
{%-     else %}

maia-admin-{{ service }}-configure-skipped:
  test.succeed_without_changes:
    - name: "maia:admin:configure:{{ service }} is false or the {{ component }} Application is switched off: {{ service }} not configured"
{%-     endif %}
{%-   endfor %}
{%- else %}
{%-   include "maia/admin/skipped.jinja" %}
{%- endif %}
