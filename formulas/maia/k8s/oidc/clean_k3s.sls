{#- Remove maia-salt's OIDC entries from the k3s settings; restart k3s only when one was removed. #}
{%- from "maia/k8s/map.jinja" import mapdata as k8s with context %}
{%- from "maia/k8s/service_dist.jinja" import oidc_removed %}

{{ oidc_removed(k8s, "k3s") }}
