{#- Stage 3 of `maia reset`: the core layer's Applications (maia.core.clean, with their
    resources unless maia:core:clean_cascade is false), then its AppProject. The
    namespaces stay: deleting one deletes whatever else lives in it. Without the
    kubeconfig stage 2 writes (a site reset before, or never installed) there is no
    cluster to remove anything from, and nothing happens. #}
{%- from "maia/core/map.jinja" import mapdata with context %}
{%- if not salt["file.file_exists"](mapdata.kubeconfig) %}

maia-reset-core-no-cluster:
  test.succeed_without_changes:
    - name: "no kubeconfig at {{ mapdata.kubeconfig }}: no cluster, no Applications to remove"
{%- else %}

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
{%- endif %}
