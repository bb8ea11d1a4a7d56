maia-k8s-argocd-placeholder:
  test.nop: []
