{#- Remove the cluster CA secret and ConfigMap (the namespaces stay: stage 3 uses them). #}
{%- set k8s = salt["maia_map.stage"]("k8s").mapdata %}

maia-k8s-ca-clean-secret-absent:
  maia_k8s.object_absent:
    - name: {{ k8s.ca.secret_name }}
    - namespace: {{ k8s.ca.secret_namespace }}
    - api_version: v1
    - kind: Secret

maia-k8s-ca-clean-configmap-absent:
  maia_k8s.object_absent:
    - name: {{ k8s.ca.configmap_name }}
    - namespace: {{ k8s.ca.configmap_namespace }}
    - api_version: v1
    - kind: ConfigMap
