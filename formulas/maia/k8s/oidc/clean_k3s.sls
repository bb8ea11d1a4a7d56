{#- Remove maia-salt's OIDC entries from the k3s settings; restart k3s only when one was removed. #}
{%- set k8s = salt["maia_map.stage"]("k8s").mapdata %}
{%- from "maia/k8s/service_dist.jinja" import oidc_removed %}

{{ oidc_removed(k8s, "k3s") }}
