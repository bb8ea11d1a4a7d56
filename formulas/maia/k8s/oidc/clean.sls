{#- Remove the OIDC flags of the site's distribution (oidc/clean_<distribution>.sls). #}
{%- set k8s = salt["maia_map.stage"]("k8s").mapdata %}
include:
  - maia.k8s.oidc.clean_{{ k8s.distribution }}
