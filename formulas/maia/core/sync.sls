{#- With maia:core:auto_sync (default true): sync the Applications wave by wave
    (lowest sync wave first) and wait until they are Synced and Healthy
    (retries 3 x 10 s). The apps of one wave are synced together and waited for
    with one list per poll (the first app_synced state of the wave does it);
    each app's own state reports its outcome. On a converged site the first wave's
    list settles the later waves too (`later`). A sync prunes nothing unless
    maia:core:sync:prune is true. Each app_synced watches its app_present: under
    test=True a predicted spec change predicts the sync it calls for. #}
{%- from tpldir ~ "/map.jinja" import mapdata with context %}

include:
  - .apps

{%- if mapdata.auto_sync %}
{#- sync_stage admin (loginapp): created by apps.sls, synced in the admin stage #}
{%- set apps = mapdata.apps | selectattr("sync_stage", "equalto", "core") | list %}
{%- for app in mapdata.apps if app.sync_stage != "core" %}

maia-core-app-{{ app.component }}-sync-deferred-skipped:
  test.succeed_without_changes:
    - name: "maia:core:apps:{{ app.component }}:sync_stage is {{ app.sync_stage }}: {{ app.name }} is synced in the {{ app.sync_stage }} stage, not waited for here"
{%- endfor %}
{%- set waves = {} %}
{%- for app in apps %}
{%-   do waves.setdefault(app.sync_wave | string, []).append(app.name) %}
{%- endfor %}
{%- for app in apps | sort(attribute="sync_wave") %}

maia-core-app-{{ app.component }}-synced:
  maia_argocd.app_synced:
    - name: {{ app.name }}
    - namespace: {{ mapdata.argocd_namespace }}
    - kubeconfig: {{ mapdata.kubeconfig }}
    - timeout: {{ mapdata.sync.timeout }}
    - interval: {{ mapdata.sync.interval }}
    - force: {{ mapdata.sync.force | json }}
    - prune: {{ mapdata.sync.prune | json }}
    - retries: {{ mapdata.sync.retries }}
    - retry_interval: {{ mapdata.sync.retry_interval }}
    - wave: {{ waves[app.sync_wave | string] | json }}
    - later: {{ apps | selectattr("sync_wave", "gt", app.sync_wave) | map(attribute="name") | list | json }}
    - watch:
      - maia_argocd: maia-core-app-{{ app.component }}-present
{%- endfor %}
{%- endif %}
