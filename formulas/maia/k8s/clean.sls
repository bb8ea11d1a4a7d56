{#- Undo maia.k8s, last part first. #}
include:
  - maia.k8s.argocd.clean
  - maia.k8s.ca.clean
  - maia.k8s.oidc.clean
  - maia.k8s.microk8s.clean
