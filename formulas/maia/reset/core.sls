{#- Stage 3 of `maia reset`: the core layer's Applications (maia.core.clean, with their
    resources unless maia:core:clean_cascade is false), then its AppProject. The
    namespaces stay: deleting one deletes whatever else lives in it. #}
{#- map.jinja reads its parameters relative to tpldir #}
{%- set tpldir = "maia/core" %}
{%- from "maia/core/map.jinja" import mapdata with context %}

include:
  - maia.core.clean

maia-reset-core-project-absent:
  maia_k8s.object_absent:
    - name: {{ mapdata.project.name }}
    - api_version: argoproj.io/v1alpha1
    - kind: AppProject
    - namespace: {{ mapdata.project.namespace }}
    - kubeconfig: {{ mapdata.kubeconfig }}
    - require:
      - sls: maia.core.clean
