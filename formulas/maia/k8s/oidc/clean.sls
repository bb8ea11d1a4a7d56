{#- Remove the OIDC flags of the site's distribution (oidc/clean_<distribution>.sls). #}
{%- from "maia/k8s/map.jinja" import mapdata as k8s with context %}
include:
  - maia.k8s.oidc.clean_{{ k8s.distribution }}
