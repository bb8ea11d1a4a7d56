{#- MicroK8s from the snap store, launch configuration first, refreshes held. #}
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
{#- Each port from any source, or only from the networks listed for it
    (maia:k8s:api_allowed_sources for the API port, web_allowed_sources for
    80/443); a restricted port loses its rule from any. #}
{%-   for port in k8s.firewall_ports %}
{%-     set number, proto = (port ~ "/tcp").split("/")[:2] %}
{%-     if number == k8s.api_port | string %}
{%-       set sources = k8s.api_allowed_sources %}
{%-     elif number in ["80", "443"] %}
{%-       set sources = k8s.web_allowed_sources %}
{%-     else %}
{%-       set sources = [] %}
{%-     endif %}
{%-     if not sources %}

maia-k8s-microk8s-ufw-{{ number }}-{{ proto }}-allowed:
  maia_ufw.rule_present:
    - port: {{ number }}
    - proto: {{ proto }}
{%-     else %}

maia-k8s-microk8s-ufw-{{ number }}-{{ proto }}-from-any-absent:
  maia_ufw.rule_absent:
    - port: {{ number }}
    - proto: {{ proto }}
    - require:
{%-       for source in sources %}
      - maia_ufw: maia-k8s-microk8s-ufw-{{ number }}-{{ proto }}-from-{{ source | replace("/", "_") | replace(":", "_") }}-allowed
{%-       endfor %}
{%-       for source in sources %}

maia-k8s-microk8s-ufw-{{ number }}-{{ proto }}-from-{{ source | replace("/", "_") | replace(":", "_") }}-allowed:
  maia_ufw.rule_present:
    - port: {{ number }}
    - proto: {{ proto }}
    - source: {{ source | string | json }}
{%-       endfor %}
{%-     endif %}
{%-   endfor %}
{%- endif %}
