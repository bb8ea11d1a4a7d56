{#- Namespaces of the core layer (server-side apply through maia_kube; no
    change when they exist). #}
{%- from tpldir ~ "/map.jinja" import mapdata with context %}

{%- for namespace in mapdata.namespaces %}

maia-core-namespace-{{ namespace }}-present:
  maia_k8s.object_present:
    - kubeconfig: {{ mapdata.kubeconfig }}
    - manifest:
        apiVersion: v1
        kind: Namespace
        metadata:
          name: {{ namespace }}
          labels:
            app.kubernetes.io/managed-by: maia-salt
{%- endfor %}
