"""The master side's half of a sealed hand-over (src/maia_salt/sealed.py): what it sends a host."""
import base64

import sys

import salt.utils.args

from maia_salt import sealed
from support.paths import REPO

# A public key that begins with a letter and ends in "=": sent bare, Salt reads "ed6f...k=" as a
# keyword argument named "ed6f...k" with an empty value (the host then refuses the call). This is the
# key a CI run drew when `maia backup` still sent it positionally.
KEY_THAT_LOOKS_LIKE_A_KEYWORD = "ed6f9aU1aPw2ExYkbc5hNUvnkLTKId3Uo0eVoQcIFmk="


def test_a_bare_key_would_be_misread_by_salt():
    """The hazard the keyword form avoids, shown with Salt's own parser (the one the host uses)."""
    args, kwargs = salt.utils.args.parse_input([KEY_THAT_LOOKS_LIKE_A_KEYWORD], condition=False)
    assert args == [] and list(kwargs) == [KEY_THAT_LOOKS_LIKE_A_KEYWORD[:-1]]


def test_every_value_reaches_the_host_as_the_keyword_it_was_given():
    """Whatever the key drawn (letters, digits, '+', '/', '='), Salt's parser gives the host
    back exactly the keywords and values the caller passed."""
    keys = [KEY_THAT_LOOKS_LIKE_A_KEYWORD, "0" * 43 + "=", "+/" * 21 + "a="]
    keys += [sealed.keypair()[1] for _ in range(50)]
    for key in keys:
        sent = {"recipient": key, "distribution": "microk8s", "paths": {"bin": "/snap/bin/microk8s"}}
        args, kwargs = salt.utils.args.parse_input(sealed.call_args(sent), condition=False)
        assert args == [] and kwargs == sent, key
    # an orchestration's mapping (an OrderedDict) reaches the host as a mapping too
    from collections import OrderedDict

    sent = {"paths": OrderedDict([("bin", "/usr/local/bin/k3s"), ("data_dir", "/var/lib/rancher/k3s")])}
    assert salt.utils.args.parse_input(sealed.call_args(sent), condition=False)[1] == sent


def test_what_a_host_seals_only_this_runs_key_opens():
    """The host side (_utils/maia_seal.py) seals to the public key the call carried; the master
    side opens it with the private half, and a bundle sealed to another run's key, or changed on
    the way, is refused without its data."""
    import pytest
    from salt.exceptions import CommandExecutionError

    sys.path.insert(0, str(REPO / "_utils"))
    import maia_seal  # noqa: PLC0415

    private, public = sealed.keypair()
    bundle = maia_seal.seal(public, b"ca.key bytes")
    assert set(bundle) == {"epk", "nonce", "sealed"} and b"ca.key bytes" not in base64.b64decode(bundle["sealed"])
    assert sealed.open_bundle(private, bundle) == b"ca.key bytes"
    other, _ = sealed.keypair()
    with pytest.raises(sealed.SealError):
        sealed.open_bundle(other, bundle)
    flipped = base64.b64decode(bundle["sealed"])
    tampered = dict(bundle, sealed=base64.b64encode(bytes([flipped[0] ^ 1]) + flipped[1:]).decode())
    with pytest.raises(sealed.SealError):
        sealed.open_bundle(private, tampered)
    with pytest.raises(CommandExecutionError, match="not a base64 X25519 public key"):
        maia_seal.seal("not-a-key", b"x")


def test_both_sides_run_one_sealed_box_and_a_kept_key_opens_it():
    """src/maia_salt/seal_box.py (the master side's) is _utils/maia_seal_box.py (the hosts'): one
    file. A worker keeps its private key as 32 raw bytes between the two calls of a join
    (maia_k8s_join.recipient, then join); the key read back opens what was sealed to it."""
    import pytest

    sys.path.insert(0, str(REPO / "_utils"))
    import maia_seal_box  # noqa: PLC0415
    from maia_salt import seal_box

    assert (REPO / "src/maia_salt/seal_box.py").resolve() == (REPO / "_utils/maia_seal_box.py").resolve()
    private, public = maia_seal_box.keypair()
    raw = maia_seal_box.private_bytes(private)
    assert len(raw) == 32
    bundle = seal_box.seal(public, b"K10abc::id.secret")
    assert maia_seal_box.open_box(maia_seal_box.private_from_bytes(raw), bundle) == b"K10abc::id.secret"
    with pytest.raises(maia_seal_box.BoxError):
        maia_seal_box.private_from_bytes(b"short")
    with pytest.raises(seal_box.BoxError, match="not a base64 X25519 public key"):
        seal_box.seal("not-a-key", b"x")
