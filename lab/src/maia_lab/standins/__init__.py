"""Stand-ins for what this machine cannot run (docs/standins.md).

- ``kube_api``: a small Kubernetes API server (HTTPS, bearer token) that the
  official ``kubernetes`` Python client, its DynamicClient and
  saltext-kubernetes talk to, in place of a real kube-apiserver.
- ``microk8s``: ``snap`` and ``microk8s`` executables that only the test
  harness installs into a lab host, in place of snapd and MicroK8s.
- ``https_service``, ``keycloak_admin``, ``harbor``: HTTPS stand-ins of stage 4's
  services (Keycloak's admin REST, Harbor's configurations) behind an ingress
  stand-in that routes by host name.

Tests name the stand-in they use and run against real systems when
``MAIA_E2E_KUBECONFIG`` / ``MAIA_E2E_ROSTER`` are set.
"""


def lab_start(folder, bridge, hosts, record_pid):
    """`maia lab up --standins`: see ``maia_lab.standins.lab``."""
    from .lab import lab_start as start

    return start(folder, bridge, hosts, record_pid)


def lab_stop(pids):
    """`maia lab down`: end what ``lab_start`` started."""
    from .lab import lab_stop as stop

    stop(pids)
