{#- The AppProject of the core layer, and with a private registry the ArgoCD
    repository secret that lets ArgoCD pull the charts from it as OCI.
    Shared by the ArgoCD layers: maia/admin/project.sls renders this file with the
    admin layer's map.jinja (`layer` is the formula's folder, in every state id). #}
{%- set mapdata = salt["maia_map.stage"](tpldir.split("/")[1]).mapdata %}
{%- set layer = tpldir.split("/")[-1] %}

include:
  - .namespaces

{%- for repo in mapdata.repositories %}

maia-{{ layer }}-argocd-repository-{{ repo.name }}-present:
  maia_argocd.repository_present:
    - name: {{ repo.name }}
    - url: {{ repo.url | json }}
    - username: {{ repo.username | json }}
    - password: {{ repo.password | json }}
    - namespace: {{ mapdata.argocd_namespace }}
    - kubeconfig: {{ mapdata.kubeconfig }}
    - repo_type: {{ repo.repo_type }}
    - enable_oci: {{ repo.enable_oci | json }}
    - project: {{ repo.project }}
{%- endfor %}

maia-{{ layer }}-argocd-project-present:
  maia_argocd.project_present:
    - name: {{ mapdata.project.name }}
    - namespace: {{ mapdata.project.namespace }}
    - kubeconfig: {{ mapdata.kubeconfig }}
    - spec: {{ mapdata.project.spec | json }}
    - require:
      - sls: {{ tpldir | replace('/', '.') }}.namespaces
