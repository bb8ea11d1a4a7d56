{#- rke2 from its pinned release tarball (no install script): downloaded and checked, then
    unpacked into paths:install_dir as rke2's own tarball install does (bin/rke2 and rke2's
    own unit lib/systemd/system/rke2-server.service); maia-salt's settings merged into
    /etc/rancher/rke2/config.yaml; the proxy environment file; UFW ports. #}
{%- set k8s = salt["maia_map.stage"]("k8s").mapdata %}
{%- from "maia/proxy.jinja" import proxy_settings with context %}
{%- set proxy = proxy_settings("rke2") | load_json %}
{%- set rke2 = k8s.rke2 %}

{%- from "maia/k8s/rke2/release.jinja" import rke2_release %}
{{ rke2_release(k8s, "maia-k8s-rke2") }}

maia-k8s-rke2-settings-merged:
  maia_k8s_dist.settings_merged:
    - name: {{ k8s.paths.rke2_config }}
    - settings: {{ k8s.rke2_settings | json }}
    - mode: '0600'
    - require:
      - maia_k8s_dist: maia-k8s-rke2-release-unpacked

{#- a site behind a proxy (maia:cluster:proxy_ip): the environment file rke2-server.service
    reads (/etc/default/rke2-server), which rke2 passes on to its containerd; without
    proxy_ip, no such file #}
{%- from "maia/k8s/proxy.jinja" import proxy_environment %}
{{ proxy_environment("maia-k8s-rke2-proxy-environment", k8s.paths.rke2_environment, proxy,
                     {"maia_k8s_dist": "maia-k8s-rke2-settings-merged"}) }}
{%- if k8s.ufw %}
{%-   from "maia/k8s/firewall.jinja" import firewall_rules with context %}
{{- firewall_rules(k8s, rke2.firewall_ports, "maia-k8s-rke2") }}
{%- endif %}
