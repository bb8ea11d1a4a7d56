{#- Remove the CIFS flexVolume plugin directory (scripts and private key). #}
{%- set mapdata = salt["maia_map.stage"]("prepare").mapdata %}
{%- set maia = salt["maia_map.stage"]("prepare").maia %}
{%- set dirs = mapdata.cifs_plugin.dirs %}

maia-prepare-cifs-plugin-dir-absent:
  file.absent:
    - name: {{ dirs.get(maia.k8s_distribution, dirs.default) }}
