{#- `maia remove-host NAME` on the hosts that stay: delete the UFW rules that name the
    removed host's address and, on the NFS server, drop it from the /etc/exports line.
    Pillar maia:remove_host: {name, address} (orch.maia_remove_host passes it). #}
{%- set mapdata = salt["maia_map.stage"]("prepare").mapdata %}
{%- set maia = salt["maia_map.stage"]("prepare").maia %}
{%- set gone = salt["pillar.get"]("maia:remove_host", {}) %}
{%- set export = mapdata.nfs_export %}

maia-hosts-removed-{{ gone.name }}-known:
  test.succeed_without_changes:
    - name: "{{ gone.name }} ({{ gone.address }}) leaves the site"
{%- if mapdata.ufw %}

maia-hosts-removed-{{ gone.name }}-ufw-rule-deleted:
  maia_ufw.rule_absent:
    - source: {{ gone.address }}
{%-   if maia.is_nfs_server %}

maia-hosts-removed-{{ gone.name }}-ufw-nfs-rule-deleted:
  maia_ufw.rule_absent:
    - port: {{ mapdata.firewall.nfs_port }}
    - proto: tcp
    - source: {{ gone.address }}
{%-   endif %}
{%- endif %}
{%- if maia.is_nfs_server %}
{%-   if mapdata.nfs %}
{%-     set clients = ([maia.address] if maia.address else [])
                    + maia.nfs_clients | rejectattr("name", "equalto", gone.name) | map(attribute="address") | list
                    + mapdata.nfs_export_extra_clients %}

maia-hosts-removed-{{ gone.name }}-nfs-export-dropped:
  maia_storage.exported:
    - name: {{ export.dir }}
    - clients: {{ clients | json }}
    - options: {{ mapdata.nfs_export_options }}
    - config: {{ export.file }}

maia-hosts-removed-{{ gone.name }}-nfs-exports-reloaded:
  cmd.run:
    - name: exportfs -ra
    - onchanges:
      - maia_storage: maia-hosts-removed-{{ gone.name }}-nfs-export-dropped
{%-   endif %}
{%- endif %}
