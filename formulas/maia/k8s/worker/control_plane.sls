{#- On the control plane of a site with worker hosts (maia.k8s includes it then):
    maia:k8s[:<distribution>]:node_ports (where agents join, the API, the kubelet, the overlay
    network) open to the workers' addresses only. #}
{%- set k8s = salt["maia_map.stage"]("k8s").mapdata %}
{%- from "maia/k8s/firewall.jinja" import node_rules %}
{{ node_rules(k8s.node_ports, k8s.workers | map(attribute="address") | list, "maia-k8s-" ~ k8s.distribution ~ "-workers") }}
