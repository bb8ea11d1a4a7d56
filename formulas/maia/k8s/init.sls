{#- Stage 2 on a control-plane host: the site's distribution (MicroK8s, k3s, k0s
    or rke2), OIDC, cluster CA, ArgoCD. Each part is switched by its maia:k8s flag
    inside its own folder. With maia:k8s:connect_only (a cluster maia-salt does
    not install), only the client packages. #}
{%- set k8s = salt["maia_map.stage"]("k8s").mapdata %}
{%- from "maia/k8s/service_dist.jinja" import export_compared %}
include:
  - maia.k8s.client
{%- if k8s.connect_only %}

maia-k8s-connect-only:
  test.succeed_without_changes:
    - name: "connect-only: the {{ k8s.distribution }} cluster is left as it is; stage 3 uses the kubeconfig at {{ k8s.kubeconfig }}"
{%- else %}
  - {{ k8s.dist_sls }}
  - maia.k8s.oidc
  - maia.k8s.ca
  - maia.k8s.argocd
{%-   if k8s.workers and k8s.ufw %}
  - maia.k8s.worker.control_plane
{%-   endif %}
{%- endif %}
{%- if k8s.connect_only or not (k8s.install or k8s.connect) %}

{#- nothing is exported in this run (the distribution's export does it, then compares): the
    kubeconfig fetch takes what the site put at the export paths #}
{{ export_compared(k8s) }}
{%- endif %}
