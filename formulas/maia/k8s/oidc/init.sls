{#- OIDC flags on the API server of the site's distribution (oidc/<distribution>.sls);
    the API server restarts only when a flag changed. #}
{%- from "maia/k8s/map.jinja" import mapdata as k8s with context %}
include:
  - maia.k8s.oidc.{{ k8s.distribution }}
