{#- On the control plane of a site with worker hosts (maia.k8s includes it then):
    maia:k8s[:<distribution>]:node_ports (where agents join, the API, the kubelet, the overlay
    network) open to the workers' addresses only. #}
{%- from "maia/k8s/map.jinja" import mapdata as k8s with context %}
{%- from "maia/k8s/firewall.jinja" import node_rules %}
{{ node_rules(k8s.node_ports, k8s.workers | map(attribute="address") | list, "maia-k8s-" ~ k8s.distribution ~ "-workers") }}
