{#- Undo maia.core: delete every Application of the catalogue, with its
    resources (cascade through ArgoCD's resources finalizer) unless
    maia:<layer>:clean_cascade is false. The namespaces and the AppProject stay
    (deleting a namespace deletes whatever else lives in it).
    Shared by the ArgoCD layers: maia/admin/clean.sls renders this file with the
    admin layer's map.jinja (`layer` is the formula's folder, in every state id). #}
{%- set mapdata = salt["maia_map.stage"](tpldir.split("/")[1]).mapdata %}
{%- set layer = tpldir.split("/")[-1] %}

{%- for app in mapdata.apps + mapdata.absent_apps %}

maia-{{ layer }}-app-{{ app.component }}-clean:
  maia_argocd.app_absent:
    - name: {{ app.name }}
    - namespace: {{ mapdata.argocd_namespace }}
    - kubeconfig: {{ mapdata.kubeconfig }}
    - cascade: {{ mapdata.clean_cascade | json }}
{%- endfor %}
