{#- k3s from its pinned release binary (no install script), maia-salt's settings merged
    into /etc/rancher/k3s/config.yaml, its systemd unit; UFW ports. #}
{%- set k8s = salt["maia_map.stage"]("k8s").mapdata %}
{%- from "maia/proxy.jinja" import proxy_settings with context %}
{%- set proxy = proxy_settings("k3s") | load_json %}
{%- set k3s = k8s.k3s %}
{%- set release = k3s.release %}
{%- from "maia/k8s/service_dist.jinja" import release_binary %}

{{ release_binary("k3s", k3s.paths.bin, release, hash_name="k3s") }}

maia-k8s-k3s-settings-merged:
  maia_k8s_dist.settings_merged:
    - name: {{ k8s.paths.k3s_config }}
    - settings: {{ k8s.k3s_settings | json }}
    - mode: '0600'
    - require:
      - file: maia-k8s-k3s-binary-installed

{%- from "maia/k8s/k3s/unit.jinja" import k3s_unit %}
{{ k3s_unit("maia-k8s-k3s-unit-managed", k8s.paths.k3s_unit, k3s.paths.bin, k8s.paths.k3s_config, "server",
            "maia.k8s.k3s", "k3s server (MAIA control plane)", {"maia_k8s_dist": "maia-k8s-k3s-settings-merged"}) }}

{#- a site behind a proxy (maia:cluster:proxy_ip): the service's environment file,
    which k3s passes on to its containerd; without proxy_ip, no such file #}
{%- from "maia/k8s/proxy.jinja" import proxy_environment %}
{{ proxy_environment("maia-k8s-k3s-proxy-environment", k8s.paths.k3s_unit ~ ".env", proxy,
                     {"maia_k8s_dist": "maia-k8s-k3s-settings-merged"}) }}
{%- if k8s.ufw %}
{%-   from "maia/k8s/firewall.jinja" import firewall_rules with context %}
{{- firewall_rules(k8s, k3s.firewall_ports, "maia-k8s-k3s") }}
{%- endif %}
