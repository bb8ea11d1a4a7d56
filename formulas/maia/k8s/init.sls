{#- Stage 2 on a control-plane host: MicroK8s, OIDC, cluster CA, ArgoCD.
    Each part is switched by its maia:k8s flag inside its own folder. #}
include:
  - maia.k8s.client
  - maia.k8s.microk8s
  - maia.k8s.oidc
  - maia.k8s.ca
  - maia.k8s.argocd
