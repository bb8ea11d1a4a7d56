{#- Remove maia-salt's OIDC entries from the rke2 settings (the clean stops rke2 next). #}
{%- from "maia/k8s/map.jinja" import mapdata as k8s with context %}
{%- from "maia/k8s/service_dist.jinja" import oidc_removed %}

{{ oidc_removed(k8s, "rke2") }}
