{#- MicroK8s from the snap store, launch configuration first, refreshes held; UFW ports. #}
{%- set k8s = salt["maia_map.stage"]("k8s").mapdata %}

maia-k8s-microk8s-launch-config-managed:
  file.serialize:
    - name: {{ k8s.paths.launch_config }}
    - dataset: {{ k8s.launch_config | json }}
    - serializer: yaml
    - makedirs: true
    - mode: '0644'

{%- from "maia/k8s/microk8s/snap.jinja" import microk8s_snap %}
{{ microk8s_snap(k8s, "maia-k8s-microk8s", [{"file": "maia-k8s-microk8s-launch-config-managed"}]) }}

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
