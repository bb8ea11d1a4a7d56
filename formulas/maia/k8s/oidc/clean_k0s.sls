{#- Remove maia-salt's OIDC arguments from the k0s settings (the clean stops k0s next). #}
{%- from "maia/k8s/map.jinja" import mapdata as k8s with context %}
{%- from "maia/k8s/service_dist.jinja" import oidc_removed %}

{{ oidc_removed(k8s, "k0s") }}
