{#- VG MAIA_Storage from device_list; LV maia_0_local (and maia_0 on the NFS
    server) formatted ext4 only when unformatted, in fstab by UUID, mounted. #}
{%- set mapdata = salt["maia_map.stage"]("prepare").mapdata %}
{%- set maia = salt["maia_map.stage"]("prepare").maia %}
{%- set vg = mapdata.storage.vg %}
include:
  - maia.prepare.validate

maia-prepare-lvm-packages-installed:
  pkg.installed:
    - pkgs: {{ mapdata.pkgs.lvm | json }}
    - require:
      - test: maia-prepare-inputs-checked

maia-prepare-lvm-vg-{{ vg }}-present:
  maia_storage.vg_present:
    - name: {{ vg }}
    - devices: {{ maia.host.get("device_list", []) | json }}
    - require:
      - pkg: maia-prepare-lvm-packages-installed
{%- for vol in (maia.volumes if mapdata.lvm_volumes else []) %}
{%-   set device = "/dev/" ~ vg ~ "/" ~ vol.lv %}

maia-prepare-lvm-lv-{{ vol.lv }}-present:
  maia_storage.lv_present:
    - name: {{ vol.lv }}
    - vg: {{ vg }}
    - size: {{ vol.size | string | json }}
    - require:
      - maia_storage: maia-prepare-lvm-vg-{{ vg }}-present
{%-   if not loop.first %}
      - maia_storage: maia-prepare-lvm-lv-{{ loop.previtem.lv }}-present
{%-   endif %}

maia-prepare-lvm-lv-{{ vol.lv }}-formatted:
  maia_storage.formatted:
    - name: {{ device }}
    - fstype: {{ mapdata.storage.fstype }}
    - require:
      - maia_storage: maia-prepare-lvm-lv-{{ vol.lv }}-present

maia-prepare-lvm-lv-{{ vol.lv }}-mounted:
  maia_storage.mounted:
    - name: {{ vol.mountpoint }}
    - device: {{ device }}
    - fstype: {{ mapdata.storage.fstype }}
    - opts: {{ mapdata.storage.mount_options }}
    - require:
      - maia_storage: maia-prepare-lvm-lv-{{ vol.lv }}-formatted
{%- endfor %}
{%- if not mapdata.lvm_volumes %}

maia-prepare-lvm-volumes-skipped:
  test.succeed_without_changes:
    - name: "maia:prepare:lvm_volumes is false: logical volumes skipped"
{%- endif %}
