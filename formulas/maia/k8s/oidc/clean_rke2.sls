{#- Remove maia-salt's OIDC entries from the rke2 settings (the clean stops rke2 next). #}
{%- set k8s = salt["maia_map.stage"]("k8s").mapdata %}
{%- from "maia/k8s/service_dist.jinja" import oidc_removed %}

{{ oidc_removed(k8s, "rke2") }}
