{#- NFS server: packages, /nfs (nobody:nogroup 0777 with no_root_squash, or
    root:maia-nfs 2775 with maia:prepare:nfs_root_squash; on LV maia_0 when LVM
    is on), /etc/exports line for the NFS clients' and its own IP only (plus
    the targets named in maia:prepare:nfs_export_extra_clients), service
    enabled and running, exports reloaded only when the line changed. #}
{%- set mapdata = salt["maia_map.stage"]("prepare").mapdata %}
{%- set maia = salt["maia_map.stage"]("prepare").maia %}
{%- set export = mapdata.nfs_export %}
{#- The server's own address too: kubelet on this node mounts the share for
    pods of the NFS provisioner scheduled here. #}
{%- set clients = ([maia.address] if maia.address else []) + maia.nfs_clients | map(attribute="address") | list + mapdata.nfs_export_extra_clients %}
include:
  - maia.prepare.validate
{%- if mapdata.lvm %}
  - maia.prepare.lvm
{%- endif %}

maia-prepare-nfs-server-packages-installed:
  pkg.installed:
    - pkgs: {{ mapdata.pkgs.nfs_server | json }}
    - require:
      - test: maia-prepare-inputs-checked

{%- if mapdata.nfs_root_squash %}

maia-prepare-nfs-export-group-present:
  group.present:
    - name: {{ mapdata.nfs_export_group.name }}
    - gid: {{ mapdata.nfs_export_group.gid }}
    - require_in:
      - file: maia-prepare-nfs-export-dir-present
{%- endif %}

maia-prepare-nfs-export-dir-present:
  file.directory:
    - name: {{ export.dir }}
    - user: {{ export.user }}
    - group: {{ export.group }}
    - mode: "{{ export.mode }}"
    - makedirs: true
    - require:
      - pkg: maia-prepare-nfs-server-packages-installed
{%- if mapdata.lvm %}
      {#- the whole of maia.prepare.lvm: /nfs is then the mounted LV maia_0 #}
      - sls: maia.prepare.lvm
{%- endif %}

maia-prepare-nfs-exports-entry-present:
  maia_storage.exported:
    - name: {{ export.dir }}
    - clients: {{ clients | json }}
    - options: {{ mapdata.nfs_export_options }}
    - config: {{ export.file }}
    - require:
      - file: maia-prepare-nfs-export-dir-present

maia-prepare-nfs-server-service-enabled:
  service.enabled:
    - name: {{ mapdata.services.nfs_server }}
    - require:
      - pkg: maia-prepare-nfs-server-packages-installed

{%- if mapdata.nfs_server_start %}

maia-prepare-nfs-server-service-running:
  service.running:
    - name: {{ mapdata.services.nfs_server }}
    - reload: true
    - require:
      - service: maia-prepare-nfs-server-service-enabled
    - watch:
      - maia_storage: maia-prepare-nfs-exports-entry-present
{%- else %}

maia-prepare-nfs-server-start-skipped:
  test.succeed_without_changes:
    - name: "maia:prepare:nfs_server_start is false: NFS server start skipped"
{%- endif %}
