{#- UFW: default incoming policy deny (set explicitly, not left to the
    package), SSH allowed, every other MAIA host allowed in (by IP), extra
    rules from pillar, on the NFS server 2049 from the NFS clients; then
    enabled (after every allow rule, so that enabling never cuts the SSH
    session). #}
{%- set mapdata = salt["maia_map.stage"]("prepare").mapdata %}
{%- set maia = salt["maia_map.stage"]("prepare").maia %}
{%- set rule_ids = [] %}
include:
  - maia.prepare.validate

maia-prepare-ufw-package-installed:
  pkg.installed:
    - pkgs: {{ mapdata.pkgs.ufw | json }}
    - require:
      - test: maia-prepare-inputs-checked

{%- if mapdata.ufw_allow_ssh %}

maia-prepare-ufw-rule-ssh-allowed:
  maia_ufw.rule_present:
    {#- the inventory's SSH port of this host when the pillar has it #}
    - port: {{ maia.host.get("ssh_port") or mapdata.firewall.ssh_port }}
    - proto: {{ mapdata.firewall.ssh_proto }}
    - require:
      - pkg: maia-prepare-ufw-package-installed
{%- do rule_ids.append("maia-prepare-ufw-rule-ssh-allowed") %}
{%- else %}

maia-prepare-ufw-rule-ssh-skipped:
  test.succeed_without_changes:
    - name: "maia:prepare:ufw_allow_ssh is false: no SSH rule added"
{%- endif %}
{#- Under a salt-minion, the Salt master's address: enabling UFW must not drop
    the minion's own connections (their first packets after the switch are
    filtered like new ones). salt-ssh rides on the SSH rule. #}
{%- set salt_master_ip = opts.get("master_ip") if opts.get("__role") == "minion" and opts.get("file_client") == "remote" else None %}
{%- if salt_master_ip and salt_master_ip not in ["127.0.0.1", "::1"] %}

maia-prepare-ufw-rule-salt-master-allowed:
  maia_ufw.rule_present:
    - source: {{ salt_master_ip | json }}
    - require:
      - pkg: maia-prepare-ufw-package-installed
{%- do rule_ids.append("maia-prepare-ufw-rule-salt-master-allowed") %}
{%- endif %}
{%- if not mapdata.ufw_allow_inter_node %}

maia-prepare-ufw-rule-peers-skipped:
  test.succeed_without_changes:
    - name: "maia:prepare:ufw_allow_inter_node is false: no rule lets the other MAIA hosts in"
{%- endif %}
{%- for peer in maia.peers if mapdata.ufw_allow_inter_node %}
{%-   set id = "maia-prepare-ufw-rule-from-" ~ peer.name ~ "-allowed" %}

{{ id }}:
  maia_ufw.rule_present:
    - source: {{ peer.address | json }}
    - require:
      - pkg: maia-prepare-ufw-package-installed
{%-   do rule_ids.append(id) %}
{%- endfor %}
{%- if mapdata.nfs and maia.is_nfs_server %}
{%-   for client in maia.nfs_clients %}
{%-     set id = "maia-prepare-ufw-rule-nfs-from-" ~ client.name ~ "-allowed" %}

{{ id }}:
  maia_ufw.rule_present:
    - port: {{ mapdata.firewall.nfs_port }}
    - proto: tcp
    - source: {{ client.address | json }}
    - require:
      - pkg: maia-prepare-ufw-package-installed
{%-     do rule_ids.append(id) %}
{%-   endfor %}
{%- endif %}
{%- for rule in mapdata.ufw_extra_rules %}
{%-   set id = "maia-prepare-ufw-rule-extra-" ~ loop.index ~ "-allowed" %}

{{ id }}:
  maia_ufw.rule_present:
    - port: {{ rule.get("port", "any") | string | json }}
    - proto: {{ rule.get("proto", "any") }}
    - source: {{ rule.get("from", "any") | string | json }}
    - action: {{ rule.get("action", "allow") }}
    - require:
      - pkg: maia-prepare-ufw-package-installed
{%-   do rule_ids.append(id) %}
{%- endfor %}

{#- after every allow rule: on an active firewall, denying first could cut the session #}
maia-prepare-ufw-default-incoming-denied:
  maia_ufw.default_policy:
    - policy: {{ mapdata.firewall.default_incoming }}
    - direction: incoming
    - require:
{%- for id in rule_ids %}
      - maia_ufw: {{ id }}
{%- endfor %}

maia-prepare-ufw-enabled:
  maia_ufw.enabled:
    - require:
      - maia_ufw: maia-prepare-ufw-default-incoming-denied
