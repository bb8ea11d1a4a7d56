{#- With maia:core:auto_sync (default true): sync every Application in wave
    order and wait until it is Synced and Healthy (retries 3 x 10 s). #}
{%- from tpldir ~ "/map.jinja" import mapdata with context %}

include:
  - .apps

{%- if mapdata.auto_sync %}
{%- for app in mapdata.apps %}

maia-core-app-{{ app.component }}-synced:
  argocd.app_synced:
    - name: {{ app.name }}
    - namespace: {{ mapdata.argocd_namespace }}
    - kubeconfig: {{ mapdata.kubeconfig }}
    - timeout: {{ mapdata.sync.timeout }}
    - interval: {{ mapdata.sync.interval }}
    - force: {{ mapdata.sync.force | json }}
    - prune: {{ mapdata.sync.prune | json }}
    - retries: {{ mapdata.sync.retries }}
    - retry_interval: {{ mapdata.sync.retry_interval }}
    - require:
      - argocd: maia-core-app-{{ app.component }}-present
{%- endfor %}
{%- endif %}
