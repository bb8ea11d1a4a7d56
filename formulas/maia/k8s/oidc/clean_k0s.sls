{#- Remove maia-salt's OIDC arguments from the k0s settings (the clean stops k0s next). #}
{%- set k8s = salt["maia_map.stage"]("k8s").mapdata %}
{%- from "maia/k8s/service_dist.jinja" import oidc_removed %}

{{ oidc_removed(k8s, "k0s") }}
