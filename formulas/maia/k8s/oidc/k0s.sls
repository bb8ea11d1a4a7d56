{#- OIDC flags of the k0s API server: spec.api.extraArgs of /etc/k0s/k0s.yaml, merged key
    by key (an older value of the same flag is replaced, other arguments stay); k0s restarts
    only when one changed (maia-k8s-k0s-running). #}
{%- set k8s = salt["maia_map.stage"]("k8s").mapdata %}
{%- from "maia/k8s/service_dist.jinja" import oidc_merged %}
include:
  - maia.k8s.k0s

{{ oidc_merged(k8s, "k0s") }}
