{#- Remove the CIFS flexVolume plugin directory (scripts and private key). #}
{%- from "maia/prepare/map.jinja" import mapdata, maia with context %}
{%- set dirs = mapdata.cifs_plugin.dirs %}

maia-prepare-cifs-plugin-dir-absent:
  file.absent:
    - name: {{ dirs.get(maia.k8s_distribution, dirs.default) }}
