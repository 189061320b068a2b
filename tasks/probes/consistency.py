"""Cluster consistency checks: what no single-node step can see, over every node's facts at once.

Each check is a pure function `(Inventory, {host name: NodeFacts}) -> [Finding]`
over the values actually configured on the ESB nodes (tasks/probes/facts.py) and
hosts.toml.  A Finding belongs to the node whose file should change; `warning`
findings (a loopback member host, as in the test lab) are reported but never
count as drift.
"""
from __future__ import annotations

import ipaddress
from collections import Counter
from dataclasses import dataclass
from typing import Callable

from .. import rules
from ..config import Inventory
from .facts import NodeFacts
from ..engine.plan import Item
from ..rules import AXIS2, CARBON, REGISTRY, cache_id

Facts = dict[str, NodeFacts]
CLUSTERING = "clustering/parameter"


@dataclass(frozen=True)
class Finding:
    """One inconsistency on one node: the item to fix there, or a warning."""

    host: str
    item: Item
    warning: bool = False


def _fmt(members) -> str:
    return ", ".join(f"{h}:{p}" for h, p in sorted(members)) or "(none)"


def same_everywhere(facts: Facts, get: Callable[[NodeFacts], str | None], preferred: str | None,
                    file: str, what: str) -> list[Finding]:
    """When nodes disagree, each node off the reference value (hosts.toml's when a node has it, else
    the most common one) gets a finding; a value every node shares is not this check's business."""
    values = {h: get(f) for h, f in facts.items()}
    if len(set(values.values())) <= 1:
        return []
    ref = preferred if preferred in values.values() else Counter(values.values()).most_common(1)[0][0]
    holders = ", ".join(h for h, v in values.items() if v == ref)
    return [Finding(h, Item(file, f"{what} (the same on every node; {holders}: {ref!r})", ref, v))
            for h, v in values.items() if v != ref]


def check_domain(inv: Inventory, facts: Facts) -> list[Finding]:
    """One clustering domain everywhere."""
    return same_everywhere(facts, lambda f: f.domain, inv.cluster.domain, AXIS2, f"{CLUSTERING}[@name='domain']")


def check_members(inv: Inventory, facts: Facts) -> list[Finding]:
    """WKA members = the other role's nodes with their member ports, per hosts.toml; and each node
    listens where hosts.toml says (its localMemberHost:localMemberPort), which is what the other
    role's nodes list. Each node is judged against hosts.toml, never against another node's file:
    the finding is on the node whose own file differs, so its fix changes what it claims."""
    out = []
    for name, f in facts.items():
        peers = rules.wka_peers(inv, inv.hosts[name])
        wanted = [(p.member_host, str(p.member_port)) for p in peers]
        if sorted(f.members) != sorted(wanted):
            out.append(Finding(name, Item(AXIS2, "clustering/members (the other role's nodes, hosts.toml)",
                                          _fmt(wanted), _fmt(f.members))))
        host = inv.hosts[name]
        mine = (host.member_host, str(host.member_port))
        if None not in f.endpoint and f.endpoint != mine:
            out.append(Finding(name, Item(
                AXIS2, "localMemberHost:localMemberPort (hosts.toml; what the other role's nodes list)",
                _fmt([mine]), _fmt([f.endpoint]))))
    return out


def check_member_ports_unique(inv: Inventory, facts: Facts) -> list[Finding]:
    """No two nodes listen on the same localMemberHost:localMemberPort; the finding is on the nodes that
    are not where hosts.toml says (the one that is keeps its port)."""
    users: dict[tuple, list[str]] = {}
    for name, f in facts.items():
        if None not in f.endpoint:
            users.setdefault(f.endpoint, []).append(name)
    out = []
    for (addr, port), names in users.items():
        if len(names) > 1:
            moved = [n for n in names if (inv.hosts[n].member_host, str(inv.hosts[n].member_port)) != (addr, port)]
            for n in moved or names:  # the node off hosts.toml took the port: its fix is the one that changes it
                others = ", ".join(o for o in names if o != n)
                out.append(Finding(n, Item(AXIS2, f"{CLUSTERING}[@name='localMemberPort'] (unique per address)",
                                           f"a port no other node uses on {addr}", f"{port} (also {others})")))
    return out


def check_member_hosts(inv: Inventory, facts: Facts) -> list[Finding]:
    """localMemberHost is a specific IP (drift otherwise); a loopback IP is only a warning."""
    out = []
    what = f"{CLUSTERING}[@name='localMemberHost']"
    for name, f in facts.items():
        if f.member_host is None:
            continue
        try:
            ip = ipaddress.ip_address(f.member_host)
        except ValueError:
            out.append(Finding(name, Item(AXIS2, what, "an IP address (not localhost or a DNS name)", f.member_host)))
            continue
        if ip.is_unspecified:
            out.append(Finding(name, Item(AXIS2, what, "a specific IP address", f.member_host)))
        elif ip.is_loopback:
            out.append(Finding(name, Item(AXIS2, what, "an IP other machines can reach (not loopback)",
                                          f.member_host), warning=True))
    return out


