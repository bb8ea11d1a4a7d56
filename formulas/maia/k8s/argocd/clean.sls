{#- Remove ArgoCD: its namespace (with everything in it) and its CRDs. #}
{%- set k8s = salt["maia_map.stage"]("k8s").mapdata %}

maia-k8s-argocd-clean-namespace-absent:
  maia_k8s.object_absent:
    - name: {{ k8s.argocd.namespace }}
    - api_version: v1
    - kind: Namespace
{%- for crd in ["applications.argoproj.io", "applicationsets.argoproj.io", "appprojects.argoproj.io"] %}

maia-k8s-argocd-clean-crd-{{ crd }}-absent:
  maia_k8s.object_absent:
    - name: {{ crd }}
    - api_version: apiextensions.k8s.io/v1
    - kind: CustomResourceDefinition
    - require:
      - maia_k8s: maia-k8s-argocd-clean-namespace-absent
{%- endfor %}

maia-k8s-argocd-clean-manifest-absent:
  file.absent:
    - name: {{ k8s.argocd.manifest_path }}
