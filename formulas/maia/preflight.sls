{#- maia.preflight: this host's preflight checks as the first state of its run (order 1,
    failhard: an error stops every later state of the host). orch.maia's one-job run puts it
    first in each host's maia:orch:parts in place of the preflight job (docs/orchestration.md,
    "One job per host on a converged site"); maia:orch:clock is the master's clock as it
    sent the job out, which this host's clock is checked against. Read-only. #}
{%- set clock = ((pillar.get("maia") or {}).get("orch") or {}).get("clock") %}

maia-preflight-checked:
  maia_preflight.checked:
    - name: {{ grains["id"] | json }}
{%- if clock %}
    - clock: {{ clock | json }}
{%- endif %}
    - order: 1
    - failhard: true