def check_one_manager(inv: Inventory, facts: Facts) -> list[Finding]:
    """Exactly one node, the hosts.toml manager, has subDomain mgt."""
    what = f"{CLUSTERING}[@name='properties']/property[@name='subDomain']/@value (exactly one manager)"
    out = []
    mgt = rules.sub_domain("manager")
    for name, f in facts.items():
        wanted = rules.sub_domain(inv.hosts[name].role)
        if (wanted == mgt) != (f.sub_domain == mgt):
            out.append(Finding(name, Item(AXIS2, what, wanted, f.sub_domain)))
    return out


def _role_flag(facts: Facts, inv: Inventory, get, rule: Callable[[str], str], file: str, what: str,
               default: str | None = None) -> list[Finding]:
    """Each node's value against the role's rule (tasks/rules.py)."""
    out = []
    for name, f in facts.items():
        wanted = rule(inv.hosts[name].role)
        actual = get(f)
        if (actual if actual is not None else default or "").strip().lower() != wanted:
            out.append(Finding(name, Item(file, what, wanted, actual)))
    return out


def check_auto_commit(inv: Inventory, facts: Facts) -> list[Finding]:
    """DepSync AutoCommit true on the manager only (absent counts as false)."""
    return _role_flag(facts, inv, lambda f: f.auto_commit, rules.auto_commit, CARBON,
                      "DeploymentSynchronizer/AutoCommit (true on the manager only)", default="false")


def check_read_only(inv: Inventory, facts: Facts) -> list[Finding]:
    """Shared registry remoteInstance readOnly false on the manager only."""
    return _role_flag(facts, inv, lambda f: f.read_only, rules.read_only, REGISTRY,
                      "remoteInstance/readOnly (false on the manager only)")


def expected_cache_id(inv: Inventory, f: NodeFacts) -> str:
    """<user>@<url> of the datasource the remote instance really uses, else hosts.toml's REGISTRY_DB."""
    ds = f.datasource_by_jndi(f.db_configs.get(f.remote_db_config or ""))
    if ds is not None and ds.url and ds.username:
        return f"{ds.username}@{ds.url}"
    return cache_id(inv)


def check_cache_id(inv: Inventory, facts: Facts) -> list[Finding]:
    """cacheId = <user>@<REGISTRY_DB url> on each node, and the same on every node."""
    what = "remoteInstance/cacheId"
    out, fine = [], {}
    for name, f in facts.items():
        wanted = expected_cache_id(inv, f)
        if f.cache_id != wanted:
            out.append(Finding(name, Item(REGISTRY, f"{what} (<user>@<REGISTRY_DB url>)", wanted, f.cache_id)))
        else:
            fine[name] = f
    return out + same_everywhere(fine, lambda f: f.cache_id, cache_id(inv), REGISTRY, what)


def check_datasource_refs(inv: Inventory, facts: Facts) -> list[Finding]:
    """Every dbConfig dataSource is a JNDI name of the node's master-datasources.xml; the remote
    instance's dbConfig exists."""
    out = []
    for name, f in facts.items():
        jndi = sorted({d.jndi for d in f.datasources if d.jndi})
        for cfg, source in f.db_configs.items():
            if source not in jndi:
                out.append(Finding(name, Item(
                    REGISTRY, f"dbConfig[@name='{cfg}']/dataSource (a JNDI name of master-datasources.xml)",
                    " | ".join(jndi) or "(none defined)", source)))
        if f.remote_db_config is not None and f.remote_db_config not in f.db_configs:
            out.append(Finding(name, Item(REGISTRY, "remoteInstance/dbConfig (a dbConfig of registry.xml)",
                                          " | ".join(sorted(f.db_configs)) or "(none defined)", f.remote_db_config)))
    return out


def check_svn_url(inv: Inventory, facts: Facts) -> list[Finding]:
    """The same DepSync SvnUrl everywhere."""
    return same_everywhere(facts, lambda f: f.svn_url, inv.svn.url or None, CARBON, "DeploymentSynchronizer/SvnUrl")


CHECKS = (check_domain, check_members, check_member_ports_unique, check_member_hosts, check_one_manager,
          check_auto_commit, check_read_only, check_cache_id, check_datasource_refs, check_svn_url)


def run_checks(inv: Inventory, facts: Facts) -> list[Finding]:
    """Every check over the facts of the ESB nodes at hand."""
    return [finding for check in CHECKS for finding in check(inv, facts)]
