maia-k8s-ca-placeholder:
  test.nop: []
