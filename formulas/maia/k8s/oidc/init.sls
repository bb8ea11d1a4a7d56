{#- OIDC flags on the API server of the site's distribution (oidc/<distribution>.sls);
    the API server restarts only when a flag changed. #}
{%- set k8s = salt["maia_map.stage"]("k8s").mapdata %}
include:
  - maia.k8s.oidc.{{ k8s.distribution }}
