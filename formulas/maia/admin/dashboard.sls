{#- The admin Applications again after orch.maia's Rancher step (docs/admin.md, "Rancher"):
    the step recorded Rancher's token in env.json, which the pillar reads, so the MAIA dashboard's
    values now carry it (the collection runs MAIA_install_admin_toolkit a second time for this).
    Then their sync, and the dashboard's restart when its values changed. On a site whose token
    did not change this changes nothing. #}
{%- set mapdata = salt["maia_map.stage"](tpldir.split("/")[1]).mapdata %}
{%- if mapdata.enabled %}
{%-   set token = ((pillar.get("maia") or {}).get("env") or {}).get("rancher_token") %}

include:
  - .apps
  - .sync
  - .restarts

maia-admin-dashboard-rancher-token-noted:
  test.succeed_without_changes:
{%-   if token %}
    - name: "the MAIA dashboard's values carry Rancher's token (env.json rancher_token)"
{%-   else %}
    - name: "env.json has no rancher_token: the MAIA dashboard is applied without one and cannot reach the cluster through Rancher; orch.maia's step maia-orch-rancher-local-kubeconfig records it (maia:admin:configure:rancher)"
{%-   endif %}
{%- else %}
{%-   include "maia/admin/skipped.jinja" %}
{%- endif %}
