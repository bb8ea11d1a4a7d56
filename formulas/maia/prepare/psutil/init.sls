{#- python3-psutil on the host: every Salt start over salt-ssh (three per host and stage-1 run)
    then reads the memory size through psutil instead of importing Salt's whole grains module,
    0.15 to 0.2 CPU-s less each (docs/orchestration.md). Salt minions from Salt's own packages
    bring their own Python and do not use it. #}
{%- from "maia/prepare/map.jinja" import mapdata with context %}
include:
  - maia.prepare.validate

maia-prepare-psutil-package-installed:
  pkg.installed:
    - pkgs: {{ mapdata.pkgs.psutil | json }}
    - require:
      - test: maia-prepare-inputs-checked
