{#- Stage 1 of `maia reset`: NFS exports and mounts, the CIFS plugin, the UFW rules
    (maia.prepare.<concern>.clean). The LVM storage stays unless
    maia:reset:wipe_storage is true: then maia.reset.storage unmounts the
    volumes and removes them, the volume group and its physical volumes (data
    lost). Packages and NVIDIA drivers stay. #}
{%- set wipe = salt["pillar.get"]("maia:reset:wipe_storage", False) | to_bool %}
include:
  - maia.prepare.drift.clean
  - maia.prepare.heal.clean
  - maia.prepare.nfs.clean
  - maia.prepare.cifs.clean
  - maia.prepare.ufw.clean
{%- if wipe %}
  - maia.reset.storage
{%- endif %}
