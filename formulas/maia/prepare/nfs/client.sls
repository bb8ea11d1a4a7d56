{#- NFS client: packages, mount point (nobody:nogroup 0777 by default, as the
    export), fstab line and mount of
    <nfs server IP (or its DNS name when no IP is known)>:/nfs with rw,sync,vers=4. #}
{%- set mapdata = salt["maia_map.stage"]("prepare").mapdata %}
{%- set maia = salt["maia_map.stage"]("prepare").maia %}
{%- set remote = maia.nfs_server_address ~ ":" ~ mapdata.nfs_export.dir %}
include:
  - maia.prepare.validate

maia-prepare-nfs-client-packages-installed:
  pkg.installed:
    - pkgs: {{ mapdata.pkgs.nfs_client | json }}
    - require:
      - test: maia-prepare-inputs-checked

maia-prepare-nfs-mountpoint-present:
  file.directory:
    - name: {{ mapdata.nfs_mount.dir }}
    - user: {{ mapdata.nfs_mount.user }}
    - group: {{ mapdata.nfs_mount.group }}
    - mode: '{{ mapdata.nfs_mount.mode }}'
    - makedirs: true
    - require:
      - pkg: maia-prepare-nfs-client-packages-installed

maia-prepare-nfs-fstab-entry-present:
  maia_storage.fstab_entry_present:
    - name: {{ mapdata.nfs_mount.dir }}
    - device: {{ remote }}
    - fstype: nfs
    - opts: {{ mapdata.nfs_mount_options }}
    - require:
      - file: maia-prepare-nfs-mountpoint-present

{%- if mapdata.nfs_share_mount %}

maia-prepare-nfs-share-mounted:
  mount.mounted:
    - name: {{ mapdata.nfs_mount.dir }}
    - device: {{ remote }}
    - fstype: nfs
    - opts: {{ mapdata.nfs_mount_options }}
    - persist: false
    - require:
      - maia_storage: maia-prepare-nfs-fstab-entry-present
{%- else %}

maia-prepare-nfs-mount-skipped:
  test.succeed_without_changes:
    - name: "maia:prepare:nfs_share_mount is false: NFS share mount skipped"
{%- endif %}
