{#- Undo maia.core: delete every Application of the catalogue, with its
    resources (cascade through ArgoCD's resources finalizer) unless
    maia:core:clean_cascade is false. The namespaces and the AppProject stay
    (deleting a namespace deletes whatever else lives in it). #}
{%- from tpldir ~ "/map.jinja" import mapdata with context %}

{%- for app in mapdata.apps + mapdata.absent_apps %}

maia-core-app-{{ app.component }}-clean:
  maia_argocd.app_absent:
    - name: {{ app.name }}
    - namespace: {{ mapdata.argocd_namespace }}
    - kubeconfig: {{ mapdata.kubeconfig }}
    - cascade: {{ mapdata.clean_cascade | json }}
{%- endfor %}
