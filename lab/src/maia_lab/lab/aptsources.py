"""Read this machine's own apt configuration at run time.

The lab never names a package registry itself: the mirrors its hosts use, and
the only host names its HTTP proxy forwards to, come from the apt sources of
the machine the lab runs on (``/etc/apt/sources.list``,
``/etc/apt/sources.list.d/*.list`` and ``*.sources``).
"""
from __future__ import annotations

import dataclasses
import glob
import os
import re
import subprocess
from urllib.parse import urlsplit

APT_DIR = "/etc/apt"


@dataclasses.dataclass
class Source:
    """One enabled apt source entry (one URI with its suites and components)."""

    types: list[str]
    uri: str
    suites: list[str]
    components: list[str]
    signed_by: str = ""

    @property
    def host(self) -> str:
        return urlsplit(self.uri).hostname or ""


def _parse_list(text: str) -> list[Source]:
    sources = []
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        options = ""
        m = re.match(r"^(deb(?:-src)?)\s+\[([^\]]*)\]\s+(.*)$", line)
        if m:
            typ, options, rest = m.group(1), m.group(2), m.group(3)
        else:
            parts = line.split(None, 1)
            if len(parts) < 2 or parts[0] not in ("deb", "deb-src"):
                continue
            typ, rest = parts
        fields = rest.split()
        if len(fields) < 2:
            continue
        signed_by = ""
        for opt in options.split():
            if opt.startswith("signed-by="):
                signed_by = opt.split("=", 1)[1]
        sources.append(Source([typ], fields[0], [fields[1]], fields[2:], signed_by))
    return sources


def _parse_deb822(text: str) -> list[Source]:
    sources = []
    for stanza in re.split(r"\n\s*\n", text):
        fields: dict[str, str] = {}
        key = None
        for raw in stanza.splitlines():
            if raw.lstrip().startswith("#") or not raw.strip():
                continue
            if raw[0] in " \t" and key:
                fields[key] += "\n" + raw.strip()
                continue
            if ":" not in raw:
                continue
            key, value = raw.split(":", 1)
            key = key.strip().lower()
            fields[key] = value.strip()
        if not fields.get("uris"):
            continue
        if fields.get("enabled", "yes").strip().lower() in ("no", "false", "0"):
            continue
        for uri in fields["uris"].split():
            sources.append(
                Source(
                    fields.get("types", "deb").split(),
                    uri,
                    fields.get("suites", "").split(),
                    fields.get("components", "").split(),
                    fields.get("signed-by", "").strip(),
                )
            )
    return sources


def read_sources(apt_dir: str = APT_DIR) -> list[Source]:
    """Every enabled source of this machine, in apt's reading order."""
    sources: list[Source] = []
    main = os.path.join(apt_dir, "sources.list")
    if os.path.isfile(main):
        with open(main, encoding="utf-8") as fh:
            sources += _parse_list(fh.read())
    for path in sorted(glob.glob(os.path.join(apt_dir, "sources.list.d", "*"))):
        with open(path, encoding="utf-8", errors="replace") as fh:
            text = fh.read()
        if path.endswith(".list"):
            sources += _parse_list(text)
        elif path.endswith(".sources"):
            sources += _parse_deb822(text)
    return [s for s in sources if urlsplit(s.uri).scheme in ("http", "https")]


def mirror_hosts(apt_dir: str = APT_DIR) -> list[str]:
    """Host names of every enabled source: the proxy's allow list."""
    hosts = []
    for src in read_sources(apt_dir):
        if src.host and src.host not in hosts:
            hosts.append(src.host)
    return hosts


def host_codename() -> str:
    with open("/etc/os-release", encoding="utf-8") as fh:
        for line in fh:
            if line.startswith("VERSION_CODENAME="):
                return line.split("=", 1)[1].strip().strip('"')
    return ""


def sources_for_suite(suite: str, apt_dir: str = APT_DIR, codename: str | None = None) -> list[Source]:
    """This machine's distribution sources, rewritten for ``suite``.

    Only entries that name this machine's own codename (``bookworm``,
    ``bookworm-updates``, ``bookworm-security``...) are kept: they are the
    distribution's mirrors. Third-party repositories are left out.
    """
    codename = codename if codename is not None else host_codename()
    out = []
    for src in read_sources(apt_dir):
        if "deb" not in src.types:
            continue
        suites = [s for s in src.suites if s == codename or s.startswith(codename + "-") or s.startswith(codename + "/")]
        if not suites:
            continue
        if src.signed_by and "debian-archive-keyring" not in src.signed_by:
            continue
        new = [suite + s[len(codename):] for s in suites]
        out.append(Source(["deb"], src.uri, new, src.components or ["main"], src.signed_by))
    return out


def debootstrap_mirror(apt_dir: str = APT_DIR, codename: str | None = None) -> str:
    """The URI of this machine's main distribution mirror (suite == codename)."""
    codename = codename if codename is not None else host_codename()
    for src in read_sources(apt_dir):
        if "deb" in src.types and codename in src.suites:
            return src.uri
    raise RuntimeError(
        f"no apt source for suite {codename!r} in {apt_dir}/sources.list(.d): "
        "the lab builds its hosts from this machine's own Debian mirror; add one"
    )


def render_deb822(sources: list[Source]) -> str:
    chunks = []
    for src in sources:
        lines = [
            "Types: " + " ".join(src.types),
            "URIs: " + src.uri,
            "Suites: " + " ".join(src.suites),
            "Components: " + " ".join(src.components),
        ]
        if src.signed_by:
            lines.append("Signed-By: " + src.signed_by)
        chunks.append("\n".join(lines) + "\n")
    return "\n".join(chunks)


def apt_settings_to_copy() -> str:
    """apt settings about mirror validity that hosts need to trust the same mirror.

    A machine set up against a dated snapshot turns off Check-Valid-Until;
    the lab hosts read the same mirror, so they need the same setting.
    """
    try:
        dump = subprocess.run(
            ["apt-config", "dump"], capture_output=True, text=True, check=True
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        return ""
    keep = []
    for line in dump.splitlines():
        if re.match(r'^Acquire::(Check-Valid-Until|Check-Date) "', line):
            keep.append(line)
    return "\n".join(keep) + ("\n" if keep else "")
