{#- Remove the NVIDIA driver packages installed by maia.prepare.nvidia_drivers. #}
{%- set mapdata = salt["maia_map.stage"]("prepare").mapdata %}

maia-prepare-nvidia-driver-removed:
  pkg.removed:
    - pkgs: {{ mapdata.pkgs.nvidia | json }}
