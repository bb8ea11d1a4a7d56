{#- OIDC flags of the rke2 API server: kube-apiserver-arg entries merged into
    /etc/rancher/rke2/config.yaml (an older value of the same flag is replaced, other entries
    stay); rke2 restarts only when an entry changed (maia-k8s-rke2-running). #}
{%- set k8s = salt["maia_map.stage"]("k8s").mapdata %}
{%- from "maia/k8s/service_dist.jinja" import oidc_merged %}
include:
  - maia.k8s.rke2

{{ oidc_merged(k8s, "rke2") }}
