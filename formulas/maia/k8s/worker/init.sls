{#- Stage 2 on a worker host (inventory group workers): the site's distribution installed as a
    node agent and told where the control plane is, nothing started: the agent starts when it
    joins (orch.maia's step maia-orch-workers-joined, _orch_states/maia_join.py, writes the join
    token and starts it). UFW: the ports the cluster's nodes reach a worker on. #}
{%- set k8s = salt["maia_map.stage"]("k8s").mapdata %}
{%- if k8s.connect_only %}

maia-k8s-worker-connect-only-skipped:
  test.succeed_without_changes:
    - name: "connect-only: join {{ grains.get('id') }} to the {{ k8s.distribution }} cluster yourself"
{%- else %}
include:
  - maia.k8s.client
  - maia.k8s.worker.{{ k8s.distribution }}
{%-   if k8s.ufw %}
  - maia.k8s.worker.firewall
{%-   endif %}
{%- endif %}
