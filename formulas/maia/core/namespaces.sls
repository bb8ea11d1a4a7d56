{#- Namespaces of the core layer: one state, server-side apply through maia_kube
    with one list of Namespaces to compare against (no change when they exist).
    Shared by the ArgoCD layers: maia/admin/namespaces.sls renders this file with the
    admin layer's map.jinja (`layer` is the formula's folder, in every state id). #}
{%- set mapdata = salt["maia_map.stage"](tpldir.split("/")[1]).mapdata %}
{%- set layer = tpldir.split("/")[-1] %}

maia-{{ layer }}-namespaces-present:
  maia_k8s.objects_present:
    - kubeconfig: {{ mapdata.kubeconfig }}
    - manifests:
{%- for namespace in mapdata.namespaces %}
      - apiVersion: v1
        kind: Namespace
        metadata:
          name: {{ namespace }}
          labels:
            app.kubernetes.io/managed-by: maia-salt
{%- endfor %}
