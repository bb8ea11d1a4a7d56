{#- CIFS flexVolume plugin (our own `cifs` driver and decrypt_string.py,
    shipped in this formula), the private key as private_key.pem (0600),
    then `cifs init`. Skipped when pillar maia:cifs:private_key is empty
    (no cifs_key in CONFIG_FOLDER). #}
{%- set mapdata = salt["maia_map.stage"]("prepare").mapdata %}
{%- set maia = salt["maia_map.stage"]("prepare").maia %}
{%- set dirs = mapdata.cifs_plugin.dirs %}
{%- set plugin_dir = dirs.get(maia.k8s_distribution, dirs.default) %}
{%- set tofs = "salt://maia/prepare/cifs/files/" %}
include:
  - maia.prepare.validate
{%- if not maia.cifs_private_key %}

maia-prepare-cifs-no-key-skipped:
  test.succeed_without_changes:
    - name: "no CIFS key configured (pillar maia:cifs:private_key, from CONFIG_FOLDER/cifs_key): CIFS skipped"
{%- else %}

maia-prepare-cifs-packages-installed:
  pkg.installed:
    - pkgs: {{ mapdata.pkgs.cifs | json }}
    - require:
      - test: maia-prepare-inputs-checked

maia-prepare-cifs-plugin-dir-present:
  file.directory:
    - name: {{ plugin_dir }}
    - user: root
    - group: root
    - mode: "0755"
    - makedirs: true
    - require:
      - pkg: maia-prepare-cifs-packages-installed
{%-   for script in ["cifs", "decrypt_string.py"] %}

maia-prepare-cifs-plugin-{{ script | replace(".", "-") }}-installed:
  file.managed:
    - name: {{ plugin_dir }}/{{ script }}
    - source:
      - {{ tofs }}{{ maia.id }}/{{ script }}
      - {{ tofs }}default/{{ script }}
    - user: root
    - group: root
    - mode: "0755"
    - require:
      - file: maia-prepare-cifs-plugin-dir-present
{%-   endfor %}

maia-prepare-cifs-private-key-installed:
  file.managed:
    - name: {{ plugin_dir }}/{{ mapdata.cifs_plugin.key_file }}
    - contents_pillar: maia:cifs:private_key
    - user: root
    - group: root
    - mode: "0600"
    - show_changes: false
    - require:
      - file: maia-prepare-cifs-plugin-dir-present

maia-prepare-cifs-plugin-initialised:
  cmd.run:
    - name: {{ plugin_dir }}/cifs init
    - onchanges:
      - file: maia-prepare-cifs-plugin-cifs-installed
    - require:
      - file: maia-prepare-cifs-plugin-decrypt_string-py-installed
      - file: maia-prepare-cifs-private-key-installed
{%- endif %}
