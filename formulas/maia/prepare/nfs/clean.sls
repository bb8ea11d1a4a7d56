{#- Undo maia.prepare.nfs: unmount and drop the fstab line on clients; on the
    server drop the /etc/exports line and re-export. Packages and /nfs data stay. #}
{%- set mapdata = salt["maia_map.stage"]("prepare").mapdata %}
{%- set maia = salt["maia_map.stage"]("prepare").maia %}
{%- if maia.is_nfs_client %}

maia-prepare-nfs-share-unmounted:
  mount.unmounted:
    - name: {{ mapdata.nfs_mount.dir }}
    - persist: true
{%- endif %}
{%- if maia.is_nfs_server %}

maia-prepare-nfs-exports-entry-absent:
  file.replace:
    - name: {{ mapdata.nfs_export.file }}
    - pattern: '^{{ mapdata.nfs_export.dir }}\s.*\n'
    - repl: ''
    - ignore_if_missing: true

maia-prepare-nfs-exports-reloaded:
  cmd.run:
    - name: exportfs -ra
    - onchanges:
      - file: maia-prepare-nfs-exports-entry-absent
{%- endif %}
