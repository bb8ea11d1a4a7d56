{#- Undo maia.k8s, last part first. #}
{%- set k8s = salt["maia_map.stage"]("k8s").mapdata %}
include:
  - maia.k8s.argocd.clean
  - maia.k8s.ca.clean
  - maia.k8s.oidc.clean
  - {{ k8s.dist_sls }}.clean
