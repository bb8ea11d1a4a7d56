{#- MicroK8s from the snap store, launch configuration first, refreshes held; UFW ports. #}
{%- from "maia/k8s/map.jinja" import mapdata as k8s with context %}

{%- if k8s.snapd_package %}
maia-k8s-microk8s-snapd-installed:
  pkg.installed:
    - name: {{ k8s.snapd_package }}
{%- endif %}

maia-k8s-microk8s-launch-config-managed:
  file.serialize:
    - name: {{ k8s.paths.launch_config }}
    - dataset: {{ k8s.launch_config | json }}
    - serializer: yaml
    - makedirs: true
    - mode: '0644'

maia-k8s-microk8s-snap-installed:
  maia_snap.installed:
    - name: microk8s
    - channel: {{ k8s.microk8s_channel }}
    - classic: true
    - hold: {{ k8s.hold_refreshes }}
    - snap_cmd: {{ k8s.snap_cmd }}
    - require:
      - file: maia-k8s-microk8s-launch-config-managed
{%- if k8s.snapd_package %}
      - pkg: maia-k8s-microk8s-snapd-installed
{%- endif %}

{%- for user in k8s.admin_users %}

maia-k8s-microk8s-user-{{ user }}-in-group-microk8s:
  group.present:
    - name: microk8s
    - addusers: [{{ user }}]
    - require:
      - maia_snap: maia-k8s-microk8s-snap-installed
{%- endfor %}

{%- if k8s.ufw %}
{%-   from "maia/k8s/firewall.jinja" import firewall_rules with context %}
{{- firewall_rules(k8s, k8s.firewall_ports, "maia-k8s-microk8s") }}
{%- endif %}
