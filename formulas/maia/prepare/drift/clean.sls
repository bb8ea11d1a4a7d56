{#- maia reset: the scheduled drift check goes (only where maia:drift:interval is set: a host
    without it has no such job, and salt-ssh hosts have no scheduler to ask). #}
{%- import_yaml "maia/parameters/defaults.yaml" as defaults %}
{%- set drift = salt["slsutil.merge"](defaults.drift, salt["pillar.get"]("maia:drift", {}) or {}, strategy="recurse") %}
{%- if drift.interval is none %}

maia-prepare-drift-clean-skipped:
  test.succeed_without_changes:
    - name: "maia:drift:interval is not set: no scheduled drift check to remove"
{%- else %}

maia-prepare-drift-check-removed:
  schedule.absent:
    - name: {{ drift.job }}
    - persist: true
{%- endif %}
