{#- Undo maia.prepare.lvm's mounts and fstab lines. The logical volumes, the
    volume group and their data are kept on purpose: removing them destroys
    data, do it by hand (lvremove/vgremove) if you mean it. #}
{%- set mapdata = salt["maia_map.stage"]("prepare").mapdata %}
{%- set maia = salt["maia_map.stage"]("prepare").maia %}
{%- for vol in maia.volumes %}

maia-prepare-lvm-lv-{{ vol.lv }}-unmounted:
  mount.unmounted:
    - name: {{ vol.mountpoint }}
    - persist: true
{%- endfor %}
