{#- Remove the NVIDIA driver packages installed by maia.prepare.nvidia_drivers. #}
{%- from "maia/prepare/map.jinja" import mapdata with context %}

maia-prepare-nvidia-driver-removed:
  pkg.removed:
    - pkgs: {{ mapdata.pkgs.nvidia | json }}
