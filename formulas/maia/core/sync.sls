{#- With maia:<layer>:auto_sync (default true): one maia_argocd.apps_synced state per
    sync wave (lowest wave first) syncs the wave's Applications together and waits
    until they are Synced and Healthy (retries 3 x 10 s), with one list per poll, or
    Healthy but for the address of a LoadBalancer Service or an Ingress, which a
    later wave may bring; maia-<layer>-sync-healthy then waits for every app to be
    Synced and Healthy; each app is reported in its wave's changes and comment. A converged wave's list serves
    the next wave when it shows that wave converged too. A sync prunes nothing
    unless maia:<layer>:sync:prune is true. Each wave state gets the apps' specs, so
    under test=True a predicted spec change predicts the sync it calls for.
    Shared by the ArgoCD layers: maia/admin/sync.sls renders this file with the
    admin layer's map.jinja (`layer` is the formula's folder, in every state id). #}
{%- set mapdata = salt["maia_map.stage"](tpldir.split("/")[1]).mapdata %}
{%- set layer = tpldir.split("/")[-1] %}

include:
  - .apps

{%- if mapdata.auto_sync %}
{#- a stage 3 app with sync_stage admin (loginapp: it waits for Keycloak) is created by apps.sls
    and not synced here; the apps of every other layer are synced by their own layer #}
{%- set apps = mapdata.apps | selectattr("sync_stage", "in", ["core", layer]) | list %}
{%- for app in mapdata.apps if app.sync_stage not in ["core", layer] %}

maia-{{ layer }}-app-{{ app.component }}-sync-deferred-skipped:
  test.succeed_without_changes:
    - name: "maia:{{ layer }}:apps:{{ app.component }}:sync_stage is {{ app.sync_stage }}: {{ app.name }} is synced in the {{ app.sync_stage }} stage, not waited for here"
{%- endfor %}
{%- set waves = {} %}
{%- for app in apps %}
{%-   do waves.setdefault(app.sync_wave | int, []).append(app) %}
{%- endfor %}
{%- for wave in waves | sort %}

maia-{{ layer }}-sync-wave-{{ wave }}:
  maia_argocd.apps_synced:
    - namespace: {{ mapdata.argocd_namespace }}
    - kubeconfig: {{ mapdata.kubeconfig }}
    - timeout: {{ mapdata.sync.timeout }}
    - interval: {{ mapdata.sync.interval }}
    - force: {{ mapdata.sync.force | json }}
    - prune: {{ mapdata.sync.prune | json }}
    - retries: {{ mapdata.sync.retries }}
    - retry_interval: {{ mapdata.sync.retry_interval }}
    {#- an app Healthy but for a LoadBalancer or Ingress address does not hold up the later
        waves (the MetalLB pool comes with the toolkit's wave); the last state waits for it #}
    - address_pending: {{ mapdata.sync.address_pending | json }}
    - apps:
{%-   for app in waves[wave] %}
      - {{ {"name": app.name, "spec": app.spec} | json }}
{%-   endfor %}
    - require:
{%-   for app in waves[wave] %}
      - maia_argocd: maia-{{ layer }}-app-{{ app.component }}-present
{%-   endfor %}
{%- endfor %}
{%-   if waves and mapdata.sync.address_pending %}

{#- every app of the waves Synced and Healthy: those a wave left waiting for an address too
    (after every wave: a wave that failed makes this a requisite failure, not a wait) #}
maia-{{ layer }}-sync-healthy:
  maia_argocd.apps_healthy:
    - namespace: {{ mapdata.argocd_namespace }}
    - kubeconfig: {{ mapdata.kubeconfig }}
    - timeout: {{ mapdata.sync.timeout }}
    - interval: {{ mapdata.sync.interval }}
    - apps: {{ apps | map(attribute="name") | list | json }}
    - require:
{%-     for wave in waves | sort %}
      - maia_argocd: maia-{{ layer }}-sync-wave-{{ wave }}
{%-     endfor %}
{%-   endif %}
{%- endif %}
