{#- MicroK8s on a worker: the snap, as on the control plane (channel, classic, refreshes held);
    `microk8s join <control plane>:25000/<token> --worker` runs at join time. #}
{%- set k8s = salt["maia_map.stage"]("k8s").mapdata %}
{%- from "maia/k8s/microk8s/snap.jinja" import microk8s_snap %}

{{ microk8s_snap(k8s, "maia-k8s-worker-microk8s") }}
