"""Read hosts.toml (or $ESB_HOSTS) from disk and build the Inventory (CONTRACT §3): decode the TOML, refuse
unknown sections, build each declared section (tasks/config.py), then the rules that span hosts: unique member
ports, product homes and port offsets, one manager, [groups] and [hosts_map]. Every problem is a ConfigError
naming the file, the key and what is wrong.
"""
from __future__ import annotations

import os
from pathlib import Path

from .config import DECLARED, GROUP_OF_ROLE, TOP_LEVEL, Cluster, Host, Inventory
from .schema import DNS_RE, NAME_RE, At, ConfigError, build, check_table, is_ip, toml_keys


def missing_hint(path: str | os.PathLike | None, named: str | None) -> str:
    """What a missing hosts.toml tells the operator beyond its name: the file ESB_HOSTS names, or the folder
    where ./hosts.toml was looked for (a command run outside the cluster's folder)."""
    if path:
        return ""
    if named:
        return "; ESB_HOSTS names it: correct ESB_HOSTS, or unset it to use ./hosts.toml"
    return (f": no hosts.toml in {Path.cwd()}; run the command in the folder that holds the cluster's hosts.toml (and "
            f".env), or set ESB_HOSTS=/path/to/hosts.toml")


def load_inventory(path: str | os.PathLike | None = None) -> Inventory:
    """Read and validate hosts.toml (or $ESB_HOSTS); raise ConfigError on any fault."""
    named = os.environ.get("ESB_HOSTS")
    p = Path(path or named or "hosts.toml")
    try:
        raw = p.read_bytes()
    except FileNotFoundError:
        raise ConfigError(f"{p}: file not found (set ESB_HOSTS or create ./hosts.toml){missing_hint(path, named)}") \
            from None
    except OSError as e:
        raise ConfigError(f"{p}: cannot read: {e.strerror}") from None
    import tomllib  # here: `fab --list` reads no hosts.toml
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as e:
        raise ConfigError(f"{p}: not UTF-8 text (byte {e.start})") from None
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{p}: malformed TOML: {e}") from None
    return parse_inventory(data, p)


def parse_inventory(data: dict, p: Path) -> Inventory:
    """Validate an already-decoded hosts.toml document."""
    for name in data:
        if name not in TOP_LEVEL:
            raise At(p, name).err(f"unknown section; known sections: {', '.join(sorted(TOP_LEVEL))}")
    cluster = _section(p, "cluster", data)
    hosts = _hosts(p, data, cluster)
    groups = _groups(p, data.get("groups", {}), hosts)
    sections = {name: _section(p, name, data, hosts) for name in DECLARED if name != "cluster"}
    hosts_map = _hosts_map(p, data.get("hosts_map", {}), hosts)
    return Inventory(path=p, cluster=cluster, hosts=hosts, groups=groups, hosts_map=hosts_map, **sections)


def _section(p: Path, name: str, data: dict, hosts: dict | None = None):
    return build(DECLARED[name], At(p, f"[{name}]", hosts=hosts or {}), data.get(name, {}))


def _hosts(p: Path, data: dict, cluster: Cluster) -> dict[str, Host]:
    """Every [hosts.NAME] entry merged with [defaults], then the rules across hosts."""
    defaults = check_table(At(p, "[defaults]"), data.get("defaults", {}), toml_keys(Host, defaults=True))
    table = data.get("hosts", {})
    if not isinstance(table, dict) or not table:
        raise At(p, "[hosts]").err("at least one [hosts.NAME] table is required")
    hosts: dict[str, Host] = {}
    for name, tbl in table.items():
        at = At(p, f"[hosts.{name}]", cluster=cluster)
        if not NAME_RE.match(name) or name == "all":
            raise at.err(f"host name {name!r} must be letters, digits, '.', '_' or '-' (and not 'all')")
        if name in GROUP_OF_ROLE.values():
            groups = ", ".join(GROUP_OF_ROLE.values())
            raise at.err(f"host name {name!r} is the name of a group every role makes ({groups}); "
                         f"-H {name} could not tell the host from the group: choose another name")
        row = {**defaults, **tbl} if isinstance(tbl, dict) else None  # a non-table is refused by build
        hosts[name] = build(Host, at, tbl, row=row, name=name)
    _unique(p, [h for h in hosts.values() if h.is_esb], lambda h: (h.member_host, h.member_port), "member_port",
            lambda h, other: f"{h.member_port} on {h.member_host} is already used by {other}")
    _unique(p, [h for h in hosts.values() if h.is_esb], lambda h: (h.user, h.address, h.port, h.product_home),
            "product_home", lambda h, other: f"{h.product_home} on {h.user}@{h.address}:{h.port} is already "
            f"{other}'s; several nodes on one machine need a product home each (the guide's step 7 copies it)")
    _unique(p, [h for h in hosts.values() if h.is_esb], lambda h: (h.address, h.port_offset), "port_offset",
            lambda h, other: f"{h.port_offset} on {h.address} is already {other}'s: two nodes on one machine need a "
            f"port_offset each, or Carbon's ports (9443+offset, 8280+offset, ...) collide")
    if len([h for h in hosts.values() if h.role == "manager"]) > 1:
        raise At(p, "[hosts]").err("more than one host has role = \"manager\"")
    return hosts


def _unique(p: Path, hosts: list[Host], key_of, name: str, message) -> None:
    """No two of `hosts` share key_of(host); else an error at the second one's `name`."""
    seen: dict = {}
    for h in hosts:
        k = key_of(h)
        if k in seen:
            raise At(p, f"[hosts.{h.name}].{name}").err(message(h, seen[k]))
        seen[k] = h.name


def _groups(p: Path, table, hosts: dict[str, Host]) -> dict[str, tuple[str, ...]]:
    """[groups]: name = [host, ...], names clashing with no host, role group or 'all'."""
    if not isinstance(table, dict):
        raise At(p, "[groups]").err("must be a table of name = [host, ...]")
    groups: dict[str, tuple[str, ...]] = {}
    for g, members in table.items():
        at = At(p, f"[groups].{g}")
        if not NAME_RE.match(g) or g in hosts or g == "all" or g in GROUP_OF_ROLE.values():
            raise at.err(f"group name {g!r} is invalid or clashes with a host, a role group or 'all'")
        if not isinstance(members, list) or not all(isinstance(m, str) for m in members):
            raise at.err("must be a list of host names")
        for m in members:
            if m not in hosts:
                raise at.err(f"unknown host {m!r}; known hosts: {', '.join(hosts)}")
        groups[g] = tuple(members)
    return groups


def _hosts_map(p: Path, table, hosts: dict[str, Host]) -> dict[str, str]:
    """[hosts_map]: hostname = an IP address or a host of [hosts]."""
    if not isinstance(table, dict):
        raise At(p, "[hosts_map]").err("must be a table of hostname = address-or-host")
    for k, v in table.items():
        at = At(p, f"[hosts_map].{k}")
        if not DNS_RE.match(k):
            raise at.err("not a valid host name")
        if not isinstance(v, str) or not (v in hosts or is_ip(v)):
            raise at.err(f"{v!r} must be an IP address or a host of [hosts]")
    return dict(table)
