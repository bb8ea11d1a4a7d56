{#- rke2 from its pinned release tarball (no install script): downloaded and checked, then
    unpacked into paths:install_dir as rke2's own tarball install does (bin/rke2 and rke2's
    own unit lib/systemd/system/rke2-server.service); maia-salt's settings merged into
    /etc/rancher/rke2/config.yaml; the proxy environment file; UFW ports. #}
{%- from "maia/k8s/map.jinja" import mapdata as k8s with context %}
{%- from "maia/proxy.jinja" import proxy_settings with context %}
{%- from "maia/k8s/service_dist.jinja" import release_binary %}
{%- set proxy = proxy_settings("rke2") | load_json %}
{%- set rke2 = k8s.rke2 %}

{{ release_binary("rke2", k8s.paths.rke2_tarball, rke2.release, hash_name=rke2.release.url.rsplit("/", 1)[-1],
                  mode="0644", state_id="maia-k8s-rke2-release-downloaded") }}

{#- only the files that are missing or differ are written: a re-run writes nothing #}
maia-k8s-rke2-release-unpacked:
  maia_k8s_dist.archive_unpacked:
    - name: {{ rke2.paths.install_dir }}
    - archive: {{ k8s.paths.rke2_tarball }}
    - require:
      - file: maia-k8s-rke2-release-downloaded

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
maia-k8s-rke2-proxy-environment:
{%- if proxy %}
  file.managed:
    - name: {{ k8s.paths.rke2_environment }}
    - makedirs: true
    - mode: '0600'
    - contents: |
{%-   for name, value in proxy.service_environment.items() %}
        {{ name }}={{ value }}
{%-   endfor %}
    - require:
      - maia_k8s_dist: maia-k8s-rke2-settings-merged
{%- else %}
  file.absent:
    - name: {{ k8s.paths.rke2_environment }}
{%- endif %}
{%- if k8s.ufw %}
{%-   from "maia/k8s/firewall.jinja" import firewall_rules with context %}
{{- firewall_rules(k8s, rke2.firewall_ports, "maia-k8s-rke2") }}
{%- endif %}
