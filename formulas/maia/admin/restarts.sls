{#- Stage 4's rollout restarts: maia/core/restarts.sls rendered with the admin
    layer's data (argocd-server, once per change of the ArgoCD settings the admin
    toolkit renders); with maia:admin:enabled false, one skipped state. #}
{%- set mapdata = salt["maia_map.stage"](tpldir.split("/")[1]).mapdata %}
{%- include "maia/core/restarts.sls" if mapdata.enabled else "maia/admin/skipped.jinja" %}
