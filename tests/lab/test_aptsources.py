"""The lab reads mirrors from apt configuration files at run time (no root needed)."""
from __future__ import annotations

import os

from maia_lab.lab import aptsources


def _apt_dir(tmp_path, files):
    for rel, text in files.items():
        path = tmp_path / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return str(tmp_path)


LIST = """\
# comment
deb http://mirror-a.example/debian bookworm main contrib
deb [arch=amd64 signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://mirror-a.example/debian bookworm-updates main
deb-src http://src.example/debian bookworm main
# deb http://disabled.example/debian bookworm main
"""
SOURCES = """\
Types: deb
URIs: http://security.example/debian-security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: https://vendor.example/apt
Suites: nodistro
Components: main
Signed-By: /usr/share/keyrings/vendor.gpg

Enabled: no
Types: deb
URIs: http://off.example/debian
Suites: bookworm
Components: main
"""


def test_mirror_hosts_come_from_every_enabled_source(tmp_path):
    d = _apt_dir(tmp_path, {
        "sources.list": LIST,
        "sources.list.d/a.sources": SOURCES,
        "sources.list.d/b.list.disabled": "deb http://ignored.example/debian bookworm main\n",
    })
    assert aptsources.mirror_hosts(d) == ["mirror-a.example", "src.example", "security.example", "vendor.example"]


def test_sources_for_suite_rewrites_distribution_entries_only(tmp_path):
    d = _apt_dir(tmp_path, {"sources.list": LIST, "sources.list.d/a.sources": SOURCES})
    out = aptsources.sources_for_suite("trixie", d, codename="bookworm")
    assert [(s.uri, s.suites) for s in out] == [
        ("http://mirror-a.example/debian", ["trixie"]),
        ("http://mirror-a.example/debian", ["trixie-updates"]),
        ("http://security.example/debian-security", ["trixie-security"]),
    ]
    text = aptsources.render_deb822(out)
    assert "vendor.example" not in text and "Suites: trixie-security" in text
    assert aptsources.debootstrap_mirror(d, codename="bookworm") == "http://mirror-a.example/debian"


def test_no_mirror_is_a_clear_error(tmp_path):
    d = _apt_dir(tmp_path, {"sources.list": "# nothing\n"})
    try:
        aptsources.debootstrap_mirror(d, codename="bookworm")
    except RuntimeError as exc:
        assert "bookworm" in str(exc) and "sources.list" in str(exc)
    else:
        raise AssertionError("expected RuntimeError")


def test_this_machine_names_no_registry_in_the_repo():
    """The lab package must not carry a mirror host name: it reads them at run time."""
    pkg = os.path.dirname(aptsources.__file__)
    names = set(aptsources.mirror_hosts())
    for root, _, files in os.walk(pkg):
        for f in files:
            if f.endswith((".py", ".conf", ".md", ".txt")):
                with open(os.path.join(root, f), encoding="utf-8") as fh:
                    text = fh.read()
                for name in names:
                    assert name not in text, f"{name} written in {f}"
