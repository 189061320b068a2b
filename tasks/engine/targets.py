"""Resolve `-H` targets (CONTRACT §1): host names, groups and `all` from hosts.toml, never DNS."""
from __future__ import annotations

from ..config import GROUP_OF_ROLE, ConfigError, Host, Inventory


def known_names(inv: Inventory) -> list[str]:
    """Every name -H accepts: hosts, implicit role groups, [groups] and `all`."""
    return sorted(set(inv.hosts) | set(GROUP_OF_ROLE.values()) | set(inv.groups) | {"all"})


def group_members(inv: Inventory, name: str) -> list[Host] | None:
    """Hosts a name stands for, or None when the name is unknown."""
    if name == "all":
        return list(inv.hosts.values())
    if name in inv.hosts:
        return [inv.hosts[name]]
    if name in inv.groups:
        return [inv.hosts[h] for h in inv.groups[name]]
    for role, group in GROUP_OF_ROLE.items():
        if name == group:
            return inv.by_role(role)
    return None


def resolve(inv: Inventory, spec: str | None, default: list[Host]) -> list[Host]:
    """Hosts for a comma-separated -H value (default when none), in hosts.toml order, deduplicated."""
    if spec is None:
        return default
    chosen: set[str] = set()
    for raw in spec.split(","):
        name = raw.strip()
        if not name:
            continue
        members = group_members(inv, name)
        if members is None:
            raise ConfigError(f"unknown target {name!r}; known names: {', '.join(known_names(inv))}")
        chosen.update(h.name for h in members)
    if not spec.replace(",", "").strip():
        raise ConfigError(f"-H {spec!r} names no target; known names: {', '.join(known_names(inv))}")
    return [h for h in inv.hosts.values() if h.name in chosen]
