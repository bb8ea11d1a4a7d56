{#- Addons enabled only when not enabled yet; control-plane node labels. #}
{%- set k8s = salt["maia_map.stage"]("k8s").mapdata %}

maia-k8s-microk8s-addons-enabled:
  maia_microk8s.addons_enabled:
    - addons: {{ k8s.addons | json }}
    - microk8s_cmd: {{ k8s.microk8s_cmd }}
    - require:
      - maia_microk8s: maia-k8s-microk8s-ready

maia-k8s-microk8s-node-labeled:
  maia_k8s.node_labeled:
    - name: {{ k8s.node_name }}
    - labels: {{ k8s.node_labels | json }}
    - require:
      - maia_microk8s: maia-k8s-microk8s-kubeconfig-written
      - sls: maia.k8s.client
