{#- Undo maia.k8s, last part first. #}
{%- from "maia/k8s/map.jinja" import mapdata as k8s with context %}
include:
  - maia.k8s.argocd.clean
  - maia.k8s.ca.clean
  - maia.k8s.oidc.clean
  - {{ k8s.dist_sls }}.clean
