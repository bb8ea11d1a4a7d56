{#- NFS: the server exports /nfs to the NFS clients; clients mount it. #}
{%- from "maia/prepare/map.jinja" import maia with context %}
include:
  - maia.prepare.validate
{%- if maia.is_nfs_server %}
  - maia.prepare.nfs.server
{%- endif %}
{%- if maia.is_nfs_client %}
  - maia.prepare.nfs.client
{%- endif %}
{%- if not maia.is_nfs_server and not maia.is_nfs_client %}

maia-prepare-nfs-no-role-skipped:
  test.succeed_without_changes:
    - name: "{{ maia.id }} is neither in nfs_server nor in nfs_clients: NFS skipped"
{%- endif %}
