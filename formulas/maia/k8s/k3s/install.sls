{#- k3s from its pinned release binary (no install script), maia-salt's settings merged
    into /etc/rancher/k3s/config.yaml, its systemd unit; UFW ports. #}
{%- from "maia/k8s/map.jinja" import mapdata as k8s with context %}
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

maia-k8s-k3s-unit-managed:
  file.managed:
    - name: {{ k8s.paths.k3s_unit }}
    - makedirs: true
    - mode: '0644'
    - require:
      - maia_k8s_dist: maia-k8s-k3s-settings-merged
    - contents: |
        # maia-salt (maia.k8s.k3s): the k3s server, told which settings file to read
        [Unit]
        Description=k3s server (MAIA control plane)
        Wants=network-online.target
        After=network-online.target

        [Service]
        Type=notify
        # proxy settings (maia:cluster:proxy_ip) go in this optional file
        EnvironmentFile=-{{ k8s.paths.k3s_unit }}.env
        ExecStart={{ k3s.paths.bin }} server --config {{ k8s.paths.k3s_config }}
        # k3s' containers outlive a restart of the server process
        KillMode=process
        Delegate=yes
        LimitNOFILE=1048576
        TimeoutStartSec=0
        Restart=always
        RestartSec=5s

        [Install]
        WantedBy=multi-user.target

{#- a site behind a proxy (maia:cluster:proxy_ip): the service's environment file,
    which k3s passes on to its containerd; without proxy_ip, no such file #}
maia-k8s-k3s-proxy-environment:
{%- if proxy %}
  file.managed:
    - name: {{ k8s.paths.k3s_unit }}.env
    - mode: '0600'
    - contents: |
{%-   for name, value in proxy.service_environment.items() %}
        {{ name }}={{ value }}
{%-   endfor %}
    - require:
      - maia_k8s_dist: maia-k8s-k3s-settings-merged
{%- else %}
  file.absent:
    - name: {{ k8s.paths.k3s_unit }}.env
{%- endif %}
{%- if k8s.ufw %}
{%-   from "maia/k8s/firewall.jinja" import firewall_rules with context %}
{{- firewall_rules(k8s, k3s.firewall_ports, "maia-k8s-k3s") }}
{%- endif %}
