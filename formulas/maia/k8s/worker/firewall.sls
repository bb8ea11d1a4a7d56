{#- On a worker: maia:k8s[:<distribution>]:worker_ports (the kubelet, the overlay network) open to
    the control plane and the other workers only. #}
{%- set k8s = salt["maia_map.stage"]("k8s").mapdata %}
{%- from "maia/k8s/firewall.jinja" import node_rules %}
{%- set nodes = ([k8s.control_plane_address] if k8s.control_plane_address else [])
              + k8s.workers | rejectattr("name", "equalto", grains.get("id")) | map(attribute="address") | list %}
{{ node_rules(k8s.worker_ports, nodes, "maia-k8s-worker") }}
