{#- NFS: the server exports /nfs to the NFS clients; clients mount it. #}
{%- set maia = salt["maia_map.stage"]("prepare").maia %}
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
