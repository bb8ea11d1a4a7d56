{#- Remove maia-salt's OIDC entries from the k3s settings; restart k3s only when one was removed. #}
{%- from "maia/k8s/map.jinja" import mapdata as k8s with context %}

maia-k8s-oidc-clean-k3s-settings-removed:
  maia_k8s_dist.settings_removed:
    - name: {{ k8s.paths.k3s_config }}
    - settings: {{ k8s.k3s_oidc_settings | json }}
