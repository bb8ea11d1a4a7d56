{#- Keycloak's realm: ConfigMap maia-realm-import in keycloak (key MAIA_realm.json), the site's
    CONFIG_FOLDER/MAIA_realm.json with client maia's secret set to keycloak_client_secret, as the
    collection's maia_admin_layer role creates it. Keycloak's pod imports it at start
    (--import-realm), so maia.admin orders it before Keycloak's sync wave (init.sls). It is
    updated when the realm file or the secret changes (the collection only creates it once).
    Changes name the field, never the value. #}
{%- set mapdata = salt["maia_map.stage"](tpldir.split("/")[1]).mapdata %}
{%- set configmap = mapdata.configure.realm_configmap if mapdata.enabled else none %}
{%- if configmap %}

include:
  - .namespaces

maia-admin-keycloak-realm-configmap-present:
  maia_k8s.object_present:
    - kubeconfig: {{ mapdata.kubeconfig }}
    - manifest: {{ configmap | json }}
    - require:
      - sls: {{ tpldir | replace('/', '.') }}.namespaces
{%- elif not mapdata.enabled %}
{%-   include "maia/admin/skipped.jinja" %}
{%- else %}

maia-admin-keycloak-realm-skipped:
  test.succeed_without_changes:
    - name: "no Keycloak realm to import: the keycloak Application is switched off, or CONFIG_FOLDER has no MAIA_realm.json (re-run maia-configure)"
{%- endif %}
