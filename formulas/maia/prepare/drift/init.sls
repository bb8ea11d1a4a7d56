{#- The scheduled drift check (docs/operations.md, "Scheduled drift checks"): with pillar
    maia:drift:interval set (seconds), the minion's scheduler runs maia_drift.check that often,
    and its return reaches the master's job cache (maia status). interval 0 removes the job;
    no interval at all leaves the scheduler alone (salt-ssh and salt-call --local hosts have no
    scheduler to ask). #}
{%- import_yaml "maia/parameters/defaults.yaml" as defaults %}
{%- set drift = salt["slsutil.merge"](defaults.drift, salt["pillar.get"]("maia:drift", {}) or {}, strategy="recurse") %}
{%- if drift.interval is none %}

maia-prepare-drift-skipped:
  test.succeed_without_changes:
    - name: "maia:drift:interval is not set: no scheduled drift check"
{%- elif drift.interval | int > 0 %}

maia-prepare-drift-check-scheduled:
  schedule.present:
    - name: {{ drift.job }}
    - function: maia_drift.check
    - seconds: {{ drift.interval | int }}
    - splay: {{ drift.splay | int }}
    - return_job: true
    - persist: true
{%- else %}

maia-prepare-drift-check-unscheduled:
  schedule.absent:
    - name: {{ drift.job }}
    - persist: true
{%- endif %}
