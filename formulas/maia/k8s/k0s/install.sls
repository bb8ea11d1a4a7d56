{#- k0s from its pinned release binary (no install script), maia-salt's settings merged
    into /etc/k0s/k0s.yaml, the controller service (single-node, or a node beside worker hosts) written by
    `k0s install controller` and told to read that file; proxy drop-in; UFW ports. #}
{%- set k8s = salt["maia_map.stage"]("k8s").mapdata %}
{%- from "maia/proxy.jinja" import proxy_settings with context %}
{%- from "maia/k8s/service_dist.jinja" import release_binary %}
{%- set proxy = proxy_settings("k0s") | load_json %}
{%- set k0s = k8s.k0s %}
{%- set config, data_dir = k8s.paths.k0s_config, k0s.paths.data_dir %}

{{ release_binary("k0s", k0s.paths.bin, k0s.release) }}

maia-k8s-k0s-settings-merged:
  maia_k8s_dist.settings_merged:
    - name: {{ config }}
    - settings: {{ k8s.k0s_settings | json }}
    - mode: '0600'
    - require:
      - file: maia-k8s-k0s-binary-installed

{#- one node (--single: controller and worker, as the collection's role does), or, with worker hosts,
    a controller that is a node too (--enable-worker) and takes workloads (--no-taints) #}
{%- set mode_args = ["--enable-worker", "--no-taints"] if k8s.workers else ["--single"] %}

{#- k0s writes its unit itself; a unit whose ExecStart lacks these arguments (one installed
    without --config reads no settings file) is written again with --force #}
maia-k8s-k0s-unit-installed:
  maia_k8s_dist.unit_installed:
    - name: {{ k8s.paths.k0s_unit }}
    - install_cmd: {{ ([k0s.paths.bin, "install", "controller"] + mode_args + ["--config", config, "--data-dir", data_dir]) | json }}
    - exec_args: {{ (["controller", "--config=" ~ config, "--data-dir=" ~ data_dir] + mode_args | map("regex_replace", "$", "=true") | list) | json }}
    - force_arg: --force
    - require:
      - maia_k8s_dist: maia-k8s-k0s-settings-merged

{#- a site behind a proxy (maia:cluster:proxy_ip): the service's environment, which k0s
    passes on to its containerd, in a drop-in beside the unit k0s owns; without proxy_ip, none #}
{%- from "maia/k8s/proxy.jinja" import proxy_environment %}
{{ proxy_environment("maia-k8s-k0s-proxy-environment", k8s.paths.k0s_unit ~ ".d/maia-proxy.conf", proxy,
                     {"maia_k8s_dist": "maia-k8s-k0s-unit-installed"}, dropin=True, sls="maia.k8s.k0s") }}
{%- if k8s.ufw %}
{%-   from "maia/k8s/firewall.jinja" import firewall_rules with context %}
{{- firewall_rules(k8s, k0s.firewall_ports, "maia-k8s-k0s") }}
{%- endif %}
