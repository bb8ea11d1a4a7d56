{#- Disable UFW and delete the rules maia.prepare.ufw added (the package stays). #}
{%- set mapdata = salt["maia_map.stage"]("prepare").mapdata %}
{%- set maia = salt["maia_map.stage"]("prepare").maia %}

maia-prepare-ufw-disabled:
  maia_ufw.disabled: []
{%- for peer in maia.peers %}

maia-prepare-ufw-rule-from-{{ peer.name }}-deleted:
  maia_ufw.rule_absent:
    - source: {{ peer.address | json }}
    - require:
      - maia_ufw: maia-prepare-ufw-disabled
{%- endfor %}
{%- if maia.is_nfs_server %}
{%-   for client in maia.nfs_clients %}

maia-prepare-ufw-rule-nfs-from-{{ client.name }}-deleted:
  maia_ufw.rule_absent:
    - port: {{ mapdata.firewall.nfs_port }}
    - proto: tcp
    - source: {{ client.address | json }}
    - require:
      - maia_ufw: maia-prepare-ufw-disabled
{%-   endfor %}
{%- endif %}
{%- for rule in mapdata.ufw_extra_rules %}

maia-prepare-ufw-rule-extra-{{ loop.index }}-deleted:
  maia_ufw.rule_absent:
    - port: {{ rule.get("port", "any") | string | json }}
    - proto: {{ rule.get("proto", "any") }}
    - source: {{ rule.get("from", "any") | string | json }}
    - action: {{ rule.get("action", "allow") }}
    - require:
      - maia_ufw: maia-prepare-ufw-disabled
{%- endfor %}
