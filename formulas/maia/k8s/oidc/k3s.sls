{#- OIDC flags of the k3s API server: kube-apiserver-arg entries merged into
    /etc/rancher/k3s/config.yaml (an older value of the same flag is replaced, other
    entries stay); k3s restarts only when an entry changed (maia-k8s-k3s-running). #}
{%- set k8s = salt["maia_map.stage"]("k8s").mapdata %}
{%- from "maia/k8s/service_dist.jinja" import oidc_merged %}
include:
  - maia.k8s.k3s

{{ oidc_merged(k8s, "k3s") }}
