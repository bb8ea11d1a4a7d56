"""maia-salt-lab: the lab (real Debian hosts in systemd-nspawn on a local bridge) and the stand-ins
for what this kind of machine cannot run (the Kubernetes API, MicroK8s, the ArgoCD controller).

A separate distribution from maia-salt: development machines and CI install it (``make setup``),
sites do not. It uses maia-salt (the inventory model, ``maia install``'s runner); maia-salt never
imports it, and finds its ``maia lab`` and ``maia demo`` commands through the ``maia.commands``
entry points.
"""
