"""Options every test's ``salt-call --local`` minion config shares.

The tests run their "hosts" on this machine. Salt's ``lvm`` grain would read this machine's volume
groups (``lvm vgs``, then an ``lvm lvs`` per group: about 4 s of a 6 s ``salt-call`` here, with the
volume groups the lab's storage tests leave), not a host's, and no maia state reads it: the tests
leave it out as ``maia validate``'s render does (``maia_salt.state_render.UNLOADED_GRAINS``).
"""
from maia_salt.state_render import UNLOADED_GRAINS

SKIP_MACHINE_GRAINS = {"disable_grains": list(UNLOADED_GRAINS)}
