{#- `maia reset --wipe-storage`: unmount the MAIA volumes (maia.prepare.lvm.clean),
    then remove the logical volumes, the MAIA_Storage volume group and its
    physical volumes. Only the devices that are PVs of that group now are touched.
    DATA ON THEM IS LOST. #}
{%- set mapdata = salt["maia_map.stage"]("prepare").mapdata %}
{%- set maia = salt["maia_map.stage"]("prepare").maia %}
{%- set vg = mapdata.storage.vg %}
{%- set info = salt["maia_storage.vg_info"](vg) if salt["maia_storage.lvm_installed"]() else None %}

include:
  - maia.prepare.lvm.clean
{%- if info %}
{%-   for vol in maia.volumes %}

maia-reset-storage-lv-{{ vol.lv }}-absent:
  lvm.lv_absent:
    - name: {{ vol.lv }}
    - vgname: {{ vg }}
    - require:
      - sls: maia.prepare.lvm.clean
    - require_in:
      - lvm: maia-reset-storage-vg-absent
{%-   endfor %}

maia-reset-storage-vg-absent:
  lvm.vg_absent:
    - name: {{ vg }}
    - require:
      - sls: maia.prepare.lvm.clean
{%-   for device in info.devices %}

maia-reset-storage-pv-{{ device }}-absent:
  lvm.pv_absent:
    - name: {{ device }}
    - require:
      - lvm: maia-reset-storage-vg-absent
{%-   endfor %}
{%- else %}

maia-reset-storage-vg-absent:
  test.succeed_without_changes:
    - name: "volume group {{ vg }} is not there: nothing to wipe"
{%- endif %}
