"""The grain maia_default_ipv4 (_grains/maia_net.py) on route tables and
interface data as Linux and Salt give them (no network is touched)."""

import pytest

from support.modules import load_salt_module

grain = load_salt_module("_grains/maia_net.py", "maia_net_grain")

ROUTES = """\
Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT
eth1\t00000000\t0100A8C0\t0003\t0\t0\t200\t00000000\t0\t0\t0
eth0\t00000000\t010012C6\t0003\t0\t0\t100\t00000000\t0\t0\t0
eth0\t000012C6\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0
"""
IFACES = {
    "lo": {"inet": [{"address": "127.0.0.1"}]},
    "eth0": {"inet": [{"address": "198.18.0.21"}]},
    "eth1": {"inet": [{"address": "192.168.0.5"}]},
}


def test_default_route_with_lowest_metric(tmp_path):
    routes = tmp_path / "route"
    routes.write_text(ROUTES)
    iface = grain._default_route_interface(str(routes))
    assert iface == "eth0"
    assert grain._default_ipv4(IFACES, iface) == "198.18.0.21"


@pytest.mark.parametrize("ifaces, expected", [
    ({"lo": IFACES["lo"], "host0": {"inet": [{"address": "198.18.0.12"}]}}, "198.18.0.12"),
    (IFACES, ""),  # two candidates and no default route: nothing guessed
])
def test_without_default_route(tmp_path, ifaces, expected):
    routes = tmp_path / "route"
    routes.write_text(ROUTES.splitlines()[0] + "\n" + ROUTES.splitlines()[3] + "\n")
    assert grain._default_route_interface(str(routes)) is None
    assert grain._default_ipv4(ifaces, None) == expected


def test_the_module_offers_salt_one_grain_function():
    """Salt calls every public function of a grains module: only the grain itself may be public."""
    public = [n for n, f in vars(grain).items() if callable(f) and not n.startswith("_")
              and getattr(f, "__module__", None) == grain.__name__]
    assert public == ["maia_default_ipv4"]
