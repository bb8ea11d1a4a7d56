{#- Rollout restarts asked for by the cluster config: traefik when
    selfsigned, CoreDNS when selfsigned or coredns_mappings. Each runs only
    when the hash of what triggers it differs from the one recorded on the
    Deployment (annotation maia-salt/restart-trigger), so a re-run is a no-op
    (_states/maia_core.py, which also predicts the restart under test=True).
    Shared by the ArgoCD layers: maia/admin/restarts.sls renders this file with
    the admin layer's map.jinja (argocd-server after the admin toolkit changed
    ArgoCD's OIDC settings); `layer` is the formula's folder, in every state id. #}
{%- set mapdata = salt["maia_map.stage"](tpldir.split("/")[1]).mapdata %}
{%- set layer = tpldir.split("/")[-1] %}
{%- set slsroot = tpldir | replace('/', '.') %}
{%- set after = 'sync' if mapdata.auto_sync else 'apps' %}

include:
  - .{{ after }}

{%- for restart in mapdata.restarts %}

maia-{{ layer }}-{{ restart.id }}-rollout-restarted:
  maia_core.rollout_restarted:
    - name: {{ restart.name }}
    - kind: {{ restart.kind }}
    - namespace: {{ restart.namespace }}
    - trigger: {{ restart.trigger | json }}
    - kubeconfig: {{ mapdata.kubeconfig }}
    - require:
      - sls: {{ slsroot }}.{{ after }}
{%- endfor %}
