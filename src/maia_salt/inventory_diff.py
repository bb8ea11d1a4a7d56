"""What a re-import changes in a site's inventory: hosts and group memberships added or removed.

``maia-configure import-inventory`` shows it before it writes, and refuses to drop a
host or a role without ``--force``: a misspelt group or a forgotten line in the INI
file must not quietly take a host out of the site.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from .inventory import Inventory


@dataclass
class InventoryDiff:
    added_hosts: list[str] = field(default_factory=list)
    removed_hosts: list[str] = field(default_factory=list)
    added_roles: list[tuple[str, str]] = field(default_factory=list)  # (host, group)
    removed_roles: list[tuple[str, str]] = field(default_factory=list)
    other_changes: list[str] = field(default_factory=list)  # hosts whose connection or vars changed

    @property
    def drops(self) -> bool:
        """True when the new inventory takes a host or a role away."""
        return bool(self.removed_hosts or self.removed_roles)

    @property
    def empty(self) -> bool:
        return not (self.added_hosts or self.removed_hosts or self.added_roles or self.removed_roles
                    or self.other_changes)

    def lines(self) -> list[str]:
        out = [f"+ host {h}" for h in self.added_hosts]
        out += [f"- host {h}" for h in self.removed_hosts]
        out += [f"+ {h} in {g}" for h, g in self.added_roles]
        out += [f"- {h} in {g}" for h, g in self.removed_roles]
        out += [f"~ host {h}: address, connection or host vars changed" for h in self.other_changes]
        return out


def diff(old: Inventory, new: Inventory) -> InventoryDiff:
    result = InventoryDiff(
        added_hosts=sorted(set(new.hosts) - set(old.hosts)),
        removed_hosts=sorted(set(old.hosts) - set(new.hosts)),
    )
    for name in sorted(set(old.hosts) & set(new.hosts)):
        before, after = old.hosts[name], new.hosts[name]
        result.added_roles += [(name, g) for g in after.groups if g not in before.groups]
        result.removed_roles += [(name, g) for g in before.groups if g not in after.groups]
        rest_before = {k: v for k, v in before.to_dict().items() if k != "groups"}
        rest_after = {k: v for k, v in after.to_dict().items() if k != "groups"}
        if rest_before != rest_after:
            result.other_changes.append(name)
    return result
