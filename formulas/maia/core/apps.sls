{#- One ArgoCD Application per enabled component of the catalogue; switched
    off components are removed (the Application only: cascade false).
    Shared by the ArgoCD layers: maia/admin/apps.sls renders this file with the
    admin layer's map.jinja (`layer` is the formula's folder, in every state id). #}
{%- set mapdata = salt["maia_map.stage"](tpldir.split("/")[1]).mapdata %}
{%- set layer = tpldir.split("/")[-1] %}
{%- set slsroot = tpldir | replace('/', '.') %}

include:
  - .project

{%- for app in mapdata.apps %}

maia-{{ layer }}-app-{{ app.component }}-present:
  maia_argocd.app_present:
    - name: {{ app.name }}
    - namespace: {{ mapdata.argocd_namespace }}
    - kubeconfig: {{ mapdata.kubeconfig }}
    - sync_wave: {{ app.sync_wave }}
    - secret_keys: {{ app.secret_keys | json }}
    - spec: {{ app.spec | json }}
    - require:
      - sls: {{ slsroot }}.project
{%- endfor %}

{%- for app in mapdata.absent_apps %}

maia-{{ layer }}-app-{{ app.component }}-absent:
  maia_argocd.app_absent:
    - name: {{ app.name }}
    - namespace: {{ mapdata.argocd_namespace }}
    - kubeconfig: {{ mapdata.kubeconfig }}
    - cascade: false
{%- endfor %}
