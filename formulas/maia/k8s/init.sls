{#- Stage 2 on a control-plane host: the site's distribution (MicroK8s, k3s, k0s
    or rke2), OIDC, cluster CA, ArgoCD. Each part is switched by its maia:k8s flag
    inside its own folder. With maia:k8s:connect_only (a cluster maia-salt does
    not install), only the client packages. #}
{%- from "maia/k8s/map.jinja" import mapdata as k8s with context %}
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
